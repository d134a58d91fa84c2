"""The playground server (Starlette's TestClient): the page, the websocket protocol, validation messages, the
origin and host checks, one training loop per connection stopped at close, the export, and the command line."""
import base64
import io
import json
import time
import zipfile

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from deepgrad import cli  # noqa: E402
from deepgrad.playground import server  # noqa: E402
from deepgrad.playground.export import CHECKPOINT, SCRIPT  # noqa: E402

BASE = "http://127.0.0.1:8765"
ORIGIN = {"origin": BASE}
WS = "ws://127.0.0.1:8765/ws"  # a relative path would be joined to ws://testserver


@pytest.fixture
def app():
    return server.create_app()


@pytest.fixture
def client(app):
    with TestClient(app, base_url=BASE) as c:
        yield c


def receive(ws, kind):
    """The next message of this type (frames of a running loop may come first)."""
    for _ in range(200):
        m = ws.receive_json()
        if m["type"] == kind:
            return m
        if m["type"] == "error" and kind != "error":
            raise AssertionError(m)
    raise AssertionError(f"no {kind} message")


def configured(ws, **settings):
    assert ws.receive_json()["type"] == "hello"
    ws.send_json({"type": "configure", "settings": settings})
    return receive(ws, "ready"), receive(ws, "frame")


def wait_for(condition, seconds=20.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------------------------- page
def test_page_static_files_and_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "deepgrad playground" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../server.py").status_code == 404
    assert "http" not in client.get("/static/app.js").text.replace("http://", "")  # no CDN, nothing remote


def test_other_host_names_are_refused(app):
    with TestClient(app, base_url="http://evil.example") as c:  # DNS rebinding: a foreign name for 127.0.0.1
        assert c.get("/").status_code == 400
    with TestClient(server.create_app(["*"]), base_url="http://evil.example") as c:
        assert c.get("/").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"origin": "http://evil.example"}, {"origin": "http://127.0.0.1:9999"},
                                     {"origin": "https://127.0.0.1:8765"}, {"origin": "null"}])
def test_websocket_origin_is_checked(client, headers):
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect(WS, headers=headers) as ws:
            ws.receive_json()
    assert info.value.code == 1008  # policy violation, before any message


# ------------------------------------------------------------------------------------------- protocol
def test_configure_play_pause_step_reset(client):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        ready, frame = configured(ws, hidden=[8, 8], activation="relu")
        assert ready["task"] == "classification" and ready["settings"]["hidden"] == [8, 8]
        assert frame["steps"] == 0
        ws.send_json({"type": "step"})
        f = receive(ws, "frame")
        assert f["epoch"] == 1 and f["steps"] == 25
        ws.send_json({"type": "play"})
        assert receive(ws, "state")["playing"] is True
        f1, f2 = receive(ws, "frame"), receive(ws, "frame")
        assert f2["steps"] > f1["steps"] > 25
        ws.send_json({"type": "pause"})
        assert receive(ws, "state")["playing"] is False
        ws.send_json({"type": "configure", "settings": {"hidden": [8, 8], "activation": "relu", "lr": 0.1}})
        live = receive(ws, "frame")  # a live change: same network, no new 'ready'
        assert live["steps"] >= f2["steps"]
        ws.send_json({"type": "reset"})
        assert receive(ws, "ready")["settings"]["lr"] == 0.1
        assert receive(ws, "frame")["steps"] == 0


@pytest.mark.parametrize("settings, field, text", [
    ({"hidden": [8] * 7}, "hidden", "at most 6"),
    ({"hidden": [12]}, "hidden", "1 to 8 neurons"),
    ({"batch_size": 400}, "batch_size", "larger than the 250 training points"),
    ({"points": 100_000}, "points", "between 50 and 2000"),
    ({"lr": 50}, "lr", "learning rate 50 is out of range"),
    ({"lr": "fast"}, "lr", "should be a number"),
    ({"dataset": "split", "formula": "__import__('os')"}, "formula", "not allowed"),
])
def test_invalid_settings_answer_an_error_and_keep_the_session(client, settings, field, text):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        configured(ws)
        ws.send_json({"type": "configure", "settings": settings})
        e = receive(ws, "error")
        assert e["field"] == field and text in e["message"]
        ws.send_json({"type": "step"})  # the previous, valid network still trains
        assert receive(ws, "frame")["epoch"] == 1


def test_bad_messages(client):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        ws.receive_json()
        ws.send_json({"type": "play"})
        assert "configure" in receive(ws, "error")["message"]
        ws.send_text("not json")
        assert receive(ws, "error")["message"] == "the message is not JSON"
        ws.send_text("[1, 2]")
        assert "JSON object" in receive(ws, "error")["message"]
        ws.send_json({"type": "launch"})
        assert "unknown message type" in receive(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "upload", "csv": "1,2,0\n" * 60_000}))
        assert "larger than" in receive(ws, "error")["message"]
        ws.send_json({"type": "upload", "csv": "1,2\n"})
        e = receive(ws, "error")
        assert e["field"] == "csv" and "line 1" in e["message"]


def test_upload_then_custom_data_set(client):
    csv = "\n".join(f"{i / 10},{(i * 7 % 13) / 10 - 0.6},{int(i % 3 == 0)}" for i in range(60))
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        configured(ws)
        ws.send_json({"type": "configure", "settings": {"dataset": "custom"}})
        assert "upload" in receive(ws, "error")["message"]
        ws.send_json({"type": "upload", "csv": csv})
        up = receive(ws, "uploaded")
        assert up == {"type": "uploaded", "points": 60, "task": "classification"}
        ws.send_json({"type": "configure", "settings": {"dataset": "custom", "points": 60}})
        ready = receive(ws, "ready")
        assert len(ready["train"]["x"]) + len(ready["test"]["x"]) == 60


def test_one_loop_per_connection_stopped_at_close(app, client):
    conns = app.state.connections
    with client.websocket_connect(WS, headers=ORIGIN) as a, client.websocket_connect(WS, headers=ORIGIN) as b:
        configured(a), configured(b)
        a.send_json({"type": "play"})
        receive(a, "frame")
        assert len(conns) == 2
        loops = [c.loop for c in conns]
        assert len(set(loops)) == 2 and not any(t.done() for t in loops)
        playing = [c for c in conns if c.playing.is_set()]
        assert len(playing) == 1  # b's loop waits, a's trains
    assert wait_for(lambda: not conns), "connections were not dropped at close"
    assert all(t.done() for t in loops)


def test_export_zip_runs(client, tmp_path):
    import os
    import subprocess
    import sys

    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        configured(ws, dataset="gauss", classes=3, hidden=[4])
        ws.send_json({"type": "step"})
        loss = receive(ws, "frame")["test_loss"]
        ws.send_json({"type": "export"})
        m = receive(ws, "export")
    assert m["filename"].endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(m["data"]))) as z:
        z.extractall(tmp_path)
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    out = subprocess.run([sys.executable, SCRIPT, CHECKPOINT], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.path.abspath(src)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"test loss {loss:.4f}" in out.stdout and "test accuracy" in out.stdout


# ---------------------------------------------------------------------------------------- command line
def test_cli_defaults_to_127_0_0_1(monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr("deepgrad.playground.serve", lambda host, port, open_browser: seen.update(
        host=host, port=port, open_browser=open_browser))
    assert cli.main(["playground", "--no-browser"]) == 0
    assert seen == {"host": "127.0.0.1", "port": 8765, "open_browser": False}
    assert capsys.readouterr().err == ""
    assert cli.main(["playground", "--host", "0.0.0.0", "--port", "9000"]) == 0
    assert seen["host"] == "0.0.0.0" and "warning" in capsys.readouterr().err


def test_cli_bad_port_and_missing_extra(monkeypatch, capsys):
    assert cli.main(["playground", "--port", "70000"]) == 2
    assert "--port should be between 1 and 65535" in capsys.readouterr().err
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    assert cli.main(["playground", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and 'pip install "deepgrad[playground]"' in err and "Traceback" not in err


def test_cli_busy_port(capsys):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        assert cli.main(["playground", "--no-browser", "--port", str(s.getsockname()[1])]) == 2
    finally:
        s.close()
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
