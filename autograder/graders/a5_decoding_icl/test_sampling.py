"""Hidden tests for A5 part 2: filters, the sampling distribution and independent draws. Oracles:
course_lib.decoding's filters (trusted side), float64 recomputation, chi-square bounds over many draws.

Clause -> test:
- each row filtered independently, shape and dtype kept (float64 inputs; float32 is not checked)
  -> test_sampling_top_k_filter_with_ties, test_sampling_top_p_filter
- top_k_filter: below the k-th largest -> -inf; logits tied with the k-th kept; k > V keeps all
  -> test_sampling_top_k_filter_with_ties
- top_p_filter: smallest most-likely prefix reaching p, the crossing token kept, the top token always kept
  -> test_sampling_top_p_filter
- sampling_probs: temperature first (before softmax), then top-k, then top-p on what top-k left, softmax
  (renormalised over the kept tokens) -> test_sampling_probs_temperature_then_filters
- sample: one draw per row from probs, int64 (B,) -> test_sampling_draws_follow_the_distribution (chi-square)
- sample: each row drawn independently from its own row -> test_sampling_rows_are_drawn_from_their_own_distribution
- sample: reproducible from torch.Generator().manual_seed(seed) -> test_sampling_is_reproducible_from_its_seed
"""

import pytest
import torch

from autograder.checks import check_close, check_tensor, chi_square_p_value
from course_lib.decoding import top_k_filter, top_p_filter


def _logits(g, rows=4, V=11, scale=2.0):
    return torch.randn(rows, V, generator=g, dtype=torch.float64) * scale


def _finite_pattern(got, want, what):
    check_tensor(got, what, shape=tuple(want.shape), dtype=want.dtype)
    if not torch.equal(torch.isfinite(got), torch.isfinite(want)):
        raise AssertionError(f"{what} keeps the wrong set of tokens")
    check_close(got.masked_fill(~torch.isfinite(got), 0.0), want.masked_fill(~torch.isfinite(want), 0.0), what)


@pytest.mark.points(2)
def test_sampling_top_k_filter_with_ties(student, rng):
    """top_k_filter keeps the k largest of each row and every logit tied with the k-th; k above V keeps all."""
    logits = _logits(rng, rows=6)
    logits[:, 3] = logits[:, 5]  # ties inside each row
    logits[0, :] = logits[0, 0]  # a row of equal logits
    for k in (1, 2, 4, 11, 20):
        _finite_pattern(student.top_k_filter(logits, k), top_k_filter(logits, k), f"top_k_filter(k={k})")


@pytest.mark.points(2)
def test_sampling_top_p_filter(student, rng):
    """top_p_filter keeps the smallest most-likely prefix reaching p, the crossing token included, per row."""
    logits = _logits(rng, rows=8)
    for p in (0.05, 0.3, 0.5, 0.9, 0.97):
        _finite_pattern(student.top_p_filter(logits, p), top_p_filter(logits, p), f"top_p_filter(p={p})")


@pytest.mark.points(2)
def test_sampling_probs_temperature_then_filters(student, rng):
    """sampling_probs: temperature first, then top-k, then top-p, renormalised (float64 rows)."""
    logits = _logits(rng, rows=5)
    for temperature, k, p in ((1.0, None, None), (0.5, None, None), (2.5, 6, None), (0.7, None, 0.8), (1.7, 5, 0.6)):
        want = logits / temperature  # float64 throughout (course_lib's own sampler works in float32)
        want = top_k_filter(want, k) if k is not None else want
        want = torch.softmax(top_p_filter(want, p) if p is not None else want, dim=-1)
        got = student.sampling_probs(logits, temperature, k, p)
        check_close(got, want, f"sampling_probs(T={temperature}, top_k={k}, top_p={p})", atol=1e-10)


# Requests stay under ~64 KB: larger messages to the worker are not needed and cost transfer time.
CALLS, ROWS = 20, 1000


@pytest.mark.points(2)
def test_sampling_draws_follow_the_distribution(student, rng, seed):
    """sample on 20 x 1000 rows of one distribution: the counts pass a chi-square test (p > 1e-6)."""
    probs = torch.softmax(_logits(rng, rows=1, V=7), dim=-1).expand(ROWS, 7).contiguous()
    counts = torch.zeros(7, dtype=torch.long)
    for call in range(CALLS):
        draws = check_tensor(student.sample(probs, (seed + call) % 2**31), "sample", shape=(ROWS,), dtype=torch.int64)
        if draws.min() < 0 or draws.max() >= 7:
            raise AssertionError("sample returned token ids outside the vocabulary")
        counts += torch.bincount(draws, minlength=7)
    if chi_square_p_value(counts.tolist(), CALLS * ROWS * probs[0].numpy()) < 1e-6:
        raise AssertionError("sample's draws do not follow the given probabilities (chi-square test)")


@pytest.mark.points(1)
def test_sampling_rows_are_drawn_from_their_own_distribution(student, rng, seed):
    """Rows with different supports: each draw lies in its own row's support, and rows are not copies of one draw."""
    probs = torch.zeros(1200, 6, dtype=torch.float64)
    probs[0::2, :3] = 1 / 3  # even rows: tokens 0-2; odd rows: tokens 3-5
    probs[1::2, 3:] = 1 / 3
    draws = check_tensor(student.sample(probs, seed % 2**31), "sample", shape=(1200,), dtype=torch.int64)
    if (draws[0::2] >= 3).any() or (draws[1::2] < 3).any():
        raise AssertionError("sample drew a token with probability 0 in its row")
    for start in (0, 1):
        counts = torch.bincount(draws[start::2] - 3 * start, minlength=3).tolist()
        if chi_square_p_value(counts, [200.0] * 3) < 1e-6:
            raise AssertionError("sample's rows are not independent draws from their distributions")


@pytest.mark.points(1)
def test_sampling_is_reproducible_from_its_seed(student, rng, seed):
    """The same seed gives the same draws; another seed gives other draws."""
    probs = torch.full((200, 10), 0.1, dtype=torch.float64)
    a = student.sample(probs, seed % 2**31)
    b = student.sample(probs, seed % 2**31)
    c = student.sample(probs, seed % 2**31 + 1)
    check_tensor(a, "sample", shape=(200,), dtype=torch.int64)
    if not torch.equal(a, b):
        raise AssertionError("sample gave different draws for the same seed")
    if torch.equal(a, c):
        raise AssertionError("sample gave identical draws for different seeds")
