"""Seeds for the data pipeline, drawn from deepgrad's own generators so that ``deepgrad.manual_seed`` fixes them."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

import numpy as np

from .. import backend

SeedLike = int | backend.Generator | np.random.Generator | None


def resolve_seed(generator: SeedLike) -> int:
    """A 63-bit integer seed from ``generator``.

    ``None`` draws from :data:`deepgrad.backend.default_generator` (so ``deepgrad.manual_seed`` makes the result
    reproducible), a :class:`deepgrad.Generator` or ``numpy.random.Generator`` is drawn from, and an ``int`` is
    used as it is.
    """
    if generator is None:
        generator = backend.default_generator
    if isinstance(generator, backend.Generator):
        generator = generator.module_rng(np)
    if isinstance(generator, np.random.Generator):
        return int(generator.integers(2**63))
    if isinstance(generator, int | np.integer) and not isinstance(generator, bool):
        if generator < 0:
            raise ValueError(f"seed must be a non-negative integer, got {generator}")
        return int(generator)
    raise TypeError(f"expected a seed (int), a deepgrad.Generator, a numpy Generator or None, got {generator!r}")


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent NumPy generator for ``(seed, *stream)``: e.g. one per epoch, or one per (epoch, batch)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


_augmentation_rng: ContextVar[np.random.Generator | None] = ContextVar("deepgrad_augmentation_rng", default=None)


@contextlib.contextmanager
def augmentation_rng(rng: np.random.Generator) -> Iterator[np.random.Generator]:
    """Make random transforms draw from ``rng`` inside the block (the DataLoader uses one per batch)."""
    token = _augmentation_rng.set(rng)
    try:
        yield rng
    finally:
        _augmentation_rng.reset(token)


def current_rng(default: np.random.Generator) -> np.random.Generator:
    """The generator set by :func:`augmentation_rng` when one is active, else ``default``."""
    rng = _augmentation_rng.get()
    return default if rng is None else rng
