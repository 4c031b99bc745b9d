"""Perplexity and bits per byte against their definitions, computed from a real cross-entropy."""

import math

import pytest
import torch

from course_lib.evaluation import bits_per_byte, perplexity


def test_perplexity_and_bits_per_byte_of_a_uniform_model():
    # a uniform model over 50 tokens: every token costs ln 50 nats, so perplexity is 50
    logits = torch.zeros(7, 50, dtype=torch.float64)
    targets = torch.randint(0, 50, (7,))
    total_nll = torch.nn.functional.cross_entropy(logits, targets, reduction="sum").item()
    assert perplexity(total_nll, 7) == pytest.approx(50.0, rel=1e-12)
    # 7 tokens of 2 bytes each: log2(50) bits per token, half of it per byte
    assert bits_per_byte(total_nll, 14) == pytest.approx(math.log2(50) / 2, rel=1e-12)


@pytest.mark.parametrize("bad", [(-1.0, 3), (1.0, 0), (float("nan"), 3), (1.0, 2.5)])
def test_bad_counts_are_errors(bad):
    with pytest.raises(ValueError):
        perplexity(*bad)
    with pytest.raises(ValueError):
        bits_per_byte(*bad)
