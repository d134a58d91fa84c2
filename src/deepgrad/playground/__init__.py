"""``deepgrad playground``: the TensorFlow Playground on deepgrad, in the browser, with what it lacks.

A person builds a small network (features, up to 6 hidden layers of 8 neurons, activation, optimiser,
initialisation, regularisation), trains it live on deepgrad and watches every neuron's heatmap, the weights and
the loss curves. The server (:mod:`.server`, Starlette + uvicorn, the extra ``deepgrad[playground]``) trains;
the page (plain HTML/CSS/JavaScript under ``static/``) draws. :mod:`.datasets`, :mod:`.features`,
:mod:`.settings`, :mod:`.session` and :mod:`.export` need only NumPy and deepgrad.

    deepgrad playground              # http://127.0.0.1:8765/, opens a browser
    deepgrad playground --no-browser --port 9000
"""
EXTRA = 'the playground needs its extra: pip install "deepgrad[playground]"'


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> None:
    """Run the playground server (see :func:`deepgrad.playground.server.serve`); raises ``ImportError`` naming
    the extra when Starlette or uvicorn is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

        from .server import serve as _serve
    except ImportError as e:
        raise ImportError(f"{EXTRA} ({e})") from None
    _serve(host, port, open_browser)
