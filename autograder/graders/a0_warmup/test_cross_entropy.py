"""Hidden tests for A0's cross_entropy. Oracle: torch.nn.functional.cross_entropy, in the trusted process."""

import pytest
import torch
import torch.nn.functional as F

from autograder.checks import check_close


def random_problem(rng: torch.Generator, dtype: torch.dtype = torch.float32, scale: float = 3.0):
    """Random logits (N, C) and targets (N,) with N, C in [2, 8]."""
    n, c = (int(v) for v in torch.randint(2, 9, (2,), generator=rng))
    logits = (torch.randn(n, c, generator=rng) * scale).to(dtype)
    targets = torch.randint(0, c, (n,), generator=rng)
    return logits, targets


def check_against_oracle(student, logits, targets, what: str, **tolerance: float) -> None:
    check_close(student.cross_entropy(logits, targets), F.cross_entropy(logits, targets), what, **tolerance)


@pytest.mark.points(3)
def test_random_batch(student, rng):
    """cross_entropy of random logits (N, C) and targets (N,) is the mean negative log-likelihood."""
    for _ in range(3):
        logits, targets = random_problem(rng)
        check_against_oracle(student, logits, targets, "cross_entropy(logits, targets) for random inputs")


@pytest.mark.points(2)
def test_extreme_logits_are_stable(student, rng):
    """cross_entropy stays finite and correct for logits of size 1000 (right and wrong predictions)."""
    logits, targets = random_problem(rng, scale=1000.0)
    what = "cross_entropy for logits of size ~1000"
    check_against_oracle(student, logits, targets, what, atol=1e-3, rtol=1e-5)
    shifted = logits / 1000 + 5000
    check_against_oracle(student, shifted, targets, "cross_entropy for logits shifted by +5000", atol=1e-2)


@pytest.mark.points(1)
def test_returns_scalar_of_input_dtype(student, rng):
    """the result is a scalar (shape ()) with the logits' dtype (float64 here)."""
    logits, targets = random_problem(rng, dtype=torch.float64)
    check_against_oracle(student, logits, targets, "cross_entropy for float64 logits", atol=1e-10)


@pytest.mark.points(2)
def test_one_example_many_classes(student, rng):
    """one example with 1000 classes, and a batch of 64 examples with 2 classes."""
    for n, c in ((1, 1000), (64, 2)):
        logits = torch.randn(n, c, generator=rng) * 2
        targets = torch.randint(0, c, (n,), generator=rng)
        check_against_oracle(student, logits, targets, f"cross_entropy for N={n}, C={c}")


@pytest.mark.points(2)
def test_gradients_flow(student, rng):
    """gradients flow back to the logits and are correct."""
    logits, targets = random_problem(rng, dtype=torch.float64)
    one = torch.tensor(1.0, dtype=torch.float64)
    out, (grad,) = student.grad("cross_entropy", logits, targets, wrt=(0,), grad_output=one)
    leaf = logits.clone().requires_grad_(True)
    F.cross_entropy(leaf, targets).backward()
    check_close(out, F.cross_entropy(logits, targets), "cross_entropy(logits, targets)", atol=1e-10)
    assert grad is not None, "no gradient reached the logits"
    check_close(grad, leaf.grad, "the gradient of cross_entropy with respect to the logits", atol=1e-8)
