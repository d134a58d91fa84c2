"""Choosing the best MNIST recipe honestly: k-fold cross-validation on train + val only, then the chosen recipe
on the test split, which the choice never saw.

The pool is the bundled mnist-sample's train and val splits (5,000 + 1,000 = 6,000 digits, as ``deepgrad train``
loads them); it is cut into ``--folds`` stratified folds (default 3, shuffled with seed 0). Each candidate in
:data:`CANDIDATES` (architecture of :class:`~deepgrad.models.MnistCNN` + a ``deepgrad train`` recipe) is trained
on all folds but one and scored on the one left out, plain and with test-time augmentation (the softmax averaged
over the digit and its four one-pixel shifts). Candidates trained at several seeds are also scored as an ensemble
(softmax of the members averaged). The test split is read only by ``final``.

One training run per call, so that each run can be its own ``dgtest`` call:

    python benchmarks/recipe_cv.py plan --out DIR          # prints one command per (candidate, fold[, seed])
    python benchmarks/recipe_cv.py fold --candidate NAME --fold K --out DIR [--seed S]   # -> DIR/cv-NAME-fK-sS.json
    python benchmarks/recipe_cv.py report --out DIR        # every fold, mean ± std, the choice, the final runs
    python benchmarks/recipe_cv.py final --seed S --out DIR # deepgrad train --model mnist-cnn-best, timed, test split
    python benchmarks/recipe_cv.py ensemble --seeds S T --out DIR  # deepgrad evaluate of final runs together

The choice rule, fixed before the candidates were compared: the highest mean cross-validated accuracy among the
candidates whose estimated training time on the 6,000 digits (a fold's fastest epoch x epochs x 6000 / 4000, averaged
over the folds; ensembles x members) is within ``--budget`` seconds (default 270 s, leaving room under the 5-minute
target for loading and evaluation); the final wall time is then measured, under ``dgbench``, by ``final``.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
sys.path.insert(0, SRC)
import deepgrad as dg  # noqa: E402, I001 - before NumPy (see deepgrad.parallel)
import numpy as np  # noqa: E402
from deepgrad import cli, data, train  # noqa: E402
from deepgrad.models import MnistCNN, model_info  # noqa: E402

TODAY = {"optimizer": "adam", "lr": 3e-3, "epochs": 15, "batch_size": 64, "weight_decay": 0.0, "augment": True,
         "shift": 2, "cosine": True, "loss": "cross_entropy"}
AFFINE = {"degrees": 10, "scale": [0.9, 1.1], "shear": 10}
WIDE = {"channels": [32, 64], "hidden": 256, "dropout": 0.25}
ELASTIC = {"alpha": 68, "sigma": 4}  # Simard et al. 2003's 34·G_4 * u pixel field, in torchvision's units
MILD_ELASTIC = {"alpha": 34, "sigma": 4}  # half of it: about 0.85 px of displacement (std) instead of 1.7

#: name -> {"arch": MnistCNN keyword arguments, "recipe": a deepgrad train recipe, "seeds": seeds trained per fold}
CANDIDATES = {
    "today": {"arch": {}, "recipe": TODAY, "seeds": [0]},
    "affine-20": {"arch": {}, "recipe": {**TODAY, "epochs": 20, "affine": AFFINE}, "seeds": [0, 1]},
    "wide-shift-20": {"arch": WIDE, "recipe": {**TODAY, "epochs": 20}, "seeds": [0]},
    "wide-affine-20": {"arch": WIDE, "recipe": {**TODAY, "epochs": 20, "affine": AFFINE}, "seeds": [0]},
    "elastic-20": {"arch": {}, "recipe": {**TODAY, "epochs": 20, "elastic": ELASTIC}, "seeds": [0]},
    "affine-elastic-20": {"arch": {}, "recipe": {**TODAY, "epochs": 20, "affine": AFFINE, "elastic": ELASTIC},
                          "seeds": [0]},
    "affine-mild-elastic-20": {"arch": {}, "recipe": {**TODAY, "epochs": 20, "affine": AFFINE,
                                                      "elastic": MILD_ELASTIC}, "seeds": [0]},
    "affine-30": {"arch": {}, "recipe": {**TODAY, "epochs": 30, "affine": AFFINE}, "seeds": [0]},
}
#: the row the choice rule picked from the cross-validation (see docs/benchmarks.md): two members of
#: mnist-cnn-best, trained at seeds S and S + 1, scored together (``deepgrad evaluate A B``)
CHOSEN = "affine-20 x2 ensemble +TTA"
TTA_SHIFTS = train.tta.ONE_PIXEL_SHIFTS


def chosen() -> tuple[dict, dict, int]:
    """(arch, recipe, members) of :data:`CHOSEN`, a row of the report: a candidate, ``" xK ensemble"`` for K
    members, ``" +TTA"`` adding the ``tta`` key."""
    name, _, extra = CHOSEN.partition(" +")
    name, _, ensemble = name.partition(" x")
    cand = CANDIDATES[name]
    members = int(ensemble.split()[0]) if ensemble else 1
    return cand["arch"], {**cand["recipe"], **({"tta": True} if extra == "TTA" else {})}, members


def pool(limit: int | None = None):
    """train + val of mnist-sample: (X (N, 1, 28, 28) in [0, 1], y), the first ``limit`` digits if given."""
    Xtr, ytr, _ = cli.load_arrays("mnist-sample", "train")
    Xva, yva, _ = cli.load_arrays("mnist-sample", "val")
    X, y = np.concatenate([Xtr, Xva]), np.concatenate([ytr, yva])
    return (X[:limit], y[:limit]) if limit else (X, y)


def fold_indices(y, folds: int, fold: int):
    """(train, held-out) indices of fold ``fold`` of ``folds`` stratified folds (shuffled with seed 0)."""
    if not 0 <= fold < folds:
        raise ValueError(f"--fold must be in 0..{folds - 1}, got {fold}")
    return list(data.StratifiedKFold(folds, shuffle=True, seed=0).split(len(y), y))[fold]


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def train_once(arch: dict, recipe: dict, X, y, seed: int, epochs: int | None = None):
    """Train MnistCNN(**arch) on (X, y) as ``deepgrad train`` trains a recipe; returns (model, normalise, seconds
    per epoch)."""
    dg.manual_seed(seed)
    mean, std = float(X.mean()), float(X.std()) or 1.0

    def norm(a):
        return (a - mean) / std

    epochs = epochs or recipe["epochs"]
    model = MnistCNN(1, 10, **arch)
    optimizer = cli.build_optimizer(recipe["optimizer"], model.parameters(), recipe["lr"], recipe)
    scheduler = dg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if recipe.get("cosine", True) \
        else None
    ds = data.ArrayDataset(norm(X), y, transform=cli.build_augment(recipe, background=norm(0.0)))
    loader = data.DataLoader(ds, batch_size=recipe["batch_size"], shuffle=True, generator=seed)
    trainer = train.Trainer(model, cli.build_loss(recipe.get("loss", "cross_entropy")), optimizer, metrics=[],
                            scheduler=scheduler, progress=False)
    history = trainer.fit(loader, epochs=epochs)
    return model, norm, list(history["time"])


@dg.no_grad()
def logits_of(model, X, batch: int = 500):
    model.eval()
    return np.concatenate([model(dg.tensor(X[i:i + batch])).numpy() for i in range(0, len(X), batch)])


def cmd_fold(args) -> int:
    cand = CANDIDATES[args.candidate]
    X, y = pool(args.limit)
    tr, va = fold_indices(y, args.folds, args.fold)
    t0 = time.perf_counter()
    model, norm, epoch_s = train_once(cand["arch"], cand["recipe"], X[tr], y[tr], args.seed, args.epochs)
    seconds = time.perf_counter() - t0
    Xv = norm(X[va])
    probs = softmax(logits_of(model, Xv))
    tta_probs = np.exp(logits_of(train.ShiftTTA(model, TTA_SHIFTS, fill=norm(0.0)), Xv))
    res = {"candidate": args.candidate, "fold": args.fold, "folds": args.folds, "seed": args.seed,
           "n_train": len(tr), "n_heldout": len(va), "epochs": len(epoch_s),
           "accuracy": float((probs.argmax(1) == y[va]).mean()),
           "tta_accuracy": float((tta_probs.argmax(1) == y[va]).mean()),
           "train_seconds": seconds, "epoch_seconds": epoch_s, "threads": dg.get_num_threads(),
           "load_average": os.getloadavg()[0], "arch": cand["arch"], "recipe": cand["recipe"]}
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"cv-{args.candidate}-f{args.fold}-s{args.seed}")
    np.savez(stem + ".npz", probs=probs, tta_probs=tta_probs, labels=y[va])
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=1)
    print(f"{args.candidate} fold {args.fold}/{args.folds} seed {args.seed}: {100 * res['accuracy']:.2f}% "
          f"(TTA {100 * res['tta_accuracy']:.2f}%) on {len(va)} held-out digits, trained on {len(tr)} in "
          f"{seconds:.0f} s ({len(epoch_s)} epochs, {dg.get_num_threads()} threads)", flush=True)
    return 0


def cmd_plan(args) -> int:
    me = os.path.relpath(os.path.abspath(__file__))
    first = [(name, cand["seeds"][0]) for name, cand in CANDIDATES.items()]  # every candidate once, then the
    more = [(name, s) for name, cand in CANDIDATES.items() for s in cand["seeds"][1:]]  # ensembles' other seeds
    for name, seed in first + more:
        for k in range(args.folds):
            print(f"dgtest python {me} fold --candidate {name} --fold {k} --seed {seed} --folds {args.folds} "
                      f"--out {args.out}")
    return 0


def _mean_std(values) -> str:
    v = 100 * np.asarray(values)
    return f"{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.2f}"


def _estimate(run: dict) -> float:
    """Training seconds of ``run``'s recipe on the 6,000 digits: its fastest epoch x epochs x 6000 / digits trained
    on (the fastest epoch, because the folds run beside other jobs on a shared machine)."""
    return min(run["epoch_seconds"]) * run["epochs"] * 6000 / run["n_train"]


def cv_table(out: str, folds: int):
    """Rows (name, per-fold accuracies, estimated seconds on 6,000 digits, members) of every complete candidate,
    plain, with TTA, and as a seed ensemble where several seeds ran on every fold."""
    runs = {}
    for path in glob.glob(os.path.join(out, "cv-*.json")):
        r = json.load(open(path))
        if r["folds"] == folds:
            runs[(r["candidate"], r["seed"], r["fold"])] = (r, path[:-5] + ".npz")
    rows = []
    for name in CANDIDATES:
        seeds = sorted({s for (c, s, _) in runs if c == name})
        complete = [s for s in seeds if all((name, s, k) in runs for k in range(folds))]
        if not complete:
            continue
        s0 = complete[0]
        est = np.mean([_estimate(runs[(name, s0, k)][0]) for k in range(folds)])
        rows.append((name, [runs[(name, s0, k)][0]["accuracy"] for k in range(folds)], est, 1))
        rows.append((name + " +TTA", [runs[(name, s0, k)][0]["tta_accuracy"] for k in range(folds)], est, 1))
        if len(complete) >= 2:
            m = len(complete)
            for key, label in (("probs", ""), ("tta_probs", " +TTA")):
                accs = []
                for k in range(folds):
                    parts = [np.load(runs[(name, s, k)][1]) for s in complete]
                    accs.append(float((np.mean([p[key] for p in parts], 0).argmax(1) == parts[0]["labels"]).mean()))
                rows.append((f"{name} x{m} ensemble{label}", accs, est * m, m))
    return rows


def cmd_report(args) -> int:
    rows = cv_table(args.out, args.folds)
    if rows:
        print(f"{args.folds}-fold cross-validation on train + val (each run trains on all folds but one and scores "
              f"the one left out); accuracy %, mean ± sample std over the folds; est. s: fastest epoch x epochs, "
              f"scaled to 6,000 digits")
        print(f"{'candidate':34s} " + " ".join(f"{'fold ' + str(k):>7s}" for k in range(args.folds))
              + f" {'mean ± std':>13s} {'est. s':>7s}")
        for name, accs, est, _ in rows:
            print(f"{name:34s} " + " ".join(f"{100 * a:7.2f}" for a in accs) + f" {_mean_std(accs):>13s} {est:7.0f}")
        ok = [r for r in rows if r[2] <= args.budget]
        if ok:
            best = max(ok, key=lambda r: (np.mean(r[1]), -r[2]))
            print(f"choice (highest mean within {args.budget:.0f} s estimated): {best[0]} "
                  f"({_mean_std(best[1])} %)")
    finals = sorted(glob.glob(os.path.join(args.out, "final-seed*.json")))
    if finals:
        fs = [json.load(open(p)) for p in finals]
        print("final: deepgrad train --model mnist-cnn-best on train + val (6,000 digits), scored on the 1,000-digit "
              "test split")
        for r in fs:
            run = json.load(open(os.path.join(args.out, f"final-seed{r['seed']}", "results.json")))
            plain = run.get("test_accuracy_without_tta")
            print(f"  seed {r['seed']}: {100 * r['test_accuracy']:.2f}%"
                  + (f" ({100 * plain:.2f}% without test-time shifts)" if plain is not None else "")
                  + f"  wall {r['wall']:.0f} s  (load average {r['load_average']:.2f} before)")
        walls = [r["wall"] for r in fs]
        print(f"  mean ± std over {len(fs)} seeds: {_mean_std([r['test_accuracy'] for r in fs])} %; wall "
              f"{min(walls):.0f}-{max(walls):.0f} s")
    ensembles = sorted(glob.glob(os.path.join(args.out, "final-ensemble-*.json")))
    if ensembles:
        es = [json.load(open(p)) for p in ensembles]
        print("final ensembles: deepgrad evaluate of the members' checkpoints together, on the test split")
        for e in es:
            print(f"  seeds {', '.join(map(str, e['seeds']))}: {100 * e['test_accuracy']:.2f}%  wall "
                  f"{e['wall']:.0f} s (the members' training runs and the evaluation)")
        print(f"  mean ± std over {len(es)} ensembles: {_mean_std([e['test_accuracy'] for e in es])} %")
    if not rows and not finals and not ensembles:
        print(f"no runs in {args.out}")
    return 0


def cmd_final(args) -> int:
    run = os.path.join(args.out, f"final-seed{args.seed}")
    argv = [sys.executable, "-m", "deepgrad", "train", "--model", args.model, "--seed", str(args.seed), "--threads",
            str(args.threads), "--quiet", "--out", run] + (["--epochs", str(args.epochs)] if args.epochs else [])
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"recipe_cv final: {' '.join(argv[2:])} failed:\n{proc.stderr}", file=sys.stderr)
        return 1
    res = json.load(open(os.path.join(run, "results.json")))
    out = {"model": args.model, "seed": args.seed, "test_accuracy": res["test_accuracy"], "wall": wall,
           "epochs": res["epochs_run"], "threads": args.threads, "load_average": load,
           "recipe": model_info(args.model)["recipe"]}
    with open(os.path.join(args.out, f"final-seed{args.seed}.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"{args.model} seed {args.seed}: test accuracy {100 * res['test_accuracy']:.2f}%, wall {wall:.0f} s")
    return 0


def cmd_ensemble(args) -> int:
    """``deepgrad evaluate`` of the final runs at ``--seeds`` together, on the test split: their ensemble's
    accuracy, and its wall time (the members' training runs plus this evaluation)."""
    runs = [os.path.join(args.out, f"final-seed{s}") for s in args.seeds]
    members = []
    for s in args.seeds:
        path = os.path.join(args.out, f"final-seed{s}.json")
        if not os.path.exists(path):
            raise ValueError(f"no final run at seed {s} in {args.out}; run 'final --seed {s}' first")
        members.append(json.load(open(path)))
    ckpts = [json.load(open(os.path.join(run, "results.json")))["checkpoint"] for run in runs]
    argv = [sys.executable, "-m", "deepgrad", "evaluate", *ckpts, "--json"]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"recipe_cv ensemble: deepgrad evaluate failed:\n{proc.stderr}", file=sys.stderr)
        return 1
    res = json.loads(proc.stdout)
    out = {"seeds": args.seeds, "test_accuracy": res["accuracy"], "members": res["members"],
           "evaluate_seconds": seconds, "wall": seconds + sum(m["wall"] for m in members), "checkpoints": ckpts}
    with open(os.path.join(args.out, f"final-ensemble-{'-'.join(map(str, args.seeds))}.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"ensemble of seeds {args.seeds}: test accuracy {100 * res['accuracy']:.2f}%, wall {out['wall']:.0f} s")
    return 0


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", required=True, help="directory of the runs' JSON files")
    common.add_argument("--folds", type=int, default=3, help="number of folds (default 3)")
    common.add_argument("--threads", type=int, default=2, help="CPU threads per run (default 2)")
    f = sub.add_parser("fold", parents=[common], help="train one candidate on one fold's training part")
    f.add_argument("--candidate", required=True, choices=list(CANDIDATES))
    f.add_argument("--fold", type=int, required=True)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--epochs", type=int, help="override the recipe's epochs (for a quick check only)")
    f.add_argument("--limit", type=int, help="use only the first N digits of the pool (for a quick check only)")
    sub.add_parser("plan", parents=[common], help="print the fold commands, one dgtest call each")
    r = sub.add_parser("report", parents=[common], help="aggregate the folds and the final runs")
    r.add_argument("--budget", type=float, default=270.0, help="estimated seconds allowed per final run")
    g = sub.add_parser("final", parents=[common], help="deepgrad train the chosen recipe once, timed, on test")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--model", default="mnist-cnn-best")
    g.add_argument("--epochs", type=int, help="override the recipe's epochs (for a quick check only)")
    e = sub.add_parser("ensemble", parents=[common], help="score final runs together (deepgrad evaluate A B ...)")
    e.add_argument("--seeds", type=int, nargs="+", required=True, help="the final runs' seeds, e.g. 0 1")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    if args.folds < 2:
        raise SystemExit(f"recipe_cv: --folds must be at least 2, got {args.folds}")
    dg.set_num_threads(args.threads)
    try:
        return {"fold": cmd_fold, "plan": cmd_plan, "report": cmd_report, "final": cmd_final,
                "ensemble": cmd_ensemble}[args.command](args)
    except ValueError as e:
        print(f"recipe_cv {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
