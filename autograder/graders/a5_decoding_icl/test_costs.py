"""Hidden tests for A5 part 6: cost counters. Oracles: the formulas written out in float64/ints, NumPy least
squares for the slope.

Clause -> test:
- attention_flops: 2 T² d for QKᵀ plus 2 T² d for the weighted sum, per layer, an int -> test_costs_attention_flops
- kv_cache_bytes: a key and a value of d_model numbers per layer, token and sequence, an int; bytes_per_number
  defaults to 2 and is honoured -> test_costs_cache_memory
- loglog_slope: least-squares slope of log y on log x -> test_costs_loglog_slope
- the written question (6.3) is graded by hand (its rubric is in the notebook)
"""

import numpy as np
import pytest

from autograder.checks import check_float, check_type


@pytest.mark.points(3)
def test_costs_attention_flops(student, seed):
    """attention_flops = 4 T^2 d per layer (QK^T and the weighted sum, 2 FLOPs per multiply-add), as an int."""
    rng = np.random.default_rng(seed)
    for _ in range(5):
        T, d, n_layers = (int(x) for x in (rng.integers(1, 5000), rng.integers(1, 8192), rng.integers(1, 96)))
        got = student.attention_flops(T, d, n_layers)
        check_type(got, int, "attention_flops")
        if got != 2 * (T * d * T) * 2 * n_layers:
            raise AssertionError(f"attention_flops(seq_len={T}, d_model={d}, n_layers={n_layers}) is wrong")


@pytest.mark.points(3)
def test_costs_cache_memory(student, seed):
    """kv_cache_bytes: a key and a value of d_model numbers per layer, token and sequence (default 2 bytes)."""
    rng = np.random.default_rng(seed)
    for _ in range(5):
        L, d, T, B = (
            int(x) for x in (rng.integers(1, 96), rng.integers(1, 8192), rng.integers(0, 32768), rng.integers(1, 64))
        )
        got = student.kv_cache_bytes(L, d, T, B)
        check_type(got, int, "kv_cache_bytes")
        if got != (L * d * 2) * T * B * 2:
            raise AssertionError(f"kv_cache_bytes({L}, {d}, {T}, {B}) is wrong")
        if student.kv_cache_bytes(L, d, T, B, 4) != (L * d * 2) * T * B * 4:
            raise AssertionError("kv_cache_bytes with bytes_per_number=4 is wrong")


@pytest.mark.points(3)
def test_costs_loglog_slope(student, seed):
    """loglog_slope equals the least-squares slope of log y on log x (exact power laws and noisy timings)."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(16, 4096, 9)
    for exponent, noise in ((1.0, 0.0), (2.0, 0.0), (float(rng.uniform(0.2, 2.5)), 0.2)):
        y = 1e-4 * x**exponent * np.exp(rng.normal(0, noise, x.shape))
        want = float(np.polyfit(np.log(x), np.log(y), 1)[0])
        check_float(student.loglog_slope(x, y), want, f"loglog_slope (exponent {exponent:.2f})", rel=1e-7)
