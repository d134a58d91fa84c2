"""deepgrad.distributed on MPI: collectives, DistributedDataParallel against one process, failures, the sampler.

The jobs run under OpenMPI's ``mpirun`` (installed by .ci/run) as separate processes on this machine. The NCCL
backend runs on the strict test device with dist_scripts/nccl_standin.py (NCCL's API over MPI) in place of
``cupy.cuda.nccl``: CI has no GPU, so these tests check deepgrad's side of the NCCL calls, not NCCL itself.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.distributed import DistributedSampler

pytest.importorskip("mpi4py", reason="the mpi extra is installed in CI")
SCRIPT = os.path.join(os.path.dirname(__file__), "dist_scripts", "ddp_job.py")
SRC = os.path.join(os.path.dirname(__file__), "..", "src")


def _env():
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none", OPENBLAS_NUM_THREADS="1")
    return env


def _job(mode, tmp_path, ranks=2, timeout=120, backend=None):
    out = tmp_path / f"{mode}-{ranks}-{backend}.json"
    cmd = [sys.executable, SCRIPT, mode, str(out)] + ([backend] if backend else [])
    if ranks > 1:
        mpirun = shutil.which("mpirun")
        assert mpirun, "OpenMPI's mpirun is needed (apt-get install openmpi-bin)"
        cmd = [mpirun, "--oversubscribe", "-n", str(ranks), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())
    return proc, (json.loads(out.read_text()) if out.exists() else None)


def test_collectives_in_place_on_two_ranks(tmp_path):
    proc, r = _job("collectives", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert r["size"] == 2
    assert r["sum"] == [3.0, 6.0] and r["max"] == [1.0] and r["avg"] == [3.0]
    assert r["broadcast"] == [11.0, 21.0]
    assert r["gather"] == [[0.0, 0.0], [1.0, 2.0]]


@pytest.mark.parametrize("mode", ["train", "accumulate"])
def test_two_ranks_end_with_the_weights_of_one_process(tmp_path, mode):
    # The global batch of 16 is split 8 + 8 over two ranks; DDP averages the gradients, so both ranks follow one
    # process's trajectory on the whole batch. Tolerance: float32 sums taken in another order, over 8 SGD steps.
    p1, one = _job(mode, tmp_path, ranks=1)
    p2, two = _job(mode, tmp_path, ranks=2)
    assert p1.returncode == 0, p1.stderr
    assert p2.returncode == 0, p2.stderr
    assert one["size"] == 1 and two["size"] == 2
    for k in one["weights"]:
        np.testing.assert_allclose(two["weights"][k], one["weights"][k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert two["buckets"] > 1
    if mode == "train":
        assert two["overlapped"] == two["buckets"]  # every bucket started during backward, none at its end


def test_a_failing_rank_ends_the_whole_job_with_its_error(tmp_path):
    proc, _ = _job("raise", tmp_path, timeout=60)  # without the abort, rank 0 would wait in barrier() forever
    assert proc.returncode != 0
    assert "ValueError: boom on rank 1" in proc.stderr + proc.stdout


def test_unused_parameters_are_an_error_unless_allowed(tmp_path):
    proc, r = _job("unused", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "received no gradient" in r["error"] and "find_unused_parameters=True" in r["error"]
    assert r["b_grad"] == [[0.0] * 3] * 2 and r["a_grad"] == [[2.0] * 3] * 2


def test_single_process_defaults():
    import deepgrad.distributed as dist

    assert dist.is_available()
    assert dist.get_rank() == 0 and dist.get_world_size() == 1 and dist.is_main_process()
    with pytest.raises(RuntimeError, match="not initialised"):
        dist.all_reduce(dg.ones(2))
    with pytest.raises(RuntimeError, match="not initialised"):
        dist.DistributedDataParallel(dg.nn.Linear(2, 2))


def test_distributed_sampler_partitions_each_epoch():
    data = list(range(10))
    shares = [DistributedSampler(data, num_replicas=3, rank=r, seed=7) for r in range(3)]
    for s in shares:
        s.set_epoch(0)
    e0 = [list(s) for s in shares]
    assert all(len(x) == 4 == len(s) for x, s in zip(e0, shares))  # ceil(10 / 3), padded as in PyTorch
    assert set(sum(e0, [])) == set(data) and len(sum(e0, [])) == 12
    again = [list(s) for s in shares]
    assert again == e0  # without set_epoch the order repeats, as in PyTorch
    for s in shares:
        s.set_epoch(1)
    assert [list(s) for s in shares] != e0
    plain = [list(DistributedSampler(data, num_replicas=3, rank=r, shuffle=False, drop_last=True)) for r in range(3)]
    assert plain == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    with pytest.raises(ValueError, match="invalid rank 3"):
        DistributedSampler(data, num_replicas=3, rank=3)
    from deepgrad.data import DataLoader

    loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, num_replicas=2, rank=1, shuffle=False))
    assert [b.tolist() for b in loader] == [[1, 3], [5, 7], [9]]


def test_post_accumulate_grad_hooks_fire_once_as_soon_as_a_leaf_is_complete():
    # the engine feature DDP stands on: w2 (near the loss) is finished during the walk, before w1 is reached
    w1 = dg.randn(4, 4, requires_grad=True)
    w2 = dg.randn(4, 4, requires_grad=True)
    events = []
    w1.register_post_accumulate_grad_hook(lambda t: events.append(("w1", t.grad.numpy().copy())))
    h = w2.register_post_accumulate_grad_hook(lambda t: events.append(("w2", t.grad.numpy().copy())))
    x = dg.randn(3, 4)
    loss = ((x @ w1).tanh() @ w2 + (x @ w1) @ w2).sum()  # w1 and w2 each reached along two paths
    loss.backward()
    assert [e[0] for e in events] == ["w2", "w1"]
    np.testing.assert_allclose(events[0][1], w2.grad.numpy())
    np.testing.assert_allclose(events[1][1], w1.grad.numpy())
    h.remove()
    events.clear()
    (x @ w2).sum().backward()
    assert events == []
    with pytest.raises(RuntimeError, match="only a leaf"):
        (w1 * 2).register_post_accumulate_grad_hook(print)


def test_mpirun_deepgrad_train_writes_once_from_rank_0(tmp_path):
    cmd = [shutil.which("mpirun"), "--oversubscribe", "-n", "2", sys.executable, "-m", "deepgrad", "train", "--model",
           "logistic", "--epochs", "1", "--batch-size", "64", "--out", str(tmp_path / "run"), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("test accuracy") == 1  # rank 0 alone reports
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["world_size"] == 2 and results["test_accuracy"] > 0.5
    from deepgrad.cli import load_checkpoint_model

    model, _ = load_checkpoint_model(str(tmp_path / "run" / "best.safetensors"))  # plain names, any process
    assert isinstance(model, dg.nn.Module)


# ------------------------------------------------------------------------------------ NCCL (through the stand-in)
def test_nccl_collectives_on_device_buffers(tmp_path):
    proc, r = _job("collectives", tmp_path, backend="nccl")
    assert proc.returncode == 0, proc.stderr
    assert r["backend"] == "nccl" and r["size"] == 2
    assert r["sum"] == [3.0, 6.0] and r["max"] == [1.0] and r["avg"] == [3.0]
    assert r["before_wait"] == [2.0]  # async: the result arrives with wait(), not before
    assert r["broadcast"] == [11.0, 21.0]
    assert r["gather"] == [[0.0, 0.0], [1.0, 2.0]]
    assert r["reduce"] == [[3.0, 9.0], [6.0, 12.0]]  # rank 0 (dst) holds the sum, through a contiguous copy
    # CuPy 14's codes (cupy_backends/cuda/libs/nccl.pxd); bool travels as uint8 and its SUM is MAX (logical or)
    codes = {"int8": 0, "uint8": 1, "int32": 2, "int64": 4, "float16": 6, "float32": 7, "float64": 8, "bool": 1}
    for name, code in codes.items():
        d = r["dtypes"][name]
        assert d["datatype"] == code and d["op"] == (2 if name == "bool" else 0), name
        assert d["sum"] == ([True, False, True] if name == "bool" else [3, 0, 2]), name


@pytest.mark.parametrize("backend", ["nccl", "auto"])
def test_nccl_ddp_on_two_ranks_ends_with_the_weights_of_one_process_without_host_copies(tmp_path, backend):
    # the 1-process reference runs on the CPU; the 2 ranks train on the strict device with every device -> host
    # copy refused, their buckets reduced by NCCL calls in device memory
    p1, one = _job("train", tmp_path, ranks=1)
    p2, two = _job("train", tmp_path, backend=backend)
    assert p1.returncode == 0, p1.stderr
    assert p2.returncode == 0, p2.stderr
    assert "error" not in two, two.get("error")
    assert two["backend"] == ("nccl" if backend == "nccl" else "cpu:mpi,cuda:nccl")
    assert two["devices"] == ["cuda:0"] and two["buckets"] > 1 and two["overlapped"] == two["buckets"]
    for k in one["weights"]:
        np.testing.assert_allclose(two["weights"][k], one["weights"][k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_nccl_ddp_accumulation_with_no_sync(tmp_path):
    p1, one = _job("accumulate", tmp_path, ranks=1)
    p2, two = _job("accumulate", tmp_path, backend="nccl")
    assert p1.returncode == 0 and p2.returncode == 0, p1.stderr + p2.stderr
    for k in one["weights"]:
        np.testing.assert_allclose(two["weights"][k], one["weights"][k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_the_host_copy_guard_catches_staging_through_the_host(tmp_path):
    # the same training with backend 'mpi' stages the device gradients through the host: the guard must see it
    proc, r = _job("train", tmp_path, ranks=1, backend="mpi")
    assert proc.returncode == 0, proc.stderr
    assert r["error"] == "a device array was copied to the host"


def test_nccl_misuse_is_refused_in_words(tmp_path):
    proc, r = _job("errors", tmp_path, ranks=1, backend="nccl")
    assert proc.returncode == 0, proc.stderr
    assert r["cpu_tensor"].startswith("ValueError: all_reduce: backend 'nccl' carries CUDA tensors only, got a "
                                      "tensor on cpu; move it to cuda:0")
    assert r["cpu_model"].startswith("ValueError: DistributedDataParallel: backend 'nccl' carries CUDA tensors")
    assert r["int16"].startswith("TypeError: all_reduce: backend 'nccl' cannot carry int16 tensors")
    assert r["bool_avg"] == "TypeError: all_reduce: ReduceOp.AVG is not defined for bool tensors"


def test_backend_nccl_without_nccl_says_what_is_missing():
    import deepgrad.distributed as dist
    from deepgrad import backend
    from deepgrad.testing import strict_device

    if backend.cupy is None:  # CI: no CuPy
        with pytest.raises(RuntimeError, match="backend 'nccl' needs CuPy with its NCCL library and a GPU, but "
                                               "CuPy is not installed or sees no GPU; install them with"):
            dist.init_process_group(backend="nccl")
    with strict_device(), pytest.raises(RuntimeError, match="the strict test device"):
        dist.init_process_group(backend="nccl")
    with pytest.raises(ValueError, match="unknown backend 'ucc'"):
        dist.init_process_group(backend="ucc")
    assert not dist.is_initialized()


def test_node_local_rank_comes_from_the_launcher_else_the_fallback(monkeypatch):
    import deepgrad.distributed as dist

    for name in ("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"):
        monkeypatch.delenv(name, raising=False)
    assert not dist.is_initialized()
    assert dist.get_node_local_rank(fallback_rank=3) == 3
    with pytest.raises(RuntimeError, match="get_node_local_rank: no launcher variable"):
        dist.get_node_local_rank()
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")
    assert dist.get_node_local_rank(fallback_rank=3) == 1
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert dist.get_node_local_rank() == 2


def test_train_under_mpirun_puts_each_rank_on_its_own_gpu(monkeypatch):
    from deepgrad import cli

    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "3")
    monkeypatch.setattr("deepgrad.cuda.device_count", lambda: 2)
    assert cli._rank_device("cuda", 4) == "cuda:1"
    assert cli._rank_device("cuda:0", 4) == "cuda:0"  # an explicit index is kept
    assert cli._rank_device("cuda", 1) == "cuda"
    assert cli._rank_device("cpu", 4) == "cpu"
