import math
from itertools import pairwise

import pytest
import torch

from course_lib.training.schedule import warmup_cosine_lr

MAX_LR, MIN_LR, WARMUP, TOTAL = 1e-3, 1e-4, 10, 50


def lr(step: int) -> float:
    return warmup_cosine_lr(step, max_lr=MAX_LR, min_lr=MIN_LR, warmup_steps=WARMUP, total_steps=TOTAL)


def test_matches_pytorch_linear_then_cosine_schedulers():
    """Oracle: PyTorch's LinearLR (warmup) chained with CosineAnnealingLR (decay) via SequentialLR."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=MAX_LR)
    warmup = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / WARMUP, end_factor=1.0, total_iters=WARMUP - 1)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=TOTAL - WARMUP, eta_min=MIN_LR)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[WARMUP])
    for step in range(TOTAL + 1):
        assert lr(step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9, abs=1e-12), step
        opt.step()
        sched.step()


def test_shape_warmup_peak_midpoint_floor():
    warm = [lr(s) for s in range(WARMUP)]
    assert all(a < b for a, b in pairwise(warm))  # strictly rising
    assert warm[0] > 0 and lr(WARMUP) == pytest.approx(MAX_LR)
    mid = WARMUP + (TOTAL - WARMUP) // 2
    assert lr(mid) == pytest.approx((MAX_LR + MIN_LR) / 2)
    decay = [lr(s) for s in range(WARMUP, TOTAL + 1)]
    assert all(a >= b for a, b in pairwise(decay))  # never rising after warmup
    assert lr(TOTAL) == MIN_LR and lr(10 * TOTAL) == MIN_LR
    assert lr(WARMUP + 7) == pytest.approx(
        MIN_LR + (MAX_LR - MIN_LR) * 0.5 * (1 + math.cos(math.pi * 7 / (TOTAL - WARMUP)))
    )


def test_no_warmup_starts_at_max():
    assert warmup_cosine_lr(0, max_lr=1.0, min_lr=0.0, warmup_steps=0, total_steps=4) == 1.0


@pytest.mark.parametrize("kwargs", [dict(min_lr=2e-3), dict(warmup_steps=-1), dict(total_steps=0)])
def test_bad_arguments_are_rejected(kwargs):
    args = dict(max_lr=MAX_LR, min_lr=MIN_LR, warmup_steps=WARMUP, total_steps=TOTAL) | kwargs
    with pytest.raises(ValueError):
        warmup_cosine_lr(0, **args)
