"""Transformer building blocks: attention, positions, norms, feed-forward layers, blocks and stacks."""

from course_lib.nn.attention import (
    KVCache,
    MultiHeadAttention,
    attention_mask,
    causal_mask,
    scaled_dot_product_attention,
)
from course_lib.nn.layers import FeedForward, LayerNorm, RMSNorm, make_norm
from course_lib.nn.positional import LearnedPositionalEmbedding, RoPE, SinusoidalPositionalEncoding
from course_lib.nn.transformer import Decoder, Encoder, EncoderDecoder, TransformerBlock

__all__ = [
    "Decoder",
    "Encoder",
    "EncoderDecoder",
    "FeedForward",
    "KVCache",
    "LayerNorm",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "RMSNorm",
    "RoPE",
    "SinusoidalPositionalEncoding",
    "TransformerBlock",
    "attention_mask",
    "causal_mask",
    "make_norm",
    "scaled_dot_product_attention",
]
