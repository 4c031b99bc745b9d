"""Hidden tests for A5 part 1: causal attention over earlier keys, and the KV cache. Oracles: PyTorch's
scaled_dot_product_attention with an explicit mask; a float64 forward pass that recomputes without a cache.

Clause -> test:
- 1.1 softmax(q kᵀ / sqrt(d) + M) v, lower-triangular M when T_q = T_k -> test_kv_cache_attention_without_earlier_keys
- 1.1 T_q < T_k: query i sits at T_k - T_q + i and sees every key up to it (T_q = 1 sees all)
  -> test_kv_cache_attention_with_earlier_keys
- 1.2 forward(params, idx) with no cache: logits (B, T, V) of the model (wte, wpe, residual attention layers,
  logits = x @ wteᵀ) -> test_kv_cache_forward_without_a_cache
- 1.2 the returned cache is a list with one (k, v) per layer -> test_kv_cache_forward_without_a_cache
- 1.2 new keys and values appended before attending; the cache holds every token so far, (B, H, T_cache + T, d)
  -> test_kv_cache_holds_every_layers_keys_and_values
- 1.2 new tokens at positions T_cache ... (position embeddings offset), one-token calls after a prefill of every
  length equal recomputation, logits (B, 1, V) -> test_kv_cache_prefill_then_one_token_at_a_time
- 1.2 several tokens per call after a cache (chunked prefill: offset and the T_q < T_k mask together)
  -> test_kv_cache_chunked_prefill
"""

import pytest
import torch
from a5_inputs import random_params, reference_forward

from autograder.checks import check_close, check_tensor, check_type


def _qkv(g, B, H, T_q, T_k, d):
    q = torch.randn(B, H, T_q, d, generator=g, dtype=torch.float64)
    k, v = (torch.randn(B, H, T_k, d, generator=g, dtype=torch.float64) for _ in range(2))
    return q, k, v


@pytest.mark.points(2)
def test_kv_cache_attention_without_earlier_keys(student, rng):
    """causal_attention with as many queries as keys equals causal self-attention (shapes B, H, T, d all differ)."""
    for B, H, T, d in ((2, 3, 7, 4), (1, 1, 1, 5), (3, 2, 9, 6)):
        q, k, v = _qkv(rng, B, H, T, T, d)
        want = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        check_close(student.causal_attention(q, k, v), want, f"causal_attention with T_q = T_k = {T}", atol=1e-10)


@pytest.mark.points(3)
def test_kv_cache_attention_with_earlier_keys(student, rng):
    """causal_attention with fewer queries than keys: the queries are the last positions (T_q = 1, 2, 5)."""
    for B, H, T_q, T_k, d in ((2, 3, 1, 8, 4), (1, 2, 2, 6, 3), (2, 1, 5, 11, 4)):
        q, k, v = _qkv(rng, B, H, T_q, T_k, d)
        visible = torch.ones(T_q, T_k, dtype=torch.bool).tril(diagonal=T_k - T_q)
        want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=visible)
        check_close(
            student.causal_attention(q, k, v), want, f"causal_attention with T_q = {T_q}, T_k = {T_k}", atol=1e-10
        )


@pytest.mark.points(2)
def test_kv_cache_forward_without_a_cache(student, rng):
    """forward(params, idx) on a random model equals recomputation; the cache it returns has one (k, v) per layer."""
    params = random_params(rng, n_layers=3)
    idx = torch.randint(0, 5, (2, 9), generator=rng)
    out = student.forward(params, idx)
    check_type(out, tuple, "forward")
    logits, cache = out
    check_close(logits, reference_forward(params, idx), "forward(params, idx) logits", atol=1e-9)
    check_type(cache, list, "forward's cache")
    if len(cache) != 3:
        raise AssertionError(f"forward's cache has {len(cache)} entries for a 3-layer model")


@pytest.mark.points(2)
def test_kv_cache_holds_every_layers_keys_and_values(student, rng):
    """The cache returned after two calls holds, per layer, the keys and values of all tokens so far."""
    params = random_params(rng)
    idx = torch.randint(0, 5, (2, 8), generator=rng)
    _, want = reference_forward(params, idx, return_kv=True)
    _, cache = student.forward(params, idx[:, :5])
    _, cache = student.forward(params, idx[:, 5:], cache)
    for layer, ((k, v), (k_want, v_want)) in enumerate(zip(cache, want)):
        check_close(k, k_want, f"layer {layer}: cached keys after 5 + 3 tokens", atol=1e-9)
        check_close(v, v_want, f"layer {layer}: cached values after 5 + 3 tokens", atol=1e-9)


@pytest.mark.points(3)
def test_kv_cache_prefill_then_one_token_at_a_time(student, rng):
    """For every prefill length t: prefill t tokens, then decode the rest one token per call; logits equal the full
    recomputation at every position (checks position offsets and the mask of a single query)."""
    params = random_params(rng, max_len=12)
    T = 10
    idx = torch.randint(0, 5, (2, T), generator=rng)
    full = reference_forward(params, idx)
    for t in range(1, T):
        logits, cache = student.forward(params, idx[:, :t])
        steps = [logits]
        for position in range(t, T):
            logits, cache = student.forward(params, idx[:, position : position + 1], cache)
            check_tensor(logits, f"forward with a cache of {position} tokens", shape=(2, 1, 5))
            steps.append(logits)
        check_close(torch.cat(steps, dim=1), full, f"prefill {t} tokens, then one at a time", atol=1e-9)


@pytest.mark.points(3)
def test_kv_cache_chunked_prefill(student, rng):
    """Random chunk sizes (several tokens per call after a cache) give the logits of one full pass."""
    params = random_params(rng, max_len=20)
    idx = torch.randint(0, 5, (3, 17), generator=rng)
    full = reference_forward(params, idx)
    for _ in range(3):
        cuts = sorted(torch.randperm(16, generator=rng)[:4].add(1).tolist())
        cache, pieces = None, []
        for start, end in zip([0] + cuts, cuts + [17]):
            logits, cache = student.forward(params, idx[:, start:end], cache)
            pieces.append(logits)
        check_close(torch.cat(pieces, dim=1), full, f"chunked prefill at cuts {cuts}", atol=1e-9)
