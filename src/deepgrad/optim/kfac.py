"""K-FAC: Kronecker-factored approximate curvature (Martens & Grosse, 2015; convolutions: Grosse & Martens, 2016).

For a layer s = W ā (ā the input with a 1 appended for the bias), the Fisher block of W is approximated by a
Kronecker product F ≈ A ⊗ G with A = E[ā āᵀ] and G = E[g gᵀ], g = ∂ℓ/∂s for the per-example loss ℓ. Its damped
inverse applied to the gradient matrix ∇ (out × in+1) is, with the eigendecompositions A = Q_A diag(d_A) Q_Aᵀ and
G = Q_G diag(d_G) Q_Gᵀ,

    V = Q_G [ (Q_Gᵀ ∇ Q_A) / (d_G d_Aᵀ + λ) ] Q_Aᵀ        (elementwise division; λ the damping),

which is (A ⊗ G + λI)⁻¹ vec ∇. The step is then scaled by ν = min(1, √(κ / (η² Σ_layers ⟨V, ∇⟩))) (the KL clip
κ) and taken with momentum: b ← μ b + ν V + w θ, θ ← θ − η b.

Factors are running averages (decay ``stat_decay``) refreshed every ``factor_update_freq`` steps from the
activations and output gradients that forward hooks record; the eigendecompositions are recomputed every
``inv_update_freq`` steps. For Conv2d, ā runs over the input patches at every output position (im2col rows),
A = their mean and G = the mean over the batch of Σ_positions g gᵀ (spatially uncorrelated derivatives, KFC).
Parameters of other layers get plain SGD with momentum.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import grad_mode
from ..backend import array_module
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module
from .optimizer import Optimizer, check

__all__ = ["KFAC"]


def _patches(x, module: Conv2d):
    """im2col rows of x (N, C, H, W) for ``module``: (N · H_out · W_out, C · kh · kw), ordered as weight.reshape."""
    xp = array_module(x)
    (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
    pad = module.padding
    if isinstance(pad, str):
        raise ValueError("KFAC: Conv2d with padding='same'/'valid' strings is not supported; give the padding "
                         "as numbers")
    ph, pw = pad
    x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    win = xp.lib.stride_tricks.sliding_window_view(x, (eh, ew), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)


class KFAC(Optimizer):
    """K-FAC for the ``Linear`` and ``Conv2d`` (groups = 1) layers of ``model`` (see the module docstring).

    Args:
        model: the network; hooks are registered on its Linear and Conv2d layers (``remove_hooks()`` removes them).
        lr: η (default 0.01). momentum: μ (0.9). damping: λ (1e-3). weight_decay: w (0).
        stat_decay: running-average decay of A and G (0.95). kl_clip: κ (1e-3; None disables the clip).
        factor_update_freq: steps between factor updates (10). inv_update_freq: steps between eigendecompositions
            (100); both count ``step()`` calls, the factors are always taken at the first step.

    Example:
        >>> import deepgrad as dg
        >>> net = dg.nn.Sequential(dg.nn.Linear(4, 8), dg.nn.ReLU(), dg.nn.Linear(8, 3))
        >>> opt = KFAC(net, lr=0.05)
        >>> loss = dg.nn.functional.cross_entropy(net(dg.randn(16, 4)), dg.randint(0, 3, (16,)))
        >>> loss.backward(); opt.step()
    """

    def __init__(self, model: Module, lr: float = 0.01, momentum: float = 0.9, damping: float = 1e-3,
                 weight_decay: float = 0.0, stat_decay: float = 0.95, kl_clip: float | None = 1e-3,
                 factor_update_freq: int = 10, inv_update_freq: int = 100) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"KFAC: expects the model (a Module) to hook its layers, got {type(model).__name__}")
        super().__init__(model.parameters(), dict(lr=lr, momentum=momentum, weight_decay=weight_decay))
        check("KFAC", "damping", damping, damping > 0, "> 0")
        check("KFAC", "stat_decay", stat_decay, 0 <= stat_decay < 1, "in [0, 1)")
        check("KFAC", "kl_clip", kl_clip, kl_clip is None or kl_clip > 0, "> 0 or None")
        for name, v in (("factor_update_freq", factor_update_freq), ("inv_update_freq", inv_update_freq)):
            check("KFAC", name, v, isinstance(v, int) and v >= 1, "a positive integer")
        self.damping, self.stat_decay, self.kl_clip = float(damping), float(stat_decay), kl_clip
        self.factor_update_freq, self.inv_update_freq = factor_update_freq, inv_update_freq
        self.layers = [m for m in model.modules() if type(m) is Linear or (type(m) is Conv2d and m.groups == 1)]
        if not self.layers:
            raise ValueError("KFAC: the model has no Linear or Conv2d (groups=1) layer to precondition")
        self.steps = 0
        self._stats: dict = {}      # module -> {'a': array, 'g': array, 'A', 'G', 'QA', 'dA', 'QG', 'dG'}
        self._handles = [h for m in self.layers for h in (m.register_forward_pre_hook(self._save_input),
                                                          m.register_forward_hook(self._hook_output))]

    def _collecting(self, module) -> bool:
        return module.training and grad_mode.is_grad_enabled() and self.steps % self.factor_update_freq == 0

    def _save_input(self, module, args):
        if self._collecting(module):
            self._stats.setdefault(module, {})["x"] = args[0].detach()._data

    def _hook_output(self, module, args, output):
        if self._collecting(module) and output.requires_grad:
            def keep(g, module=module):
                self._stats[module]["gy"] = g._data

            output.register_hook(keep)

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()

    def _update_factors(self, m, st) -> None:
        xp = array_module(st["x"])
        x, gy = st.pop("x"), st.pop("gy")
        n = x.shape[0]
        if isinstance(m, Conv2d):
            a = _patches(x, m)
            g = gy.transpose(0, 2, 3, 1).reshape(-1, gy.shape[1]) * n
            big_g = g.T @ g / n                      # mean over the batch of Σ over positions
        else:
            a, g = x.reshape(-1, x.shape[-1]), gy.reshape(-1, gy.shape[-1]) * n
            big_g = g.T @ g / a.shape[0]
        if m.bias is not None:
            a = xp.concatenate([a, xp.ones((a.shape[0], 1), a.dtype)], 1)
        big_a = a.T @ a / a.shape[0]
        if "A" not in st:
            st["A"], st["G"] = big_a, big_g
        else:
            d = self.stat_decay
            st["A"], st["G"] = d * st["A"] + (1 - d) * big_a, d * st["G"] + (1 - d) * big_g

    def step(self, closure=None):
        """One K-FAC step (the gradients must come from a backward through the hooked model)."""
        loss = self._evaluate(closure)
        group = self.param_groups[0]
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        directions, vg = {}, 0.0
        with grad_mode.no_grad():
            for m in self.layers:
                st = self._stats.get(m, {})
                if m.weight.grad is None:
                    continue
                if "gy" in st and "x" in st:
                    self._update_factors(m, st)
                if "A" not in st:
                    raise RuntimeError("KFAC.step: no activation statistics yet; run a training forward/backward "
                                       "through the model (in train mode, with grad enabled) before the first step")
                xp = array_module(st["A"])
                if "QA" not in st or self.steps % self.inv_update_freq == 0:
                    st["dA"], st["QA"] = xp.linalg.eigh(st["A"].astype(np.float64))
                    st["dG"], st["QG"] = xp.linalg.eigh(st["G"].astype(np.float64))
                    st["dA"], st["dG"] = xp.maximum(st["dA"], 0), xp.maximum(st["dG"], 0)
                w = m.weight
                grad = w.grad._data.reshape(w.shape[0], -1)
                if m.bias is not None:
                    grad = xp.concatenate([grad, m.bias.grad._data.reshape(-1, 1)], 1)
                grad = grad.astype(np.float64)
                v = st["QG"].T @ grad @ st["QA"]
                v = st["QG"] @ (v / (st["dG"][:, None] * st["dA"][None, :] + self.damping)) @ st["QA"].T
                vg += float((v * grad).sum())
                if m.bias is not None:
                    directions[w] = v[:, :-1].reshape(w.shape)
                    directions[m.bias] = v[:, -1]
                else:
                    directions[w] = v.reshape(w.shape)
            nu = 1.0 if self.kl_clip is None or vg <= 0 else min(1.0, math.sqrt(self.kl_clip / (lr * lr * vg)))
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = (nu * directions[p]).astype(p.dtype) if p in directions else p.grad._data
                if wd:
                    d = d + wd * p._data
                st = self.state.setdefault(p, {})
                if mu:
                    buf = st.get("momentum_buffer")
                    st["momentum_buffer"] = d = d.copy() if buf is None else mu * buf + d
                p._data -= lr * d
                p._version += 1
        self.steps += 1
        return loss
