"""SummaryWriter.add_graph, add_hparams, add_images and add_figure: events read back with TensorBoard's own
EventAccumulator and protos (skipped without the tensorboard package)."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData  # noqa: E402

from deepgrad.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(path):
    acc = EventAccumulator(str(path), size_guidance={"tensors": 0, "scalars": 0, "images": 0})
    acc.Reload()
    return acc


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.body(x) * 2.0)


def test_add_graph_writes_the_traced_graph(tmp_path):
    dg.manual_seed(0)
    model = Net()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, dg.ones(5, 4))
    graph = _read(tmp_path).Graph()
    nodes = {n.name: n for n in graph.node}
    params = {n for n, node in nodes.items() if node.op == "Parameter"}
    assert params == {"Net/Sequential[body]/Linear[0]/weight", "Net/Sequential[body]/Linear[0]/bias",
                      "Net/Linear[head]/weight", "Net/Linear[head]/bias"}
    assert nodes["input/input.0"].op == "IO Node"
    shape = [d.size for d in nodes["input/input.0"].attr["_output_shapes"].list.shape[0].dim]
    assert shape == [5, 4]
    # each op sits in the scope of the module that ran it, and the edges follow the data
    assert any(n.startswith("Net/Sequential[body]/ReLU[1]/") for n in nodes)
    scaled = [n for n in nodes if n.startswith("Net/") and n.count("/") == 1]  # `* 2.0` ran in Net.forward
    assert scaled, sorted(nodes)
    out = nodes["output/output.0"]
    (last,) = out.input
    assert last.startswith("Net/Linear[head]/")
    assert [d.size for d in out.attr["_output_shapes"].list.shape[0].dim] == [5, 2]

    def upstream(name, acc):
        for src in nodes[name].input:
            if src not in acc:
                acc.add(src)
                upstream(src, acc)
        return acc

    reach = upstream("output/output.0", set())
    assert params <= reach and "input/input.0" in reach
    assert all(src in nodes for n in nodes.values() for src in n.input)  # no dangling edge


def test_add_graph_needs_an_input(tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(ValueError, match="input_to_model .* is required"):
        w.add_graph(Net())


def test_add_hparams_round_trip(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1, "optim": "adam", "bn": True, "depth": dg.tensor(3)},
                      {"hparam/accuracy": 0.9}, hparam_domain_discrete={"optim": ["adam", "sgd"]}, run_name="trial0")
        with pytest.raises(TypeError, match="must be dicts"):
            w.add_hparams([("lr", 0.1)], {})
        with pytest.raises(ValueError, match="hyper-parameter 'bad' must be"):
            w.add_hparams({"bad": [1, 2]}, {})
    acc = _read(tmp_path / "trial0")
    content = acc.PluginTagToContent("hparams")
    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == 0.1 and start.hparams["optim"].string_value == "adam"
    assert start.hparams["bn"].number_value == 1.0 and start.hparams["depth"].number_value == 3.0
    exp = HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [h.name for h in exp.hparam_infos] == ["lr", "optim", "bn", "depth"]
    optim = exp.hparam_infos[1]
    assert [v.string_value for v in optim.domain_discrete.values] == ["adam", "sgd"]
    assert [m.name.tag for m in exp.metric_infos] == ["hparam/accuracy"]
    assert HParamsPluginData.FromString(content["_hparams_/session_end_info"]).session_end_info.status == 1
    assert [e.value for e in acc.Scalars("hparam/accuracy")] == [pytest.approx(0.9)]


def test_add_images_tiles_like_torch(tmp_path):
    from io import BytesIO

    from PIL import Image

    batch = np.random.default_rng(0).random((10, 3, 4, 5)).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", dg.tensor(batch), 3)
        w.add_images("grey", np.zeros((2, 4, 5, 1), np.uint8), 3, dataformats="NHWC")
        with pytest.raises(ValueError, match="dataformats 'CHW' does not describe a batch"):
            w.add_images("bad", batch[0], 3, dataformats="CHW")
    acc = _read(tmp_path)
    img = acc.Images("batch")[0]
    assert img.step == 3 and (img.width, img.height) == (8 * 5, 2 * 4)  # 8 per row, two rows, no padding
    pixels = np.asarray(Image.open(BytesIO(img.encoded_image_string)))
    expected = (np.clip(batch[9], 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(pixels[4:8, 5:10], expected)  # image 9: second row, second column
    assert (pixels[4:8, 10:] == 0).all()  # the rest of the last row is empty
    assert (acc.Images("grey")[0].width, acc.Images("grey")[0].height) == (10, 4)


def test_add_figure(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [1, 0])
    figs = [plt.figure(figsize=(1, 1), dpi=40) for _ in range(2)]
    with SummaryWriter(tmp_path) as w:
        w.add_figure("one", fig, 0)
        w.add_figure("two", figs, 0, close=False)
    acc = _read(tmp_path)
    assert (acc.Images("one")[0].width, acc.Images("one")[0].height) == (100, 50)
    assert (acc.Images("two")[0].width, acc.Images("two")[0].height) == (80, 40)
    assert not plt.fignum_exists(fig.number) and plt.fignum_exists(figs[0].number)
    plt.close("all")
