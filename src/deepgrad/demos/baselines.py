"""The baselines beside the networks on one split of the MNIST sample: majority and stratified guesses, k-nearest
neighbours, a linear SVM and an RBF-kernel SVM (random Fourier features), an MLP and LeNet-5 (the lectures quote
SVM 98.6 % and kNN 96.8 % on the full MNIST)."""
from __future__ import annotations

import time

import deepgrad as dg

from ..models import MLP
from ..models.baselines import DummyClassifier, KernelSVC, KNeighborsClassifier, LinearSVC
from . import demo
from ._mlp_util import figure, pyplot, save, table
from .cnn import LENET_STEPS, accuracy, digits, train_steps, trained_lenet


@demo("baselines", "Majority, stratified, kNN, linear and RBF-kernel SVMs beside an MLP and LeNet-5 on the same "
                   "split of the MNIST sample (test accuracy and fit time)")
def baselines(out: str, fast: bool) -> dict:
    x4, y = digits("train")
    xt4, yt = digits("test")
    n = 1000 if fast else len(y)
    x4, y = x4[:n], y[:n]
    x, xt = x4.reshape(len(x4), -1), xt4.reshape(len(xt4), -1)
    models = [("majority", DummyClassifier("most_frequent")),
              ("stratified", DummyClassifier("stratified", random_state=0)),
              ("kNN (k = 1)", KNeighborsClassifier(1)), ("kNN (k = 3)", KNeighborsClassifier(3)),
              ("linear SVM", LinearSVC(C=0.01, max_iter=100 if fast else 300)),
              ("RBF SVM", KernelSVC(n_components=500 if fast else 2000, C=1.0, max_iter=100 if fast else 300,
                                    random_state=0))]
    res, rows = {}, []
    for name, m in models:
        t0 = time.perf_counter()
        m.fit(x, y)
        acc = m.score(xt, yt)
        res[name] = {"accuracy": acc, "seconds": time.perf_counter() - t0}
    dg.manual_seed(0)
    mlp = MLP([784, 256, 10])
    t0 = time.perf_counter()
    train_steps(mlp, x, y, 150 if fast else 1500, batch_size=64, lr=1e-3)
    res["MLP 784-256-10"] = {"accuracy": accuracy(mlp, xt, yt), "seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    lenet, _ = trained_lenet(fast)     # shared with the other CNN demos: trained once per process
    res["LeNet-5"] = {"accuracy": accuracy(lenet, xt4, yt), "seconds": time.perf_counter() - t0}
    for name, r in res.items():
        rows.append([name, r["accuracy"], round(r["seconds"], 1)])
    print(f"MNIST sample: {n} training and {len(yt)} test digits (LeNet-5 trains on the full 5,000 for "
          f"{LENET_STEPS[fast][0]} steps); the lectures' figures on the full MNIST: SVM 98.6 %, kNN 96.8 %")
    table(["model", "test accuracy", "fit seconds"], rows)

    def draw(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(8, 4))
        names = list(res)
        ax.barh(names, [res[k]["accuracy"] for k in names], color="tab:blue")
        for i, k in enumerate(names):
            ax.text(res[k]["accuracy"] + 0.005, i, f"{res[k]['accuracy']:.3f} ({res[k]['seconds']:.1f} s)", va="center",
                    fontsize=8)
        ax.set_xlim(0, 1.15)
        ax.invert_yaxis()
        ax.set_xlabel("test accuracy on the MNIST sample")
        ax.set_title(f"{n} training digits; in brackets: fit time (s, one CPU run)", fontsize=10)
        save(fig, path)

    return {"n_train": n, "results": res, "figure": figure(out, "baselines.png", draw)}
