"""Hidden tests for A2 part 2: relative error, central differences, grad_check.

Oracle: the same formulas computed here on the given Cubic module (y = (xA)^3 + c), whose math the grader knows.

Clause -> test:
- relative error symmetric |a-n| / max(|a|, |n|, tiny), elementwise -> test_relative_error
- central differences of sum(upstream * f) for every parameter entry -> test_numerical_gradient_central
- every perturbed entry restored (parameters unchanged afterwards) -> test_numerical_gradient_restores
- grad_check: tiny error for a correct backward -> test_grad_check_correct_module
- grad_check: random upstream direction, worst error and its parameter -> test_grad_check_finds_planted_bugs
"""

import numpy as np
import pytest
from a2_inputs import check_array, check_dict_keys, distinct_sizes


def cubic_problem(rng: np.random.Generator):
    B, D, K = distinct_sizes(rng, 3, 2, 6)
    return rng.standard_normal((D, K)), rng.standard_normal(K), rng.standard_normal((B, D)) * 0.8


def cubic(A: np.ndarray, c: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (x @ A) ** 3 + c


def central_difference(A, c, x, u, eps):
    params = {"A": A.copy(), "c": c.copy()}
    out = {}
    for name, value in params.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + eps
            plus = np.sum(u * cubic(params["A"], params["c"], x))
            value[index] = original - eps
            minus = np.sum(u * cubic(params["A"], params["c"], x))
            value[index] = original
            grad[index] = (plus - minus) / (2 * eps)
        out[name] = grad
    return out


@pytest.mark.points(2)
def test_relative_error(student, seed):
    """relative_error on arrays including exact zeros, zero numerical gradients and signs."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(12)
    n = a + rng.standard_normal(12) * 0.1
    a[:3], n[:3] = 0.0, 0.0  # both zero: the tiny floor
    n[3:6] = 0.0  # numerical zero, analytic not
    a[6:8] = 0.0
    n[8] = -a[8]
    want = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-12)
    check_array(student.relative_error(a, n), want, "relative_error(analytic, numerical)")


@pytest.mark.points(2)
def test_numerical_gradient_central(student, seed):
    """numerical_gradient: central differences for every entry of A and c, with eps = 1e-3 and a random upstream."""
    rng = np.random.default_rng(seed)
    A, c, x = cubic_problem(rng)
    u = rng.standard_normal((x.shape[0], A.shape[1]))
    module = student.new("Cubic", A, c)
    got = check_dict_keys(student.numerical_gradient(module, x, u, 1e-3), {"A", "c"}, "numerical_gradient")
    want = central_difference(A, c, x, u, 1e-3)
    for name in ("A", "c"):
        check_array(got[name], want[name], f"numerical_gradient[{name!r}] with eps=1e-3", atol=1e-8, rtol=1e-6)


@pytest.mark.points(1)
def test_numerical_gradient_restores(student, seed):
    """after numerical_gradient the module's parameters are exactly as before."""
    rng = np.random.default_rng(seed)
    A, c, x = cubic_problem(rng)
    module = student.new("Cubic", A, c)
    student.numerical_gradient(module, x, rng.standard_normal((x.shape[0], A.shape[1])), 1e-2)
    params = module.get("params")
    for name, value in (("A", A), ("c", c)):
        if not np.array_equal(params[name], value):
            raise AssertionError(f"numerical_gradient left parameter {name!r} changed (restore each perturbed entry)")


@pytest.mark.points(1)
def test_grad_check_correct_module(student, seed):
    """grad_check on a correct module returns (error below 1e-6, a parameter name)."""
    rng = np.random.default_rng(seed)
    A, c, x = cubic_problem(rng)
    result = student.grad_check(student.new("Cubic", A, c), x, 1e-6, int(rng.integers(1000)))
    if type(result) not in (tuple, list) or len(result) != 2:
        raise AssertionError("grad_check must return (max_error, name)")
    error, name = result
    if type(error) not in (float, int) or not error < 1e-6 or name not in ("A", "c"):
        raise AssertionError("grad_check reports a large error (or no parameter name) for a correct backward pass")


@pytest.mark.points(3)
def test_grad_check_finds_planted_bugs(student, seed):
    """grad_check flags a 10% wrong bias gradient (naming c) and a backward that ignores its upstream gradient."""
    rng = np.random.default_rng(seed)
    for bug, where in (("c_scaled", "c"), ("ignore_upstream", None)):
        A, c, x = cubic_problem(rng)
        error, name = student.grad_check(student.new("Cubic", A, c, bug), x, 1e-6, int(rng.integers(1000)))
        if type(error) not in (float, int) or not error > 0.05:
            raise AssertionError(f"grad_check does not detect the planted bug {bug!r}")
        if where is not None and name != where:
            raise AssertionError(f"grad_check names the wrong parameter for the planted bug {bug!r}")
