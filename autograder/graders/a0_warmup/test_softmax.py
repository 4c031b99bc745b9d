"""Hidden tests for A0's softmax. Oracle: torch.softmax, computed here in the trusted process."""

import pytest
import torch

from autograder.checks import check_close, check_tensor


def random_shape(rng: torch.Generator, ndim: int) -> tuple[int, ...]:
    return tuple(int(n) for n in torch.randint(2, 7, (ndim,), generator=rng))


@pytest.mark.points(2)
def test_random_matrix_last_dim(student, rng):
    """softmax of a random matrix along the last dimension (the default dim)."""
    x = torch.randn(random_shape(rng, 2), generator=rng) * 3
    check_close(student.softmax(x), torch.softmax(x, dim=-1), "softmax(x) for a random 2-D x")


@pytest.mark.points(2)
def test_other_dimensions(student, rng):
    """softmax of a random 3-D tensor along dim=0, dim=1 and dim=-2."""
    x = torch.randn(random_shape(rng, 3), generator=rng) * 2
    for dim in (0, 1, -2):
        check_close(student.softmax(x, dim=dim), torch.softmax(x, dim=dim), f"softmax(x, dim={dim}) for a 3-D x")


@pytest.mark.points(2)
def test_extreme_values_are_stable(student, rng):
    """softmax stays finite and correct for logits around +1000, -1000 and with huge spreads."""
    x = torch.randn(random_shape(rng, 2), generator=rng) * 5
    for shift, scale in ((1000.0, 1.0), (-1000.0, 1.0), (0.0, 200.0)):
        z = x * scale + shift
        check_close(
            student.softmax(z, dim=-1),
            torch.softmax(z, dim=-1),
            f"softmax(x) for x around {shift:+g} with spread x{scale:g}",
            atol=1e-5,
        )


@pytest.mark.points(1)
def test_keeps_dtype_and_handles_vectors(student, rng):
    """a float64 input gives a float64 result; a 1-D vector works."""
    x = torch.randn(random_shape(rng, 2), generator=rng, dtype=torch.float64)
    check_close(student.softmax(x, dim=1), torch.softmax(x, dim=1), "softmax(x, dim=1) for float64 x", atol=1e-10)
    v = torch.randn(int(torch.randint(3, 12, (1,), generator=rng)), generator=rng)
    check_close(student.softmax(v), torch.softmax(v, dim=0), "softmax(v) for a 1-D v")


@pytest.mark.points(1)
def test_is_a_distribution(student, rng):
    """entries along dim are in [0, 1], sum to 1, and the largest logit gets the largest probability."""
    x = torch.randn(random_shape(rng, 4), generator=rng) * 4
    p = check_tensor(student.softmax(x, dim=2), "softmax(x, dim=2)", shape=tuple(x.shape), dtype=x.dtype)
    assert bool((p >= 0).all() and (p <= 1).all()), "softmax(x, dim=2) has entries outside [0, 1]"
    assert torch.allclose(p.sum(dim=2), torch.ones(()), atol=1e-5), "softmax(x, dim=2) does not sum to 1 along dim=2"
    assert bool((p.argmax(dim=2) == x.argmax(dim=2)).all()), (
        "softmax(x, dim=2) does not give the largest x the largest probability"
    )


@pytest.mark.points(2)
def test_gradients_flow(student, rng):
    """gradients flow back through softmax and are correct."""
    x = torch.randn(random_shape(rng, 2), generator=rng, dtype=torch.float64)
    g = torch.randn(x.shape, generator=rng, dtype=torch.float64)
    out, (grad,) = student.grad("softmax", x, 1, wrt=(0,), grad_output=g)
    leaf = x.clone().requires_grad_(True)
    torch.softmax(leaf, dim=1).backward(g)
    check_close(out, torch.softmax(x, dim=1), "softmax(x, dim=1)", atol=1e-10)
    assert grad is not None, "no gradient reached the input of softmax"
    check_close(grad, leaf.grad, "the gradient of softmax with respect to x", atol=1e-8)
