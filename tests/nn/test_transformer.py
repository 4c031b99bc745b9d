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


@pytest.mark.parametrize("norm_first", [True, False])
def test_stacks_match_torch_transformer_encoder_and_decoder(norm_first):
    """Two layers each against torch.nn.TransformerEncoder / TransformerDecoder (their final norm only pre-norm)."""
    torch.manual_seed(6)
    kwargs = dict(d_ff=32, norm_first=norm_first, activation="relu")
    enc, dec = Encoder(2, D, H, **kwargs), Decoder(2, D, H, **kwargs)
    for block in (*enc.blocks, *dec.blocks):
        _randomise_norms(block)
    layer_kwargs = dict(dim_feedforward=32, dropout=0.0, activation="relu", batch_first=True, norm_first=norm_first)
    torch_enc = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D, H, **layer_kwargs),
        2,
        norm=torch.nn.LayerNorm(D) if norm_first else None,
        enable_nested_tensor=False,
    )
    torch_dec = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(D, H, **layer_kwargs), 2, norm=torch.nn.LayerNorm(D) if norm_first else None
    )
    for mine, theirs in zip((*enc.blocks, *dec.blocks), (*torch_enc.layers, *torch_dec.layers), strict=True):
        _copy_block(mine, theirs)
    if norm_first:
        with torch.no_grad():
            torch_enc.norm.load_state_dict(enc.norm_f.state_dict())
            torch_dec.norm.load_state_dict(dec.norm_f.state_dict())
    src, tgt = torch.randn(2, 7, D), torch.randn(2, 5, D)
    keep = torch.tensor([[True] * 7, [True] * 5 + [False] * 2])
    memory = enc(src, keep[:, None, None, :])
    expected_memory = torch_enc(src, src_key_padding_mask=~keep)
    torch.testing.assert_close(memory[keep], expected_memory[keep], rtol=1e-5, atol=1e-5)
    got = dec(tgt, memory, memory_mask=keep[:, None, None, :])
    expected = torch_dec(tgt, memory, tgt_mask=~causal_mask(5), memory_key_padding_mask=~keep, tgt_is_causal=True)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_decoder_ignores_future_targets_and_padded_sources(norm_first):
    torch.manual_seed(7)
    model = EncoderDecoder(11, 9, d_model=24, n_heads=3, n_encoder_layers=2, n_decoder_layers=2, norm_first=norm_first)
    model.eval()
    src, tgt = torch.randint(0, 11, (3, 8)), torch.randint(0, 9, (3, 6))
    src_keep = torch.ones(3, 8, dtype=torch.bool)
    src_keep[1, 5:] = False
    src_keep[2, 2:] = False
    logits = model(src, tgt, src_keep)
    # changing target tokens from position 3 on leaves the logits at positions 0..2 unchanged
    future = tgt.clone()
    future[:, 3:] = torch.randint(0, 9, (3, 3))
    changed = model(src, future, src_keep)
    torch.testing.assert_close(changed[:, :3], logits[:, :3], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(changed[:, 3:], logits[:, 3:])
    # changing padded source tokens leaves every output unchanged; changing a real one does not
    padded = torch.where(src_keep, src, (src + torch.randint(1, 11, src.shape)) % 11)  # every padded token differs
    torch.testing.assert_close(model(padded, tgt, src_keep), logits, rtol=1e-5, atol=1e-5)
    real = src.clone()
    real[:, 0] = (real[:, 0] + 1) % 11
    assert not torch.allclose(model(real, tgt, src_keep), logits)


def test_attention_rows_are_distributions_in_every_layer():
    torch.manual_seed(8)
    model = EncoderDecoder(11, 9, d_model=24, n_heads=3, n_encoder_layers=1, n_decoder_layers=1).eval()
    attns = [model.encoder.blocks[0].attn, model.decoder.blocks[0].attn, model.decoder.blocks[0].cross_attn]
    for attn in attns:
        attn.record_weights = True
    src_keep = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    model(torch.randint(0, 11, (2, 7)), torch.randint(0, 9, (2, 5)), src_keep)
    for attn in attns:
        torch.testing.assert_close(attn.attn_weights.sum(-1), torch.ones(attn.attn_weights.shape[:-1]))
    cross = attns[2].attn_weights  # (B, H, T, S): no weight on padded source positions
    assert torch.all(cross[1, :, :, 4:] == 0)
    assert torch.all(attns[1].attn_weights.triu(1) == 0)  # decoder self-attention: nothing from the future


def test_scaled_embeddings_have_the_scale_of_the_positions():
    """Token embeddings times √d_model must not drown the sinusoidal positions (entries of size ≤ 1)."""
    torch.manual_seed(9)
    model = EncoderDecoder(50, 50, d_model=64, n_heads=4, n_encoder_layers=1, n_decoder_layers=1)
    for emb in (model.src_emb, model.tgt_emb):
        scaled = emb.weight * 64**0.5
        assert 0.8 < scaled.std().item() < 1.2
