"""Re-using what a network learned: transfer learning from digits 0–4 to 5–9 with few labels, and knowledge
distillation from a CNN teacher to a small MLP student."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..models import MLP, get_model
from ..nn import functional as F
from ..tools import count_trainable, distillation_loss, extract_features, param_groups, replace_head
from ..viz import plots
from . import demo
from ._mlp_util import figure, table
from .cnn import accuracy, digits, smooth, train_steps, trained_lenet


def _lenet():
    return get_model("lenet5_mnist", activation="relu", pool="max")


@demo("transfer", "Pre-train LeNet-5 on digits 0-4, then learn 5-9 from a few labels: frozen features + new head, "
      "fine-tuning, or from scratch")
def transfer(out: str, fast: bool) -> dict:
    x, y = digits("train")
    xt, yt = digits("test")
    src, dst_t = y < 5, yt >= 5
    per_class = 10 if fast else 20
    rng = np.random.default_rng(0)
    few = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(5, 10)])
    xf, yf = x[few], y[few] - 5
    xe, ye = xt[dst_t], yt[dst_t] - 5
    pre_steps, steps = (40, 40) if fast else (300, 150)

    dg.manual_seed(0)
    pretrained = _lenet()
    train_steps(pretrained, x[src], y[src], pre_steps, batch_size=64, lr=3e-3)
    src_acc = accuracy(pretrained, xt[yt < 5], yt[yt < 5])
    print(f"pre-trained on digits 0-4 ({int(src.sum())} images): accuracy {src_acc:.4f} on test digits 0-4")

    def copy():
        net = _lenet()
        net.load_state_dict(pretrained.state_dict())
        replace_head(net, 5)
        return net

    # (a) the lectures' "very little data, similar dataset": a linear classifier on the frozen top-layer features
    feats, _ = extract_features(pretrained, xf, "act6")
    head = dg.nn.Linear(feats.shape[1], 5)
    train_steps(head, feats, yf, steps, batch_size=32, lr=1e-2)
    test_feats, _ = extract_features(pretrained, xe, "act6")
    acc_frozen = accuracy(head, test_feats, ye)
    # (b) fine-tune everything, pre-trained layers at a tenth of the head's learning rate
    dg.manual_seed(1)
    tuned = copy()
    train_steps(tuned, xf, yf, steps, batch_size=32, params=param_groups(tuned, 3e-3, lr_mult=0.1))
    acc_tuned = accuracy(tuned, xe, ye)
    # (c) the same network and labels from random weights
    dg.manual_seed(1)
    scratch = _lenet()
    replace_head(scratch, 5)
    train_steps(scratch, xf, yf, steps, batch_size=32, lr=3e-3)
    acc_scratch = accuracy(scratch, xe, ye)

    rows = [["frozen features + linear head", head.weight.numel() + head.bias.numel(), acc_frozen],
            ["fine-tune all (body lr × 0.1)", count_trainable(tuned), acc_tuned],
            ["from scratch", count_trainable(scratch), acc_scratch]]
    print(f"digits 5-9 from {len(yf)} labelled images ({per_class} per class), {steps} steps; "
          f"accuracy on {len(ye)} test digits 5-9:")
    table(["method", "trained parameters", "accuracy"], rows)
    figure(out, "transfer.png", lambda p: _bars({r[0]: r[2] for r in rows}, p,
                                                f"digits 5-9 from {len(yf)} labels"))
    return {"source_accuracy": src_acc, "labels": int(len(yf)), "frozen_head": acc_frozen, "fine_tune": acc_tuned,
            "scratch": acc_scratch}


def _bars(values: dict, path: str, title: str) -> str:
    plt = plots._plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh(list(values), list(values.values()), color="tab:blue")
    for i, v in enumerate(values.values()):
        ax.text(v, i, f" {v:.3f}", va="center")
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("test accuracy")
    ax.set_title(title)
    return plots._save(fig, path)


@demo("distillation", "Knowledge distillation (Hinton et al. 2015): a LeNet-5 teacher's soft targets train a small "
      "MLP student")
def distillation(out: str, fast: bool) -> dict:
    x, y = digits("train")
    xt, yt = digits("test")
    teacher, _ = trained_lenet(fast)
    teacher_acc = accuracy(teacher, xt, yt)
    n, steps, T, alpha = (500, 100, 4.0, 0.9) if fast else (1000, 600, 4.0, 0.9)
    xs, ys = x[:n], y[:n]
    teacher.eval()
    with dg.no_grad():
        soft = teacher(dg.tensor(xs)).numpy()

    def student():
        return MLP([784, 32, 10])

    dg.manual_seed(2)
    alone = student()
    loss_alone = train_steps(alone, xs, ys, steps, batch_size=64, lr=3e-3)
    dg.manual_seed(2)
    taught = student()
    loss_taught = train_steps(taught, xs, ys, steps, batch_size=64, lr=3e-3, loss_fn=lambda s, idx: distillation_loss(
        s, dg.tensor(soft[idx]), dg.tensor(ys[idx]), T=T, alpha=alpha))
    acc_alone, acc_taught = accuracy(alone, xt, yt), accuracy(taught, xt, yt)
    params = sum(p.numel() for p in alone.parameters())
    print(f"teacher LeNet-5 ({sum(p.numel() for p in teacher.parameters()):,} parameters): test accuracy "
          f"{teacher_acc:.4f}; students MLP 784-32-10 ({params:,} parameters), {n} training images, {steps} steps")
    table(["student", "test accuracy"], [["labels only (cross-entropy)", acc_alone],
                                         [f"distilled (T = {T}, α = {alpha})", acc_taught]])
    figure(out, "distillation.png", lambda p: plots.line_plot(
        {"labels only: CE": smooth(loss_alone), "distilled: α·T²·KL + (1−α)·CE": smooth(loss_taught)}, p,
        ylabel="training loss (running mean)", title="student training"))
    with dg.no_grad():
        agree = float((alone(dg.tensor(xt)).numpy().argmax(1) == taught(dg.tensor(xt)).numpy().argmax(1)).mean())
    return {"teacher": teacher_acc, "student_alone": acc_alone, "student_distilled": acc_taught,
            "student_params": params, "T": T, "alpha": alpha, "agreement": agree,
            "final_ce_alone": float(F.cross_entropy(alone(dg.tensor(xs)), dg.tensor(ys)).item())}
