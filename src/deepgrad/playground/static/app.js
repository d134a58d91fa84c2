// deepgrad playground: the page. It keeps the settings (and the URL), sends them to the server over one
// websocket, and draws what the server's frames say: heatmaps, weights, losses and health. No training here.
"use strict";

const FEATURES = [["x1", "X\u2081"], ["x2", "X\u2082"], ["x1sq", "X\u2081\u00B2"], ["x2sq", "X\u2082\u00B2"],
  ["x1x2", "X\u2081X\u2082"], ["sinx1", "sin(X\u2081)"], ["sinx2", "sin(X\u2082)"]];
const NUMERIC = ["classes", "points", "noise", "train_ratio", "batch_size", "lr", "reg_rate", "seed"];
const POS = [8, 119, 189], NEG = [245, 147, 34], WHITE = [255, 255, 255];
const PALETTE = [NEG, POS, [44, 160, 44], [148, 103, 189], [214, 39, 40], [23, 190, 207]];
const DOMAIN = 6;

let ws = null, hello = null, info = null, frame = null, playing = false;
let hovered = -1;  // the hidden neuron (flat index) whose heatmap the output square shows, or -1
let settings = {};
const view = { showTest: false, discretize: false, health: true };
const curve = { train: [], test: [] };
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------------------------------ URL state
function toHash() {
  const parts = Object.entries(settings).map(([k, v]) => `${k}=${encodeURIComponent(Array.isArray(v) ? v.join(",") : v)}`);
  for (const [k, v] of Object.entries(view)) parts.push(`${k}=${v ? 1 : 0}`);
  return "#" + parts.join("&");
}

function fromHash(defaults) {
  const s = { ...defaults };
  const h = location.hash.replace(/^#/, "");
  if (!h) return s;
  for (const pair of h.split("&")) {
    const i = pair.indexOf("=");
    if (i < 0) continue;
    const k = decodeURIComponent(pair.slice(0, i)), v = decodeURIComponent(pair.slice(i + 1));
    if (k in view) { view[k] = v === "1"; continue; }
    if (k === "hidden") s[k] = v === "" ? [] : v.split(",").map(parseValue);
    else if (k === "features") s[k] = v === "" ? [] : v.split(",");
    else if (NUMERIC.includes(k)) s[k] = parseValue(v);
    else s[k] = v;  // the server names anything unknown or out of range
  }
  return s;
}

// A number when the text is one, else the text itself, so that the server's message names what was typed.
function parseValue(text) {
  const t = String(text).trim();
  return t !== "" && Number.isFinite(Number(t)) ? Number(t) : t;
}

// ---------------------------------------------------------------------------------------- messages
function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function configure() {
  clearError();
  history.replaceState(null, "", toHash());
  send({ type: "configure", settings });
}

function connect() {
  ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onopen = () => { $("status").textContent = "connected to the deepgrad server"; };
  ws.onclose = () => {
    setPlaying(false);
    $("status").textContent = "disconnected";
    showError("", "The connection to the deepgrad server is closed; restart `deepgrad playground` and reload the page.");
  };
  ws.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.type === "hello") onHello(m);
    else if (m.type === "ready") onReady(m);
    else if (m.type === "frame") onFrame(m);
    else if (m.type === "state") setPlaying(m.playing);
    else if (m.type === "error") {
      showError(m.field, m.message);
      // A link whose settings are refused: say why, and start from the defaults so the page stays usable.
      if (!info && hello) send({ type: "configure", settings: hello.defaults });
    }
    else if (m.type === "uploaded") { settings.dataset = "custom"; settings.points = m.points; configure(); }
    else if (m.type === "export") download(m.filename, m.data);
  };
}

function onHello(m) {
  hello = m;
  const sel = $("presets");
  m.presets.forEach((p, i) => { const o = document.createElement("option"); o.value = i; o.textContent = p.name; sel.appendChild(o); });
  for (const [field, [lo, hi]] of Object.entries(m.bounds)) {
    const el = document.querySelector(`input[data-field="${field}"]`);
    if (el && el.type === "number") { el.min = lo; el.max = hi; }
  }
  settings = fromHash(m.defaults);
  controlsFromSettings();
  configure();
}

function onReady(m) {
  info = m;
  settings = { ...m.settings };
  history.replaceState(null, "", toHash());
  curve.train = []; curve.test = [];
  controlsFromSettings();
  buildNetwork();
  legend();
  $("problem").textContent = m.task === "regression" ? "regression" : m.classes > 2 ? `${m.classes} classes` : "classification";
}

function onFrame(m) {
  frame = m;
  document.body.dataset.frames = Number(document.body.dataset.frames || 0) + 1;
  $("epoch").textContent = String(m.epoch).padStart(6, "0").replace(/(\d{3})(\d{3})$/, "$1,$2");
  $("train-loss").textContent = fmt(m.train_loss);
  $("test-loss").textContent = fmt(m.test_loss);
  curve.train.push(m.train_loss); curve.test.push(m.test_loss);
  if (curve.train.length > 600) { curve.train.splice(0, 1); curve.test.splice(0, 1); }
  drawCurve();
  drawOutput();
  drawNeurons();
  drawLinks();
  drawHealth();
}

const fmt = (v) => (v === null ? "diverged" : v.toFixed(3));

function setPlaying(on) {
  playing = on;
  const b = $("play");
  b.classList.toggle("running", on);
  b.title = on ? "Pause" : "Run";
}

function download(filename, data) {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/zip" }));
  const a = document.createElement("a");
  a.href = url; a.download = filename;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ------------------------------------------------------------------------------------------ errors
function showError(field, message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  box.dataset.field = field;
  document.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
  const ctl = document.querySelector(`[data-field="${field}"]`);
  if (ctl) ctl.classList.add("invalid");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
  document.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
}

// ---------------------------------------------------------------------------------------- controls
function controlsFromSettings() {
  for (const el of document.querySelectorAll("[data-field]")) {
    const k = el.dataset.field;
    if (k in settings) el.value = settings[k];
    const out = $(`${k}-out`);
    if (out) out.textContent = settings[k];
  }
  if (hello) $("batch_size").max = Math.max(30, settings.batch_size);
  for (const b of document.querySelectorAll("#datasets button")) b.classList.toggle("selected", b.dataset.dataset === settings.dataset);
  $("classes-row").hidden = !["gauss", "spiral"].includes(settings.dataset);
  $("formula-row").hidden = settings.dataset !== "split";
  const n = (settings.hidden || []).length;
  $("layer-count").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  $("show-test").checked = view.showTest;
  $("discretize").checked = view.discretize;
  $("health-toggle").checked = view.health;
  $("network").classList.toggle("no-health", !view.health);
}

function bindControls() {
  for (const el of document.querySelectorAll("[data-field]")) {
    const k = el.dataset.field;
    el.addEventListener("change", () => {
      settings[k] = NUMERIC.includes(k) ? parseValue(el.value) : el.value;
      configure();
    });
    if (el.type === "range") el.addEventListener("input", () => { $(`${k}-out`).textContent = el.value; });
  }
  for (const b of document.querySelectorAll("#datasets button")) {
    b.addEventListener("click", () => {
      settings.dataset = b.dataset.dataset;
      if (settings.dataset === "custom") $("csv-box").open = true;
      controlsFromSettings();
      configure();
    });
  }
  $("play").addEventListener("click", () => send({ type: playing ? "pause" : "play" }));
  $("step").addEventListener("click", () => { send({ type: "pause" }); send({ type: "step" }); });
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("regenerate").addEventListener("click", () => { settings.seed = Math.floor(Math.random() * 1e6); controlsFromSettings(); configure(); });
  $("add-layer").addEventListener("click", () => { if (settings.hidden.length < 6) { settings.hidden.push(2); configure(); } });
  $("remove-layer").addEventListener("click", () => { if (settings.hidden.length > 0) { settings.hidden.pop(); configure(); } });
  $("show-test").addEventListener("change", (e) => { view.showTest = e.target.checked; history.replaceState(null, "", toHash()); drawOutput(); });
  $("discretize").addEventListener("change", (e) => { view.discretize = e.target.checked; history.replaceState(null, "", toHash()); drawOutput(); });
  $("health-toggle").addEventListener("change", (e) => { view.health = e.target.checked; history.replaceState(null, "", toHash()); controlsFromSettings(); });
  $("export").addEventListener("click", () => send({ type: "export" }));
  $("presets").addEventListener("change", (e) => {
    if (e.target.value === "") return;
    const p = hello.presets[Number(e.target.value)];
    settings = { ...hello.defaults, ...p.settings, seed: settings.seed };
    $("preset-why").textContent = p.why;
    configure();
  });
  $("csv-file").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    if (f) $("csv").value = await f.text();
  });
  $("csv-use").addEventListener("click", () => {
    const text = $("csv").value;
    if (new Blob([text]).size > hello.max_csv_bytes) {
      showError("csv", `The CSV data is larger than ${hello.max_csv_bytes / 1024} kB.`);
      return;
    }
    clearError();
    send({ type: "upload", csv: text });
  });
  $("csv").dataset.field = "csv";
  window.addEventListener("resize", drawLinks);
  window.addEventListener("hashchange", () => {  // a link edited or pasted into the address bar
    if (!hello || location.hash === toHash()) return;
    settings = fromHash(hello.defaults);
    controlsFromSettings();
    configure();
  });
}

// ----------------------------------------------------------------------------------------- network
function node(cls, title) {
  const d = document.createElement("div");
  d.className = `node ${cls}`;
  d.title = title;
  const c = document.createElement("canvas");
  c.width = 50; c.height = 50;
  d.appendChild(c);
  return d;
}

function buildNetwork() {
  hovered = -1;
  const feats = $("features");
  feats.innerHTML = "";
  for (const [key, label] of FEATURES) {
    const d = node("feature", `feature ${label}: click to use it or not`);
    d.dataset.feature = key;
    d.classList.toggle("on", settings.features.includes(key));
    const name = document.createElement("span");
    name.className = "name"; name.textContent = label;
    d.appendChild(name);
    d.addEventListener("click", () => {
      const on = settings.features.includes(key);
      settings.features = on ? settings.features.filter((f) => f !== key) : FEATURES.map((f) => f[0]).filter((f) => f === key || settings.features.includes(f));
      configure();
    });
    feats.appendChild(d);
    paintFeature(d.querySelector("canvas"), key);
  }
  const hidden = $("hidden-layers");
  hidden.innerHTML = "";
  settings.hidden.forEach((n, li) => {
    const col = document.createElement("div");
    col.className = "layer hidden-layer";
    const ctl = document.createElement("div");
    ctl.className = "layer-ctl";
    ctl.innerHTML = `<div><button class="add-neuron" title="Add a neuron">+</button><button class="remove-neuron" title="Remove a neuron">&minus;</button></div><span>${n} neuron${n === 1 ? "" : "s"}</span>`;
    ctl.querySelector(".add-neuron").addEventListener("click", () => { if (settings.hidden[li] < 8) { settings.hidden[li] += 1; configure(); } });
    ctl.querySelector(".remove-neuron").addEventListener("click", () => { if (settings.hidden[li] > 1) { settings.hidden[li] -= 1; configure(); } });
    col.appendChild(ctl);
    for (let j = 0; j < n; j++) {
      const d = node("neuron", `layer ${li + 1}, neuron ${j + 1}`);
      d.dataset.layer = li; d.dataset.index = j;
      const flat = settings.hidden.slice(0, li).reduce((a, b) => a + b, 0) + j;
      d.addEventListener("mouseenter", () => { hovered = flat; drawOutput(); });
      d.addEventListener("mouseleave", () => { hovered = -1; drawOutput(); });
      const bar = document.createElement("div");
      bar.className = "gbar";
      d.appendChild(bar);
      col.appendChild(d);
    }
    hidden.appendChild(col);
  });
  requestAnimationFrame(drawLinks);
}

function paintFeature(canvas, key) {
  const g = 50, img = canvas.getContext("2d").createImageData(g, g);
  const f = { x1: (a) => a / DOMAIN, x2: (a, b) => b / DOMAIN, x1sq: (a) => (a * a) / 36, x2sq: (a, b) => (b * b) / 36,
    x1x2: (a, b) => (a * b) / 36, sinx1: (a) => Math.sin(a), sinx2: (a, b) => Math.sin(b) }[key];
  for (let r = 0; r < g; r++) for (let c = 0; c < g; c++) {
    const x1 = -DOMAIN + (2 * DOMAIN * c) / (g - 1), x2 = DOMAIN - (2 * DOMAIN * r) / (g - 1);
    putColour(img, r * g + c, diverging(f(x1, x2)));
  }
  canvas.getContext("2d").putImageData(img, 0, 0);
}

// ----------------------------------------------------------------------------------------- colours
function mix(a, b, t) { return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]; }
function diverging(v) { v = Math.max(-1, Math.min(1, v)); return v >= 0 ? mix(WHITE, POS, v) : mix(WHITE, NEG, -v); }
function putColour(img, i, c) { img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255; }
function css(c) { return `rgb(${c.map(Math.round).join(",")})`; }
function bytes(b64) { return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); }
const unit = (b) => b / 127.5 - 1;  // the server's byte scale back to [-1, 1]

function outputColour(maps, i, n) {
  const k = frame.output_maps;
  if (info.task === "regression") return diverging(view.discretize ? Math.sign(unit(maps[i])) : unit(maps[i]));
  if (k === 2) {
    const v = unit(maps[n + i]);  // 2 P(class 1) - 1
    return diverging(view.discretize ? (v >= 0 ? 1 : -1) : v);
  }
  let best = 0, sum = [0, 0, 0];
  for (let c = 0; c < k; c++) {
    const p = maps[c * n + i] / 255;
    if (p > maps[best * n + i] / 255) best = c;
    sum = [sum[0] + p * PALETTE[c][0], sum[1] + p * PALETTE[c][1], sum[2] + p * PALETTE[c][2]];
  }
  if (view.discretize) return PALETTE[best];
  const top = maps[best * n + i] / 255;
  return mix(WHITE, sum, Math.max(0, (top - 1 / k) / (1 - 1 / k)));
}

function paintMap(canvas, colourAt) {
  const g = info.grid, ctx = canvas.getContext("2d"), img = ctx.createImageData(g, g);
  for (let i = 0; i < g * g; i++) putColour(img, i, colourAt(i));
  if (canvas.width === g) { ctx.putImageData(img, 0, 0); return; }
  const off = document.createElement("canvas");
  off.width = g; off.height = g;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = !view.discretize;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function drawOutput() {
  if (!frame || !info) return;
  const canvas = $("heatmap"), n = info.grid * info.grid, maps = bytes(frame.output);
  const soft = (c) => mix(c, WHITE, 0.25);
  if (hovered >= 0) {  // a neuron under the mouse: its output, large
    const data = bytes(frame.neurons), base = hovered * n;
    paintMap(canvas, (i) => soft(diverging(unit(data[base + i]))));
  } else paintMap(canvas, (i) => soft(outputColour(maps, i, n)));
  paintMap($("output-node").querySelector("canvas"), (i) => outputColour(maps, i, n));
  const ctx = canvas.getContext("2d"), W = canvas.width;
  const px = (x) => ((x + DOMAIN) / (2 * DOMAIN)) * W, py = (y) => ((DOMAIN - y) / (2 * DOMAIN)) * W;
  const pointColour = (y) => (info.task === "regression" ? diverging(y) : info.classes > 2 ? PALETTE[y] : y === 1 ? POS : NEG);
  const dots = (set, stroke) => {
    for (let i = 0; i < set.x.length; i++) {
      ctx.beginPath();
      ctx.arc(px(set.x[i][0]), py(set.x[i][1]), 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = css(pointColour(set.y[i]));
      ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = stroke; ctx.stroke();
    }
  };
  dots(info.train, "#fff");
  if (view.showTest) dots(info.test, "#000");
  ctx.fillStyle = "#555"; ctx.font = "10px sans-serif";
  ctx.fillText("-6", 2, W - 3); ctx.fillText("6", W - 9, W - 3); ctx.fillText("6", 2, 10);
}

function drawNeurons() {
  const n = info.grid * info.grid, data = bytes(frame.neurons);
  let offset = 0;
  document.querySelectorAll("#hidden-layers .neuron").forEach((d) => {
    const base = offset;
    paintMap(d.querySelector("canvas"), (i) => diverging(unit(data[base + i])));
    offset += n;
  });
}

function centre(el, box) {
  const r = el.getBoundingClientRect();
  return [r.left - box.left + r.width / 2, r.top - box.top + r.height / 2, r.width / 2];
}

function drawLinks() {
  const net = $("network"), canvas = $("links");
  const box = net.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = box.width * dpr; canvas.height = box.height * dpr;
  canvas.style.width = `${box.width}px`; canvas.style.height = `${box.height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (!frame || !info) return;
  const layers = [[...document.querySelectorAll("#features .feature.on")]];
  document.querySelectorAll("#hidden-layers .hidden-layer").forEach((col) => layers.push([...col.querySelectorAll(".neuron")]));
  layers.push([$("output-node")]);
  frame.weights.forEach((w, l) => {
    const from = layers[l], to = layers[l + 1];
    if (!from || !to) return;
    const classes = l === frame.weights.length - 1 && w.length > 1;  // softmax: one node stands for k outputs
    if (!classes && w.length !== to.length) return;
    for (let j = 0; j < to.length; j++) {
      const [x2, y2, h2] = centre(to[j], box);
      for (let i = 0; i < from.length; i++) {
        const [x1, y1, h1] = centre(from[i], box);
        // for k classes: the class this input pushes hardest, in that class's colour
        const c = classes ? w.reduce((b, row, k) => (Math.abs(row[i]) > Math.abs(w[b][i]) ? k : b), 0) : -1;
        const v = classes ? w[c][i] : w[j][i];
        ctx.beginPath();
        ctx.moveTo(x1 + h1, y1);
        const mx = (x1 + h1 + x2 - h2) / 2;
        ctx.bezierCurveTo(mx, y1, mx, y2, x2 - h2, y2);
        ctx.strokeStyle = css(classes ? PALETTE[c] : v >= 0 ? POS : NEG);
        ctx.globalAlpha = Math.min(1, 0.25 + Math.abs(v));
        ctx.lineWidth = Math.max(0.4, Math.min(6, Math.abs(v) * 2.5));
        ctx.stroke();
      }
    }
  });
  ctx.globalAlpha = 1;
}

function drawHealth() {
  const h = frame.health, items = [...h.flags];
  let dead = 0, sat = 0;
  document.querySelectorAll("#hidden-layers .neuron").forEach((d) => {
    const rec = (h.neurons[d.dataset.layer] || [])[d.dataset.index];
    if (!rec) return;
    d.classList.toggle("dead", rec.flag === "dead");
    d.classList.toggle("saturated", rec.flag === "saturated");
    dead += rec.flag === "dead"; sat += rec.flag === "saturated";
    const g = rec.grad > 0 ? Math.log10(rec.grad) : -8;
    d.querySelector(".gbar").style.width = `${Math.max(1, Math.min(44, ((g + 6) / 6) * 44))}px`;
    let t = `layer ${Number(d.dataset.layer) + 1}, neuron ${Number(d.dataset.index) + 1}\n|dL/dw| = ${rec.grad.toExponential(2)}`;
    if ("active" in rec) t += `\nactive on ${(100 * rec.active).toFixed(0)}% of the training points${rec.dead ? " (dead ReLU)" : ""}`;
    if ("saturated" in rec) t += `\nsaturated on ${(100 * rec.saturated).toFixed(0)}% of the training points`;
    d.title = t;
  });
  if (dead) items.push(`${dead} dead ReLU neuron${dead > 1 ? "s" : ""}: silent on every training point, so they no longer learn`);
  if (sat) items.push(`${sat} saturated neuron${sat > 1 ? "s" : ""}: flat part of the activation on most points (small gradients)`);
  const ul = $("health-flags");
  ul.innerHTML = "";
  if (!items.length) items.push(null);
  for (const text of items) {
    const li = document.createElement("li");
    if (text === null) { li.className = "ok"; li.textContent = "no problem found"; } else li.textContent = text;
    ul.appendChild(li);
  }
}

function drawCurve() {
  const c = $("curve"), ctx = c.getContext("2d"), W = c.width, H = c.height;
  ctx.clearRect(0, 0, W, H);
  const all = curve.train.concat(curve.test).filter((v) => v !== null);
  if (all.length < 2) return;
  const top = Math.max(...all) || 1, n = curve.train.length;
  const line = (vals, colour) => {
    ctx.beginPath();
    vals.forEach((v, i) => { const x = (i / Math.max(1, n - 1)) * W, y = H - 2 - ((v ?? top) / top) * (H - 4); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.strokeStyle = colour; ctx.lineWidth = 1.5; ctx.stroke();
  };
  line(curve.train, "#999");
  line(curve.test, "#111");
}

function legend() {
  const el = $("legend");
  el.innerHTML = "";
  const entries = info.task === "regression" ? [[NEG, "target -1"], [POS, "target +1"]]
    : Array.from({ length: Math.max(2, info.classes) }, (_, c) => [PALETTE[c], `class ${c}`]);
  for (const [colour, text] of entries) {
    const s = document.createElement("span");
    s.style.setProperty("--c", css(colour));
    s.textContent = text;
    el.appendChild(s);
  }
}

bindControls();
connect();
