"""Finite-difference gradient checking.

The check compares the gradients a backward pass computes with central differences

    dL/dθ_i ≈ (L(θ + ε e_i) - L(θ - ε e_i)) / (2ε)          (error O(ε²); the forward difference is O(ε))

where ``L = sum(u * f(θ))`` projects the output ``f(θ)`` on a **random** direction ``u``. Projecting with ones
(``L = f.sum()``) would hide a backward pass that ignores its upstream gradient (for ``u = 1`` the two agree).
The score is the relative error ``|a - n| / max(|a|, |n|, tiny)``, symmetric in the analytic ``a`` and numerical
``n``: dividing by ``|n|`` alone blows up where the true gradient is 0. In float64, a correct gradient scores
around 1e-7 or better; a wrong one scores near 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from course_lib.autodiff.modules import Module
from course_lib.errors import CourseError


class GradCheck(NamedTuple):
    """The worst relative error found, which parameter it was in, and where."""

    max_error: float
    worst: str
    index: tuple[int, ...]

    def ok(self, tol: float = 1e-5) -> bool:
        return self.max_error <= tol


def relative_error(analytic: float, numerical: float, tiny: float = 1e-12) -> float:
    return abs(analytic - numerical) / max(abs(analytic), abs(numerical), tiny)


def grad_check(
    f: Callable[[], np.ndarray],
    params: dict[str, np.ndarray],
    backward: Callable[[np.ndarray], dict[str, np.ndarray]],
    *,
    eps: float = 1e-6,
    max_entries: int | None = None,
    rng: np.random.Generator | None = None,
    tiny: float = 1e-12,
) -> GradCheck:
    """Check ``backward`` against central differences of ``f``.

    ``f()`` computes the output from the arrays in ``params`` (which are perturbed **in place** and restored);
    ``backward(u)`` returns, for each name in ``params``, the gradient of ``sum(u * f())``. ``max_entries``
    checks a random subset of each parameter's entries (all by default). Use float64 arrays.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    out = np.asarray(f(), dtype=np.float64)
    u = rng.standard_normal(out.shape)
    analytic = {name: np.array(g, dtype=np.float64) for name, g in backward(u).items()}
    worst = GradCheck(0.0, "", ())
    for name, value in params.items():
        if value.dtype != np.float64:
            raise CourseError(f"grad_check needs float64 parameters; {name!r} is {value.dtype}")
        if name not in analytic or analytic[name].shape != value.shape:
            raise CourseError(f"backward returned no gradient of shape {value.shape} for {name!r}")
        flat = range(value.size)
        if max_entries is not None and value.size > max_entries:
            flat = rng.choice(value.size, max_entries, replace=False)
        for k in flat:
            index = np.unravel_index(k, value.shape)
            original = value[index]
            value[index] = original + eps
            plus = float(np.sum(u * f()))
            value[index] = original - eps
            minus = float(np.sum(u * f()))
            value[index] = original  # restore, or every later entry is checked at a shifted point
            error = relative_error(float(analytic[name][index]), (plus - minus) / (2 * eps), tiny)
            if error > worst.max_error:
                worst = GradCheck(error, name, tuple(int(i) for i in index))
    return worst


def check_module(module: Module, *inputs: np.ndarray, **options) -> GradCheck:
    """:func:`grad_check` of a module's parameters and of its float inputs (named ``"input0"``, ...)."""
    inputs = tuple(np.asarray(x) for x in inputs)
    params = {name: value for name, value, _ in module.named_parameters()}
    float_inputs = {f"input{i}": x for i, x in enumerate(inputs) if np.issubdtype(x.dtype, np.floating)}

    def backward(u: np.ndarray) -> dict[str, np.ndarray]:
        module.zero_grad()
        module.forward(*inputs)
        grad_in = module.backward(u)
        grad_in = grad_in if isinstance(grad_in, tuple) else (grad_in,)
        grads = {name: grad.copy() for name, _, grad in module.named_parameters()}
        grads.update({f"input{i}": g for i, g in enumerate(grad_in) if f"input{i}" in float_inputs})
        return grads

    return grad_check(lambda: module.forward(*inputs), {**params, **float_inputs}, backward, **options)
