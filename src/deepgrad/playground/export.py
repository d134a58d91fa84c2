"""Export of a playground run: a deepgrad checkpoint and a short Python script that rebuilds and evaluates it.

The download is one zip archive built in memory: ``playground_model.safetensors`` (``deepgrad.save`` of the
network's ``state_dict``, the settings, and the test points) and ``evaluate_playground.py``, which spells the
architecture out as an ``nn.Sequential``, loads the weights and prints the test loss (and accuracy).
"""
from __future__ import annotations

import io
import os
import tempfile
import zipfile

from .. import nn
from ..serialization import save
from .session import Session

__all__ = ["export_zip", "CHECKPOINT", "SCRIPT"]

CHECKPOINT = "playground_model.safetensors"
SCRIPT = "evaluate_playground.py"
_MODULES = {"relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()", "linear": "nn.Identity()"}

_TEMPLATE = '''"""Rebuild the network trained in the deepgrad playground and evaluate it on its test points.

Data set: {dataset} ({task}); features: {features}; hidden layers: {hidden}; activation: {activation};
optimiser: {optimizer}, learning rate {lr:g}; trained for {epoch} epochs ({steps} steps).
Run: python {script} [{checkpoint}]
"""
import sys
from collections import OrderedDict

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F
from deepgrad.playground.features import feature_matrix

ckpt = dg.load(sys.argv[1] if len(sys.argv) > 1 else "{checkpoint}")
model = nn.Sequential(OrderedDict([
{layers}
]))
model.load_state_dict(ckpt["model"])
model.eval()

x = dg.tensor(feature_matrix(ckpt["test_x"], ckpt["settings"]["features"]))
y = ckpt["test_y"]
with dg.no_grad():
    out = model(x)
{evaluate}'''

_EVALUATE = {
    "binary": '''    loss = F.binary_cross_entropy_with_logits(out, dg.tensor(y.reshape(-1, 1).astype("float32")))
accuracy = float(((out.numpy()[:, 0] > 0) == (y == 1)).mean())
print(f"test loss {{loss.item():.4f}}, test accuracy {{accuracy:.3f}} on {{len(y)}} points")
''',
    "multiclass": '''    loss = F.cross_entropy(out, dg.tensor(y))
accuracy = float((out.numpy().argmax(1) == y).mean())
print(f"test loss {{loss.item():.4f}}, test accuracy {{accuracy:.3f}} on {{len(y)}} points")
''',
    "regression": '''    loss = F.mse_loss(out, dg.tensor(y.reshape(-1, 1)))
print(f"test loss {{loss.item():.4f}} (mean squared error) on {{len(y)}} points")
''',
}


def script(session: Session) -> str:
    """The evaluation script's source for this session."""
    s = session.settings
    layers = []
    for name, m in session.model.named_children():
        code = f"nn.Linear({m.in_features}, {m.out_features})" if isinstance(m, nn.Linear) else _MODULES[s.activation]
        layers.append(f'    ("{name}", {code}),')
    kind = "regression" if session.task == "regression" else "multiclass" if session.n_classes > 2 else "binary"
    return _TEMPLATE.format(dataset=s.dataset, task=session.task, features=", ".join(s.features),
                            hidden=list(s.hidden) or "none", activation=s.activation, optimizer=s.optimizer, lr=s.lr,
                            epoch=session.epoch, steps=session.steps, script=SCRIPT, checkpoint=CHECKPOINT,
                            layers="\n".join(layers), evaluate=_EVALUATE[kind].format())


def export_zip(session: Session) -> bytes:
    """The zip archive (bytes) of the checkpoint and the script; nothing is left on disk."""
    train_loss, test_loss = session.losses()
    ckpt = {"model": session.model.state_dict(), "settings": session.settings.to_dict(), "task": session.task,
            "classes": session.n_classes, "epoch": session.epoch, "steps": session.steps,
            "train_loss": train_loss, "test_loss": test_loss,
            "test_x": session.test_xy, "test_y": session.test_y}
    with tempfile.TemporaryDirectory(prefix="deepgrad-playground-") as tmp:
        path = os.path.join(tmp, CHECKPOINT)
        save(ckpt, path)
        with open(path, "rb") as f:
            blob = f.read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(CHECKPOINT, blob)
        z.writestr(SCRIPT, script(session))
    return buf.getvalue()
