"""Comparisons for hidden graders whose failure messages say what is wrong, never what was expected.

Use these instead of bare ``assert a == b``: assertion rewriting is off while grading, and these messages
are what the student reads (shape and dtype are part of the task's contract and may be named; expected
values are not).
"""

from __future__ import annotations

from typing import Any

import torch


def check_tensor(
    actual: Any, what: str, *, shape: tuple[int, ...] | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``actual`` is a plain tensor with the given shape and dtype; returns it."""
    if type(actual) is not torch.Tensor:
        raise AssertionError(f"{what} returned a {type(actual).__name__}, expected a torch.Tensor")
    if shape is not None and tuple(actual.shape) != tuple(shape):
        raise AssertionError(f"{what} returned shape {tuple(actual.shape)}, expected {tuple(shape)}")
    if dtype is not None and actual.dtype != dtype:
        raise AssertionError(f"{what} returned dtype {actual.dtype}, expected {dtype} (keep the input's dtype)")
    return actual


def check_close(
    actual: Any,
    expected: torch.Tensor,
    what: str,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    check_dtype: bool = True,
) -> None:
    """``actual`` matches ``expected`` in type, shape, dtype (optional), finiteness and value."""
    check_tensor(actual, what, shape=tuple(expected.shape), dtype=expected.dtype if check_dtype else None)
    actual = actual.detach().to(expected.dtype)
    expected = expected.detach()
    bad_finite = torch.isfinite(actual) != torch.isfinite(expected)
    if bad_finite.any():
        raise AssertionError(
            f"{what} returned inf or nan in {int(bad_finite.sum())} of {actual.numel()} entries "
            "(is it numerically stable?)"
        )
    finite = torch.isfinite(expected)
    wrong = ~torch.isclose(actual, expected, atol=atol, rtol=rtol) & finite
    if wrong.any():
        error = (actual - expected).abs()[finite].max().item()
        raise AssertionError(
            f"{what} returned wrong values in {int(wrong.sum())} of {actual.numel()} entries "
            f"(largest error {error:.3g})"
        )
