"""Perplexity and bits per byte: two views of the same summed negative log-likelihood.

A model that assigns the held-out text a total log-probability ``log p`` (natural log) over ``n_tokens`` tokens
and ``n_bytes`` UTF-8 bytes has

    perplexity    = exp(-log p / n_tokens)          (depends on the tokenizer)
    bits per byte = -log p / (n_bytes · ln 2)       (comparable across tokenizers)
"""

from __future__ import annotations

import math


def _check(total_nll: float, count: int, what: str) -> None:
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"{what} must be a positive int, got {count!r}")
    if total_nll < 0 or math.isnan(total_nll):
        raise ValueError(f"the summed negative log-likelihood must be >= 0 (nats), got {total_nll}")


def perplexity(total_nll: float, n_tokens: int) -> float:
    """``exp(total_nll / n_tokens)``: the effective number of equally likely choices per token.

    ``total_nll`` is the summed negative log-likelihood in nats (e.g. the mean cross-entropy times the count).
    """
    _check(total_nll, n_tokens, "n_tokens")
    return math.exp(total_nll / n_tokens)


def bits_per_byte(total_nll: float, n_bytes: int) -> float:
    """``total_nll / (n_bytes · ln 2)``: bits needed per byte of text, independent of the tokenizer."""
    _check(total_nll, n_bytes, "n_bytes")
    return total_nll / (n_bytes * math.log(2))
