"""Known-good settings per data set, each with the sentence that says why it works (the page's preset menu).

Every preset is checked by the tests: trained for its number of steps it reaches its test loss.
"""
from __future__ import annotations

__all__ = ["PRESETS"]

_ALL = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]

PRESETS = [
    {"name": "Circle: squared features, no hidden layer",
     "why": "The inner class is x1² + x2² < r², a linear condition on the squared features: logistic regression "
            "on x1², x2² separates it without any hidden neuron.",
     "settings": {"dataset": "circle", "features": ["x1sq", "x2sq"], "hidden": [], "lr": 0.03, "optimizer": "adam"}},
    {"name": "Circle: raw inputs, one hidden layer",
     "why": "From x1 and x2 alone, each tanh neuron draws one line; four of them fence the inner class in a "
            "rounded polygon.",
     "settings": {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4], "activation": "tanh", "lr": 0.03,
                  "optimizer": "adam"}},
    {"name": "XOR: the product feature",
     "why": "The label is the sign of x1·x2, so the single feature x1x2 makes the two classes linearly separable.",
     "settings": {"dataset": "xor", "features": ["x1x2"], "hidden": [], "lr": 0.03, "optimizer": "sgd"}},
    {"name": "Gaussian: logistic regression",
     "why": "Two round blobs are split by a straight line: no hidden layer is needed.",
     "settings": {"dataset": "gauss", "classes": 2, "features": ["x1", "x2"], "hidden": [], "lr": 0.03}},
    {"name": "Four Gaussians: softmax",
     "why": "Four blobs around a circle: a softmax over four linear scores cuts the plane into four wedges.",
     "settings": {"dataset": "gauss", "classes": 4, "features": ["x1", "x2"], "hidden": [], "lr": 0.03,
                  "optimizer": "adam"}},
    {"name": "Spiral: every feature, three tanh layers",
     "why": "The arms wind around the centre; the sine features already oscillate with the angle, three tanh layers "
            "bend them into the spiral, and Adam keeps the step size even across layers.",
     "settings": {"dataset": "spiral", "classes": 2, "features": _ALL, "hidden": [8, 8, 6], "activation": "tanh",
                  "lr": 0.01, "optimizer": "adam", "batch_size": 10}},
    {"name": "y > f(x): the function as a feature",
     "why": "The classes are x2 > 3 sin(x1), which is linear in x2 and sin(x1): with the feature sin x1 a single "
            "output unit learns the boundary, no hidden layer needed.",
     "settings": {"dataset": "split", "formula": "3*sin(x)", "features": ["x1", "x2", "sinx1"], "hidden": [],
                  "lr": 0.03, "optimizer": "adam"}},
    {"name": "Plane: one linear unit",
     "why": "The target (x1 + x2) / 12 is linear in the inputs: a network without hidden layers fits it exactly.",
     "settings": {"dataset": "plane", "features": ["x1", "x2"], "hidden": [], "lr": 0.003, "optimizer": "sgd"}},
    {"name": "Multi-Gaussian: local bumps",
     "why": "Six bumps of alternating sign need units that respond locally; two tanh layers combine ridges into "
            "bumps, and Adam copes with the very different gradient scales of the layers.",
     "settings": {"dataset": "multigauss", "features": ["x1", "x2", "x1sq", "x2sq"], "hidden": [8, 8],
                  "activation": "tanh", "lr": 0.01, "optimizer": "adam"}},
]
