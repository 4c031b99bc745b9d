"""Hidden tests for A2 part 6: global-norm clipping and the gradient-norm-by-distance measurement.

Oracle: torch.nn.utils.clip_grad_norm_ and course_lib.models.bptt.hidden_gradient_norms, float64.

Clause -> test:
- one global norm over all gradients; every gradient scaled by max_norm / (norm + 1e-6) -> test_clip_grad_norm_global
- never scaled up (norm below max_norm: unchanged) -> test_clip_grad_norm_no_scale_up
- parameters without a gradient are skipped and stay None -> test_clip_grad_norm_skips_none
- returns the norm before clipping -> test_clip_grad_norm_returns_norm
- n_k = ||d(u . h_T)/dh_{T-k}||, indexed by the distance k, shape (T,) -> test_gradient_norms_by_distance
"""

import math

import pytest
import torch
from torch import nn

from autograder.checks import check_close
from course_lib.models.bptt import hidden_gradient_norms
from course_lib.models.recurrent import RNNCell


def random_grads(gen: torch.Generator, scale: float, n: int = 4) -> list[torch.Tensor]:
    shapes = [(3, 5), (5,), (2, 4, 3), (7,)][:n]
    return [torch.randn(s, generator=gen, dtype=torch.float64) * scale for s in shapes]


def clip_both(student, grads: list, max_norm: float):
    params = [nn.Parameter(torch.zeros_like(g) if g is not None else torch.zeros(1)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = None if g is None else g.clone()
    want_norm = nn.utils.clip_grad_norm_(params, max_norm).item()
    result = student.clip_plain_gradients(grads, max_norm)
    norm, got = result
    if type(got) is not list or len(got) != len(grads):
        raise AssertionError("clip_grad_norm changed the number of gradients")
    return norm, got, want_norm, [p.grad for p in params]


def check_grads(got: list, want: list, what: str) -> None:
    for i, (a, b) in enumerate(zip(got, want)):
        if b is None:
            if a is not None:
                raise AssertionError(f"{what}: parameter {i} had no gradient and must keep grad None")
            continue
        check_close(a, b, f"{what}: the gradient of parameter {i}", atol=1e-10, rtol=1e-8)


@pytest.mark.points(2)
def test_clip_grad_norm_global(student, rng):
    """gradients with a joint norm far above max_norm are all scaled by the same factor."""
    grads = random_grads(rng, 1.0)
    grads[0] = grads[0] * 20  # one large gradient: per-parameter clipping would treat it differently
    _, got, _, want = clip_both(student, grads, 0.7)
    check_grads(got, want, "clip_grad_norm(max_norm=0.7)")


@pytest.mark.points(1)
def test_clip_grad_norm_no_scale_up(student, rng):
    """gradients whose joint norm is below max_norm are left unchanged."""
    grads = random_grads(rng, 0.01)
    _, got, _, want = clip_both(student, grads, 5.0)
    check_grads(got, want, "clip_grad_norm with a small gradient")


@pytest.mark.points(1)
def test_clip_grad_norm_skips_none(student, rng):
    """parameters whose grad is None are skipped; the others are clipped by the joint norm of the rest."""
    grads = random_grads(rng, 2.0)
    grads[1] = None
    grads.insert(0, None)
    _, got, _, want = clip_both(student, grads, 1.0)
    check_grads(got, want, "clip_grad_norm with some grads None")


@pytest.mark.points(1)
def test_clip_grad_norm_returns_norm(student, rng):
    """the returned value is the global norm before clipping (clipped or not)."""
    for scale, max_norm in ((3.0, 1.0), (0.01, 1.0)):
        norm, _, want_norm, _ = clip_both(student, random_grads(rng, scale), max_norm)
        if not math.isclose(norm, want_norm, rel_tol=1e-7):
            raise AssertionError("clip_grad_norm does not return the global norm before clipping")


@pytest.mark.points(4)
def test_gradient_norms_by_distance(student, rng):
    """gradient_norms_by_distance on the given ElmanCell (random weights, float64), small and large W_hh."""
    for scale in (0.4, 2.0):
        D, H, T = 3, int(torch.randint(4, 7, (1,), generator=rng)), int(torch.randint(8, 13, (1,), generator=rng))
        w_ih = torch.randn(H, D, generator=rng, dtype=torch.float64)
        w_hh = torch.randn(H, H, generator=rng, dtype=torch.float64) * scale / math.sqrt(H)
        bias = torch.randn(H, generator=rng, dtype=torch.float64) * 0.1
        cell = student.new("ElmanCell", D, H)
        cell.set_weights({"weight_ih": w_ih, "weight_hh": w_hh, "bias": bias})
        ref = RNNCell(D, H).double()
        ref.load_state_dict({"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": bias, "bias_hh": torch.zeros(H)})
        inputs = torch.randn(T, D, generator=rng, dtype=torch.float64)
        direction = torch.randn(H, generator=rng, dtype=torch.float64)
        got = student.gradient_norms_by_distance(cell, inputs, direction)
        check_close(
            got,
            hidden_gradient_norms(ref, inputs, direction),
            f"gradient_norms_by_distance (T={T}, H={H})",
            atol=1e-10,
            rtol=1e-6,
            check_dtype=False,
        )
