"""The ``deepgrad`` command: ``train``, ``evaluate``, ``predict``, ``list``, ``summary``, ``demo``.

``deepgrad train`` with no arguments trains the best available model on the bundled MNIST sample (offline), prints
the held-out test accuracy, and leaves a checkpoint, the history (JSON/CSV) and plots in ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

DEFAULT_MODEL_ORDER = ("mnist-cnn", "mlp")  # the first registered one is the default


class UsageError(Exception):
    """A mistake in the command line, reported as one sentence without a traceback."""


# ------------------------------------------------------------------------------------------------- data
def load_arrays(dataset: str, split: str, data_dir: str | None = None, download: bool = False):
    """(X float32, y int64, info) for a named dataset split. Images come as (N, C, H, W) in [0, 1]."""
    from . import data

    try:
        ds = data.get_dataset(dataset, split=split, data_dir=data_dir, download=download)
    except (KeyError, ValueError, FileNotFoundError) as e:
        raise UsageError(str(e.args[0]) if e.args else str(e)) from None
    X, y = ds.arrays[0], ds.arrays[1]
    X = np.asarray(X)
    if X.dtype == np.uint8:
        X = X.astype(np.float32) / 255.0
        if X.ndim == 3:
            X = X[:, None]
        elif X.ndim == 4 and X.shape[-1] in (1, 3) and X.shape[1] not in (1, 3):
            X = X.transpose(0, 3, 1, 2)
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.asarray(y)
    classes = getattr(ds, "classes", None)
    return X, y, {"classes": list(classes) if classes is not None else None}


def _splits(dataset: str):
    return ("train", "val", "test") if dataset == "mnist-sample" else ("train", None, "test")


# ----------------------------------------------------------------------------------------------- models
def default_model() -> str:
    from .models import list_models

    names = list_models()
    return next(m for m in DEFAULT_MODEL_ORDER if m in names)


def build_model(name: str, input_shape, num_classes: int):
    from .models import get_model, model_info

    info = model_info(name)
    kw = {"num_classes": num_classes}
    if info["input"] == "flat":
        kw["in_features"] = int(np.prod(input_shape))
    else:
        kw["in_channels"] = int(input_shape[0])
    return get_model(name, **kw), kw


def build_optimizer(name: str, params, lr: float, recipe: dict):
    from . import optim

    wd = recipe.get("weight_decay", 0.0)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=recipe.get("momentum", 0.9), nesterov=recipe.get("nesterov", False),
                         weight_decay=wd)
    table = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}
    if name not in table:
        raise UsageError(f"unknown optimizer {name!r}; valid optimizers are: adagrad, adam, adamw, rmsprop, sgd")
    return table[name](params, lr=lr, weight_decay=wd)


def build_loss(name: str):
    from .nn import functional as F

    if name == "multiclass_hinge":
        return F.multiclass_hinge_loss
    return F.cross_entropy


# ----------------------------------------------------------------------------------------------- train
def cmd_train(args) -> int:
    import deepgrad as dg
    from deepgrad import data, train
    from deepgrad.models import model_info

    if args.lr is not None and not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be a positive integer, got {args.batch_size}")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    name = args.model or default_model()
    try:
        recipe = dict(model_info(name)["recipe"])
    except ValueError as e:
        raise UsageError(str(e)) from None
    epochs = args.epochs or recipe.get("epochs", 10)
    batch_size = args.batch_size or recipe.get("batch_size", 64)
    lr = args.lr or recipe.get("lr", 1e-3)
    opt_name = args.optimizer or recipe.get("optimizer", "adam")
    dg.manual_seed(args.seed)

    tr_split, va_split, te_split = _splits(args.dataset)
    t0 = time.perf_counter()
    Xtr, ytr, info = load_arrays(args.dataset, tr_split, args.data_dir, args.download)
    Xva, yva = load_arrays(args.dataset, va_split, args.data_dir, args.download)[:2] if va_split else (None, None)
    Xte, yte, _ = load_arrays(args.dataset, te_split, args.data_dir, args.download)
    if recipe.get("train_on_val") and Xva is not None:  # final fit on train + val; the test split stays held out
        Xtr, ytr, Xva, yva = np.concatenate([Xtr, Xva]), np.concatenate([ytr, yva]), None, None
    mean, std = float(Xtr.mean()), float(Xtr.std()) or 1.0
    norm = lambda a: (a - mean) / std  # noqa: E731
    num_classes = int(max(ytr.max(), yte.max())) + 1

    model, model_kwargs = build_model(name, Xtr.shape[1:], num_classes)
    device = args.device
    if device.startswith("cuda") and not dg.cuda.is_available():
        raise UsageError("--device cuda: CUDA is not available (CuPy not installed or no GPU); use --device cpu")
    model.to(device)
    optimizer = build_optimizer(opt_name, model.parameters(), lr, recipe)
    scheduler = dg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if recipe.get("cosine", True) else None
    augment = None
    if recipe.get("augment") and Xtr.ndim == 4:
        augment = data.transforms.RandomShift(recipe.get("shift", 2))
    train_ds = data.ArrayDataset(norm(Xtr), ytr, transform=augment)
    train_loader = data.DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=args.seed,
                                   device=device)
    val_loader = data.DataLoader(data.ArrayDataset(norm(Xva), yva), batch_size=512, device=device) \
        if Xva is not None else None
    test_loader = data.DataLoader(data.ArrayDataset(norm(Xte), yte), batch_size=512, device=device)

    out = args.out or os.path.join("runs", f"{name}-{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out, exist_ok=True)
    config = {"model": name, "model_kwargs": model_kwargs, "dataset": args.dataset, "input_shape": list(Xtr.shape[1:]),
              "normalize": {"mean": mean, "std": std}, "classes": info["classes"], "optimizer": opt_name, "lr": lr,
              "batch_size": batch_size, "epochs": epochs, "seed": args.seed}
    monitor = "val_accuracy" if val_loader is not None else "loss"
    ckpt = train.ModelCheckpoint(out, monitor=monitor)
    callbacks = [ckpt, train.CSVLogger(os.path.join(out, "history.csv")),
                 train.JSONLogger(os.path.join(out, "history.json")), train.HealthReport(verbose=not args.quiet),
                 train.TerminateOnNaN()]
    loss_fn = build_loss(recipe.get("loss", "cross_entropy"))
    trainer = train.Trainer(model, loss_fn, optimizer, metrics=["accuracy"], callbacks=callbacks, scheduler=scheduler,
                            device=device, quiet=args.quiet, extra_state={"config": config})
    if args.resume:
        if not os.path.exists(ckpt.last_path):
            raise UsageError(f"--resume: no checkpoint at {ckpt.last_path}; train into --out {out} first")
        try:
            trainer.resume(ckpt.last_path)
        except (KeyError, RuntimeError, ValueError) as e:
            raise UsageError(f"--resume: {ckpt.last_path} does not fit model {name!r}: {e}") from None
        if monitor in trainer.history:  # so best.safetensors is only replaced by a better epoch, as without the break
            ckpt.best = (min if ckpt.mode == "min" else max)(trainer.history[monitor])
        _say(args, f"resuming {name} from epoch {trainer.start_epoch} ({ckpt.last_path})")
    else:
        _say(args, f"training {name} on {args.dataset} ({len(ytr)} train"
             + (f", {len(yva)} val" if yva is not None else "") + f", {len(yte)} test) for {epochs} epochs, "
             f"{opt_name} lr={lr:g}, batch {batch_size}, device {device}; output in {out}")
    history = trainer.fit(train_loader, val_loader, epochs)
    if trainer.stop_reason:
        raise UsageError(trainer.stop_reason)
    if val_loader is not None and os.path.exists(ckpt.best_path):
        model.load_state_dict(dg.load(ckpt.best_path)["model"])
    test = trainer.evaluate(test_loader)
    elapsed = time.perf_counter() - t0
    results = {"test_loss": test["loss"], "test_accuracy": test["accuracy"], "seconds": elapsed,
               "epochs_run": len(history.epochs), "checkpoint": ckpt.best_path if val_loader is not None
               else ckpt.last_path}
    from .train.callbacks import atomic_write_text

    atomic_write_text(os.path.join(out, "results.json"), json.dumps({**config, **results}, indent=1))
    _plots(out, trainer, model, test_loader, num_classes, args)
    print(f"test accuracy {100 * test['accuracy']:.2f}%  (loss {test['loss']:.4f}, {elapsed:.0f} s); "
          f"checkpoint {results['checkpoint']}")
    return 0


def _plots(out, trainer, model, loader, num_classes, args) -> None:
    try:
        from .viz import plots
    except ImportError:
        return
    if not plots.available():
        _say(args, "matplotlib not installed: no plots (pip install 'deepgrad[viz]')")
        return
    plots.learning_curves(trainer.history, os.path.join(out, "learning_curves.png"))
    from .train.metrics import confusion_matrix

    outputs = trainer.predict(loader)
    ys = np.concatenate([np.asarray(b[1].numpy()) for b in loader])
    plots.confusion_matrix(confusion_matrix(outputs, ys, num_classes), os.path.join(out, "confusion_matrix.png"))
    if trainer.history.health:
        plots.gradient_norms(trainer.history.health, os.path.join(out, "gradient_norms.png"))
    first = next((p for n, p in model.named_parameters() if p.ndim >= 2), None)
    if first is not None:
        plots.first_layer_weights(first, os.path.join(out, "first_layer_weights.png"))


def _say(args, msg: str) -> None:
    if not getattr(args, "quiet", False):
        print(msg, file=sys.stderr)


# ------------------------------------------------------------------------------------- evaluate/predict
def load_checkpoint_model(path: str):
    import deepgrad as dg

    if not os.path.exists(path):
        raise UsageError(f"no checkpoint at {path}")
    state = dg.load(path)
    config = state.get("config")
    if config is None:
        raise UsageError(f"{path} has no run configuration: it was not written by 'deepgrad train'")
    from .models import get_model

    model = get_model(config["model"], **config["model_kwargs"])
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise UsageError(f"{path} does not fit model {config['model']!r}: {e}") from None
    model.eval()
    return model, config


def cmd_evaluate(args) -> int:
    import deepgrad as dg
    from deepgrad import data, train
    from deepgrad.train import metrics as M

    model, config = load_checkpoint_model(args.checkpoint)
    dataset = args.dataset or config["dataset"]
    X, y, _ = load_arrays(dataset, args.split, args.data_dir, args.download)
    if list(X.shape[1:]) != list(config["input_shape"]):
        raise UsageError(f"dataset {dataset!r} has inputs of shape {X.shape[1:]}, but the model was trained on "
                         f"{tuple(config['input_shape'])}")
    n = config["normalize"]
    loader = data.DataLoader(data.ArrayDataset((X - n["mean"]) / n["std"], y), batch_size=512)
    trainer = train.Trainer(model, build_loss("cross_entropy"), dg.optim.SGD(model.parameters(), lr=0.1),
                            progress=False)
    res = trainer.evaluate(loader)
    outputs = trainer.predict(loader)
    p, r, f1 = M.precision_recall_f1(outputs, y, average="macro")
    res.update({"top5_accuracy": M.top_k_accuracy(outputs, y, 5) if outputs.shape[1] >= 5 else None,
                "precision_macro": p, "recall_macro": r, "f1_macro": f1, "samples": len(y), "dataset": dataset,
                "split": args.split})
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for k, v in res.items():
            print(f"{k:16s} {v:.4f}" if isinstance(v, float) else f"{k:16s} {v}")
    return 0


def read_image(path: str, shape) -> np.ndarray:
    """An image file as float32 (C, H, W) in [0, 1] resized to ``shape`` (PNG/JPEG via Pillow; .npy directly)."""
    if not os.path.exists(path):
        raise UsageError(f"no image at {path}")
    if path.endswith(".npy"):
        a = np.load(path, allow_pickle=False)
    else:
        try:
            from PIL import Image
        except ImportError:
            raise UsageError("reading PNG/JPEG needs Pillow (pip install pillow), or pass a .npy array") from None
        img = Image.open(path)
        img = img.convert("L" if shape[0] == 1 else "RGB").resize((shape[2], shape[1]))
        a = np.asarray(img)
    a = np.asarray(a, dtype=np.float32)
    if a.max() > 1.0:
        a = a / 255.0
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 3 and a.shape[-1] in (1, 3) and a.shape[0] not in (1, 3):
        a = a.transpose(2, 0, 1)
    if tuple(a.shape) != tuple(shape):
        raise UsageError(f"image {path} has shape {a.shape} after conversion, expected {tuple(shape)}")
    return a


def cmd_predict(args) -> int:
    import deepgrad as dg

    model, config = load_checkpoint_model(args.checkpoint)
    x = read_image(args.image, config["input_shape"])
    if args.invert:
        x = 1.0 - x
    n = config["normalize"]
    with dg.no_grad():
        probs = model(dg.tensor((x[None] - n["mean"]) / n["std"])).softmax(-1).numpy()[0]
    classes = config.get("classes") or [str(i) for i in range(len(probs))]
    for i in np.argsort(-probs):
        print(f"{classes[i]:>10s} {probs[i]:.4f}")
    return 0


# -------------------------------------------------------------------------------------------- list etc.
def cmd_list(args) -> int:
    from . import data
    from .models import list_models

    print("models:")
    for k, v in list_models().items():
        print(f"  {k:22s} {v}")
    print("datasets:")
    for k in data.list_datasets():
        print(f"  {k:22s} {data.dataset_info(k).description}")
    try:
        from .demos import list_demos
    except ImportError:
        return 0
    print("demos:")
    for k, v in list_demos().items():
        print(f"  {k:22s} {v}")
    return 0


def cmd_summary(args) -> int:
    from .models import get_model
    from .tools.summary import summary

    shape = tuple(int(s) for s in args.input_shape.split(",")) if args.input_shape else None
    try:
        model = get_model(args.model)
    except ValueError as e:
        raise UsageError(str(e)) from None
    shape = shape or getattr(model, "default_input_shape", None)
    try:
        print(summary(model, shape))
    except (ValueError, RuntimeError, TypeError) as e:
        raise UsageError(f"{args.model} does not run on input shape {shape}: {e}") from None
    return 0


def cmd_demo(args) -> int:
    try:
        from .demos import list_demos, run_demo
    except ImportError:
        raise UsageError("demos are not available in this installation") from None
    if not args.name:
        for k, v in list_demos().items():
            print(f"  {k:24s} {v}")
        return 0
    try:
        run_demo(args.name, out=args.out, fast=args.fast)
    except KeyError as e:
        raise UsageError(str(e.args[0])) from None
    return 0


# ------------------------------------------------------------------------------------------------ parser
def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepgrad", description="deepgrad: train, evaluate and explore the lectures' "
                                "models. 'deepgrad train' with no arguments trains on the bundled MNIST sample.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model (default: the best available on mnist-sample)")
    t.add_argument("--model", help="model name (see 'deepgrad list'); default: the best CNN, else the MLP")
    t.add_argument("--dataset", default="mnist-sample", help="dataset name (default: mnist-sample, offline)")
    t.add_argument("--data-dir", help="where dataset files live (default: $DEEPGRAD_DATA or ~/.cache/deepgrad)")
    t.add_argument("--download", action="store_true", help="download missing dataset files (needs a network)")
    t.add_argument("--epochs", type=int, help="number of epochs (default: the model's recipe)")
    t.add_argument("--batch-size", type=int, help="mini-batch size (default: the model's recipe)")
    t.add_argument("--lr", type=float, help="learning rate (default: the model's recipe)")
    t.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"], help="optimiser")
    t.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--out", help="output directory (default: runs/MODEL-DATASET-TIME)")
    t.add_argument("--resume", action="store_true", help="continue from --out/last.safetensors")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.set_defaults(fn=cmd_train)

    e = sub.add_parser("evaluate", help="loss and metrics of a saved model")
    e.add_argument("checkpoint")
    e.add_argument("--dataset", help="dataset (default: the one it was trained on)")
    e.add_argument("--data-dir")
    e.add_argument("--download", action="store_true")
    e.add_argument("--split", default="test", help="split to evaluate (default: test)")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(fn=cmd_evaluate)

    pr = sub.add_parser("predict", help="class probabilities for one image")
    pr.add_argument("checkpoint")
    pr.add_argument("image", help="PNG/JPEG (needs Pillow) or .npy")
    pr.add_argument("--invert", action="store_true", help="invert grey levels (dark digit on white paper)")
    pr.set_defaults(fn=cmd_predict)

    sub.add_parser("list", help="models, datasets and demos").set_defaults(fn=cmd_list)

    s = sub.add_parser("summary", help="per-layer table: output shape, parameters, activations, MACs")
    s.add_argument("model")
    s.add_argument("--input-shape", help="C,H,W (default: the model's)")
    s.set_defaults(fn=cmd_summary)

    d = sub.add_parser("demo", help="run one of the lectures' experiments (no name: list them)")
    d.add_argument("name", nargs="?")
    d.add_argument("--out", default=os.path.join("runs", "demos"), help="where figures go")
    d.add_argument("--fast", action="store_true", help="small settings (what the tests run)")
    d.set_defaults(fn=cmd_demo)
    return p


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    try:
        return args.fn(args)
    except UsageError as e:
        print(f"deepgrad {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
