"""Re-using what a network learned: transfer learning from digits 0–4 to 5–9 with few labels, and knowledge
distillation from a CNN teacher to a small MLP student."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..models import MLP, get_model
from ..tools import distillation_loss, extract_features, param_groups
from . import demo
from ._mlp_util import figure, pyplot, save, table
from .cnn import accuracy, digits, train_steps, trained_lenet

# the frozen LeNet-5 stages a linear classifier is tried on ("try linear classifiers from different stages")
STAGES = {"s2": "C1+pool 6×14×14", "s4": "C3+pool 16×5×5", "act5": "C5 120", "act6": "F6 84"}


def _lenet():
    return get_model("lenet5_mnist", activation="relu", pool="max")


def _conv_body(net, num_classes: int) -> dg.nn.Sequential:
    """LeNet-5's convolutional part C1–S4 (shared, not copied, with ``net``) + a new Linear(400, num_classes)."""
    return dg.nn.Sequential(net.c1, net.act1, net.s2, net.c3, net.act3, net.s4, dg.nn.Flatten(),
                            dg.nn.Linear(16 * 5 * 5, num_classes))


@demo("transfer", "Pre-train LeNet-5 on digits 0-4, then learn 5-9 from 2-20 labels per class: linear classifiers "
      "on frozen features of each stage, fine-tuning, or training from scratch")
def transfer(out: str, fast: bool) -> dict:
    x, y = digits("train")
    xt, yt = digits("test")
    src = y < 5
    xe, ye = xt[yt >= 5], yt[yt >= 5] - 5
    counts, seeds, pre_steps, steps = ((5,), 1, 60, 40) if fast else ((2, 5, 10, 20), 3, 400, 100)

    dg.manual_seed(0)
    pretrained = _lenet()
    train_steps(pretrained, x[src], y[src], pre_steps, batch_size=64, lr=3e-3)
    src_acc = accuracy(pretrained, xt[yt < 5], yt[yt < 5])
    print(f"LeNet-5 pre-trained on digits 0-4 ({int(src.sum())} images, {pre_steps} steps): accuracy {src_acc:.4f} "
          "on test digits 0-4")
    # φ(x) of every training and test image at each frozen stage, computed once
    train_feats = {s: extract_features(pretrained, x, s)[0] for s in STAGES}
    test_feats = {s: extract_features(pretrained, xe, s)[0] for s in STAGES}

    def fresh(pre: bool) -> dg.nn.Sequential:
        net = _lenet()
        if pre:
            net.load_state_dict(pretrained.state_dict())
        return _conv_body(net, 5)

    names = [f"linear on frozen {s} ({d})" for s, d in STAGES.items()] + \
        ["fine-tune C1-S4 + new head (body lr × 0.1)", "from scratch (same network)"]
    runs = {n: [[] for _ in counts] for n in names}
    for j, k in enumerate(counts):
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            few = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(5, 10)])
            yf, batch = y[few] - 5, min(32, len(few))
            for name, s in zip(names, STAGES):
                dg.manual_seed(seed)
                head = dg.nn.Linear(train_feats[s].shape[1], 5)
                train_steps(head, train_feats[s][few], yf, steps, batch_size=batch, lr=1e-2, seed=seed)
                runs[name][j].append(accuracy(head, test_feats[s], ye))
            dg.manual_seed(seed)
            tuned = fresh(True)
            train_steps(tuned, x[few], yf, steps, batch_size=batch, seed=seed, params=param_groups(tuned, 3e-3, 0.1))
            runs[names[-2]][j].append(accuracy(tuned, xe, ye))
            dg.manual_seed(seed)
            scratch = fresh(False)
            train_steps(scratch, x[few], yf, steps, batch_size=batch, lr=3e-3, seed=seed)
            runs[names[-1]][j].append(accuracy(scratch, xe, ye))
    curves = {n: [float(np.mean(a)) for a in v] for n, v in runs.items()}
    print(f"digits 5-9, accuracy on {len(ye)} test digits (mean of {seeds} draws of the labelled images), "
          f"{steps} Adam steps each:")
    table(["method"] + [f"{k}/class" for k in counts], [[n] + v for n, v in curves.items()])
    figure(out, "transfer.png", lambda p: _curves(counts, curves, p))
    short = dict(zip(names, ["probe_s2", "probe_s4", "probe_c5", "probe_f6", "fine_tune", "scratch"]))
    return {"source_accuracy": src_acc, "labels_per_class": list(counts), "seeds": seeds,
            **{short[n]: v for n, v in curves.items()}}


def _curves(counts, curves: dict, path: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    for name, ys in curves.items():
        ax.plot(counts, ys, marker="o", label=name, lw=2.5 if "s4" in name or "fine" in name else 1.5,
                ls="--" if "scratch" in name else "-")
    ax.set_xscale("log")
    ax.set_xticks(counts, [str(c) for c in counts])
    ax.minorticks_off()
    ax.set_xlabel("labelled images per class (digits 5-9)")
    ax.set_ylabel("test accuracy")
    ax.set_title("transfer from digits 0-4 to 5-9")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the curves: it hides none
    save(fig, path)


@demo("distillation", "Knowledge distillation (Hinton et al. 2015): a LeNet-5 teacher's softened outputs train a "
      "smaller MLP student better than the labels alone")
def distillation(out: str, fast: bool) -> dict:
    x, y = digits("train")
    xt, yt = digits("test")
    teacher, _ = trained_lenet(fast)
    teacher_acc = accuracy(teacher, xt, yt)
    n, steps, seeds, temps = (500, 200, 1, (1.0, 10.0)) if fast else (2000, 1500, 3, (1.0, 4.0, 10.0))
    T, alpha, hidden = 10.0, 0.9, 64
    xs, ys = x[:n], y[:n]
    teacher.eval()
    with dg.no_grad():
        logits = np.concatenate([teacher(dg.tensor(xs[i:i + 500])).numpy() for i in range(0, n, 500)])

    def student(seed: int, temp: float | None = None, a: float = alpha) -> float:
        """Test accuracy of an MLP 784-hidden-10 trained on the n images: cross-entropy with the labels
        (temp None) or the distillation loss with the teacher's logits at temperature temp, weight a."""
        dg.manual_seed(seed)
        net = MLP([784, hidden, 10])
        loss_fn = None if temp is None else lambda s, idx: distillation_loss(
            s, dg.tensor(logits[idx]), dg.tensor(ys[idx]), T=temp, alpha=a)
        train_steps(net, xs, ys, steps, batch_size=64, lr=3e-3, seed=seed, loss_fn=loss_fn)
        return accuracy(net, xt, yt)

    alone = [student(s) for s in range(seeds)]
    taught = [student(s, T) for s in range(seeds)]
    soft_only = [student(s, T, 1.0) for s in range(seeds)]
    by_t = {t: taught[0] if t == T else student(0, t) for t in temps}
    params = sum(p.numel() for p in MLP([784, hidden, 10]).parameters())
    teacher_params = sum(p.numel() for p in teacher.parameters())
    rows = [[f"teacher LeNet-5 ({teacher_params:,} parameters)", teacher_acc, "-"],
            ["student, labels only (cross-entropy)", float(np.mean(alone)), _spread(alone)],
            [f"student distilled (T = {T:g}, α = {alpha})", float(np.mean(taught)), _spread(taught)],
            [f"student on soft targets only (T = {T:g}, α = 1, no labels)", float(np.mean(soft_only)),
             _spread(soft_only)]]
    print(f"students: MLP 784-{hidden}-10 ({params:,} parameters) trained on {n} of the teacher's {len(y)} training "
          f"images, {steps} Adam steps, {seeds} seeds; test accuracy on {len(yt)} digits:")
    table(["model", "test accuracy", "min-max over seeds"], rows)
    print("distilled student (α = 0.9, seed 0) by temperature: " +
          ", ".join(f"T = {t:g}: {a:.4f}" for t, a in by_t.items()))

    def draw(p):
        plt = pyplot()
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
        labels = ["teacher LeNet-5", "labels only", f"distilled T={T:g}", "soft targets only"]
        values = [r[1] for r in rows]
        ax.barh(labels[::-1], values[::-1], color=["tab:green", "tab:green", "tab:gray", "tab:blue"])
        for i, v in enumerate(values[::-1]):
            ax.text(v, i, f" {v:.3f}", va="center")
        lo = min(values) - 0.03
        ax.set_xlim(lo, 1.0)
        ax.set_xlabel(f"test accuracy (students: mean of {len(alone)} seeds)")
        ax.set_title(f"MLP 784-{hidden}-10 student")
        bx.plot(list(by_t), list(by_t.values()), "o-", label=f"distilled, α = {alpha}")
        bx.axhline(alone[0], color="tab:gray", ls="--", label=f"labels only, seed 0 ({alone[0]:.3f})")
        bx.set_xscale("log")
        bx.set_xticks(list(by_t), [f"{t:g}" for t in by_t])
        bx.set_xlabel("temperature T")
        bx.set_ylabel("test accuracy (seed 0)")
        bx.legend(fontsize=8)
        bx.grid(alpha=0.3)
        save(fig, p)

    figure(out, "distillation.png", draw)
    return {"teacher": teacher_acc, "student_alone": float(np.mean(alone)), "student_distilled": float(np.mean(taught)),
            "student_soft_only": float(np.mean(soft_only)), "by_temperature": by_t, "student_params": params,
            "teacher_params": teacher_params, "T": T, "alpha": alpha, "seeds": seeds}


def _spread(values: list) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"
