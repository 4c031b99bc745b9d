"""Scaled dot-product attention and multi-head attention (Vaswani et al. 2017, "Attention Is All You Need").

``Attention(Q, K, V) = softmax(Q Kᵀ / √d + M) V``, where the mask ``M`` is 0 where a query may attend to a
key and -inf where it may not.

**Mask convention, for every function and module in this package: a boolean mask is True where the query may
attend to the key** (as in :func:`torch.nn.functional.scaled_dot_product_attention`; note that
:class:`torch.nn.MultiheadAttention` means the opposite). A mask broadcasts to ``(..., T_q, T_k)``: a padding
mask ``keep (B, T_k)`` becomes ``keep[:, None, None, :]``. :func:`attention_mask` is the one place that combines
it with the causal mask.

:class:`MultiHeadAttention` has two interchangeable paths that compute the same function:

- ``impl="math"``: :func:`scaled_dot_product_attention` below, the explicit formula students read;
- ``impl="fast"``: :func:`torch.nn.functional.scaled_dot_product_attention`, which dispatches to fused
  flash / memory-efficient kernels on GPUs and never materialises the ``(T, T)`` weight matrix.

For incremental decoding a :class:`KVCache` keeps the keys and values of earlier tokens, so each new token
costs one query against the cached keys instead of recomputing the whole prefix.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.nn.positional import RoPE

IMPLS = ("math", "fast")


def causal_mask(T_q: int, T_k: int | None = None, device: torch.device | str | None = None) -> Tensor:
    """Boolean ``(T_q, T_k)`` mask, True where query ``i`` may attend to key ``j``.

    The queries are the *last* ``T_q`` of ``T_k`` positions (aligned bottom-right), so query ``i`` sits at
    position ``T_k - T_q + i`` and sees keys ``j <= T_k - T_q + i``. With ``T_k = T_q`` (the default) this
    is the usual lower-triangular mask; with a KV cache holding ``T_k - T_q`` earlier tokens it is the mask
    for the new queries.
    """
    T_k = T_q if T_k is None else T_k
    if T_k < T_q:
        raise ValueError(f"causal_mask needs at least as many keys as queries, got T_q={T_q}, T_k={T_k}")
    return torch.ones(T_q, T_k, dtype=torch.bool, device=device).tril(diagonal=T_k - T_q)


def attention_mask(
    T_q: int,
    T_k: int,
    mask: Tensor | None = None,
    is_causal: bool = False,
    device: torch.device | str | None = None,
) -> Tensor | None:
    """The one boolean mask (broadcasting to ``(..., T_q, T_k)``) that combines ``mask`` with causality.

    ``is_causal`` adds :func:`causal_mask` ``(T_q, T_k)``, bottom-right aligned (queries are the last ``T_q``
    positions, e.g. new tokens after a KV cache); a single query is the newest token and sees every key, so it
    adds nothing. Returns ``None`` when nothing is masked.
    """
    if not is_causal or T_q == 1:
        return mask
    causal = causal_mask(T_q, T_k, device=device)
    return causal if mask is None else mask & causal


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    return_weights: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """``softmax(q kᵀ / √d + M) v`` written out.

    Shapes: ``q (..., T_q, d)``, ``k (..., T_k, d)``, ``v (..., T_k, d_v)`` -> ``(..., T_q, d_v)``; with
    ``return_weights`` also the attention weights ``(..., T_q, T_k)`` (rows sum to 1).

    ``mask`` broadcasts to ``(..., T_q, T_k)``: boolean (see the convention above) or a float mask added to
    the scores. ``is_causal`` adds :func:`causal_mask` (requires ``T_q == T_k``, as PyTorch's function, which
    would align a rectangular mask differently; for queries after a cache pass ``causal_mask(T_q, T_k)`` as
    ``mask``). ``dropout_p`` drops attention weights (pass 0.0 in eval). A query that a boolean mask lets
    attend to nothing gets weights 0 and output 0, as in PyTorch.
    """
    T_q, T_k = q.size(-2), k.size(-2)
    if is_causal and T_q != T_k:
        raise ValueError(
            f"is_causal needs as many queries as keys (got {T_q} and {T_k}); pass mask=causal_mask(T_q, T_k) instead"
        )
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., T_q, T_k)
    if mask is not None and mask.dtype != torch.bool:
        scores = scores + mask  # a float mask is added as it is
        mask = None
    rows_can_be_empty = mask is not None  # a causal mask alone always keeps the diagonal
    mask = attention_mask(T_q, T_k, mask, is_causal, q.device)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if rows_can_be_empty:
        # a query that may attend to nothing (e.g. a left-padding position) gets zero weights, as in
        # PyTorch's kernels, instead of softmax's 0/0 = NaN, which would poison the gradients
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    out = weights @ v
    return (out, weights) if return_weights else out


class KVCache:
    """Keys and values of the tokens one attention layer has already seen.

    Storage is allocated on the first :meth:`append`, for ``max_len`` positions, and filled in place, so a
    decoding step copies only the new token's keys and values. ``len(cache)`` is the number of cached
    positions, which is also the position offset of the next token.

    A cache built with ``static=True`` is for cross-attention: its keys and values come from the encoder
    output once and are reused at every step.
    """

    def __init__(self, max_len: int, static: bool = False) -> None:
        self.max_len = max_len
        self.static = static
        self.k: Tensor | None = None  # (B, H, max_len, d_head)
        self.v: Tensor | None = None
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store ``k, v`` of shape ``(B, H, T_new, d_head)``; return all cached keys and values so far."""
        B, H, T_new, d_head = k.shape
        if self.length + T_new > self.max_len:
            raise ValueError(f"KV cache holds at most {self.max_len} positions; cannot add {T_new} to {self.length}")
        if self.k is None:
            self.k = k.new_empty(B, H, self.max_len, d_head)
            self.v = v.new_empty(B, H, self.max_len, v.size(-1))
        self.k[:, :, self.length : self.length + T_new] = k
        self.v[:, :, self.length : self.length + T_new] = v
        self.length += T_new
        return self.cached()

    def cached(self) -> tuple[Tensor, Tensor]:
        """The keys and values stored so far, ``(B, H, len(self), d_head)`` each."""
        if self.k is None or self.v is None:
            raise ValueError("the KV cache is empty")
        return self.k[:, :, : self.length], self.v[:, :, : self.length]

    def reorder(self, index: Tensor) -> None:
        """Keep batch rows ``index`` (beam search: each surviving beam takes its parent's cache)."""
        if self.k is not None and self.v is not None:
            self.k = self.k.index_select(0, index)
            self.v = self.v.index_select(0, index)


class MultiHeadAttention(nn.Module):
    """Multi-head attention: project to ``n_heads`` heads, attend in each, concatenate, project back.

    Self-attention: ``mha(x)``; cross-attention: ``mha(x, context)`` with queries from ``x (B, T_q, d_model)``
    and keys/values from ``context (B, T_k, kdim)``. Output ``(B, T_q, d_model)``.

    Parameters follow PyTorch / the literature: ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``.
    ``rope`` (a :class:`RoPE` over ``d_head``) rotates queries and keys by their positions.
    Set ``record_weights = True`` to keep the last attention weights ``(B, H, T_q, T_k)`` in
    ``attn_weights`` for visualisation (this uses the math path).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
        impl: str = "math",
        rope: RoPE | None = None,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.dropout = dropout
        self.impl = impl  # validated at forward time so it can be switched on a built model
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(kdim or d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(vdim or d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.rope = rope
        self.record_weights = False
        self.attn_weights: Tensor | None = None

    def _split_heads(self, x: Tensor) -> Tensor:  # (B, T, d_model) -> (B, H, T, d_head)
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_head).transpose(1, 2)

    def forward(
        self,
        x: Tensor,
        context: Tensor | None = None,
        *,
        mask: Tensor | None = None,
        is_causal: bool = False,
        cache: KVCache | None = None,
    ) -> Tensor:
        """Attend from ``x (B, T_q, d_model)`` to itself or to ``context``.

        ``mask`` broadcasts to ``(B, H, T_q, T_k)`` (boolean: the convention above). ``is_causal`` lets each query see
        only keys at or before its own position (cached keys included). ``cache`` stores this call's keys and
        values for later calls; new tokens then sit at positions ``len(cache) ...``.
        """
        if self.impl not in IMPLS:
            raise ValueError(f"unknown attention impl {self.impl!r}: choose one of {', '.join(IMPLS)}")
        B, T_q, _ = x.shape
        q = self._split_heads(self.q_proj(x))  # (B, H, T_q, d_head)
        if context is not None and cache is not None and cache.static and len(cache):
            k, v = cache.cached()  # cross-attention: the encoder's keys/values, computed at the first step
        else:
            source = x if context is None else context
            k = self._split_heads(self.k_proj(source))  # (B, H, T_new, d_head)
            v = self._split_heads(self.v_proj(source))
            if self.rope is not None:
                if context is not None:
                    raise ValueError("RoPE applies to self-attention only")
                start = len(cache) if cache is not None else 0
                positions = torch.arange(start, start + T_q, device=x.device)
                q, k = self.rope(q, positions), self.rope(k, positions)
            if cache is not None:
                k, v = cache.append(k, v)  # (B, H, T_k, d_head), earlier tokens first
        T_k = k.size(-2)

        # The mask is worked out here, once, for both paths. A plain square causal mask stays a flag: the
        # fused kernels apply it without building the (T, T) matrix.
        if not (is_causal and mask is None and T_q == T_k):
            mask, is_causal = attention_mask(T_q, T_k, mask, is_causal, x.device), False
        dropout_p = self.dropout if self.training else 0.0

        if self.impl == "math" or self.record_weights:
            out, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal, return_weights=True)
            self.attn_weights = weights.detach() if self.record_weights else None
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)
        out = out.transpose(1, 2).reshape(B, T_q, self.d_model)  # concatenate heads: (B, T_q, d_model)
        return self.out_proj(out)
