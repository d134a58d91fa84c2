"""End to end: the playground in real headless Chromium (Debian's, driven by Playwright) against a real uvicorn
server. Screenshots go to $PLAYGROUND_SCREENSHOTS (default: the test's temporary directory)."""
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from deepgrad.playground import server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUDGET_MS = 60_000  # generous for a loaded 2-core machine; the page reaches its targets in a second or two
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))


@pytest.fixture(scope="module")
def app_url():
    app = server.create_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=server.MAX_MESSAGE))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not srv.started and time.monotonic() < end:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    yield app, f"http://127.0.0.1:{sock.getsockname()[1]}/"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # bypass_csp lets Playwright evaluate its wait conditions; the last test runs under the page's real CSP
    context = browser.new_context(viewport={"width": 1400, "height": 820}, accept_downloads=True, bypass_csp=True)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture
def shots(tmp_path):
    d = os.environ.get("PLAYGROUND_SCREENSHOTS") or str(tmp_path)
    os.makedirs(d, exist_ok=True)
    return d


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-frames]", timeout=BUDGET_MS)  # the first frame is drawn


def loss_below(page, limit):
    page.wait_for_function(f"Number(document.querySelector('#test-loss').textContent) < {limit}", timeout=BUDGET_MS)


def test_circle_trains_after_changing_data_layers_and_activation(app_url, page, shots, browser):
    _, url = app_url
    open_page(page, url)
    page.click("button[data-dataset=xor]")
    page.wait_for_function("location.hash.includes('dataset=xor')")
    assert "selected" in page.get_attribute("button[data-dataset=xor]", "class")
    page.click("#add-layer")
    page.wait_for_function("document.querySelectorAll('#hidden-layers .hidden-layer').length === 3")
    page.click("#remove-layer")
    page.wait_for_function("document.querySelectorAll('#hidden-layers .hidden-layer').length === 2")
    for _ in range(2):
        n = page.locator("#hidden-layers .hidden-layer").first.locator(".neuron").count()
        page.locator("#hidden-layers .hidden-layer .add-neuron").first.click()
        first = "document.querySelector('#hidden-layers .hidden-layer')"
        page.wait_for_function(f"{first}.querySelectorAll('.neuron').length === {n + 1}")
    page.select_option("#activation", "relu")
    page.select_option("#optimizer", "adam")
    page.click("button[data-dataset=circle]")
    page.wait_for_function("location.hash.includes('dataset=circle') && location.hash.includes('activation=relu')")
    page.click("#play")
    loss_below(page, 0.1)
    page.click("#play")  # pause
    page.wait_for_function("!document.querySelector('#play').classList.contains('running')")
    epoch = page.inner_text("#epoch")
    time.sleep(0.3)
    assert page.inner_text("#epoch") == epoch, "training went on after pause"
    page.check("#show-test")
    page.screenshot(path=os.path.join(shots, "circle.png"), full_page=True)
    assert page.locator("#hidden-layers .neuron").count() == 8
    link = page.evaluate("location.href")
    assert "hidden=6%2C2" in link or "hidden=6,2" in link

    other = page.context.new_page()  # the link reproduces the state
    open_page(other, link)
    assert other.input_value("#activation") == "relu" and other.input_value("#optimizer") == "adam"
    assert other.locator("#hidden-layers .neuron").count() == 8 and other.is_checked("#show-test")
    other.close()


def test_multiclass_colours_every_class(app_url, page, shots):
    _, url = app_url
    open_page(page, url + "#dataset=gauss&classes=4&features=x1,x2&hidden=&optimizer=adam&lr=0.03&discretize=1")
    assert page.locator("#legend span").count() == 4
    assert page.inner_text("#problem") == "4 classes"
    page.click("#play")
    loss_below(page, 0.3)
    page.click("#play")
    shares = page.evaluate("""() => {
        const c = document.querySelector('#heatmap'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const counts = {};
        for (let i = 0; i < d.length; i += 4 * 7) {
            const k = d[i] + ',' + d[i + 1] + ',' + d[i + 2];
            counts[k] = (counts[k] || 0) + 1;
        }
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        return Object.values(counts).map(v => v / total).filter(s => s > 0.05);
    }""")
    assert len(shares) >= 4, shares  # four flat class colours, each over a real part of the square
    page.screenshot(path=os.path.join(shots, "multiclass.png"), full_page=True)


def test_presets_and_neuron_hover(app_url, page, shots):
    _, url = app_url
    open_page(page, url)
    page.select_option("#presets", label="XOR: the product feature")
    page.wait_for_function("location.hash.includes('dataset=xor') && location.hash.includes('features=x1x2')")
    assert "sign of x1·x2" in page.inner_text("#preset-why")
    # the hash changes at once; the controls are redrawn when the server's reply to the new settings arrives
    page.wait_for_function("document.querySelectorAll('#features .feature.on').length === 1 && "
                           "document.querySelectorAll('#hidden-layers .neuron').length === 0")
    page.click("#play")
    loss_below(page, 0.2)
    page.click("#play")
    page.select_option("#presets", label="Circle: raw inputs, one hidden layer")
    page.wait_for_function("document.querySelectorAll('#hidden-layers .neuron').length === 4")
    page.wait_for_function("location.hash.includes('optimizer=adam')")
    pixel = "(() => Array.from(document.querySelector('#heatmap').getContext('2d').getImageData(160, 5, 1, 1).data))()"
    before = page.evaluate(pixel)
    page.hover("#hidden-layers .neuron >> nth=0")  # the output square shows that neuron instead
    page.wait_for_function(f"JSON.stringify({pixel}) !== JSON.stringify({before})")
    hovered = page.evaluate(pixel)
    page.screenshot(path=os.path.join(shots, "hover.png"))
    page.mouse.move(5, 5)  # the output square goes back to the network's output (a late frame may repaint it)
    page.wait_for_function(f"JSON.stringify({pixel}) !== JSON.stringify({hovered})")


def test_export_downloads_a_checkpoint_and_a_script_that_runs(app_url, page, tmp_path):
    _, url = app_url
    open_page(page, url + "#dataset=spiral&features=x1,x2,sinx1,sinx2&hidden=8,8&optimizer=adam&lr=0.01")
    page.click("#step")
    page.wait_for_function("document.querySelector('#epoch').textContent !== '000,000'", timeout=BUDGET_MS)
    shown = page.inner_text("#test-loss")
    with page.expect_download(timeout=BUDGET_MS) as info:
        page.click("#export")
    path = tmp_path / "export.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["evaluate_playground.py", "playground_model.safetensors"]
        z.extractall(tmp_path / "x")
    out = subprocess.run([sys.executable, "evaluate_playground.py"], cwd=tmp_path / "x", capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": SRC}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"test loss {float(shown):.3f}"[:-1] in out.stdout, (shown, out.stdout)


def test_invalid_parameters_show_their_error(app_url, page, shots):
    _, url = app_url
    open_page(page, url)
    page.fill("#lr", "50")
    page.press("#lr", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert "learning rate 50 is out of range" in page.inner_text("#error")
    assert "invalid" in page.get_attribute("#lr", "class")
    page.screenshot(path=os.path.join(shots, "error.png"))
    page.fill("#lr", "0.1")
    page.press("#lr", "Enter")
    page.wait_for_selector("#error", state="hidden")
    assert "invalid" not in (page.get_attribute("#lr", "class") or "")

    page.click("#csv-box summary")
    page.fill("#csv", "1,2\n3,4\n")
    page.click("#csv-use")
    page.wait_for_selector("#error:not([hidden])")
    assert "CSV line 1: expected 3 values" in page.inner_text("#error")

    page.evaluate("location.hash = '#dataset=xor&batch_size=900'")  # a link edited in the address bar
    page.wait_for_function("document.querySelector('#error').textContent.includes('batch size 900')", timeout=BUDGET_MS)

    page.goto("about:blank")
    page.goto(url + "#hidden=9,2&dataset=circle")  # a fresh load of a bad link: the error, then the defaults
    page.wait_for_selector("#error:not([hidden])", timeout=BUDGET_MS)
    assert "a hidden layer has 1 to 8 neurons, got 9" in page.inner_text("#error")
    page.wait_for_selector("#hidden-layers .neuron", timeout=BUDGET_MS)
    assert page.is_visible("#error")


def test_csv_upload_and_closing_the_page_stops_its_loop(app_url, browser):
    """Under the page's own Content-Security-Policy (so only selector waits): a CSV upload trains, and closing
    the page ends its training loop on the server."""
    app, url = app_url
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    open_page(page, url)
    rows = "\n".join(f"{(i % 10) - 4.5},{(i // 10) - 4.5},{int(((i % 10) - 4.5) * ((i // 10) - 4.5) > 0)}" for i in range(100))
    page.click("#csv-box summary")
    page.fill("#csv", "x1,x2,label\n" + rows)
    page.click("#csv-use")
    page.wait_for_selector("button[data-dataset=custom].selected", timeout=BUDGET_MS)
    page.click("#play")
    page.wait_for_selector("#play.running", timeout=BUDGET_MS)
    assert "dataset=custom" in page.url and not errors, errors
    assert len(app.state.connections) == 1
    loop = next(iter(app.state.connections)).loop
    page.close()
    end = time.monotonic() + BUDGET_MS / 1000
    while app.state.connections and time.monotonic() < end:
        time.sleep(0.05)
    assert not app.state.connections and loop.done()
