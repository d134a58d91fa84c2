"""Registry entries for convolution, pooling, interpolation and local response normalisation, with naive loop
references (obviously correct, slow: small shapes only) that the other conv tests reuse."""
import itertools

import numpy as np

import deepgrad.nn.functional as F
from harness import case


def conv_ref(x, w, b=None, stride=1, pads=0, dilation=1, groups=1):
    """out(n, j, o) = b(j) + Σ_{k in j's group} Σ_m w(j, k, m) · xpad(n, k, o·stride + m·dilation)."""
    nd = x.ndim - 2
    st = (stride,) * nd if isinstance(stride, int) else tuple(stride)
    dl = (dilation,) * nd if isinstance(dilation, int) else tuple(dilation)
    pads = [(pads, pads)] * nd if isinstance(pads, int) else list(pads)
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    cout, cg = w.shape[:2]
    kern = w.shape[2:]
    out = tuple((xp.shape[2 + i] - dl[i] * (kern[i] - 1) - 1) // st[i] + 1 for i in range(nd))
    y = np.zeros((x.shape[0], cout) + out)
    og = cout // groups
    for o in itertools.product(*map(range, out)):
        for m in itertools.product(*map(range, kern)):
            patch = xp[(slice(None), slice(None)) + tuple(o[i] * st[i] + m[i] * dl[i] for i in range(nd))]
            for g in range(groups):
                y[(slice(None), slice(g * og, (g + 1) * og)) + o] += \
                    patch[:, g * cg:(g + 1) * cg] @ w[(slice(g * og, (g + 1) * og), slice(None)) + m].T
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nd)
    return y


def conv_transpose_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input value scatters w(k, j, m)·x(n, k, q) to output position q·stride + m·dilation − padding."""
    nd = x.ndim - 2
    st, pd, op, dl = ((v,) * nd if isinstance(v, int) else tuple(v) for v in (stride, padding, output_padding, dilation))
    cin, og = w.shape[:2]
    kern = w.shape[2:]
    size = tuple((x.shape[2 + i] - 1) * st[i] + dl[i] * (kern[i] - 1) + 1 + op[i] for i in range(nd))
    y = np.zeros((x.shape[0], og * groups) + size)
    cg = cin // groups
    for q in itertools.product(*map(range, x.shape[2:])):
        for m in itertools.product(*map(range, kern)):
            p = tuple(q[i] * st[i] + m[i] * dl[i] for i in range(nd))
            for g in range(groups):
                y[(slice(None), slice(g * og, (g + 1) * og)) + p] += \
                    x[(slice(None), slice(g * cg, (g + 1) * cg)) + q] @ w[(slice(g * cg, (g + 1) * cg), slice(None)) + m]
    y = y[(slice(None), slice(None)) + tuple(slice(pd[i], size[i] - pd[i] + 0) for i in range(nd))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * nd)
    return y


def pool2d_ref(x, k, s, p, reduce, fill):
    """out(n, c, i, j) = reduce over the k×k window at (i·s − p, j·s − p) of x padded with ``fill``."""
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)], constant_values=fill)
    oh, ow = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
    y = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = reduce(xp[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return y

# convolution: (name, n-d, input, weight, kwargs) — stride, padding, dilation, groups, 1/2/3-d
CONVS = [
    ("plain", (2, 3, 6, 5), (4, 3, 3, 3), {}),
    ("stride-pad", (2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ("dilation", (1, 2, 8, 7), (3, 2, 3, 3), dict(dilation=2, padding=(1, 2))),
    ("groups", (2, 4, 5, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ("depthwise", (2, 3, 5, 6), (3, 1, 3, 3), dict(groups=3, stride=(1, 2))),
    ("same-stride2", (1, 2, 7, 6), (3, 2, 3, 3), dict(padding="same", stride=2)),
    ("full", (1, 2, 4, 5), (2, 2, 3, 2), dict(padding="full")),
    ("1d", (2, 3, 9), (4, 3, 3), dict(stride=2, padding=1, dilation=2)),
    ("3d", (1, 2, 4, 5, 4), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=1)),
]
FN = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}
TFN = {3: F.conv_transpose1d, 4: F.conv_transpose2d, 5: F.conv_transpose3d}


def _pads(kw, x, w):
    from deepgrad.ops.conv import resolve_padding

    nd = x.ndim - 2
    st, dl = kw.get("stride", 1), kw.get("dilation", 1)
    st = (st,) * nd if isinstance(st, int) else st
    dl = (dl,) * nd if isinstance(dl, int) else dl
    return resolve_padding(kw.get("padding", 0), x.shape[2:], w.shape[2:], st, dl, "ref")


for name, xs, ws, kw in CONVS:
    fn = FN[len(xs)]
    case("conv", lambda x, w, b, f=fn, k=kw: f(x, w, b, **k), [xs, ws, (ws[0],)],
         lambda x, w, b, k=kw: conv_ref(x, w, b, k.get("stride", 1), _pads(k, x, w), k.get("dilation", 1),
                                      k.get("groups", 1)),
         variant=name, gradgrad=name in ("plain", "groups", "1d"))

TRANSPOSES = [
    ("plain", (2, 3, 4, 5), (3, 2, 3, 3), {}),
    ("stride-pad-outpad", (1, 4, 3, 4), (4, 3, 3, 2), dict(stride=2, padding=1, output_padding=1)),
    ("groups-dilation", (2, 4, 3, 3), (4, 1, 2, 3), dict(groups=2, dilation=2, stride=(2, 1))),
    ("1d", (2, 2, 5), (2, 3, 4), dict(stride=3, padding=1)),
    ("3d", (1, 2, 2, 3, 2), (2, 2, 2, 2, 3), dict(stride=2)),
]
for name, xs, ws, kw in TRANSPOSES:
    fn = TFN[len(xs)]
    case("conv_transpose", lambda x, w, b, f=fn, k=kw: f(x, w, b, **k), [xs, ws, (ws[1] * kw.get("groups", 1),)],
         lambda x, w, b, k=kw: conv_transpose_ref(x, w, b, **k), variant=name, gradgrad=name == "plain")

case("max_pool2d", lambda x: F.max_pool2d(x, 2), [(2, 3, 6, 4)],
     lambda x: pool2d_ref(x, 2, 2, 0, np.max, -np.inf), gradgrad=True)
case("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1), [(2, 2, 7, 6)],
     lambda x: pool2d_ref(x, 3, 2, 1, np.max, -np.inf), variant="overlap-pad", gradgrad=True)
case("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, ceil_mode=True), [(2, 2, 8)],
     lambda x: np.stack([x[..., i:i + 3].max(-1) for i in range(0, 7, 2)], -1))
case("max_pool3d", lambda x: F.max_pool3d(x, 2), [(1, 2, 4, 4, 2)],
     lambda x: x.reshape(1, 2, 2, 2, 2, 2, 1, 2).max(axis=(3, 5, 7)))
case("avg_pool2d", lambda x: F.avg_pool2d(x, 2), [(2, 3, 6, 4)], lambda x: pool2d_ref(x, 2, 2, 0, np.mean, 0.0),
     gradgrad=True)
case("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1), [(2, 2, 7, 6)],
     lambda x: pool2d_ref(x, 3, 2, 1, np.mean, 0.0), variant="overlap-pad")
case("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [(1, 2, 5, 5)],
     lambda x: pool2d_ref(x, 3, 2, 1, np.sum, 0.0) / pool2d_ref(np.ones_like(x), 3, 2, 1, np.sum, 0.0),
     variant="exclude-pad")
case("avg_pool1d", lambda x: F.avg_pool1d(x, 2), [(2, 3, 6)], lambda x: x.reshape(2, 3, 3, 2).mean(-1))
case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1), [(2, 3, 5, 4)],
     lambda x: x.mean(axis=(2, 3), keepdims=True), variant="global")
case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [(1, 2, 5, 4)],
     lambda x: np.stack([np.stack([x[:, :, (0, 2)[i]:(3, 5)[i], (0, 1, 2)[j]:(2, 3, 4)[j]]
                                   .mean(axis=(2, 3)) for j in range(3)], -1) for i in range(2)], -2),
     variant="bins", gradgrad=True)
case("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3)), [(1, 2, 5, 4)],
     lambda x: np.stack([np.stack([x[:, :, (0, 2)[i]:(3, 5)[i], (0, 1, 2)[j]:(2, 3, 4)[j]].max(axis=(2, 3))
                                   for j in range(3)], -1) for i in range(2)], -2), variant="bins")
case("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, 1), [(2, 3, 5, 4)],
     lambda x: x.max(axis=(2, 3), keepdims=True), variant="global")


def _nearest_ref(x, oh, ow):
    h, w = x.shape[2:]
    return x[:, :, (np.arange(oh) * h // oh)][:, :, :, (np.arange(ow) * w // ow)]


def _bilinear_ref(x, oh, ow, align):
    h, w = x.shape[2:]
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            sy = i * (h - 1) / (oh - 1) if align else max((i + 0.5) * h / oh - 0.5, 0)
            sx = j * (w - 1) / (ow - 1) if align else max((j + 0.5) * w / ow - 0.5, 0)
            y0, x0 = min(int(sy), h - 1), min(int(sx), w - 1)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            ly, lx = sy - y0, sx - x0
            out[:, :, i, j] = ((1 - ly) * (1 - lx) * x[:, :, y0, x0] + (1 - ly) * lx * x[:, :, y0, x1]
                               + ly * (1 - lx) * x[:, :, y1, x0] + ly * lx * x[:, :, y1, x1])
    return out


case("interpolate", lambda x: F.interpolate(x, scale_factor=2), [(1, 2, 3, 4)], lambda x: _nearest_ref(x, 6, 8),
     variant="nearest-x2")
case("interpolate", lambda x: F.interpolate(x, size=(5, 3)), [(1, 2, 3, 4)], lambda x: _nearest_ref(x, 5, 3),
     variant="nearest-size")
for align in (False, True):
    case("interpolate", lambda x, a=align: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=a),
         [(2, 2, 3, 4)], lambda x, a=align: _bilinear_ref(x, 5, 7, a), variant=f"bilinear-align={align}",
         gradgrad=align)


def _lrn_ref(x, size, alpha, beta, k):
    c = x.shape[1]
    sq = np.pad(x * x, [(0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)])
    s = np.stack([sq[:, i:i + size].sum(1) for i in range(c)], 1)
    return x / (k + alpha / size * s) ** beta


case("local_response_norm", lambda x: F.local_response_norm(x, 3, 0.1, 0.75, 2.0), [(2, 5, 3, 2)],
     lambda x: _lrn_ref(x, 3, 0.1, 0.75, 2.0), gradgrad=True)
case("local_response_norm", lambda x: F.local_response_norm(x, 4, 0.5), [(1, 6, 2, 2)],
     lambda x: _lrn_ref(x, 4, 0.5, 0.75, 1.0), variant="even-size")
case("correlate2d", lambda x, k: F.correlate2d(x, k, "full"), [(2, 5, 6), (2, 3)],
     lambda x, k: conv_ref(x[:, None], k[None, None], pads=[(1, 1), (2, 2)])[:, 0], variant="full")
