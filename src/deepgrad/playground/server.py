"""The playground's web server: Starlette routes for the page and one websocket per open page.

Each websocket gets its own :class:`Connection`: a :class:`~deepgrad.playground.session.Session` and one
training loop (an asyncio task) that runs steps for about :data:`FRAME_SECONDS` while playing, then sends a
frame. The loop is cancelled when the page closes. Security: the app answers only to the host names it was
started for (Starlette's ``TrustedHostMiddleware``, against DNS rebinding), a websocket whose ``Origin`` is not
the page's own is refused, every message is size-limited and validated (:mod:`.settings`), and the only file the
server produces is the export, sent to the page (no path ever comes from a client).
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
from importlib import resources
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import datasets
from .export import export_zip
from .presets import PRESETS
from .session import Session
from .settings import BOUNDS, LIVE_FIELDS, Settings, SettingsError, validate

__all__ = ["create_app", "Connection", "MAX_MESSAGE", "FRAME_SECONDS"]

MAX_MESSAGE = datasets.MAX_CSV_BYTES + 16 * 1024  # the largest message a page sends (a CSV upload)
FRAME_SECONDS = 0.05  # training time between two frames while playing (15 to 20 frames a second)
MAX_EPOCHS = 100_000  # a run stops by itself here
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def _static():
    return resources.files(__package__) / "static"


class Connection:
    """One page: its session, its uploaded data, and its training loop."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.session: Session | None = None
        self.custom = None
        self.playing = asyncio.Event()
        self.loop: asyncio.Task | None = None

    async def send(self, message: dict) -> None:
        await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def error(self, field: str, message: str) -> None:
        await self.send({"type": "error", "field": field, "message": message})

    async def run(self) -> None:
        """The training loop: steps for FRAME_SECONDS, one frame, yield to the event loop; wait while paused."""
        while True:
            await self.playing.wait()
            session = self.session
            end = time.perf_counter() + FRAME_SECONDS
            try:
                while time.perf_counter() < end:
                    session.step()
                frame = session.frame()
            except (ArithmeticError, ValueError, RuntimeError) as e:  # a diverging run: tell the page, stop
                self.playing.clear()
                await self.send({"type": "state", "playing": False})
                await self.error("training", f"training stopped: {e}")
                continue
            await self.send(frame)
            if session.epoch >= MAX_EPOCHS:
                self.playing.clear()
                await self.send({"type": "state", "playing": False})
            await asyncio.sleep(0)

    async def configure(self, raw) -> None:
        points = len(self.custom[0]) if self.custom is not None else None
        s = validate(raw, custom_points=points)
        old = self.session
        if old is not None and _only_live_changes(old.settings, s):
            old.update(s)
        else:
            self.session = Session(s, self.custom)
            await self.send(self.session.describe())
        await self.send(self.session.frame())

    async def handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind not in ("configure", "upload", "play", "pause", "step", "reset", "export"):
            await self.error("message", f"unknown message type {kind!r}")
        elif kind == "configure":
            await self.configure(message.get("settings"))
        elif kind == "upload":
            x, y, task = datasets.parse_csv(message.get("csv"))
            self.custom = (x, y, task)
            await self.send({"type": "uploaded", "points": len(x), "task": task})
        elif self.session is None:
            await self.error("settings", "configure the playground before training")
        elif kind in ("play", "pause"):
            self.playing.set() if kind == "play" else self.playing.clear()
            await self.send({"type": "state", "playing": kind == "play"})
        elif kind == "step":
            self.session.run_epoch()
            await self.send(self.session.frame())
        elif kind == "reset":
            self.session = Session(self.session.settings, self.custom)
            await self.send(self.session.describe())
            await self.send(self.session.frame())
        elif kind == "export":
            blob = export_zip(self.session)
            await self.send({"type": "export", "filename": "deepgrad-playground.zip",
                             "data": base64.b64encode(blob).decode()})


def _only_live_changes(old: Settings, new: Settings) -> bool:
    a, b = old.to_dict(), new.to_dict()
    return all(a[k] == b[k] for k in a if k not in LIVE_FIELDS)


def _origin_ok(ws: WebSocket) -> bool:
    """The Origin header names this very server (scheme http, the Host the page was loaded from)."""
    origin = ws.headers.get("origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme == "http" and parts.netloc == ws.headers.get("host", "")


def create_app(allowed_hosts: list[str] | None = None) -> Starlette:
    """The Starlette application. ``allowed_hosts``: the host names the server answers to (default: the
    loopback names); ``["*"]`` for any, when it listens on another interface.

    ``app.state.connections`` is the set of open :class:`Connection` objects (one training loop each).
    """
    static = _static()
    index = (static / "index.html").read_text(encoding="utf-8")
    connections: set[Connection] = set()

    async def page(request):
        return HTMLResponse(index, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                            "Cache-Control": "no-store"})

    async def favicon(request):
        return Response(status_code=204)

    async def websocket(ws: WebSocket) -> None:
        if not _origin_ok(ws):
            await ws.close(code=1008, reason="origin not allowed")
            return
        await ws.accept()
        conn = Connection(ws)
        conn.loop = asyncio.create_task(conn.run())
        connections.add(conn)
        try:
            await conn.send({"type": "hello", "presets": PRESETS, "bounds": BOUNDS, "defaults": Settings().to_dict(),
                             "max_csv_bytes": datasets.MAX_CSV_BYTES})
            while True:
                text = await ws.receive_text()
                if len(text) > MAX_MESSAGE:
                    await conn.error("message", f"the message is larger than {MAX_MESSAGE // 1024} kB")
                    continue
                try:
                    message = json.loads(text)
                except ValueError:
                    await conn.error("message", "the message is not JSON")
                    continue
                if not isinstance(message, dict):
                    await conn.error("message", "the message should be a JSON object")
                    continue
                try:
                    await conn.handle(message)
                except SettingsError as e:
                    await conn.error(e.field, str(e))
                except datasets.DataError as e:
                    await conn.error("dataset" if message.get("type") == "configure" else "csv", str(e))
        except WebSocketDisconnect:
            pass
        finally:
            conn.loop.cancel()
            try:
                await conn.loop
            except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                pass
            connections.discard(conn)

    hosts = list(allowed_hosts or LOCAL_HOSTS)
    app = Starlette(routes=[Route("/", page), Route("/favicon.ico", favicon), WebSocketRoute("/ws", websocket),
                            Mount("/static", StaticFiles(directory=str(static)), name="static")],
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
    app.state.connections = connections
    return app


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> None:
    """Run the playground at ``http://host:port/`` until Ctrl+C (uvicorn); open the page in a browser unless
    ``open_browser`` is false. A host other than the loopback ones makes the app answer to any host name."""
    import socket
    import threading
    import webbrowser

    import uvicorn

    local = host in LOCAL_HOSTS
    app = create_app(None if local else ["*"])
    url = f"http://{'[::1]' if host == '::1' else host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}/"
    config = uvicorn.Config(app, host=host, port=port, ws_max_size=MAX_MESSAGE, log_level="warning",
                            ws_ping_interval=20, ws_ping_timeout=20)
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))  # here, so that a busy port or a bad address is an OSError for the caller
    except OSError:
        sock.close()
        raise
    print(f"deepgrad playground: {url} (Ctrl+C to stop)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
