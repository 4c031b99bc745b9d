"""Comparisons for hidden graders whose failure messages say what is wrong, never what was expected.

Use these instead of bare ``assert a == b``: assertion rewriting is off while grading, and these messages
are what the student reads (shape and dtype are part of the task's contract and may be named; expected
values are not). This is engine API: every assignment's graders import it as ``autograder.checks``.

- tensors: :func:`check_tensor` (type, shape, dtype), :func:`check_close` (values, finiteness);
- plain data: :func:`check_type` (exact type), :func:`check_list` (equal lists), :func:`check_pairs` (lists of
  integer pairs, e.g. BPE merges), :func:`check_float` (a float within a tolerance), :func:`check_list_of`
  (a list of items of one exact type, before hashing or sorting them);
- numbers that must be finite: :func:`check_finite`, :func:`check_probabilities` (NaN and inf fail: a bare
  ``abs(total - 1) > tol`` is False for NaN).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import NormalDist
from typing import Any

import numpy as np
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


# ------------------------------------------------------------------------------------------- plain data


def check_type(value: Any, kind: type, what: str) -> None:
    """``value`` is exactly a ``kind`` (no subclass: a bool is not an int here)."""
    if type(value) is not kind:
        raise AssertionError(f"{what} returned a {type(value).__name__}, expected a {kind.__name__}")


def check_list(got: Any, want: list, what: str) -> None:
    """``got`` is a list equal to ``want``; the message names the first wrong position only."""
    check_type(got, list, what)
    if got == want:
        return
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            raise AssertionError(f"{what} is wrong at position {i} (of {len(want)})")
    raise AssertionError(f"{what} returned {len(got)} items, expected {len(want)}")


def check_pairs(got: Any, want: list[tuple[int, int]], what: str, item: str = "pair") -> None:
    """A list of (left, right) integer pairs equal to ``want``; tuples and 2-lists are both accepted.
    ``item`` names one pair in the message (e.g. ``"merge"``)."""
    check_type(got, list, what)
    normalised = []
    for i, pair in enumerate(got):
        if type(pair) not in (tuple, list) or len(pair) != 2 or not all(type(x) is int for x in pair):
            raise AssertionError(f"{what}: item {i} is not a pair of integers")
        normalised.append(tuple(pair))
    if normalised[: len(want)] != want[: len(normalised)]:
        first = next(i for i, (a, b) in enumerate(zip(normalised, want)) if a != b)
        raise AssertionError(f"{what}: {item} {first} (0-based) is not the expected one")
    if len(normalised) != len(want):
        raise AssertionError(f"{what} returned {len(normalised)} {item}s, expected {len(want)}")


def check_float(got: Any, want: float, what: str, rel: float = 1e-9, abs_: float = 1e-12) -> None:
    """``got`` is a float (or int) close to ``want``; infinities must match exactly."""
    if type(got) is not float and type(got) is not int:
        raise AssertionError(f"{what} returned a {type(got).__name__}, expected a float")
    if math.isinf(want) or math.isinf(got):
        if got != want:
            raise AssertionError(f"{what} is {'infinite' if math.isinf(got) else 'finite'}, but should not be")
        return
    if not math.isclose(got, want, rel_tol=rel, abs_tol=abs_):
        raise AssertionError(f"{what} is wrong (relative error {abs(got - want) / max(abs(want), 1e-300):.2g})")


def check_finite(actual: Any, what: str) -> float:
    """``actual`` is a plain, finite number (int or float; not bool, NaN or inf); returns it as a float.
    Use it before any arithmetic comparison: ``abs(x - 1) > tol`` is False for NaN, so NaN would pass."""
    if type(actual) not in (int, float):
        raise AssertionError(f"{what} returned a {type(actual).__name__}, expected a number")
    if not math.isfinite(actual):
        raise AssertionError(f"{what} returned {actual!r}, expected a finite number")
    return float(actual)


def check_probabilities(values: Iterable[Any], what: str, *, tol: float = 1e-9) -> list[float]:
    """Each value is a probability (a finite number in [0, 1]) and together they sum to 1 within ``tol``.
    Pass the values over the *oracle's* support (e.g. its vocabulary), never a set the student chose."""
    probs = [check_finite(p, f"{what}[{i}]") for i, p in enumerate(values)]
    outside = sum(not 0.0 <= p <= 1.0 for p in probs)
    if outside:
        raise AssertionError(f"{what}: {outside} of {len(probs)} values are not probabilities (outside [0, 1])")
    total = math.fsum(probs)
    if not abs(total - 1.0) <= tol:
        raise AssertionError(f"{what}: the probabilities sum to {total:.6g}, not 1")
    return probs


def check_list_of(actual: Any, kind: type | tuple[type, ...], what: str) -> list:
    """``actual`` is a plain list whose items are all of exactly ``kind`` (e.g. ``str``, or ``(int, float)``);
    returns it. Use it before hashing, sorting or indexing a student's list."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if type(actual) is not list:
        raise AssertionError(f"{what} returned a {type(actual).__name__}, expected a list")
    for i, item in enumerate(actual):
        if type(item) not in kinds:
            names = " or ".join(k.__name__ for k in kinds)
            raise AssertionError(f"{what}: item {i} is a {type(item).__name__}, expected a {names}")
    return actual


def chi_square_p_value(observed: list[int], expected: np.ndarray) -> float:
    """Upper tail of Pearson's chi-square (Wilson-Hilferty approximation) of observed counts against expected
    counts. Cells expected fewer than 5 times are pooled into one, so that one rare outcome sampled a few times
    cannot fail a correct submission."""
    observed, expected = np.asarray(observed, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    rare = expected < 5
    if rare.any():
        observed = np.append(observed[~rare], observed[rare].sum())
        expected = np.append(expected[~rare], expected[rare].sum())
    statistic = float(((observed - expected) ** 2 / np.maximum(expected, 1e-12)).sum())
    df = len(expected) - 1
    if df < 1:
        return 1.0
    z = ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 1 - NormalDist().cdf(z)
