"""Hidden tests for A5 part 5: scaling-law fits on synthetic runs from known parameters. Oracles: the generating
parameters themselves, NumPy least squares, course_lib.evaluation.scaling's closed form (trusted side).

Clause -> test:
- isoflop_optimum: a parabola in log N (not N), its vertex (not the best run) and its value there, as floats
  -> test_scaling_isoflop_vertex
- the same on IsoFLOP profiles of a real scaling law -> test_scaling_isoflop_on_a_scaling_law
- fit_power_law: (k, p) with y = k x^p, positive and negative p -> test_scaling_power_law_exact
- least squares in log space (not linear space) -> test_scaling_power_law_least_squares_in_log_space
- fit_chinchilla: a dict with keys E, A, B, alpha, beta recovering the law, E kept (not dropped)
  -> test_scaling_fit_chinchilla_recovers_the_parameters
- the same with 0.1% noise -> test_scaling_fit_chinchilla_with_noise
- compute_optimal: N_opt = G (C/6)^(β/(α+β)), D_opt = G⁻¹ (C/6)^(α/(α+β)), so 6 N D = C (not 2ND)
  -> test_scaling_compute_optimal
"""

import math

import numpy as np
import pytest

from autograder.checks import check_float, check_type
from course_lib.evaluation.scaling import ScalingLaw, fit_isoflop


def _law(rng: np.random.Generator) -> ScalingLaw:
    return ScalingLaw(
        E=float(rng.uniform(1.5, 2.5)),
        A=float(rng.uniform(100, 800)),
        B=float(rng.uniform(100, 800)),
        alpha=float(rng.uniform(0.25, 0.45)),
        beta=float(rng.uniform(0.2, 0.4)),
    )


def _pair(got, what):
    check_type(got, tuple, what)
    if len(got) != 2:
        raise AssertionError(f"{what} returned {len(got)} values, expected 2")
    return got


@pytest.mark.points(4)
def test_scaling_isoflop_vertex(student, seed):
    """isoflop_optimum on exact parabolas in log N, sizes placed unevenly around the vertex: the vertex, not the
    best run, and the parabola's value there."""
    rng = np.random.default_rng(seed)
    for _ in range(4):
        vertex = rng.uniform(np.log(1e6), np.log(1e9))
        offsets = np.sort(rng.uniform(-2.5, 2.0, 7))
        floor, curvature = rng.uniform(2, 4), rng.uniform(0.05, 0.3)
        N = np.exp(vertex + offsets)
        n_opt, l_opt = _pair(student.isoflop_optimum(N, floor + curvature * offsets**2), "isoflop_optimum")
        check_float(n_opt, math.exp(vertex), "isoflop_optimum's N_opt", rel=1e-6)
        check_float(l_opt, floor, "isoflop_optimum's loss at the vertex", rel=1e-9)


@pytest.mark.points(2)
def test_scaling_isoflop_on_a_scaling_law(student, seed):
    """IsoFLOP profiles of a known scaling law: the vertex of the parabola in log N through the nine runs (not the
    best run, and not the law's exact optimum, which a parabola only approximates)."""
    rng = np.random.default_rng(seed)
    law = _law(rng)
    for budget in (1e17, 1e19):
        n_opt, _ = law.compute_optimal(budget)
        N = n_opt * np.geomspace(0.25, 4, 9)
        losses = law.loss(N, budget / (6 * N))
        want = fit_isoflop(N, losses, np.full_like(N, budget)).n_opt[0]
        got, _ = _pair(student.isoflop_optimum(N, losses), "isoflop_optimum")
        check_float(got, float(want), f"isoflop_optimum at {budget:.0e} FLOPs", rel=1e-6)


@pytest.mark.points(2)
def test_scaling_power_law_exact(student, seed):
    """fit_power_law recovers k and p from exact power laws (positive and negative exponents)."""
    rng = np.random.default_rng(seed)
    for p in (rng.uniform(0.3, 0.7), -rng.uniform(0.05, 0.5)):
        k = rng.uniform(0.01, 50)
        x = np.geomspace(1e15, 1e21, 6)
        got_k, got_p = _pair(student.fit_power_law(x, k * x**p), "fit_power_law")
        check_float(got_p, p, "fit_power_law's exponent", rel=1e-6)
        check_float(got_k, k, "fit_power_law's coefficient", rel=1e-4)


@pytest.mark.points(1)
def test_scaling_power_law_least_squares_in_log_space(student, seed):
    """fit_power_law on noisy points equals least squares on log y = log k + p log x."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1, 1e6, 12)
    y = 3.0 * x**0.4 * np.exp(rng.normal(0, 0.3, x.shape))
    p, log_k = np.polyfit(np.log(x), np.log(y), 1)
    got_k, got_p = _pair(student.fit_power_law(x, y), "fit_power_law")
    check_float(got_p, float(p), "fit_power_law's exponent on noisy data", rel=1e-6)
    check_float(got_k, float(np.exp(log_k)), "fit_power_law's coefficient on noisy data", rel=1e-5)


def _grid_runs(law: ScalingLaw, rng: np.random.Generator, noise: float):
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e6, 1e9, 7), np.geomspace(1e8, 1e11, 7)))
    return N, D, law.loss(N, D) * np.exp(rng.normal(0, noise, N.shape))


def _check_law(got, law: ScalingLaw, exponent_abs: float, rel: float, what: str) -> None:
    check_type(got, dict, what)
    if set(got) != {"E", "A", "B", "alpha", "beta"}:
        raise AssertionError(f"{what} must return the keys E, A, B, alpha, beta")
    check_float(got["alpha"], law.alpha, f"{what}: alpha", rel=0, abs_=exponent_abs)
    check_float(got["beta"], law.beta, f"{what}: beta", rel=0, abs_=exponent_abs)
    check_float(got["E"], law.E, f"{what}: E", rel=rel)


@pytest.mark.points(5)
def test_scaling_fit_chinchilla_recovers_the_parameters(student, seed):
    """fit_chinchilla on noise-free runs (a 7x7 grid of N and D) of two random laws: alpha, beta within 0.01,
    E within 2%."""
    rng = np.random.default_rng(seed)
    for _ in range(2):
        law = _law(rng)
        _check_law(student.fit_chinchilla(*_grid_runs(law, rng, 0.0)), law, 0.01, 0.02, "fit_chinchilla")


@pytest.mark.points(2)
def test_scaling_fit_chinchilla_with_noise(student, seed):
    """fit_chinchilla on runs with 0.1% noise: alpha, beta within 0.04, E within 4%."""
    rng = np.random.default_rng(seed)
    law = _law(rng)
    _check_law(student.fit_chinchilla(*_grid_runs(law, rng, 0.001)), law, 0.04, 0.04, "fit_chinchilla (noisy)")


@pytest.mark.points(4)
def test_scaling_compute_optimal(student, seed):
    """compute_optimal for random laws and budgets (and Chinchilla's published fit): the closed-form optimum,
    with 6 N D = C."""
    rng = np.random.default_rng(seed)
    laws = [_law(rng), _law(rng), ScalingLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)]
    for law in laws:
        for budget in (1e18, float(10 ** rng.uniform(19, 25))):
            n_want, d_want = law.compute_optimal(budget)
            params = {"E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta}
            n_got, d_got = _pair(student.compute_optimal(params, budget), "compute_optimal")
            check_float(n_got, float(n_want), f"compute_optimal's N at {budget:.2e} FLOPs", rel=1e-6)
            check_float(d_got, float(d_want), f"compute_optimal's D at {budget:.2e} FLOPs", rel=1e-6)
