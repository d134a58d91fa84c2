"""LR schedulers: the sequence of rates against the formulas, composition, resuming and state dicts."""
import math

import pytest

import deepgrad as dg
from deepgrad.optim import SGD, Adam
from deepgrad.optim import lr_scheduler as S
from deepgrad.optim.swa_utils import SWALR


def make_opt(lr=0.1, **kw):
    return SGD([{"params": [dg.zeros(1, requires_grad=True)]},
                {"params": [dg.zeros(1, requires_grad=True)], "lr": 2 * lr}], lr=lr, **kw)


def run(opt, sched, n, metrics=None):
    """Rates after construction and after each of n epochs (first group)."""
    lrs = [sched.get_last_lr()[0]]
    for i in range(n):
        opt.step()
        sched.step(metrics[i]) if metrics is not None else sched.step()
        lrs.append(sched.get_last_lr()[0])
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return lrs


def approx(xs):
    return pytest.approx(xs, rel=1e-12, abs=1e-15)


def test_lambda_and_multiplicative():
    opt = make_opt()
    assert run(opt, S.LambdaLR(opt, lambda e: 1 / (e + 1)), 4) == approx([0.1 / (e + 1) for e in range(5)])
    opt = make_opt()
    s = S.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: 1.0])
    run(opt, s, 3)
    assert s.get_last_lr() == approx([0.1 * 0.125, 0.2])
    opt = make_opt()
    assert run(opt, S.MultiplicativeLR(opt, lambda e: 0.9), 3) == approx([0.1 * 0.9 ** e for e in range(4)])


def test_step_multistep_exponential():
    opt = make_opt()
    assert run(opt, S.StepLR(opt, step_size=3, gamma=0.5), 7) == approx([0.1 * 0.5 ** (e // 3) for e in range(8)])
    opt = make_opt()
    got = run(opt, S.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.1), 6)
    assert got == approx([0.1, 0.1, 0.01, 0.01, 0.01, 1e-4, 1e-4])  # a repeated milestone counts twice
    opt = make_opt()
    assert run(opt, S.ExponentialLR(opt, gamma=0.9), 5) == approx([0.1 * 0.9 ** e for e in range(6)])


def test_linear_warmup():
    opt = make_opt()
    got = run(opt, S.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=4), 6)
    assert got == approx([0.1 * (0.25 + 0.75 * min(e, 4) / 4) for e in range(7)])


def test_cosine_annealing_follows_the_cosine_both_ways():
    opt = make_opt()
    T, lo = 5, 0.01
    got = run(opt, S.CosineAnnealingLR(opt, T_max=T, eta_min=lo), 12)
    want = [lo + (0.1 - lo) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(13)]
    assert got == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_two_phase(strategy):
    opt = make_opt(momentum=0.9)
    total, max_lr = 20, 1.0
    got = run(opt, S.OneCycleLR(opt, max_lr=max_lr, total_steps=total, anneal_strategy=strategy), total - 1)
    lo, hi, end = max_lr / 25, max_lr, max_lr / 25 / 1e4
    ann = (lambda a, b, p: b + (a - b) / 2 * (1 + math.cos(math.pi * p))) if strategy == "cos" else \
        (lambda a, b, p: a + (b - a) * p)
    up = 0.3 * total - 1  # the rise ends at step 5
    want = [ann(lo, hi, t / up) if t <= up else ann(hi, end, (t - up) / (total - 1 - up)) for t in range(total)]
    assert got == pytest.approx(want, rel=1e-12)
    assert got[0] == pytest.approx(lo) and max(got) == pytest.approx(hi) and got[-1] == pytest.approx(end)


def test_one_cycle_three_phase_and_momentum_cycling():
    opt = Adam([dg.zeros(1, requires_grad=True)], lr=0.1)
    s = S.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=5, three_phase=True, anneal_strategy="linear")
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)
    lrs = run(opt, s, 9)
    lo = 0.5 / 25
    # phases end at steps 2 (rise), 4 (back to the start), 9 (anneal to lo / 1e4)
    assert lrs[:5] == pytest.approx([lo, lo + (0.5 - lo) / 2, 0.5, 0.5 - (0.5 - lo) / 2, lo])
    assert lrs[9] == pytest.approx(lo / 1e4)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)
    s.step()  # step 10 = total_steps is still allowed (as in PyTorch), step 11 is not
    with pytest.raises(ValueError, match="total_steps=10"):
        s.step()


def test_one_cycle_needs_momentum_to_cycle():
    from deepgrad.optim import Rprop

    with pytest.raises(ValueError, match="cycle_momentum"):
        S.OneCycleLR(Rprop([dg.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=10)


def test_reduce_on_plateau():
    opt = make_opt()
    s = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, cooldown=1, min_lr=0.02)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8]
    got = run(opt, s, len(metrics), metrics)
    # epochs 3, 4 bad -> halve at epoch 4; cooldown at 5; 6, 7 bad -> halve at 7 (clipped at min_lr 0.02)
    assert got == approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])
    opt = make_opt()
    s = S.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1, threshold_mode="abs")
    assert run(opt, s, 3, [1.0, 1.05, 1.2]) == approx([0.1, 0.1, 0.01, 0.01])  # 1.05 is within the threshold
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.0)


def test_chained_scheduler_multiplies_effects():
    opt = make_opt()
    s = S.ChainedScheduler([S.LinearLR(opt, start_factor=0.5, total_iters=2), S.ExponentialLR(opt, gamma=0.9)])
    got = run(opt, s, 4)
    assert got == approx([0.1 * (0.5 + 0.5 * min(e, 2) / 2) * 0.9 ** e for e in range(5)])


def test_sequential_lr_warmup_then_cosine():
    opt = make_opt()
    warm = S.LinearLR(opt, start_factor=0.1, total_iters=3)
    cos = S.CosineAnnealingLR(opt, T_max=4)
    s = S.SequentialLR(opt, [warm, cos], milestones=[3])
    got = run(opt, s, 7)
    want = [0.1 * (0.1 + 0.9 * e / 3) for e in range(3)] + \
        [0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_swalr_anneals_to_swa_lr():
    opt = make_opt(lr=1.0)
    got = run(opt, SWALR(opt, swa_lr=0.1, anneal_epochs=4, anneal_strategy="linear"), 6)
    assert got == approx([1.0 - 0.9 * min(e, 4) / 4 for e in range(7)])


def test_state_dict_resume_and_serialisation(tmp_path):
    def build():
        opt = make_opt()
        return opt, S.SequentialLR(opt, [S.LinearLR(opt, 0.2, total_iters=2),
                                         S.MultiStepLR(opt, [2, 4], 0.5)], milestones=[3])

    opt, s = build()
    run(opt, s, 3)
    dg.save({"opt": opt.state_dict(), "sched": s.state_dict()}, tmp_path / "s.safetensors")
    rest = run(opt, s, 5)[1:]
    opt2, s2 = build()
    ck = dg.load(tmp_path / "s.safetensors")
    opt2.load_state_dict(ck["opt"])
    s2.load_state_dict(ck["sched"])
    assert run(opt2, s2, 5)[1:] == rest


def test_lambda_state_dict_skips_functions_keeps_callable_objects():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate ** e

    opt = make_opt()
    d = Decay()
    s = S.LambdaLR(opt, [d, lambda e: 1.0])
    d.rate = 0.25
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.25}, None]
    d2 = Decay()
    S.LambdaLR(make_opt(), [d2, lambda e: 1.0]).load_state_dict(sd)
    assert d2.rate == 0.25


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make_opt(), step_size=2, last_epoch=5)
    opt = make_opt()
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    s = S.StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)
    assert s.last_epoch == 4 and s.get_last_lr()[0] == pytest.approx(0.05)  # recursive: epoch 4 halves the rate
    s.step(6)
    assert s.get_last_lr()[0] == pytest.approx(0.1 * 0.5 ** 3)  # closed form when jumping


# ------------------------------------------------------------------------------------------ faults (issue 11)
@pytest.mark.parametrize("make, error, words", [
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be an integer >= 1"),
    (lambda o: S.CosineAnnealingLR(o, T_max="10"), TypeError, "T_max must be an integer"),
    (lambda o: S.CosineAnnealingLR(o, T_max=2.5), ValueError, "T_max must be an integer"),
    (lambda o: S.StepLR(o, step_size="3"), TypeError, "step_size must be an integer"),
    (lambda o: S.StepLR(o, 3, gamma="0.1"), TypeError, "gamma must be a finite number"),
    (lambda o: S.MultiStepLR(o, [2, -1]), ValueError, "each milestone must be an integer >= 0"),
    (lambda o: S.ExponentialLR(o, gamma=float("nan")), ValueError, "gamma must be a finite"),
    (lambda o: S.LinearLR(o, total_iters=0), ValueError, "total_iters must be an integer >= 1"),
    (lambda o: S.OneCycleLR(o, max_lr="1", total_steps=5), TypeError, "max_lr must be"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=0), ValueError,
     "steps_per_epoch must be an integer >= 1"),
])
def test_scheduler_arguments_are_checked_with_a_sentence(make, error, words):
    """Issue 11, item 8: CosineAnnealingLR(T_max=0) used to fail with ZeroDivisionError."""
    opt = SGD([dg.ones(2, requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(error) as e:
        make(opt)
    assert words in str(e.value)


def test_scheduler_load_state_dict_refuses_another_schedulers_state():
    opt = SGD([dg.ones(2, requires_grad=True)], lr=0.1)
    step = S.StepLR(opt, 2).state_dict()
    cos = S.CosineAnnealingLR(SGD([dg.ones(2, requires_grad=True)], lr=0.1), T_max=4)
    with pytest.raises(ValueError, match="not from a CosineAnnealingLR: it has gamma, step_size"):
        cos.load_state_dict(step)
    with pytest.raises(TypeError, match="expected a dict"):
        cos.load_state_dict("garbage")
    with pytest.raises(TypeError, match="last_epoch must be an integer"):
        cos.load_state_dict({**cos.state_dict(), "last_epoch": "3"})
    assert cos.T_max == 4 and cos.last_epoch == 0
