"""``SummaryWriter``: scalars, histograms, images, figures, text, the model's graph and hyper-parameter trials as
TensorBoard events, on the ``tensorboard`` package.

TensorBoard reads protocol-buffer ``Event`` records from ``events.out.tfevents.*`` files in a log directory; the
package's ``EventFileWriter`` writes them (queued, flushed every ``flush_secs``). This module turns deepgrad
tensors into the summaries those events carry.
"""
from __future__ import annotations

import io
import os
import socket
import time
from datetime import datetime

import numpy as np

try:
    from tensorboard.compat.proto.event_pb2 import Event, SessionLog
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
except ImportError as e:  # the optional extra
    raise ImportError('deepgrad.utils.tensorboard needs the tensorboard package: pip install "deepgrad[tensorboard]"') \
        from e

from ...backend import to_numpy
from ...tensor import Tensor

__all__ = ["SummaryWriter"]


def _array(value, what: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return np.asarray(to_numpy(value.detach()._data))
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - restated below with the method's name
        raise TypeError(f"SummaryWriter.{what}: expected a Tensor, NumPy array or number, got "
                        f"{type(value).__name__}") from e


def _scalar(value, what: str) -> float:
    a = _array(value, what)
    if a.size != 1:
        raise ValueError(f"SummaryWriter.{what}: expected a single number, got an array of shape {a.shape}")
    return float(a.reshape(()))


def _tensorflow_bins() -> np.ndarray:
    """TensorFlow's default histogram edges: ±1e-12 · 1.1^k up to 1e20, and 0 (fine near 0, coarse far out)."""
    pos = 1e-12 * 1.1 ** np.arange(int(np.ceil(np.log(1e32) / np.log(1.1))))
    return np.concatenate([-pos[::-1], [0.0], pos])


def _histogram(values: np.ndarray, bins, max_bins: int | None) -> HistogramProto:
    values = values.astype(np.float64).ravel()
    if values.size == 0:
        raise ValueError("SummaryWriter.add_histogram: the values are empty")
    if not np.isfinite(values).all():
        raise ValueError("SummaryWriter.add_histogram: the values contain nan or inf")
    edges = _tensorflow_bins() if isinstance(bins, str) and bins == "tensorflow" else bins
    counts, limits = np.histogram(values, bins=edges)
    if max_bins is not None and len(counts) > max_bins:
        step = -(-len(counts) // max_bins)
        counts = np.add.reduceat(counts, np.arange(0, len(counts), step))
        limits = np.concatenate([limits[::step], limits[-1:]])
    nonzero = np.flatnonzero(counts)
    lo, hi = max(nonzero[0] - 1, 0), min(nonzero[-1] + 2, len(counts))  # keep one empty bucket on each side
    counts, limits = counts[lo:hi], limits[lo:hi + 1]
    return HistogramProto(min=float(values.min()), max=float(values.max()), num=int(values.size),
                          sum=float(values.sum()), sum_squares=float((values * values).sum()),
                          bucket_limit=limits[1:].tolist(), bucket=counts.astype(np.float64).tolist())


def _to_hwc(img: np.ndarray, dataformats: str) -> np.ndarray:
    fmt = dataformats.upper()
    if sorted(fmt) not in (sorted("CHW"), sorted("HW"), sorted("HWC")) or img.ndim != len(fmt):
        raise ValueError(f"SummaryWriter.add_image: dataformats {dataformats!r} does not describe an image of shape "
                         f"{img.shape} (use 'CHW', 'HWC' or 'HW')")
    if fmt == "HW":
        img, fmt = img[None], "CHW"
    img = np.transpose(img, [fmt.index(c) for c in "HWC"])
    if img.shape[2] not in (1, 3, 4):
        raise ValueError(f"SummaryWriter.add_image: an image needs 1, 3 or 4 channels, got {img.shape[2]}")
    return img


def _image(img: np.ndarray, dataformats: str) -> Summary.Image:
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError('SummaryWriter.add_image needs Pillow to encode PNG: pip install "deepgrad[vision]"') from e
    hwc = _to_hwc(img, dataformats)
    if hwc.dtype.kind == "f":  # floats are intensities in [0, 1], as in PyTorch
        hwc = (np.clip(hwc, 0, 1) * 255 + 0.5).astype(np.uint8)
    elif hwc.dtype != np.uint8:
        raise TypeError(f"SummaryWriter.add_image: expected float values in [0, 1] or uint8, got {hwc.dtype}")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[hwc.shape[2]]
    buf = io.BytesIO()
    Image.fromarray(hwc[..., 0] if mode == "L" else hwc, mode).save(buf, format="PNG")
    h, w, c = hwc.shape
    return Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=buf.getvalue())


def _hparams(hparams: dict, metrics: dict, domains: dict) -> list[Summary]:
    """The hparams plugin's three records for one trial: experiment (the columns), session start (this trial's
    values) and session end."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams.api_pb2 import DataType, Experiment, HParamInfo, MetricInfo, MetricName, Status
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo

    start, infos = SessionStartInfo(), []
    for k, v in hparams.items():
        if v is None:
            continue
        if isinstance(v, Tensor | np.ndarray):
            v = _scalar(v, "add_hparams")
        # bool is tested after the numbers, as PyTorch does: True is stored as the number 1
        if isinstance(v, int | float):
            kind, field, dtype = "number_value", float(v), "DATA_TYPE_FLOAT64"
        elif isinstance(v, str):
            kind, field, dtype = "string_value", v, "DATA_TYPE_STRING"
        else:
            raise ValueError(f"SummaryWriter.add_hparams: hyper-parameter {k!r} must be an int, float, str, bool or "
                             f"one-element Tensor, got {type(v).__name__}")
        setattr(start.hparams[k], kind, field)
        domain = None
        if k in domains:
            domain = struct_pb2.ListValue(values=[struct_pb2.Value(**{kind: float(d) if kind == "number_value"
                                                                        else d}) for d in domains[k]])
        infos.append(HParamInfo(name=k, type=DataType.Value(dtype), domain_discrete=domain))
    experiment = Experiment(hparam_infos=infos, metric_infos=[MetricInfo(name=MetricName(tag=k)) for k in metrics])
    records = [("_hparams_/experiment", HParamsPluginData(experiment=experiment, version=0)),
               ("_hparams_/session_start_info", HParamsPluginData(session_start_info=start, version=0)),
               ("_hparams_/session_end_info", HParamsPluginData(
                   session_end_info=SessionEndInfo(status=Status.Value("STATUS_SUCCESS")), version=0))]
    return [Summary(value=[Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name="hparams", content=data.SerializeToString())))]) for tag, data in records]


class SummaryWriter:
    """Writes TensorBoard events to ``log_dir`` (default ``runs/<Mon><DD>_<HH-MM-SS>_<host><comment>``).

    Args:
        log_dir: directory of the event files (created). comment: suffix of the default log_dir.
        purge_step: when resuming a crashed run, the step it restarts from: a START session record at that step
            tells TensorBoard to discard the old run's events from ``purge_step`` on.
        max_queue: events buffered before a write (default 10). flush_secs: seconds between flushes (default 120).
        filename_suffix: appended to the event file's name.

    Example:
        >>> import tempfile, deepgrad as dg
        >>> from deepgrad.utils.tensorboard import SummaryWriter
        >>> with SummaryWriter(tempfile.mkdtemp()) as w:
        ...     for step in range(3):
        ...         w.add_scalar("loss", 1.0 / (step + 1), step)
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self._max_queue, self._flush_secs, self._suffix = max_queue, flush_secs, filename_suffix
        self._writer = EventFileWriter(self.log_dir, max_queue, flush_secs, filename_suffix)
        if purge_step is not None:
            self._writer.add_event(Event(step=int(purge_step), wall_time=time.time(),
                                         session_log=SessionLog(status=SessionLog.START)))
        self._sub_writers: dict[str, EventFileWriter] = {}
        self._closed = False

    def get_logdir(self) -> str:
        return self.log_dir

    def _emit(self, summary: Summary, global_step, walltime, writer: EventFileWriter | None = None) -> None:
        if self._closed:
            raise RuntimeError(f"SummaryWriter({self.log_dir!r}) is closed; make a new one to write more")
        event = Event(summary=summary, wall_time=time.time() if walltime is None else float(walltime))
        if global_step is not None:
            event.step = int(_scalar(global_step, "global_step"))
        (writer or self._writer).add_event(event)

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """One number (a Python float, a one-element Tensor or array) at ``global_step``."""
        value = _scalar(scalar_value, "add_scalar")
        self._emit(Summary(value=[Summary.Value(tag=tag, simple_value=value)]), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several curves on one chart: each ``tag`` goes to its own run ``<log_dir>/<main_tag>_<tag>`` under the
        tag ``main_tag``, as PyTorch lays them out."""
        for tag, v in tag_scalar_dict.items():
            run = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            if run not in self._sub_writers:
                self._sub_writers[run] = EventFileWriter(run, self._max_queue, self._flush_secs, self._suffix)
            summary = Summary(value=[Summary.Value(tag=main_tag, simple_value=_scalar(v, "add_scalars"))])
            self._emit(summary, global_step, walltime, self._sub_writers[run])

    def add_histogram(self, tag: str, values, global_step: int | None = None, bins="tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """A histogram of ``values`` (any shape); ``bins`` is 'tensorflow' (TensorFlow's exponential edges) or
        anything ``numpy.histogram`` takes ('auto', an int, edges)."""
        histo = _histogram(_array(values, "add_histogram"), bins, max_bins)
        self._emit(Summary(value=[Summary.Value(tag=tag, histo=histo)]), global_step, walltime)

    def add_image(self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """One image, floats in [0, 1] or uint8, laid out as ``dataformats`` ('CHW', 'HWC' or 'HW'), stored PNG."""
        image = _image(_array(img_tensor, "add_image"), dataformats)
        self._emit(Summary(value=[Summary.Value(tag=tag, image=image)]), global_step, walltime)

    def add_images(self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None,
                   dataformats: str = "NCHW") -> None:
        """A batch of images (``dataformats`` 'NCHW', 'NHWC', 'NHW'), tiled as PyTorch tiles them: up to 8 per row,
        no padding, one PNG."""
        batch = _array(img_tensor, "add_images")
        fmt = dataformats.upper()
        if fmt not in ("NCHW", "NHWC", "NHW") or batch.ndim != len(fmt):
            raise ValueError(f"SummaryWriter.add_images: dataformats {dataformats!r} does not describe a batch of "
                             f"shape {batch.shape} (use 'NCHW', 'NHWC' or 'NHW')")
        if fmt == "NHW":
            batch = batch[:, None]
        elif fmt == "NHWC":
            batch = batch.transpose(0, 3, 1, 2)
        n, c, h, w = batch.shape
        if n == 0:
            raise ValueError("SummaryWriter.add_images: the batch is empty")
        if c == 1:
            batch = np.repeat(batch, 3, axis=1)  # grey images tiled as RGB, as PyTorch does
        cols = min(n, 8)
        rows = -(-n // cols)
        grid = np.zeros((batch.shape[1], rows * h, cols * w), dtype=batch.dtype)
        for k in range(n):
            r, q = divmod(k, cols)
            grid[:, r * h:(r + 1) * h, q * w:(q + 1) * w] = batch[k]
        image = _image(grid, "CHW")
        self._emit(Summary(value=[Summary.Value(tag=tag, image=image)]), global_step, walltime)

    def add_figure(self, tag: str, figure, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """A matplotlib figure (or a list of them, tiled as :meth:`add_images`) rendered to an RGBA image;
        ``close`` closes the figure afterwards."""
        figures = list(figure) if isinstance(figure, (list, tuple)) else [figure]
        images = []
        for fig in figures:
            fig.canvas.draw()
            images.append(np.asarray(fig.canvas.buffer_rgba()).copy())
            if close:
                import matplotlib.pyplot as plt

                plt.close(fig)
        if isinstance(figure, (list, tuple)):
            self.add_images(tag, np.stack(images), global_step, walltime, dataformats="NHWC")
        else:
            self.add_image(tag, images[0], global_step, walltime, dataformats="HWC")

    def add_graph(self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True) -> None:
        """The model's graph in TensorBoard's Graphs tab: ``model(*input_to_model)`` runs once with autograd
        recording, and every recorded op becomes a node in the scope of the module that ran it, with its output
        shape; parameters and inputs are leaf nodes (see :mod:`deepgrad.utils.tensorboard.graph`). ``verbose``
        prints the nodes; ``use_strict_trace`` is accepted for PyTorch's signature (there is no JIT tracer to be
        strict)."""
        from .graph import trace_graph

        if input_to_model is None:
            raise ValueError("SummaryWriter.add_graph: deepgrad builds the graph by running the model, so "
                             "input_to_model (a Tensor or a tuple of Tensors) is required")
        inputs = input_to_model if isinstance(input_to_model, (list, tuple)) else (input_to_model,)
        graph = trace_graph(model, tuple(inputs))
        if verbose:
            for node in graph.node:
                print(node.name, node.op, list(node.input))
        if self._closed:
            raise RuntimeError(f"SummaryWriter({self.log_dir!r}) is closed; make a new one to write more")
        self._writer.add_event(Event(graph_def=graph.SerializeToString(), wall_time=time.time()))

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """One trial for TensorBoard's HParams tab: its hyper-parameters (numbers, strings, bools, one-element
        Tensors) and final metrics, written as PyTorch writes them, to the run ``<log_dir>/<run_name>`` (default
        the current time): the hparams plugin's experiment, session-start and session-end records, then each metric
        as a scalar."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("SummaryWriter.add_hparams: hparam_dict and metric_dict must be dicts, got "
                            f"{type(hparam_dict).__name__} and {type(metric_dict).__name__}")
        summaries = _hparams(hparam_dict, metric_dict, hparam_domain_discrete or {})
        run = os.path.join(self.log_dir, run_name or str(time.time()))
        with SummaryWriter(run, max_queue=self._max_queue, flush_secs=self._flush_secs,
                           filename_suffix=self._suffix) as w:
            for summary in summaries:
                w._emit(summary, global_step, None)
            for k, v in metric_dict.items():
                w.add_scalar(k, v, global_step)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """A Markdown string, shown in TensorBoard's Text tab (under ``<tag>/text_summary``, as PyTorch writes it)."""
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
        proto = TensorProto(dtype="DT_STRING", string_val=[str(text_string).encode("utf-8")],
                            tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        value = Summary.Value(tag=f"{tag}/text_summary", metadata=meta, tensor=proto)
        self._emit(Summary(value=[value]), global_step, walltime)

    def flush(self) -> None:
        """Write every queued event to disk."""
        for w in (self._writer, *self._sub_writers.values()):
            w.flush()

    def close(self) -> None:
        """Flush and close the event files (further writes raise)."""
        if not self._closed:
            for w in (self._writer, *self._sub_writers.values()):
                w.close()
            self._closed = True

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
