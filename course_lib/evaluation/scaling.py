"""Scaling laws: how the loss falls with parameters ``N`` and training tokens ``D``, and how to split a budget.

Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models", the Chinchilla paper) model the final
loss of a run as

    L(N, D) = E + A / N^α + B / D^β

(``E``: the irreducible loss of the data; the other terms: what a finite model and a finite data set leave on the
table) and estimate the compute-optimal ``N`` and ``D`` for a budget of ``C ≈ 6·N·D`` training FLOPs three ways.
Two of them are here:

- **Approach 3** (:func:`fit_scaling_law`): fit the five parameters to every run's ``(N, D, L)`` by minimising a
  Huber loss between predicted and observed *log* loss, from a grid of starting points (the objective has
  several local minima), with L-BFGS. Minimising ``L`` subject to ``6ND = C`` then gives, in closed form,
  ``N_opt = G·(C/6)^a`` and ``D_opt = (C/6)^b / G`` with ``a = β/(α+β)``, ``b = α/(α+β)``,
  ``G = (αA / βB)^(1/(α+β))`` (:meth:`ScalingLaw.compute_optimal`).
- **Approach 2** (:func:`fit_isoflop`): train several sizes at each fixed budget (an *IsoFLOP profile*), fit a
  parabola to the loss against ``log N`` per budget, take its vertex as ``N_opt(C)``, set ``D_opt = C / 6N_opt``,
  and fit power laws ``N_opt ∝ C^a``, ``D_opt ∝ C^b`` across budgets.

The published Approach-3 fit (rounded, section 3.3 of the paper) is :data:`CHINCHILLA`; Besiroglu et al. 2024
("Chinchilla Scaling: A replication attempt") discuss how the rounding shifts its predictions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib.errors import CourseError

FLOPS_PER_PARAM_TOKEN = 6  # forward 2 + backward 4 FLOPs per parameter per token (Kaplan et al. 2020)


def training_flops(n_params: float | np.ndarray, n_tokens: float | np.ndarray) -> float | np.ndarray:
    """``C ≈ 6·N·D``: training FLOPs of a model with ``N`` non-embedding parameters on ``D`` tokens."""
    return FLOPS_PER_PARAM_TOKEN * np.asarray(n_params, dtype=np.float64) * np.asarray(n_tokens, dtype=np.float64)


@dataclass(frozen=True)
class ScalingLaw:
    """``L(N, D) = E + A / N^alpha + B / D^beta`` (Hoffmann et al. 2022, eq. 2)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, n_params, n_tokens) -> np.ndarray:
        """Predicted loss for arrays (or scalars) of parameters and tokens."""
        N, D = np.asarray(n_params, dtype=np.float64), np.asarray(n_tokens, dtype=np.float64)
        return self.E + self.A / N**self.alpha + self.B / D**self.beta

    @property
    def exponents(self) -> tuple[float, float]:
        """``(a, b)`` with ``N_opt ∝ C^a`` and ``D_opt ∝ C^b`` (a + b = 1)."""
        total = self.alpha + self.beta
        return self.beta / total, self.alpha / total

    def compute_optimal(self, flops) -> tuple[np.ndarray, np.ndarray]:
        """``(N_opt, D_opt)`` minimising the loss subject to ``6·N·D = flops`` (closed form, eq. 4)."""
        C = np.asarray(flops, dtype=np.float64)
        if (C <= 0).any():
            raise CourseError("compute budgets must be positive FLOP counts")
        a, b = self.exponents
        G = (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))
        return G * (C / FLOPS_PER_PARAM_TOKEN) ** a, (C / FLOPS_PER_PARAM_TOKEN) ** b / G


# Hoffmann et al. 2022, section 3.3 (the rounded values printed in the paper).
CHINCHILLA = ScalingLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def _columns(n_params, n_tokens, losses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    N, D, L = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (n_params, n_tokens, losses))
    if not len(N) == len(D) == len(L):
        raise CourseError(f"N, D and loss must have one value per run, got {len(N)}, {len(D)}, {len(L)}")
    if (N <= 0).any() or (D <= 0).any() or (L <= 0).any() or not np.isfinite(N * D * L).all():
        raise CourseError("N, D and loss must be positive and finite")
    return N, D, L


def _huber(r: torch.Tensor, delta: float) -> torch.Tensor:
    return torch.where(r.abs() <= delta, 0.5 * r**2, delta * (r.abs() - 0.5 * delta))


def _log_loss_prediction(theta: torch.Tensor, log_n: torch.Tensor, log_d: torch.Tensor) -> torch.Tensor:
    """``log L`` for ``theta (..., 5) = (log A, log B, log E, alpha, beta)``; a log-sum-exp keeps it stable."""
    a, b, e, alpha, beta = theta.unbind(-1)
    terms = torch.stack([a[..., None] - alpha[..., None] * log_n, b[..., None] - beta[..., None] * log_d], -1)
    terms = torch.cat([terms, e[..., None, None].expand(*terms.shape[:-1], 1)], dim=-1)
    return torch.logsumexp(terms, dim=-1)  # (..., n_runs)


# Hoffmann et al.'s initialisation grid (appendix D.2), a little coarser.
_GRID = {
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
}


def fit_scaling_law(n_params, n_tokens, losses, *, delta: float = 1e-3, n_starts: int = 8) -> ScalingLaw:
    """Approach 3: fit ``L = E + A/N^α + B/D^β`` to runs ``(N, D, loss)`` (arrays of one value per run).

    Minimises ``Σ Huber_δ(log L̂(N, D) - log L)`` over ``(log A, log B, log E, α, β)``: the log makes every run
    count alike whatever its loss, and the Huber loss (``δ = 1e-3``, as in the paper) keeps outlier runs from
    dominating. The objective is evaluated on a grid of starting points and L-BFGS runs from the ``n_starts``
    best; the best end point wins.
    """
    N, D, L = _columns(n_params, n_tokens, losses)
    if len(N) < 5:
        raise CourseError(f"fitting five parameters needs at least 5 runs, got {len(N)}")
    log_n, log_d, log_l = (torch.from_numpy(np.log(x)) for x in (N, D, L))

    def objective(theta: torch.Tensor) -> torch.Tensor:  # (..., 5) -> (...,), mean over runs
        return _huber(_log_loss_prediction(theta, log_n, log_d) - log_l, delta).mean(-1)

    grid = torch.tensor(list(itertools.product(*_GRID.values())), dtype=torch.float64)  # (n_grid, 5)
    with torch.no_grad():
        order = objective(grid).argsort()
    best_theta, best_value = None, math.inf
    for start in grid[order[:n_starts]]:
        theta, value = _lbfgs(objective, start, scale=1 / delta**2)
        if math.isfinite(value) and value < best_value:
            best_theta, best_value = theta, value
    if best_theta is None:
        raise CourseError("the scaling-law fit did not converge from any starting point")
    a, b, e, alpha, beta = best_theta.tolist()
    return ScalingLaw(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=alpha, beta=beta)


def _lbfgs(objective: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, scale: float):
    """Minimise ``objective`` from ``start`` with L-BFGS; returns ``(end point, objective there)``. The objective
    is tiny near the optimum (Huber with δ = 1e-3), so it is multiplied by ``scale`` and the tolerances are tight:
    otherwise L-BFGS stops early (Besiroglu et al. 2024 found this in the original fit)."""
    theta = start.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [theta], lr=1.0, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-16, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = objective(theta) * scale
        value.backward()
        return value

    optimizer.step(closure)
    with torch.no_grad():
        return theta.detach(), objective(theta).item()


def fit_power_law(x, y) -> tuple[float, float]:
    """``(k, p)`` with ``y ≈ k · x^p``, by least squares on ``log y = log k + p log x``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) != len(y) or len(x) < 2 or (x <= 0).any() or (y <= 0).any():
        raise CourseError("a power law needs at least two points with positive x and y")
    if np.ptp(np.log(x)) == 0:
        raise CourseError("a power law needs at least two different x values")
    p, log_k = np.polyfit(np.log(x), np.log(y), 1)
    return float(np.exp(log_k)), float(p)


@dataclass
class IsoFLOPFit:
    """Approach 2's result: the vertex of each budget's parabola and the power laws through them."""

    budgets: np.ndarray  # (n_budgets,) FLOPs, ascending
    n_opt: np.ndarray  # (n_budgets,) the vertex of each parabola in log N
    d_opt: np.ndarray  # (n_budgets,) C / (6 N_opt)
    loss_opt: np.ndarray  # (n_budgets,) the parabola's value at its vertex
    parabolas: list[np.ndarray] = field(repr=False)  # per budget, coefficients of L(log N), highest power first
    n_law: tuple[float, float] = (0.0, 0.0)  # (k, a): N_opt ≈ k C^a
    d_law: tuple[float, float] = (0.0, 0.0)  # (k, b): D_opt ≈ k C^b

    @property
    def exponents(self) -> tuple[float, float]:
        return self.n_law[1], self.d_law[1]

    def compute_optimal(self, flops) -> tuple[np.ndarray, np.ndarray]:
        """``(N_opt, D_opt)`` for other budgets, from the fitted power laws."""
        C = np.asarray(flops, dtype=np.float64)
        return self.n_law[0] * C ** self.n_law[1], self.d_law[0] * C ** self.d_law[1]


def group_budgets(flops, rel_tol: float = 0.02) -> np.ndarray:
    """Label each run with its budget group: runs whose ``C`` agree within ``rel_tol`` share one budget
    (a sweep's ``6ND`` is only roughly constant along an IsoFLOP profile). ``(n_runs,)`` int labels."""
    C = np.asarray(flops, dtype=np.float64)
    order = np.argsort(C)
    labels = np.empty(len(C), dtype=np.int64)
    group, anchor = -1, -math.inf
    for i in order:
        if C[i] > anchor * (1 + rel_tol):
            group, anchor = group + 1, C[i]
        labels[i] = group
    return labels


def fit_isoflop(n_params, losses, flops, *, rel_tol: float = 0.02) -> IsoFLOPFit:
    """Approach 2 on runs ``(N, loss, C)``: a parabola in ``log N`` per budget, then power laws across budgets.

    Each budget needs at least three model sizes and must be U-shaped (a positive quadratic coefficient):
    otherwise the sweep missed the minimum and the error says which budget to extend.
    """
    N, L, C = _columns(n_params, losses, flops)
    labels = group_budgets(C, rel_tol)
    budgets, n_opt, loss_opt, parabolas = [], [], [], []
    for g in range(labels.max() + 1):
        rows = labels == g
        budget = float(np.exp(np.log(C[rows]).mean()))  # the geometric mean of the group's budgets
        if len(np.unique(N[rows])) < 3:
            raise CourseError(f"budget {budget:.3g} FLOPs has fewer than 3 model sizes: cannot fit a parabola")
        coeffs = np.polyfit(np.log(N[rows]), L[rows], 2)
        if coeffs[0] <= 0:
            raise CourseError(f"the losses at budget {budget:.3g} FLOPs are not U-shaped in log N: add sizes")
        vertex = -coeffs[1] / (2 * coeffs[0])
        budgets.append(budget)
        n_opt.append(math.exp(vertex))
        loss_opt.append(float(np.polyval(coeffs, vertex)))
        parabolas.append(coeffs)
    budgets_arr, n_arr = np.array(budgets), np.array(n_opt)
    d_arr = budgets_arr / (FLOPS_PER_PARAM_TOKEN * n_arr)
    fit = IsoFLOPFit(budgets_arr, n_arr, d_arr, np.array(loss_opt), parabolas)
    if len(budgets) >= 2:
        fit.n_law, fit.d_law = fit_power_law(budgets_arr, n_arr), fit_power_law(budgets_arr, d_arr)
    return fit


def bootstrap(
    statistic: Callable[[np.ndarray], Sequence[float]], n_runs: int, n_resamples: int = 200, seed: int = 0
) -> np.ndarray:
    """``statistic(rows)`` on ``n_resamples`` resamples (with replacement) of the run indices:
    ``(n_resamples, n_statistics)``; percentiles of its columns are bootstrap intervals. Resamples on which
    the statistic fails (a CourseError, e.g. a budget left with too few sizes) are skipped."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        rows = rng.integers(0, n_runs, n_runs)
        try:
            values.append(list(statistic(rows)))
        except CourseError:
            continue
    if not values:
        raise CourseError("the statistic failed on every bootstrap resample")
    return np.asarray(values, dtype=np.float64)
