"""A griffe extension for the API reference: reads deepgrad's ``Example:`` docstring heading as Google style's
``Examples:`` section, so that doctest lines render as Python code instead of Markdown quotes."""
import re

import griffe

_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExamplesSection(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_HEADING.sub(r"\1Examples:", obj.docstring.value)
