"""The ``deepgrad`` command: ``train``, ``evaluate``, ``predict``, ``list``, ``summary``, ``demo``, ``playground``.

``deepgrad train`` with no arguments trains the best available model on the bundled MNIST sample (offline), prints
the held-out test accuracy, and leaves a checkpoint, the history (JSON/CSV) and plots in ``--out``.

Each subcommand is a function ``cmd_NAME(args) -> int`` registered with :func:`command` together with a function
that adds its arguments; :func:`make_parser` builds the parser from that table, so a new subcommand is one
decorated function and its argument list. A user's mistake is raised as :class:`UsageError` (or a
``CheckpointError``/``OSError`` naming the file) and printed by :func:`main` as one line
``deepgrad CMD: error: ...``; ``DEEPGRAD_TRACEBACK=1`` shows the Python traceback instead, for debugging.
"""
from __future__ import annotations

import argparse
import difflib
import glob
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable

import numpy as np

DEFAULT_MODEL_ORDER = ("mnist-cnn", "mlp")  # the first registered one is the default
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".npy")
#: How a resumed run treats a changed ``--epochs`` or ``--lr`` (also written into results.json).
RESUME_RULE = ("the schedule continues over the new total: at epoch k of N the learning rate is the cosine "
               "schedule from the (new) base rate over N epochs, as if the run had been started with these values")


class UsageError(Exception):
    """A mistake in the command line, reported as one sentence without a traceback."""


# ---------------------------------------------------------------------------------------------- names
def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def resolve_name(kind: str, name: str, names) -> str:
    """The registered spelling of ``name`` among ``names`` (``-`` and ``_`` alike, any case), or a
    :class:`UsageError` with the closest names ("did you mean ...?")."""
    names = list(names)
    table = {_norm(n): n for n in names}
    if _norm(name) in table:
        return table[_norm(name)]
    close = difflib.get_close_matches(_norm(name), list(table), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(repr(table[c]) for c in close) + "?"
    else:
        hint = f"valid {kind}s are: {', '.join(sorted(names))}"
    raise UsageError(f"unknown {kind} {name!r}; {hint} ('deepgrad list' shows them all)")


def _model_name(name: str) -> str:
    from .models import list_models

    return resolve_name("model", name, list_models())


def _dataset_name(name: str) -> str:
    from . import data

    return resolve_name("dataset", name, data.list_datasets())


# ------------------------------------------------------------------------------------------------- data
def load_arrays(dataset: str, split: str, data_dir: str | None = None, download: bool = False):
    """(X float32, y int64, info) for a named dataset split. Images come as (N, C, H, W) in [0, 1]."""
    from . import data
    from .data.download import DownloadError

    try:
        ds = data.get_dataset(dataset, split=split, data_dir=data_dir, download=download)
    except (KeyError, ValueError, FileNotFoundError, DownloadError) as e:
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


def build_augment(recipe: dict, background: float = 0.0):
    """The training augmentation of an image ``recipe`` (None without ``"augment"``): a random whole-pixel shift of
    up to ``recipe["shift"]`` pixels (default 2), after, when the recipe has them, a random bilinear affine map per
    sample (an ``"affine"`` entry: keyword arguments of :class:`~deepgrad.data.transforms.RandomAffine`, e.g.
    ``{"degrees": 10, "scale": [0.9, 1.1]}``) and then a random elastic distortion per sample (an ``"elastic"``
    entry: keyword arguments of :class:`~deepgrad.data.transforms.ElasticTransform`, e.g. ``{"alpha": 68,
    "sigma": 4}``). With either, all fill uncovered pixels with ``background`` (the normalised value of a blank
    pixel); with neither the shift fills with 0, as the recipes before them did."""
    from . import data

    if not recipe.get("augment"):
        return None
    shift = recipe.get("shift", 2)
    warps = []
    if recipe.get("affine") is not None:
        warps.append(data.transforms.RandomAffine(**recipe["affine"], interpolation="bilinear", fill=background))
    if recipe.get("elastic") is not None:
        warps.append(data.transforms.ElasticTransform(**recipe["elastic"], interpolation="bilinear", fill=background))
    if not warps:
        return data.transforms.RandomShift(shift)
    return data.transforms.Compose([*warps, data.transforms.RandomShift(shift, fill=background)])


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


def _device(name: str) -> str:
    import deepgrad as dg

    try:
        device = str(dg.backend.Device(name))
    except (ValueError, TypeError):
        raise UsageError(f"--device {name!r} is not a device; expected cpu, cuda or cuda:N") from None
    if device.startswith("cuda") and not dg.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available (CuPy not installed or no GPU); use --device cpu")
    return device


# ----------------------------------------------------------------------------------------------- output
class OutputDir:
    """The run directory: refused with a sentence when it cannot be written, created on first use, and removed
    again by :meth:`discard_if_empty` when the command fails before writing anything."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.created = False
        if os.path.exists(path) and not os.path.isdir(path):
            raise UsageError(f"--out {path} is a file, not a directory")
        if os.path.isdir(path) and not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"--out {path}: permission denied (the directory is not writable)")
        parent = _existing_parent(path)
        if not os.path.isdir(parent):
            raise UsageError(f"--out {path}: {parent} is a file, not a directory")
        if not os.path.isdir(path) and not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"--out {path}: permission denied (cannot create a directory in {parent})")

    def make(self) -> str:
        if not os.path.isdir(self.path):
            os.makedirs(self.path)
            self.created = True
        return self.path

    def discard_if_empty(self) -> None:
        if self.created and os.path.isdir(self.path) and not os.listdir(self.path):
            os.rmdir(self.path)


def _existing_parent(path: str) -> str:
    p = os.path.abspath(path)
    while not os.path.exists(p):
        p = os.path.dirname(p)
    return p


def _newest_run(model: str | None, dataset: str) -> str:
    """The most recently written run directory under ``runs/`` of ``model`` (any model if None) on ``dataset``."""
    pattern = os.path.join("runs", f"{model or '*'}-{dataset}-*")
    found = [d for d in glob.glob(pattern) if _checkpoint_to_resume(d) is not None]
    if not found:
        raise UsageError(f"--resume without --out: no run of {model or 'any model'} on {dataset} under runs/ "
                         "(looked for runs/" + os.path.basename(pattern) + "/last.safetensors); pass --out DIR")
    return max(found, key=lambda d: os.path.getmtime(_checkpoint_to_resume(d)))


def _checkpoint_to_resume(out: str) -> str | None:
    """``out``'s newest checkpoint: an interrupt checkpoint if it is newer than the last epoch's, else that one."""
    from .train.callbacks import ModelCheckpoint

    ck = ModelCheckpoint(out)
    paths = [p for p in (ck.interrupt_path, ck.last_path) if os.path.isfile(p)]
    return max(paths, key=os.path.getmtime) if paths else None


def _atomic_json(path: str, obj) -> None:
    from .train.callbacks import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=1))


# ----------------------------------------------------------------------------------------------- registry
_COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None):
    """Register ``fn(args) -> int`` as ``deepgrad NAME``; ``arguments(parser)`` adds its options."""

    def deco(fn: Callable) -> Callable:
        if name in _COMMANDS:
            raise ValueError(f"deepgrad: subcommand {name!r} is registered twice")
        _COMMANDS[name] = (help, arguments or (lambda p: None), fn)
        return fn

    return deco


def _number(convert, valid, expected: str):
    """An argparse type: ``convert`` the text, then refuse it unless ``valid(value)``, saying what was ``expected``."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value
    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_seed = _number(int, lambda v: 0 <= v < 2 ** 32, "an integer from 0 to 2**32-1")
_positive_float = _number(float, lambda v: math.isfinite(v) and v > 0, "a finite positive number")


# ----------------------------------------------------------------------------------------------- train
def _train_arguments(t: argparse.ArgumentParser) -> None:
    t.add_argument("--model", help="model name (see 'deepgrad list'); default: the best CNN, else the MLP")
    t.add_argument("--dataset", default="mnist-sample", help="dataset name (mnist-sample is bundled, offline)")
    t.add_argument("--data-dir", help="where dataset files live (default: $DEEPGRAD_DATA or ~/.cache/deepgrad)")
    t.add_argument("--download", action="store_true", help="download missing dataset files (needs a network)")
    t.add_argument("--epochs", type=_positive_int, help="number of epochs in total (default: the model's recipe; "
                   "on --resume the run's own)")
    t.add_argument("--batch-size", type=_positive_int, help="mini-batch size (default: the model's recipe)")
    t.add_argument("--lr", type=_positive_float, help="learning rate (default: the model's recipe; on --resume the "
                   "run's own)")
    t.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"],
                   help="optimiser (default: the model's recipe)")
    t.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    t.add_argument("--seed", type=_seed, help="random seed (default: 0; on --resume the run's own)")
    t.add_argument("--out", help="output directory (default: runs/MODEL-DATASET-TIME; with --resume: the newest "
                   "run of that model and dataset)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint "
                   "(last.safetensors or interrupt.safetensors)")
    t.add_argument("--quiet", action="store_true", help="no progress output")


def _resume_settings(args, saved: dict, name: str, dataset: str) -> dict:
    """The run's settings on ``--resume``: the saved ones, with ``--epochs``/``--lr`` changes allowed (see
    :data:`RESUME_RULE`) and anything else that would change the run refused with a sentence."""
    if saved.get("model") not in (None, name) and args.model is None:
        name = saved["model"]
    for flag, given, key in (("--batch-size", args.batch_size, "batch_size"), ("--optimizer", args.optimizer,
                             "optimizer"), ("--seed", args.seed, "seed")):
        if given is not None and key in saved and given != saved[key]:
            raise UsageError(f"--resume: {flag} {given} differs from the run's {saved[key]}; a resumed run keeps "
                             f"its {flag} (only --epochs and --lr may change), or start a new run with another --out")
    if saved.get("dataset") not in (None, dataset):
        raise UsageError(f"--resume: the run was trained on {saved['dataset']!r}, not {dataset!r}")
    return saved


@command("train", "train a model (default: the best available on mnist-sample)", _train_arguments)
def cmd_train(args) -> int:
    from .models import model_info

    name = _model_name(args.model) if args.model else None
    dataset = _dataset_name(args.dataset)
    device = _device(args.device)
    resume_from, saved = None, {}
    if args.resume:
        out = args.out or _newest_run(name or default_model(), dataset)
        resume_from = _checkpoint_to_resume(out)
        if resume_from is None:
            raise UsageError(f"--resume: no checkpoint in {out} (no last.safetensors or interrupt.safetensors); "
                             f"train into --out {out} first")
        saved = _read_run_config(resume_from)
        saved = _resume_settings(args, saved, name or saved.get("model") or default_model(), dataset)
        name = name or saved.get("model") or default_model()
    name = name or default_model()
    out = args.out or (os.path.dirname(resume_from) if resume_from else
                       os.path.join("runs", f"{name}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"))
    outdir = OutputDir(out)
    try:
        return _train(args, name, dataset, device, outdir, resume_from, saved, model_info(name))
    finally:
        outdir.discard_if_empty()


def _distributed() -> tuple[int, bool]:
    """(world size, whether this is the rank that writes) — a job started by mpirun joins its process group."""
    size = int(os.environ.get("OMPI_COMM_WORLD_SIZE") or os.environ.get("PMI_SIZE") or 1)
    if size == 1:
        return 1, True
    import deepgrad.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group()
    return dist.get_world_size(), dist.is_main_process()


def _rank_device(device: str, world: int) -> str:
    """Under mpirun, ``--device cuda`` means each rank's own GPU: ``cuda:{local rank % GPUs}``."""
    if world == 1 or device != "cuda":
        return device
    import deepgrad as dg

    return f"cuda:{dg.distributed.get_node_local_rank() % max(1, dg.cuda.device_count())}"


def _read_run_config(path: str) -> dict:
    import deepgrad as dg

    config = dg.load(path, map_location="cpu").get("config")
    if not isinstance(config, dict):
        raise UsageError(f"--resume: {path} has no run configuration: it was not written by 'deepgrad train'")
    return config


def _train(args, name, dataset, device, outdir: OutputDir, resume_from, saved, info) -> int:
    import deepgrad as dg
    from deepgrad import data, train

    recipe = dict(info["recipe"])
    epochs = args.epochs or saved.get("epochs") or recipe.get("epochs", 10)
    batch_size = saved.get("batch_size") or args.batch_size or recipe.get("batch_size", 64)
    lr = args.lr or saved.get("lr") or recipe.get("lr", 1e-3)
    opt_name = saved.get("optimizer") or args.optimizer or recipe.get("optimizer", "adam")
    seed = saved.get("seed", args.seed if args.seed is not None else 0)
    dg.manual_seed(seed)

    tr_split, va_split, te_split = _splits(dataset)
    t0 = time.perf_counter()
    Xtr, ytr, classes = load_arrays(dataset, tr_split, args.data_dir, args.download)
    Xva, yva = load_arrays(dataset, va_split, args.data_dir, args.download)[:2] if va_split else (None, None)
    Xte, yte, _ = load_arrays(dataset, te_split, args.data_dir, args.download)
    if recipe.get("train_on_val") and Xva is not None:  # final fit on train + val; the test split stays held out
        Xtr, ytr, Xva, yva = np.concatenate([Xtr, Xva]), np.concatenate([ytr, yva]), None, None
    mean, std = float(Xtr.mean()), float(Xtr.std()) or 1.0
    norm = lambda a: (a - mean) / std  # noqa: E731
    num_classes = int(max(ytr.max(), yte.max())) + 1

    model, model_kwargs = build_model(name, Xtr.shape[1:], num_classes)
    world, main_rank = _distributed()
    device = _rank_device(device, world)
    model.to(device)
    if world > 1:  # under mpirun: DDP, each rank reads its share of every global batch, rank 0 writes
        from deepgrad.distributed import DistributedDataParallel

        model = DistributedDataParallel(model)
        if batch_size % world:
            raise UsageError(f"--batch-size {batch_size} does not split over {world} ranks; use a multiple of {world}")
    optimizer = build_optimizer(opt_name, model.parameters(), lr, recipe)
    scheduler = dg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if recipe.get("cosine", True) else None
    augment = build_augment(recipe, background=norm(0.0)) if Xtr.ndim == 4 else None
    train_ds = data.ArrayDataset(norm(Xtr), ytr, transform=augment)
    if world > 1:
        sampler = dg.distributed.DistributedSampler(train_ds, shuffle=True, seed=seed)
        train_loader = data.DataLoader(train_ds, batch_size=batch_size // world, sampler=sampler, device=device)
    else:
        train_loader = data.DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=seed, device=device)
    val_loader = data.DataLoader(data.ArrayDataset(norm(Xva), yva), batch_size=512, device=device) \
        if Xva is not None else None
    test_loader = data.DataLoader(data.ArrayDataset(norm(Xte), yte), batch_size=512, device=device)

    out = outdir.path
    config = {"model": name, "model_kwargs": model_kwargs, "dataset": dataset, "input_shape": list(Xtr.shape[1:]),
              "normalize": {"mean": mean, "std": std}, "classes": classes["classes"], "optimizer": opt_name,
              "lr": lr, "batch_size": batch_size, "epochs": epochs, "seed": seed}
    if recipe.get("tta") and Xtr.ndim == 4:  # test-time shifts: the test split is scored by ShiftTTA
        config["tta"] = {"shifts": [list(s) for s in train.tta.ONE_PIXEL_SHIFTS], "fill": norm(0.0)}
    monitor = "val_accuracy" if val_loader is not None else "loss"
    ckpt = train.ModelCheckpoint(out, monitor=monitor)
    callbacks = [ckpt, train.CSVLogger(os.path.join(out, "history.csv")),
                 train.JSONLogger(os.path.join(out, "history.json")), train.HealthReport(verbose=not args.quiet),
                 train.TerminateOnNaN(verbose=False)]
    if world > 1:
        class SamplerEpoch(train.Callback):  # each epoch its own order, as sampler.set_epoch in PyTorch loops
            def on_epoch_begin(self, trainer, epoch: int) -> None:
                sampler.set_epoch(epoch)

        callbacks = (callbacks if main_rank else [train.TerminateOnNaN(verbose=False)]) + [SamplerEpoch()]
        config["world_size"] = world
    loss_fn = build_loss(recipe.get("loss", "cross_entropy"))
    trainer = train.Trainer(model, loss_fn, optimizer, metrics=["accuracy"], callbacks=callbacks, scheduler=scheduler,
                            device=device, quiet=args.quiet or not main_rank, extra_state={"config": config})
    resumed = None
    if resume_from:
        resumed = _resume(trainer, resume_from, name, ckpt, monitor, saved, epochs, lr)
        _say(args, f"resuming {name} from epoch {trainer.start_epoch} of {epochs} ({resume_from})")
    elif main_rank:
        outdir.make()
        _say(args, f"training {name} on {dataset} ({len(ytr)} train"
             + (f", {len(yva)} val" if yva is not None else "") + f", {len(yte)} test) for {epochs} epochs, "
             f"{opt_name} lr={lr:g}, batch {batch_size}, device {device}; output in {out}")
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # non-finite values are reported below
            history = trainer.fit(train_loader, val_loader, epochs)
    except train.TrainingInterrupted as e:
        where = f"; state saved to {e.checkpoint}" if e.checkpoint else ""
        print(f"deepgrad train: interrupted at epoch {trainer.epoch + 1}, step {trainer.global_step}{where}; "
              f"continue with: deepgrad train --resume --out {out}", file=sys.stderr)
        return 130
    if trainer.stop_reason:  # a NaN/Inf stop; ModelCheckpoint's part of the sentence says what is kept
        raise UsageError(trainer.stop_reason)
    if not main_rank:
        return 0
    if val_loader is not None and os.path.exists(ckpt.best_path):
        model.load_state_dict(dg.load(ckpt.best_path)["model"])
    test = plain = trainer.evaluate(test_loader)
    if "tta" in config:
        trainer.model = train.tta.ShiftTTA(model, **config["tta"])
        test = trainer.evaluate(test_loader)
    elapsed = time.perf_counter() - t0
    results = {"test_loss": test["loss"], "test_accuracy": test["accuracy"], "seconds": elapsed,
               "epochs_run": len(history.epochs), "checkpoint": ckpt.best_path if val_loader is not None
               else ckpt.last_path}
    if "tta" in config:
        results["test_accuracy_without_tta"] = plain["accuracy"]
    if resumed:
        results["resumed"] = resumed
    _atomic_json(os.path.join(out, "results.json"), {**config, **results})
    _plots(out, trainer, model, test_loader, num_classes, args)
    how = f", with test-time shifts; {100 * plain['accuracy']:.2f}% without" if "tta" in config else ""
    print(f"test accuracy {100 * test['accuracy']:.2f}%  (loss {test['loss']:.4f}, {elapsed:.0f} s{how}); "
          f"checkpoint {results['checkpoint']}")
    return 0


def _resume(trainer, path, name, ckpt, monitor, saved, epochs, lr) -> dict:
    """Load ``path`` into ``trainer`` and apply a changed ``--epochs``/``--lr`` by :data:`RESUME_RULE`."""
    from .serialization import CheckpointError

    try:
        trainer.resume(path)
    except CheckpointError:
        raise
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise UsageError(f"--resume: {path} does not fit model {name!r}: {e}") from None
    done = trainer.start_epoch
    if epochs <= done:
        raise UsageError(f"--resume: the run in {os.path.dirname(path)} has already completed {done} epoch(s); pass "
                         f"--epochs larger than {done} to train further")
    if monitor in trainer.history:  # so best.safetensors is only replaced by a better epoch, as without the break
        ckpt.best = (min if ckpt.mode == "min" else max)(trainer.history[monitor])
    old_epochs, old_lr = saved.get("epochs", epochs), saved.get("lr", lr)
    changed = epochs != old_epochs or lr != old_lr
    if changed:
        sched = trainer.scheduler
        for g in trainer.optimizer.param_groups:
            g["initial_lr"] = g["lr"] = lr
        if sched is not None:
            sched.T_max, sched.base_lrs = epochs, [lr] * len(trainer.optimizer.param_groups)
            sched.step(sched.last_epoch)  # the closed form at the current epoch over the new total
    return {"from_checkpoint": path, "from_epoch": done, "epochs_before": old_epochs, "lr_before": old_lr,
            "epochs": epochs, "lr": lr, "rule": RESUME_RULE if changed else "unchanged settings"}


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
        plots.gradient_norms(trainer.history.health, os.path.join(out, "gradient_norms.png"), trainer.model)
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
    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory; pass a checkpoint file such as {os.path.join(path, 'best.safetensors')}")
    state = dg.load(path, map_location="cpu")
    config = state.get("config") if isinstance(state, dict) else None
    if not isinstance(config, dict) or "model" not in config or "model_kwargs" not in config:
        raise UsageError(f"{path} has no run configuration: it was not written by 'deepgrad train'")
    from .models import get_model

    try:
        model = get_model(config["model"], **config["model_kwargs"])
        weights = state["model"]
        if weights and all(k.startswith("module.") for k in weights):  # saved from DistributedDataParallel
            weights = {k[len("module."):]: v for k, v in weights.items()}
        model.load_state_dict(weights)
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise UsageError(f"{path} does not fit model {config['model']!r}: {e}") from None
    model.eval()
    return model, config


def scoring_model(paths: list[str]):
    """(model, config) that ``deepgrad evaluate`` scores: a checkpoint's model, under its test-time shifts where it
    was trained with them; for several checkpoints the ``log_probs`` :class:`~deepgrad.tools.ensemble.Ensemble` of
    those (their softmax averaged), which must agree on dataset, input shape, classes and normalisation (config:
    the first one's)."""
    from . import train
    from .tools.ensemble import Ensemble

    members, first = [], None
    for path in paths:
        model, config = load_checkpoint_model(path)
        if config.get("tta"):  # scored as it was trained to be: averaged over the test-time shifts
            model = train.tta.ShiftTTA(model, **config["tta"])
        if first is None:
            first = (path, config)
        else:
            for key in ("dataset", "input_shape", "classes"):
                if config.get(key) != first[1].get(key):
                    raise UsageError(f"{path} and {first[0]} cannot form an ensemble: their {key} differ "
                                     f"({config.get(key)!r} vs {first[1].get(key)!r})")
            a, b = config["normalize"], first[1]["normalize"]
            if not all(math.isclose(a[k], b[k], rel_tol=1e-6) for k in ("mean", "std")):
                raise UsageError(f"{path} and {first[0]} cannot form an ensemble: they normalise inputs differently "
                                 f"(mean {a['mean']:.6g}, std {a['std']:.6g} vs {b['mean']:.6g}, {b['std']:.6g})")
        members.append(model)
    if len(members) == 1:
        return members[0], first[1]
    return Ensemble(members, "log_probs").eval(), first[1]


def _evaluate_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("checkpoint", nargs="+", help="a checkpoint written by 'deepgrad train' (e.g. "
                   "runs/NAME/best.safetensors); several score their ensemble (the softmax averaged)")
    e.add_argument("--dataset", help="dataset (default: the one it was trained on)")
    e.add_argument("--data-dir", help="where dataset files live (default: $DEEPGRAD_DATA or ~/.cache/deepgrad)")
    e.add_argument("--download", action="store_true", help="download missing dataset files (needs a network)")
    e.add_argument("--split", default="test", help="split to evaluate")
    e.add_argument("--json", action="store_true", help="print JSON")


@command("evaluate", "loss and metrics of a saved model", _evaluate_arguments)
def cmd_evaluate(args) -> int:
    import deepgrad as dg
    from deepgrad import data, train
    from deepgrad.train import metrics as M

    model, config = scoring_model(args.checkpoint)
    dataset = _dataset_name(args.dataset) if args.dataset else config["dataset"]
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
                "split": args.split, "test_time_shifts": bool(config.get("tta")), "members": len(args.checkpoint)})
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for k, v in res.items():
            print(f"{k:16s} {v:.4f}" if isinstance(v, float) else f"{k:16s} {v}")
    return 0


def read_image(path: str, shape, letterbox: bool = False) -> np.ndarray:
    """An image file as float32 (C, H, W) in [0, 1] at ``shape`` (PNG/JPEG via Pillow; .npy directly).

    A picture whose aspect ratio differs from the model's input is refused, or with ``letterbox=True`` padded to
    that aspect with its border colour (said on stderr) before resizing, so it is never stretched. Arrays must be
    finite and non-empty.
    """
    if not os.path.exists(path):
        raise UsageError(f"no image at {path}")
    if not os.path.isfile(path):
        raise UsageError(f"{path} is not a regular file")
    if path.lower().endswith(".npy"):
        a = _read_npy(path)
    else:
        a = _read_picture(path, shape, letterbox)
    if a.size == 0:
        raise UsageError(f"image {path} is empty (shape {a.shape})")
    if not np.isfinite(a).all():
        raise UsageError(f"image {path} holds NaN or infinite values; predictions on it would be meaningless")
    if a.max() > 1.0:
        a = a / 255.0
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 3 and a.shape[-1] in (1, 3) and a.shape[0] not in (1, 3):
        a = a.transpose(2, 0, 1)
    if tuple(a.shape) != tuple(shape):
        raise UsageError(f"image {path} has shape {a.shape} after conversion, expected {tuple(shape)}")
    return a


def _read_npy(path: str) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise UsageError(f"{path} holds Python objects (a pickled object array), which deepgrad never loads; "
                             "save a numeric array") from None
        raise UsageError(f"{path} is not a readable .npy array: {e}") from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
        raise UsageError(f"{path} holds a {getattr(a, 'dtype', type(a).__name__)} array; expected numbers")
    return a.astype(np.float32)


def _read_picture(path: str, shape, letterbox: bool) -> np.ndarray:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise UsageError("reading PNG/JPEG needs Pillow (pip install pillow), or pass a .npy array") from None
    try:
        img = Image.open(path)
        img = img.convert("L" if shape[0] == 1 else "RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        raise UsageError(f"{path} is not an image Pillow can read (PNG, JPEG, ...)") from None
    h, w = int(shape[1]), int(shape[2])
    if img.width * h != img.height * w:
        if not letterbox:
            raise UsageError(f"image {path} is {img.width}x{img.height}, but the model takes {w}x{h} images: crop it "
                             "to that aspect ratio, or pass --letterbox to pad it with its border colour")
        a = np.asarray(img)
        border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).reshape(-1, shape[0])
        fill = tuple(int(v) for v in np.median(border, axis=0))
        side_w, side_h = max(img.width, img.height * w // h), max(img.height, img.width * h // w)
        canvas = Image.new(img.mode, (side_w, side_h), fill[0] if shape[0] == 1 else fill)
        canvas.paste(img, ((side_w - img.width) // 2, (side_h - img.height) // 2))
        print(f"deepgrad predict: letterboxed {path} from {img.width}x{img.height} to {side_w}x{side_h} "
              f"(border colour {fill[0] if shape[0] == 1 else fill}) before resizing to {w}x{h}", file=sys.stderr)
        img = canvas
    return np.asarray(img.resize((w, h)), dtype=np.float32)


def _image_paths(items: list[str]) -> list[str]:
    paths = []
    for item in items:
        if os.path.isdir(item):
            found = sorted(os.path.join(item, f) for f in os.listdir(item) if f.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise UsageError(f"{item} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            paths += found
        else:
            paths.append(item)
    return paths


def _predict_arguments(pr: argparse.ArgumentParser) -> None:
    pr.add_argument("checkpoint", help="a checkpoint written by 'deepgrad train'")
    pr.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG files (need Pillow), .npy arrays, or "
                    "folders of them; one gives a table of class probabilities, several one line each")
    pr.add_argument("--invert", action="store_true", help="invert grey levels (dark digit on white paper)")
    pr.add_argument("--letterbox", action="store_true", help="pad pictures of another aspect ratio with their "
                    "border colour instead of refusing them")


@command("predict", "class probabilities for images", _predict_arguments)
def cmd_predict(args) -> int:
    import deepgrad as dg

    model, config = load_checkpoint_model(args.checkpoint)
    paths = _image_paths(args.images)
    x = np.stack([read_image(p, config["input_shape"], args.letterbox) for p in paths])
    if args.invert:
        x = 1.0 - x
    n = config["normalize"]
    with dg.no_grad():
        probs = model(dg.tensor((x - n["mean"]) / n["std"], dtype=dg.float32)).softmax(-1).numpy()
    classes = config.get("classes") or [str(i) for i in range(probs.shape[1])]
    if len(paths) == 1:
        for i in np.argsort(-probs[0]):
            print(f"{classes[i]:>10s} {probs[0, i]:.4f}")
        return 0
    for p, row in zip(paths, probs):
        k = int(np.argmax(row))
        print(f"{p}\t{classes[k]}\t{row[k]:.4f}")
    return 0


# -------------------------------------------------------------------------------------------- list etc.
@command("list", "models, datasets and demos")
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


def _summary_arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("model", help="model name (see 'deepgrad list')")
    s.add_argument("--input-shape", help="C,H,W (or one number for flat inputs); default: the model's")


def _shape(text: str) -> tuple:
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(s < 1 for s in shape):
        raise UsageError(f"--input-shape {text!r} is not a shape; expected positive integers separated by commas, "
                         "such as 1,28,28")
    return shape


@command("summary", "per-layer table: output shape, parameters, activations, MACs", _summary_arguments)
def cmd_summary(args) -> int:
    from .models import get_model
    from .tools.summary import summary

    shape = _shape(args.input_shape) if args.input_shape else None
    name = _model_name(args.model)
    try:
        model = get_model(name)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None
    shape = shape or getattr(model, "default_input_shape", None)
    try:
        print(summary(model, shape))
    except (ValueError, RuntimeError, TypeError, IndexError) as e:
        raise UsageError(f"{name} does not run on input shape {shape}: {e}") from None
    return 0


def _export_arguments(x: argparse.ArgumentParser) -> None:
    x.add_argument("checkpoint", help="a checkpoint written by 'deepgrad train' (e.g. runs/NAME/best.safetensors)")
    x.add_argument("output", help="the ONNX file to write (e.g. model.onnx)")
    x.add_argument("--opset", type=_positive_int, default=17, help="ONNX opset version, 13 to 21")


@command("export", "a trained model as an ONNX file (input: raw images, output: logits)", _export_arguments)
def cmd_export(args) -> int:
    import deepgrad as dg
    from deepgrad import nn

    model, config = load_checkpoint_model(args.checkpoint)
    try:
        from deepgrad import onnx as dg_onnx
    except ImportError as e:  # pragma: no cover - the package is part of deepgrad
        raise UsageError(str(e)) from None
    norm = config["normalize"]

    class Normalized(nn.Module):  # the training normalisation inside the graph: raw inputs, as 'deepgrad predict'
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model((x - norm["mean"]) / norm["std"])

    x = dg.zeros(1, *config["input_shape"])
    try:
        dg_onnx.export(Normalized(), x, args.output, input_names=["input"], output_names=["logits"],
                       dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=args.opset)
    except dg_onnx.OnnxExportError as e:
        raise UsageError(str(e)) from None
    shape = ", ".join(str(d) for d in config["input_shape"])
    print(f"wrote {args.output}: input 'input' (batch, {shape}) of raw values, output 'logits' "
          f"(batch, {len(config['classes'])}); {config['model']} trained on {config['dataset']}")
    return 0


def _demo_arguments(d: argparse.ArgumentParser) -> None:
    d.add_argument("name", nargs="?", help="the demo to run (none: list them)")
    d.add_argument("--out", default=os.path.join("runs", "demos"), help="figures go into OUT/NAME/")
    d.add_argument("--fast", action="store_true", help="small settings (what the tests run)")


@command("demo", "run one of the lectures' experiments (no name: list them)", _demo_arguments)
def cmd_demo(args) -> int:
    try:
        from .demos import list_demos, run_demo
    except ImportError:
        raise UsageError("demos are not available in this installation") from None
    demos = list_demos()
    if not args.name:
        for k, v in demos.items():
            print(f"  {k:24s} {v}")
        return 0
    name = resolve_name("demo", args.name, demos)
    OutputDir(args.out)
    run_demo(name, out=args.out, fast=args.fast)
    _say(args, f"figures in {os.path.join(args.out, name)}")
    return 0


def _playground_arguments(pg: argparse.ArgumentParser) -> None:
    pg.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    pg.add_argument("--port", type=int, default=8765, help="port")
    pg.add_argument("--no-browser", action="store_true", help="do not open a browser")


@command("playground", "the TensorFlow Playground on deepgrad, in the browser", _playground_arguments)
def cmd_playground(args) -> int:
    from .playground import EXTRA, serve

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port should be between 1 and 65535, got {args.port}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"deepgrad playground: warning: listening on {args.host}, so other machines that reach it can use "
              "this server and its CPU; the default 127.0.0.1 keeps it to this computer", file=sys.stderr)
    try:
        serve(args.host, args.port, open_browser=not args.no_browser)
    except ImportError:
        raise UsageError(EXTRA) from None
    except OSError as e:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    except KeyboardInterrupt:
        pass
    return 0


# ------------------------------------------------------------------------------------------------ parser
class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: ``deepgrad train: error: ... (see 'deepgrad train --help')``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to every option's help that has a default and does not state it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" not in text and default not in (None, False, argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _common_arguments() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=_positive_int, help="CPU threads per op (default: DEEPGRAD_NUM_THREADS, "
                        "else the number of cores)")
    return common


def make_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="deepgrad", formatter_class=_HelpFormatter,
                description="deepgrad: train, evaluate and explore the lectures' models. 'deepgrad train' with no "
                "arguments trains on the bundled MNIST sample. DEEPGRAD_TRACEBACK=1 shows Python tracebacks.")
    p.add_argument("--version", action="version", version=f"deepgrad {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _common_arguments()
    for name, (help_text, arguments, fn) in _COMMANDS.items():
        s = sub.add_parser(name, help=help_text, description=help_text[:1].upper() + help_text[1:] + ".",
                           parents=[common], formatter_class=_HelpFormatter)
        arguments(s)
        s.set_defaults(fn=fn)
    return p


def _error_text(e: BaseException) -> str:
    from .serialization import CheckpointError

    if isinstance(e, UsageError | CheckpointError):
        return str(e)
    if isinstance(e, OSError):
        what = f"{e.strerror or e}"
        if e.filename:
            return f"{e.filename}: {what}"
        return what
    return f"internal error ({type(e).__name__}: {e}); run with DEEPGRAD_TRACEBACK=1 to see where, and please report it"


def main(argv=None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed on one line
        return e.code if isinstance(e.code, int) else 2
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    prog = f"deepgrad {args.command}"
    debug = os.environ.get("DEEPGRAD_TRACEBACK", "") not in ("", "0")
    try:
        if args.threads is not None:
            from . import parallel

            parallel.set_num_threads(args.threads)
        code = args.fn(args)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at interpreter exit
        return code
    except BrokenPipeError:  # `deepgrad predict ... | head -1`: the reader left; say nothing more
        _silence_stdout()
        return 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if debug:
            raise
        print(f"{prog}: error: {' '.join(_error_text(e).split())}", file=sys.stderr)
        return 1 if _error_text(e).startswith("internal error") else 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass

