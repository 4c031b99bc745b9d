"""Inputs drawn at grading time and plain-data checks for the A2 graders.

NumPy parts draw from ``np.random.default_rng(seed)``, PyTorch parts from a ``torch.Generator`` seeded with the
grading-time ``seed``. Shapes are drawn so that no two of B, D_in, D_out (or T, D, H) are equal: a missing transpose
or a sum over the wrong axis shows up as a wrong shape or value. Messages say what is wrong, never the expected value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def distinct_sizes(rng: np.random.Generator, n: int, low: int = 2, high: int = 9) -> list[int]:
    """n different sizes in [low, high)."""
    return [int(v) for v in rng.choice(np.arange(low, high), n, replace=False)]


def check_array(got: Any, want: np.ndarray, what: str, atol: float = 1e-9, rtol: float = 1e-7) -> None:
    """``got`` is a NumPy array with ``want``'s shape, finite where ``want`` is, and close to it."""
    if type(got) is not np.ndarray:
        raise AssertionError(f"{what} returned a {type(got).__name__}, expected a numpy array")
    if got.shape != want.shape:
        raise AssertionError(f"{what} has shape {got.shape}, expected {want.shape}")
    if not np.issubdtype(got.dtype, np.number):
        raise AssertionError(f"{what} has dtype {got.dtype}, expected numbers")
    if not np.isfinite(got[np.isfinite(want)]).all():
        raise AssertionError(f"{what} contains inf or nan (is it numerically stable?)")
    wrong = ~np.isclose(got, want, atol=atol, rtol=rtol)
    if wrong.any():
        error = float(np.abs(got - want)[wrong].max())
        raise AssertionError(
            f"{what} is wrong in {int(wrong.sum())} of {want.size} entries (largest error {error:.3g})"
        )


def check_dict_keys(got: Any, keys: set[str], what: str) -> dict:
    if type(got) is not dict:
        raise AssertionError(f"{what} returned a {type(got).__name__}, expected a dict")
    if set(got) != keys:
        raise AssertionError(f"{what} has keys {sorted(got)}, expected {sorted(keys)}")
    return got


def t64(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    """A float64 copy of a NumPy array for the torch.autograd oracle."""
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def randomize(module: torch.nn.Module, gen: torch.Generator, scale: float = 0.5) -> torch.nn.Module:
    """Random normal weights (never constant: constant weights hide gate-order bugs), float64."""
    module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * scale)
    return module


def state_dict64(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in module.state_dict().items()}
