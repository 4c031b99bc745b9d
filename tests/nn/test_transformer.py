"""Blocks vs torch.nn.Transformer{Encoder,Decoder}Layer with copied weights; properties of the stacks."""

import pytest
import torch

from course_lib.nn.attention import MultiHeadAttention, causal_mask
from course_lib.nn.transformer import Decoder, Encoder, EncoderDecoder, TransformerBlock

D, H = 16, 4


def _copy_attention(mine: MultiHeadAttention, theirs: torch.nn.MultiheadAttention) -> None:
    theirs.in_proj_weight.copy_(torch.cat([mine.q_proj.weight, mine.k_proj.weight, mine.v_proj.weight]))
    theirs.in_proj_bias.copy_(torch.cat([mine.q_proj.bias, mine.k_proj.bias, mine.v_proj.bias]))
    theirs.out_proj.load_state_dict(mine.out_proj.state_dict())


@torch.no_grad()
def _copy_block(mine: TransformerBlock, theirs: torch.nn.Module) -> None:
    _copy_attention(mine.attn, theirs.self_attn)
    theirs.linear1.load_state_dict(mine.ffn.up_proj.state_dict())
    theirs.linear2.load_state_dict(mine.ffn.down_proj.state_dict())
    theirs.norm1.load_state_dict(mine.norm1.state_dict())
    if mine.cross_attn is not None:  # torch's decoder layer: norm1 self, norm2 cross, norm3 feed-forward
        _copy_attention(mine.cross_attn, theirs.multihead_attn)
        theirs.norm2.load_state_dict(mine.norm_cross.state_dict())
        theirs.norm3.load_state_dict(mine.norm2.state_dict())
    else:
        theirs.norm2.load_state_dict(mine.norm2.state_dict())


def _randomise_norms(block: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, p in block.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn_like(p))


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_block_matches_torch(norm_first, activation):
    torch.manual_seed(0)
    mine = TransformerBlock(D, H, 32, norm_first=norm_first, activation=activation)
    _randomise_norms(mine)
    theirs = torch.nn.TransformerEncoderLayer(
        D, H, 32, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
    )
    _copy_block(mine, theirs)
    x = torch.randn(2, 6, D)
    keep = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    torch.testing.assert_close(mine(x), theirs(x), rtol=1e-5, atol=1e-5)
    got = mine(x, mask=keep[:, None, None, :])
    expected = theirs(x, src_key_padding_mask=~keep)
    torch.testing.assert_close(got[keep], expected[keep], rtol=1e-5, atol=1e-5)  # torch zeroes padded rows


@pytest.mark.parametrize("norm_first", [True, False])
def test_decoder_block_with_cross_attention_matches_torch(norm_first):
    torch.manual_seed(1)
    mine = TransformerBlock(D, H, 32, norm_first=norm_first, cross_attention=True, activation="relu")
    _randomise_norms(mine)
    theirs = torch.nn.TransformerDecoderLayer(
        D, H, 32, dropout=0.0, activation="relu", batch_first=True, norm_first=norm_first
    )
    _copy_block(mine, theirs)
    x, memory = torch.randn(2, 5, D), torch.randn(2, 7, D)
    keep = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    expected = theirs(x, memory, tgt_mask=~causal_mask(5), memory_key_padding_mask=~keep)
    got = mine(x, memory, is_causal=True, memory_mask=keep[:, None, None, :])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_block_with_cross_attention_needs_memory():
    block = TransformerBlock(D, H, cross_attention=True)
    with pytest.raises(ValueError, match="memory"):
        block(torch.randn(1, 3, D))


def test_encoder_is_bidirectional_permutation_equivariant_and_ignores_padding():
    torch.manual_seed(2)
    enc = Encoder(2, D, H, norm="rmsnorm", activation="swiglu").eval()
    x = torch.randn(2, 6, D)
    out = enc(x)
    changed = x.clone()
    changed[:, -1] += 1.0
    assert not torch.allclose(enc(changed)[:, 0], out[:, 0])  # the first token sees the last one
    perm = torch.randperm(6)
    torch.testing.assert_close(enc(x[:, perm]), out[:, perm], rtol=1e-5, atol=1e-5)
    keep = torch.tensor([[True] * 4 + [False] * 2] * 2)
    masked = enc(x, keep[:, None, None, :])
    torch.testing.assert_close(enc(changed, keep[:, None, None, :])[:, :4], masked[:, :4])


def test_decoder_is_causal_and_its_cache_matches_recomputation():
    torch.manual_seed(3)
    dec = Decoder(2, D, H).eval()
    x, memory = torch.randn(2, 8, D), torch.randn(2, 5, D)
    full = dec(x, memory)
    changed = x.clone()
    changed[:, 5:] += 1.0
    torch.testing.assert_close(dec(changed, memory)[:, :5], full[:, :5])
    caches = dec.make_caches(max_len=8)
    steps = [dec(x[:, :3], memory, caches=caches)] + [dec(x[:, t : t + 1], memory, caches=caches) for t in range(3, 8)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)


def test_encoder_decoder_incremental_decoding_matches_the_full_pass():
    torch.manual_seed(4)
    model = EncoderDecoder(12, 10, d_model=32, n_heads=4, n_encoder_layers=1, n_decoder_layers=2).eval()
    src, tgt = torch.randint(0, 12, (2, 6)), torch.randint(0, 10, (2, 5))
    src_keep = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    full = model(src, tgt, src_keep)
    assert full.shape == (2, 5, 10)
    memory = model.encode(src, src_keep)
    caches = model.decoder.make_caches(max_len=8)
    steps = [model.decode(tgt[:, t : t + 1], memory, src_keep, caches=caches) for t in range(5)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_a_tiny_encoder_decoder_learns_to_copy():
    torch.manual_seed(5)
    model = EncoderDecoder(12, 12, d_model=32, n_heads=4, n_encoder_layers=1, n_decoder_layers=1, max_len=16)
    src = torch.randint(2, 12, (8, 6))
    tgt = torch.cat([torch.ones(8, 1, dtype=torch.long), src], dim=1)  # BOS=1, then a copy of the source
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        logits = model(src, tgt[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 12), tgt[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1
