"""Shared by the A3 graders: random weights in the layouts the notebook documents, copied into the course_lib
modules that serve as oracles, and the checks' common shapes.

Shapes are chosen so that mistakes show: batch, source length, target length and widths all differ
(``T_q != T_k != d``), weight matrices are not square, the Transformer has ``d_model = 12`` with 3 heads
(``sqrt(d_model) != sqrt(d_head)``), and inputs are float64 unless a test checks float32.
"""

from __future__ import annotations

import math

import torch

from autograder.checks import check_close, check_tensor
from course_lib.models.seq2seq import AdditiveScore, AttentionDecoder
from course_lib.nn import MultiHeadAttention, TransformerBlock

F64 = torch.float64

__all__ = ["F64", "check_close", "check_tensor"]


def randn(rng: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=rng, dtype=F64) * scale


def padding_keep(rng: torch.Generator, B: int, S: int, min_len: int = 1) -> torch.Tensor:
    """``(B, S)`` bool: True at the first ``n_b`` positions, ``min_len <= n_b <= S``, at least one row padded."""
    lengths = torch.randint(min_len, S + 1, (B,), generator=rng)
    lengths[0] = S
    lengths[-1] = max(min_len, S // 2)
    return torch.arange(S)[None, :] < lengths[:, None]


def random_bool_mask(rng: torch.Generator, *shape: int) -> torch.Tensor:
    """A random boolean mask whose last axis always has a True (every query may attend to something)."""
    mask = torch.rand(*shape, generator=rng) > 0.4
    first = torch.randint(0, shape[-1], shape[:-1], generator=rng)
    return mask.scatter(-1, first.unsqueeze(-1), True)


# ------------------------------------------------------------------------------------- RNN decoders


def bahdanau_params(rng, V, E, H, D, A) -> dict[str, torch.Tensor]:
    shapes = {"embedding": (V, E), "W_ih": (3 * H, E + D), "W_hh": (3 * H, H), "b_ih": (3 * H,), "b_hh": (3 * H,),
              "W1": (A, D), "W2": (A, H), "v": (A,), "W_out": (V, H + D), "b_out": (V,)}  # fmt: skip
    return {name: randn(rng, *shape, scale=0.6) for name, shape in shapes.items()}


def luong_params(rng, V, E, H, D) -> dict[str, torch.Tensor]:
    shapes = {"embedding": (V, E), "W_ih": (3 * H, E), "W_hh": (3 * H, H), "b_ih": (3 * H,), "b_hh": (3 * H,),
              "W": (D, H), "W_c": (H, D + H), "W_out": (V, H), "b_out": (V,)}  # fmt: skip
    return {name: randn(rng, *shape, scale=0.6) for name, shape in shapes.items()}


@torch.no_grad()
def reference_decoder(params: dict[str, torch.Tensor], style: str) -> AttentionDecoder:
    """course_lib's AttentionDecoder (float64) holding ``params``."""
    V, E = params["embedding"].shape
    H = params["W_hh"].size(1)
    if style == "bahdanau":
        D = params["W1"].size(1)
        decoder = AttentionDecoder(V, E, H, D, score="additive", style="bahdanau").double()
        decoder.score = AdditiveScore(H, D, params["W1"].size(0)).double()
        decoder.score.W1.weight.copy_(params["W1"])
        decoder.score.W2.weight.copy_(params["W2"])
        decoder.score.v.weight.copy_(params["v"][None])
    else:
        D = params["W"].size(0)
        decoder = AttentionDecoder(V, E, H, D, score="general", style="luong").double()
        decoder.score.W.weight.copy_(params["W"])
        decoder.W_c.weight.copy_(params["W_c"])
    decoder.embedding.weight.copy_(params["embedding"])
    decoder.cell.weight_ih.copy_(params["W_ih"])
    decoder.cell.weight_hh.copy_(params["W_hh"])
    decoder.cell.bias_ih.copy_(params["b_ih"])
    decoder.cell.bias_hh.copy_(params["b_hh"])
    decoder.out.weight.copy_(params["W_out"])
    decoder.out.bias.copy_(params["b_out"])
    return decoder


# ------------------------------------------------------------------------------------- Transformer


def attention_params(rng, D: int, D_ctx: int | None = None) -> dict[str, torch.Tensor]:
    D_ctx = D_ctx or D
    shapes = {"W_q": (D, D), "b_q": (D,), "W_k": (D, D_ctx), "b_k": (D,), "W_v": (D, D_ctx), "b_v": (D,),
              "W_o": (D, D), "b_o": (D,)}  # fmt: skip
    return {name: randn(rng, *shape, scale=1 / math.sqrt(shape[-1])) for name, shape in shapes.items()}


@torch.no_grad()
def reference_attention(params: dict[str, torch.Tensor], n_heads: int) -> MultiHeadAttention:
    D, D_ctx = params["W_k"].shape
    mha = MultiHeadAttention(D, n_heads, kdim=D_ctx, vdim=D_ctx).double().eval()
    for name, layer in (("q", mha.q_proj), ("k", mha.k_proj), ("v", mha.v_proj), ("o", mha.out_proj)):
        layer.weight.copy_(params[f"W_{name}"])
        layer.bias.copy_(params[f"b_{name}"])
    mha.record_weights = True
    return mha


def block_params(rng, D: int, d_ff: int, cross: bool) -> dict:
    params = {
        "ln1_w": 1 + randn(rng, D, scale=0.3), "ln1_b": randn(rng, D, scale=0.3), "attn": attention_params(rng, D),
        "ln2_w": 1 + randn(rng, D, scale=0.3), "ln2_b": randn(rng, D, scale=0.3),
        "W_1": randn(rng, d_ff, D, scale=D**-0.5), "b_1": randn(rng, d_ff, scale=0.3),
        "W_2": randn(rng, D, d_ff, scale=d_ff**-0.5), "b_2": randn(rng, D, scale=0.3),
    }  # fmt: skip
    if cross:
        params |= {"ln_cross_w": 1 + randn(rng, D, scale=0.3), "ln_cross_b": randn(rng, D, scale=0.3),
                   "cross": attention_params(rng, D)}  # fmt: skip
    return params


@torch.no_grad()
def reference_block(params: dict, n_heads: int) -> TransformerBlock:
    D, d_ff = params["W_1"].size(1), params["W_1"].size(0)
    cross = "cross" in params
    block = TransformerBlock(D, n_heads, d_ff, norm_first=True, cross_attention=cross, activation="relu")
    block = block.double().eval()
    for norm, prefix in ((block.norm1, "ln1"), (block.norm2, "ln2"), (block.norm_cross, "ln_cross")):
        if norm is not None:
            norm.weight.copy_(params[f"{prefix}_w"])
            norm.bias.copy_(params[f"{prefix}_b"])
    for mine, key in ((block.attn, "attn"), (block.cross_attn, "cross")):
        if mine is not None:
            mine.load_state_dict(reference_attention(params[key], n_heads).state_dict())
    block.ffn.up_proj.weight.copy_(params["W_1"])
    block.ffn.up_proj.bias.copy_(params["b_1"])
    block.ffn.down_proj.weight.copy_(params["W_2"])
    block.ffn.down_proj.bias.copy_(params["b_2"])
    return block


def check_pair(got, what: str) -> tuple:
    """A reply that must be a 2-tuple (or list) of values."""
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError(f"{what} must return a pair (output, weights), got {type(got).__name__}")
    return tuple(got)


def check_triple(got, what: str) -> tuple:
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise AssertionError(f"{what} must return (logits, state, weights), got {type(got).__name__}")
    return tuple(got)
