"""GPT: a decoder-only transformer language model (Radford et al. 2018/2019), in the style of nanoGPT.

    idx (B, T) -> token embedding (+ position embedding) -> n_layers x TransformerBlock(causal, pre-norm)
               -> final norm -> lm_head -> logits (B, T, vocab_size)

Position schemes: ``learned`` (GPT-2), ``sinusoidal`` (Vaswani et al.), ``rope`` (rotary, LLaMA).
Norms: ``layernorm`` or ``rmsnorm``; feed-forward: ``gelu`` (exact), ``gelu_tanh`` (GPT-2's tanh approximation,
needed to reproduce GPT-2 checkpoints: :mod:`course_lib.models.gpt2_weights`) or ``swiglu`` (LLaMA).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.device import peak_flops
from course_lib.nn.attention import IMPLS, KVCache, MultiHeadAttention
from course_lib.nn.layers import NORMS, make_norm
from course_lib.nn.positional import LearnedPositionalEmbedding, RoPE, SinusoidalPositionalEncoding
from course_lib.nn.transformer import TransformerBlock

POS_TYPES = ("learned", "sinusoidal", "rope")
FFN_TYPES = ("gelu", "gelu_tanh", "swiglu")


@dataclass
class GPTConfig:
    vocab_size: int = 65  # e.g. the tinyshakespeare characters
    block_size: int = 256  # longest context the model sees
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 256
    dropout: float = 0.0
    bias: bool = True  # biases in Linear layers and LayerNorms
    pos: str = "learned"  # learned | sinusoidal | rope
    norm: str = "layernorm"  # layernorm | rmsnorm
    ffn: str = "gelu"  # gelu | gelu_tanh | swiglu
    tie_weights: bool = True  # lm_head shares the token embedding matrix (Press & Wolf 2017)

    def __post_init__(self) -> None:
        for name, value, choices in (
            ("pos", self.pos, POS_TYPES),
            ("norm", self.norm, NORMS),
            ("ffn", self.ffn, FFN_TYPES),
        ):
            if value not in choices:
                raise ValueError(f"GPTConfig.{name}={value!r}: choose one of {', '.join(choices)}")
        for name in ("vocab_size", "block_size", "n_layers", "n_heads", "d_model"):
            if getattr(self, name) < 1:
                raise ValueError(f"GPTConfig.{name} must be positive, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"GPTConfig.d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if self.pos == "rope" and (self.d_model // self.n_heads) % 2:
            raise ValueError(f"RoPE needs an even head size, got d_model/n_heads = {self.d_model // self.n_heads}")
        if self.pos == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model, got {self.d_model}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig.dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> GPTConfig:
        """Build a config from :meth:`to_dict`'s output; checkpoints saved before the rename used the
        singular ``n_layer``/``n_head`` (nanoGPT's spelling), which still load."""
        fields = dict(fields)
        for old, new in _OLD_NAMES.items():
            if old in fields:
                fields.setdefault(new, fields.pop(old))
        return cls(**fields)


_OLD_NAMES = {"n_layer": "n_layers", "n_head": "n_heads"}


class GPT(nn.Module):
    """Decoder-only transformer LM. ``impl`` picks the attention path ("fast" or "math"; same function)."""

    def __init__(self, config: GPTConfig, impl: str = "fast") -> None:
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f"unknown attention impl {impl!r}: choose one of {', '.join(IMPLS)}")
        self.config = c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)  # GPT-2's wte
        # positions are added to the tokens (learned, sinusoidal), or rotate queries and keys (RoPE)
        self.pos_emb: nn.Module | None = None
        rope = None
        if c.pos == "learned":
            self.pos_emb = LearnedPositionalEmbedding(c.block_size, c.d_model)  # GPT-2's wpe
        elif c.pos == "sinusoidal":
            self.pos_emb = SinusoidalPositionalEncoding(c.block_size, c.d_model)
        else:
            rope = RoPE(c.d_model // c.n_heads, max_seq_len=c.block_size)  # one table, shared by every layer
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                c.d_model,
                c.n_heads,
                dropout=c.dropout,
                norm_first=True,
                activation=c.ffn,
                norm=c.norm,
                bias=c.bias,
                impl=impl,
                rope=rope,
            )
            for _ in range(c.n_layers)
        )
        self.norm_f = make_norm(c.norm, c.d_model, c.bias)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        if c.tie_weights:
            self.lm_head.weight = self.tok_emb.weight
        self.apply(self._init_weights)
        # GPT-2: scale the projections that write into the residual stream by 1/√(2·n_layers), so the
        # variance of the residual stream does not grow with depth (two residual additions per layer).
        for block in self.blocks:
            for proj in (block.attn.out_proj, block.ffn.down_proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    # -- the model -------------------------------------------------------------------------------------------

    def forward(
        self,
        idx: Tensor,
        targets: Tensor | None = None,
        *,
        kv_cache: list[KVCache] | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """``idx (B, T)`` token ids -> ``(logits (B, T, vocab_size), loss)``.

        ``loss`` is the mean cross-entropy against ``targets (B, T)`` (positions with -100 are ignored),
        or None without targets. With ``kv_cache`` (from :meth:`make_cache`) ``idx`` holds only the new
        tokens; they sit at positions ``len(kv_cache[0]) ...`` and the cache grows by ``T``.
        """
        B, T = idx.shape
        offset = len(kv_cache[0]) if kv_cache is not None else 0
        if offset + T > self.config.block_size:
            raise ValueError(
                f"sequence of {offset + T} tokens exceeds block_size {self.config.block_size}; crop the context"
            )
        x = self.tok_emb(idx)  # (B, T, d_model)
        if self.config.pos == "sinusoidal":
            x = x * math.sqrt(self.config.d_model)  # Vaswani et al. 3.4: tokens not drowned by sines
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(offset, offset + T, device=idx.device))  # (T, d_model) broadcast
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, is_causal=True, cache=kv_cache[i] if kv_cache is not None else None)
        logits = self.lm_head(self.norm_f(x))  # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-100)
        return logits, loss

    def make_cache(self) -> list[KVCache]:
        """An empty KV cache (one :class:`KVCache` per layer) for incremental decoding."""
        return [KVCache(self.config.block_size) for _ in self.blocks]

    def set_attention_impl(self, impl: str) -> None:
        """Switch every attention layer to ``"math"`` or ``"fast"`` (the weights stay the same)."""
        if impl not in IMPLS:
            raise ValueError(f"unknown attention impl {impl!r}: choose one of {', '.join(IMPLS)}")
        for module in self.modules():
            if isinstance(module, MultiHeadAttention):
                module.impl = impl

    @torch.no_grad()
    def attention_maps(self, idx: Tensor) -> list[Tensor]:
        """Attention weights of every layer for ``idx (B, T)``: a list of ``(B, n_heads, T, T)``, for plots."""
        layers = [block.attn for block in self.blocks]
        for attn in layers:
            attn.record_weights = True
        try:
            self(idx)
            return [attn.attn_weights for attn in layers]
        finally:
            for attn in layers:
                attn.record_weights, attn.attn_weights = False, None

    # -- accounting ---------------------------------------------------------------------------------------

    def num_params(self, non_embedding: bool = False) -> int:
        """Number of parameters (a tied lm_head counts once). ``non_embedding`` leaves out the lookup tables
        (token embedding unless it is tied to the lm_head, which does a matmul; learned positions)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            if isinstance(self.pos_emb, LearnedPositionalEmbedding):
                n -= self.pos_emb.weight.numel()
            if not self.config.tie_weights:
                n -= self.tok_emb.weight.numel()
        return n

    def flops_per_token(self, seq_len: int | None = None) -> float:
        """Training FLOPs (forward + backward) per token, as in PaLM (Chowdhery et al. 2022, appendix B):

            6·N + 12·L·d·T

        ``N`` = non-embedding parameters (each multiply-add of a weight is 2 FLOPs forward, 4 backward);
        ``12·L·d·T`` = the attention scores and weighted sum (QKᵀ and AV, 2·2·T·d FLOPs per token per layer
        forward, ×3 with backward) with ``T = seq_len`` (default ``block_size``). Like PaLM this counts the
        full T×T score matrix, ignoring the causal mask's savings.
        """
        c = self.config
        T = seq_len or c.block_size
        return 6 * self.num_params(non_embedding=True) + 12 * c.n_layers * c.d_model * T

    def estimate_mfu(
        self, tokens_per_second: float, device: torch.device | str, seq_len: int | None = None
    ) -> float | None:
        """Model FLOPs utilisation: achieved training FLOP/s over the device's bf16 peak; None when the peak
        is unknown (CPUs, MPS, unlisted GPUs — see ``course_lib.device.PEAK_BF16_FLOPS``)."""
        peak = peak_flops(device)
        if peak is None:
            return None
        return self.flops_per_token(seq_len) * tokens_per_second / peak
