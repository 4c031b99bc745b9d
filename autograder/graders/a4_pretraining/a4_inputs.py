"""Inputs drawn at grading time and shared helpers for the A4 graders (trusted side only)."""

from __future__ import annotations

import math

import torch

from autograder.checks import check_tensor

IGNORE_INDEX = -100


def within_5_sigma(count: int, n: int, p: float) -> bool:
    """A binomial count within 5 standard deviations of its mean (a false alarm about once in 1.7 million)."""
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1e-9


def check_rate(count: int, n: int, p: float, what: str) -> None:
    if not within_5_sigma(count, n, p):
        raise AssertionError(f"{what}: observed {count / n:.3f} over {n} draws, more than 5 sigma from the rule")


def check_exact(got, want: torch.Tensor, what: str) -> torch.Tensor:
    """An integer or boolean tensor equal to ``want`` (shape and dtype named, values not)."""
    check_tensor(got, what, shape=tuple(want.shape), dtype=want.dtype)
    wrong = got != want
    if wrong.any():
        raise AssertionError(f"{what} is wrong in {int(wrong.sum())} of {want.numel()} entries")
    return got


def random_bert_weights(g: torch.Generator, d: int, d_ff: int, n_layers: int, vocab: int, max_len: int):
    """A random BERT state dict with Hugging Face's names, float64, scaled so activations stay O(1)."""

    def r(*shape, scale=0.3):
        return scale * torch.randn(*shape, generator=g, dtype=torch.float64)

    w = {
        "embeddings.word_embeddings.weight": r(vocab, d, scale=1.0),
        "embeddings.position_embeddings.weight": r(max_len, d),
        "embeddings.token_type_embeddings.weight": r(2, d),
        "embeddings.LayerNorm.weight": 1 + r(d),
        "embeddings.LayerNorm.bias": r(d),
    }
    shapes = {
        "attention.self.query": (d, d),
        "attention.self.key": (d, d),
        "attention.self.value": (d, d),
        "attention.output.dense": (d, d),
        "intermediate.dense": (d_ff, d),
        "output.dense": (d, d_ff),
    }
    for i in range(n_layers):
        p = f"encoder.layer.{i}"
        for name, (out, inp) in shapes.items():
            w[f"{p}.{name}.weight"] = r(out, inp, scale=1 / math.sqrt(inp))
            w[f"{p}.{name}.bias"] = r(out, scale=0.1)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{name}.weight"], w[f"{p}.{name}.bias"] = 1 + r(d), r(d)
    return w


def reference_bert(weights: dict, n_heads: int):
    """course_lib's BERT (the oracle) in float64 holding ``weights`` (a random pooler: it is not compared)."""
    from course_lib.models.bert import BertConfig, BertModel

    d = weights["embeddings.word_embeddings.weight"].shape[1]
    config = BertConfig(
        vocab_size=weights["embeddings.word_embeddings.weight"].shape[0],
        d_model=d,
        n_layers=len({k.split(".")[2] for k in weights if k.startswith("encoder.layer.")}),
        n_heads=n_heads,
        d_ff=weights["encoder.layer.0.intermediate.dense.weight"].shape[0],
        max_len=weights["embeddings.position_embeddings.weight"].shape[0],
        dropout=0.0,
        attention_dropout=0.0,
    )
    model = BertModel(config).double().eval()
    state = dict(model.state_dict())
    state.update(weights)
    model.load_state_dict(state)
    return model


def padded_batch(g: torch.Generator, B: int, T: int, vocab: int, low: int = 0):
    """ids ``(B, T)`` with rows of random lengths (the first full), right-padded with 0; mask; random types."""
    ids = torch.randint(max(low, 1), vocab, (B, T), generator=g)
    lengths = torch.randint(2, T + 1, (B,), generator=g)
    lengths[0] = T
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    ids = ids * mask
    split = torch.randint(1, T, (B,), generator=g)
    types = ((torch.arange(T)[None, :] >= split[:, None]) & mask.bool()).long()
    return ids, mask, types
