"""Hidden tests for A3 part 4: scaled dot-product attention, masks, heads, multi-head and cross-attention.
Oracles: course_lib.nn (scaled_dot_product_attention, causal_mask, MultiHeadAttention with the same weights),
float64. d_model = 12 with 3 heads (so sqrt(d_model) != sqrt(d_head)), T_q = 5, T_k = 7, widths 4 and 6.

Test: the clause it checks
- test_scaled_attention_matches_reference: softmax(q kᵀ/√d) v over the keys, weights returned, any batch dims
- test_scaled_attention_with_boolean_mask: boolean mask, True = may attend, broadcasting
- test_scaled_attention_mask_with_large_scores: masked scores are −inf, before the softmax (huge scores do not leak)
- test_scaled_attention_causal_mask: causal_mask(T): lower triangle with the diagonal
- (B, h, T, d_h), head i = features i·d_h …          -> test_heads_split_matches_reference: split_heads (B, T, D)
- test_heads_merge_matches_reference, test_heads_round_trip: merge_heads is its inverse
- test_multi_head_self_attention_matches_reference: multi-head self-attention, output and per-head weights
- test_multi_head_cross_attention_with_key_padding: cross-attention: keys/values from context (other width), key padding
- test_multi_head_causal_and_padding_properties: causal: later tokens never change earlier outputs; padded keys ignored
- test_multi_head_permutation_equivariant: without positions, self-attention is permutation-equivariant
"""

import pytest
import torch
from a3_inputs import (
    attention_params,
    check_close,
    check_pair,
    padding_keep,
    randn,
    random_bool_mask,
    reference_attention,
)

from course_lib.nn import causal_mask, scaled_dot_product_attention

D, N_HEADS, B, T_Q, T_K = 12, 3, 2, 5, 7


def _check_attention(student, q, k, v, mask, what):
    want_out, want_weights = scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
    out, weights = check_pair(student.scaled_attention(q, k, v, mask), what)
    check_close(weights, want_weights, f"{what} weights")
    check_close(out, want_out, f"{what} output")


@pytest.mark.points(2)
def test_scaled_attention_matches_reference(student, rng):
    """scaled_attention on q (2, 3, 5, 4), k (2, 3, 7, 4), v (2, 3, 7, 6), no mask; and with 3 batch dims."""
    q, k, v = randn(rng, 2, 3, T_Q, 4), randn(rng, 2, 3, T_K, 4), randn(rng, 2, 3, T_K, 6)
    _check_attention(student, q, k, v, None, "scaled_attention(q, k, v)")
    _check_attention(student, q[0], k[0], v[0], None, "scaled_attention on (3, T, d) inputs")


@pytest.mark.points(2)
def test_scaled_attention_with_boolean_mask(student, rng):
    """scaled_attention with a random (2, 3, 5, 7) mask and with a (2, 1, 1, 7) mask that broadcasts."""
    q, k, v = randn(rng, 2, 3, T_Q, 4), randn(rng, 2, 3, T_K, 4), randn(rng, 2, 3, T_K, 6)
    _check_attention(student, q, k, v, random_bool_mask(rng, 2, 3, T_Q, T_K), "scaled_attention with a mask")
    _check_attention(student, q, k, v, random_bool_mask(rng, 2, 1, 1, T_K), "scaled_attention with a broadcast mask")


@pytest.mark.points(2)
def test_scaled_attention_mask_with_large_scores(student, rng):
    """scaled_attention where the allowed keys score about -2e4 and the masked ones +2e4: masked keys still get 0."""
    u = randn(rng, 4)
    u = 2 * u / u.norm()  # |u|² = 4 = d, so q·k/√d ≈ ±1e4 · 2 · c
    keep = random_bool_mask(rng, 2, T_K)  # (B, T_k): the keys every query may see
    c = 1 + torch.rand(2, T_K, generator=rng, dtype=torch.float64)
    k = (torch.where(keep, -c, c))[..., None] * u + 0.01 * randn(rng, 2, T_K, 4)
    q = 1e4 * u + randn(rng, 2, T_Q, 4)
    _check_attention(student, q, k, randn(rng, 2, T_K, 6), keep[:, None, :], "scaled_attention with large scores")


@pytest.mark.points(2)
def test_scaled_attention_causal_mask(student, rng):
    """causal_mask(T) for T = 1, 4, 6, and scaled_attention with it."""
    for T in (1, 4, 6):
        check_close(student.causal_mask(T), causal_mask(T), f"causal_mask({T})")
    q, k, v = randn(rng, 2, 6, 4), randn(rng, 2, 6, 4), randn(rng, 2, 6, 3)
    _check_attention(student, q, k, v, causal_mask(6), "scaled_attention with causal_mask(6)")


def _split(x, h):  # the definition: head i holds features i*d_h ... (i+1)*d_h - 1
    B, T, D = x.shape
    return torch.stack([x[..., i * (D // h) : (i + 1) * (D // h)] for i in range(h)], dim=1)


@pytest.mark.points(3)
def test_heads_split_matches_reference(student, rng):
    """split_heads on (2, 5, 12) with 3 heads and 4 heads, and on (3, 7, 6) with 2 heads."""
    for shape, h in (((B, T_Q, D), 3), ((B, T_Q, D), 4), ((3, T_K, 6), 2)):
        x = randn(rng, *shape)
        check_close(student.split_heads(x, h), _split(x, h), f"split_heads(x of shape {shape}, {h})")


@pytest.mark.points(2)
def test_heads_merge_matches_reference(student, rng):
    """merge_heads on (2, 3, 5, 4) and (3, 2, 7, 3) tensors."""
    for shape in ((B, 3, T_Q, 4), (3, 2, T_K, 3)):
        x = randn(rng, *shape)
        want = torch.cat(list(x.unbind(dim=1)), dim=-1)  # heads side by side along the features
        check_close(student.merge_heads(x), want, f"merge_heads(x of shape {shape})")


@pytest.mark.points(2)
def test_heads_round_trip(student, rng):
    """merge_heads(split_heads(x, h)) == x for (2, 5, 12) with h = 3 and h = 6."""
    for h in (3, 6):
        x = randn(rng, B, T_Q, D)
        split = student.split_heads(x, h)
        check_close(student.merge_heads(split), x, f"merge_heads(split_heads(x, {h}))")


def _reference_mha(params, x, context, key_keep, causal):
    mha = reference_attention(params, N_HEADS)
    mask = None if key_keep is None else key_keep[:, None, None, :]
    with torch.no_grad():
        out = mha(x, context, mask=mask, is_causal=causal)
    return out, mha.attn_weights


def _check_mha(student, params, x, context, what, key_keep=None, causal=False):
    want_out, want_weights = _reference_mha(params, x, context, key_keep, causal)
    out, weights = check_pair(
        student.multi_head_attention(x, context, params, N_HEADS, key_keep=key_keep, causal=causal), what
    )
    check_close(weights, want_weights, f"{what} weights")
    check_close(out, want_out, f"{what} output")
    return out


@pytest.mark.points(3)
def test_multi_head_self_attention_matches_reference(student, rng):
    """multi_head_attention(x, None, ...) with d_model 12, 3 heads: plain, causal, and with key padding."""
    params, x = attention_params(rng, D), randn(rng, B, T_K, D)
    _check_mha(student, params, x, None, "self-attention")
    _check_mha(student, params, x, None, "causal self-attention", causal=True)
    keep = padding_keep(rng, B, T_K)
    _check_mha(student, params, x, None, "causal self-attention with padding", key_keep=keep, causal=True)


@pytest.mark.points(3)
def test_multi_head_cross_attention_with_key_padding(student, rng):
    """multi_head_attention(x, context, ...): 5 queries of width 12 attend to 7 padded keys of width 8."""
    params = attention_params(rng, D, 8)
    x, context, keep = randn(rng, B, T_Q, D), randn(rng, B, T_K, 8), padding_keep(rng, B, T_K)
    _check_mha(student, params, x, context, "cross-attention")
    _check_mha(student, params, x, context, "cross-attention with key padding", key_keep=keep)


@pytest.mark.points(2)
def test_multi_head_causal_and_padding_properties(student, rng):
    """Causal self-attention: changing tokens from position 4 on leaves positions 0-3 unchanged; changing padded
    keys leaves the real positions' outputs unchanged."""
    params, x = attention_params(rng, D), randn(rng, B, T_K, D)
    out, _ = check_pair(student.multi_head_attention(x, None, params, N_HEADS, causal=True), "multi_head_attention")
    changed = x.clone()
    changed[:, 4:] += randn(rng, B, T_K - 4, D)
    again, _ = check_pair(student.multi_head_attention(changed, None, params, N_HEADS, causal=True), "causal")
    check_close(again[:, :4], out[:, :4].detach(), "causal self-attention outputs before the changed tokens")
    keep = padding_keep(rng, B, T_K, min_len=2)
    out, _ = check_pair(student.multi_head_attention(x, None, params, N_HEADS, key_keep=keep), "padding")
    changed = torch.where(keep[..., None], x, randn(rng, B, T_K, D))
    again, _ = check_pair(student.multi_head_attention(changed, None, params, N_HEADS, key_keep=keep), "padding")
    check_close(again[keep], out[keep].detach(), "self-attention outputs at real tokens after changing padding")


@pytest.mark.points(2)
def test_multi_head_permutation_equivariant(student, rng):
    """Self-attention without mask or positions: permuting the tokens permutes the outputs the same way."""
    params, x = attention_params(rng, D), randn(rng, B, T_K, D)
    perm = torch.randperm(T_K, generator=rng)
    out, _ = check_pair(student.multi_head_attention(x, None, params, N_HEADS), "multi_head_attention")
    permuted, _ = check_pair(student.multi_head_attention(x[:, perm], None, params, N_HEADS), "multi_head_attention")
    check_close(permuted, out[:, perm].detach(), "self-attention on permuted tokens")
