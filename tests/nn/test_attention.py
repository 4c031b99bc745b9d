"""Attention against PyTorch's own implementations, float64 gradcheck, and its properties."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.nn.attention import (
    KVCache,
    MultiHeadAttention,
    attention_mask,
    causal_mask,
    scaled_dot_product_attention,
)


def _qkv(B=2, H=3, T_q=5, T_k=7, d=8, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(B, H, T, d, generator=g, dtype=dtype) for T in (T_q, T_k, T_k))


def _random_bool_mask(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(shape, generator=g) > 0.4
    mask[..., 0] = True  # every query may attend to something
    return mask


def test_causal_mask_is_lower_triangular_and_bottom_right_aligned():
    assert torch.equal(causal_mask(4), torch.tril(torch.ones(4, 4, dtype=torch.bool)))
    # two new queries after three cached keys sit at positions 3 and 4
    expected = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(causal_mask(2, 5), expected)
    with pytest.raises(ValueError, match="at least as many keys"):
        causal_mask(5, 2)


@pytest.mark.parametrize("case", ["plain", "causal", "bool_mask", "float_mask", "broadcast_mask", "empty_rows"])
def test_matches_torch_sdpa(case):
    T_k = 5 if case == "causal" else 7
    q, k, v = _qkv(T_q=5, T_k=T_k)
    kwargs = {}
    if case == "causal":
        kwargs["is_causal"] = True
    elif case == "bool_mask":
        kwargs["attn_mask"] = _random_bool_mask((2, 3, 5, 7))
    elif case == "float_mask":
        kwargs["attn_mask"] = torch.randn(2, 3, 5, 7)
    elif case == "broadcast_mask":
        kwargs["attn_mask"] = _random_bool_mask((2, 1, 1, 7))
    elif case == "empty_rows":  # some queries may attend to nothing: PyTorch gives them zero output
        kwargs["attn_mask"] = _random_bool_mask((2, 3, 5, 7))
        kwargs["attn_mask"][:, 1, 2] = False
    expected = F.scaled_dot_product_attention(q, k, v, **kwargs)
    mask = kwargs.pop("attn_mask", None)
    got = scaled_dot_product_attention(q, k, v, mask=mask, **kwargs)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_weights_are_a_distribution_that_respects_the_mask():
    q, k, v = _qkv()
    mask = _random_bool_mask((2, 3, 5, 7))
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
    assert weights.shape == (2, 3, 5, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    assert torch.all(weights[~mask] == 0)
    torch.testing.assert_close(out, weights @ v)


def test_a_query_with_nothing_to_attend_to_gets_zeros_and_finite_gradients():
    q, k, v = (t.requires_grad_() for t in _qkv(B=1, H=1, T_q=3, T_k=3))
    mask = torch.tensor([[False, False, False], [True, True, False], [True, True, True]])
    out = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=True)
    assert torch.all(out[..., 0, :] == 0)
    out.sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (q, k, v))


def test_is_causal_with_unequal_lengths_is_refused():
    q, k, v = _qkv(T_q=2, T_k=5)
    with pytest.raises(ValueError, match="causal_mask"):
        scaled_dot_product_attention(q, k, v, is_causal=True)


def test_gradcheck_float64():
    q, k, v = (t.requires_grad_() for t in _qkv(B=1, H=2, T_q=3, T_k=4, d=5, dtype=torch.float64))
    mask = _random_bool_mask((1, 2, 3, 4))
    assert torch.autograd.gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, mask=mask), (q, k, v))
    assert torch.autograd.gradcheck(
        lambda q, k, v: scaled_dot_product_attention(q, k[..., :3, :], v[..., :3, :], is_causal=True),
        (q, k, v),
    )


def test_multihead_attention_gradcheck_float64():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2).double()
    x = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: mha(x, is_causal=True), (x,))


def _copy_into_torch(mine: MultiHeadAttention, theirs: torch.nn.MultiheadAttention) -> None:
    with torch.no_grad():
        if theirs.in_proj_weight is not None:  # same q/k/v width: one stacked matrix
            theirs.in_proj_weight.copy_(torch.cat([mine.q_proj.weight, mine.k_proj.weight, mine.v_proj.weight]))
        else:
            theirs.q_proj_weight.copy_(mine.q_proj.weight)
            theirs.k_proj_weight.copy_(mine.k_proj.weight)
            theirs.v_proj_weight.copy_(mine.v_proj.weight)
        theirs.in_proj_bias.copy_(torch.cat([mine.q_proj.bias, mine.k_proj.bias, mine.v_proj.bias]))
        theirs.out_proj.weight.copy_(mine.out_proj.weight)
        theirs.out_proj.bias.copy_(mine.out_proj.bias)


@pytest.mark.parametrize("impl", ["math", "fast"])
def test_self_attention_matches_torch_multihead_attention(impl):
    torch.manual_seed(0)
    mine = MultiHeadAttention(16, 4, impl=impl)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    _copy_into_torch(mine, theirs)
    x = torch.randn(3, 6, 16)
    mask = causal_mask(6)
    # torch.nn.MultiheadAttention's boolean masks mean the opposite: True = may NOT attend
    expected, expected_weights = theirs(x, x, x, attn_mask=~mask, average_attn_weights=False)
    torch.testing.assert_close(mine(x, is_causal=True), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mine(x, mask=mask), expected, rtol=1e-5, atol=1e-6)
    mine.record_weights = True
    mine(x, is_causal=True)
    torch.testing.assert_close(mine.attn_weights, expected_weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["math", "fast"])
def test_cross_attention_with_padding_matches_torch(impl):
    torch.manual_seed(1)
    mine = MultiHeadAttention(16, 2, kdim=10, vdim=10, impl=impl)
    theirs = torch.nn.MultiheadAttention(16, 2, kdim=10, vdim=10, batch_first=True)
    _copy_into_torch(mine, theirs)
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 10)
    keep = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])  # second memory is padding after 4 tokens
    expected, expected_weights = theirs(x, memory, memory, key_padding_mask=~keep, average_attn_weights=False)
    torch.testing.assert_close(mine(x, memory, mask=keep[:, None, None, :]), expected, rtol=1e-5, atol=1e-6)
    mine.record_weights = True
    mine(x, memory, mask=keep[:, None, None, :])
    torch.testing.assert_close(mine.attn_weights, expected_weights, rtol=1e-5, atol=1e-6)


def test_math_and_fast_paths_agree_with_masks_and_cache():
    torch.manual_seed(2)
    mha = MultiHeadAttention(24, 3)
    x = torch.randn(2, 9, 24)
    padding = _random_bool_mask((2, 1, 1, 9))
    outs = {}
    for impl in ("math", "fast"):
        mha.impl = impl
        outs[impl] = (mha(x, is_causal=True), mha(x, mask=padding), mha(x, mask=padding, is_causal=True))
    for got, expected in zip(outs["fast"], outs["math"], strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["math", "fast"])
@pytest.mark.parametrize("chunks", [[9], [1] * 9, [4, 1, 3, 1]])
def test_kv_cache_equals_full_causal_attention(impl, chunks):
    torch.manual_seed(3)
    mha = MultiHeadAttention(16, 4, impl=impl)
    x = torch.randn(2, 9, 16)
    full = mha(x, is_causal=True)
    cache = KVCache(max_len=16)
    pieces, start = [], 0
    for n in chunks:
        pieces.append(mha(x[:, start : start + n], is_causal=True, cache=cache))
        start += n
    assert len(cache) == 9
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["math", "fast"])
def test_kv_cache_keeps_a_padding_mask(impl):
    torch.manual_seed(6)
    mha = MultiHeadAttention(16, 4, impl=impl)
    x = torch.randn(2, 6, 16)
    keep = torch.tensor([[True] * 6, [False, True, True, False, True, True]])  # e.g. left padding
    full = mha(x, mask=keep[:, None, None, :], is_causal=True)
    cache = KVCache(max_len=6)
    pieces = [mha(x[:, :3], mask=keep[:, None, None, :3], is_causal=True, cache=cache)]
    for t in range(3, 6):
        pieces.append(mha(x[:, t : t + 1], mask=keep[:, None, None, : t + 1], is_causal=True, cache=cache))
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-5, atol=1e-6)


def test_kv_cache_refuses_to_overflow_and_reorders_rows():
    cache = KVCache(max_len=3)
    k = torch.arange(2 * 1 * 2 * 1, dtype=torch.float32).view(2, 1, 2, 1)
    cache.append(k, k)
    with pytest.raises(ValueError, match="at most 3"):
        cache.append(k, k)
    cache.reorder(torch.tensor([1, 1]))
    assert torch.equal(cache.k[:, :, :2], k[[1, 1]])


def test_self_attention_without_positions_is_permutation_equivariant():
    torch.manual_seed(4)
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(2, 7, 16)
    perm = torch.randperm(7)
    torch.testing.assert_close(mha(x[:, perm]), mha(x)[:, perm], rtol=1e-5, atol=1e-6)


def test_attention_dropout_only_in_training():
    torch.manual_seed(5)
    mha = MultiHeadAttention(16, 4, dropout=0.5)
    x = torch.randn(2, 5, 16)
    mha.eval()
    reference = mha(x)
    torch.testing.assert_close(mha(x), reference)
    mha.train()
    assert not torch.allclose(mha(x), reference)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    mha = MultiHeadAttention(8, 2, impl="flash")
    with pytest.raises(ValueError, match="impl"):
        mha(torch.randn(1, 2, 8))


def test_attention_mask_combines_padding_and_causality_once():
    keep = torch.tensor([[True, True, False, True, True]])[:, None, None, :]  # (1, 1, 1, T_k)
    assert attention_mask(3, 5, keep) is keep  # no causality: the mask as it is
    assert attention_mask(3, 5) is None
    combined = attention_mask(3, 5, keep, is_causal=True)
    torch.testing.assert_close(combined, keep & causal_mask(3, 5))
    assert combined[0, 0, 0].tolist() == [True, True, False, False, False]  # query 0 sits at position 2
    # one new token after a cache is the newest position: causality removes nothing
    assert attention_mask(1, 5, keep, is_causal=True) is keep
    assert attention_mask(1, 5, None, is_causal=True) is None
