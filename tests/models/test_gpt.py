"""GPT: causality for each position scheme, cache = recomputation, parameter/FLOP accounting, learning."""

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from course_lib.models import gpt as gpt_module
from course_lib.models.gpt import GPT, GPTConfig

POS_TYPES = ["learned", "sinusoidal", "rope"]


def tiny(pos="learned", **overrides) -> GPTConfig:
    fields = dict(vocab_size=50, block_size=32, n_layers=2, n_heads=2, d_model=32, pos=pos)
    fields.update(overrides)
    return GPTConfig(**fields)


def _model(config: GPTConfig, impl="fast", seed=0) -> GPT:
    torch.manual_seed(seed)
    return GPT(config, impl=impl).eval()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(pos="alibi"), "pos"),
        (dict(norm="batchnorm"), "norm"),
        (dict(ffn="relu"), "ffn"),
        (dict(d_model=30, n_heads=4), "divisible"),
        (dict(d_model=6, n_heads=2, pos="rope"), "even head size"),
        (dict(block_size=0), "block_size"),
        (dict(dropout=1.0), "dropout"),
    ],
)
def test_config_refuses_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny(**overrides)


def test_forward_shapes_and_loss_equals_cross_entropy():
    model = _model(tiny())
    idx = torch.randint(0, 50, (3, 10))
    targets = torch.randint(0, 50, (3, 10))
    targets[0, :4] = -100  # ignored positions
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 10, 50)
    keep = targets != -100
    expected = -torch.log_softmax(logits.double(), -1)[keep].gather(-1, targets[keep][:, None]).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert model(idx)[1] is None
    # small init: the first prediction is close to uniform
    assert abs(model(idx, torch.randint(0, 50, (3, 10)))[1].item() - math.log(50)) < 0.3


def test_too_long_input_is_refused():
    model = _model(tiny())
    with pytest.raises(ValueError, match="block_size 32"):
        model(torch.zeros(1, 33, dtype=torch.long))


@pytest.mark.parametrize("pos", POS_TYPES)
@pytest.mark.parametrize("variant", [dict(), dict(norm="rmsnorm", ffn="swiglu", bias=False, tie_weights=False)])
def test_changing_future_tokens_leaves_earlier_logits_unchanged(pos, variant):
    model = _model(tiny(pos, **variant))
    idx = torch.randint(0, 50, (2, 20))
    changed = idx.clone()
    t = 11
    changed[:, t + 1 :] = (changed[:, t + 1 :] + 7) % 50
    before, after = model(idx)[0], model(changed)[0]
    torch.testing.assert_close(after[:, : t + 1], before[:, : t + 1], rtol=0, atol=1e-5)
    assert not torch.allclose(after[:, t + 1 :], before[:, t + 1 :])


@pytest.mark.parametrize("pos", POS_TYPES)
def test_positions_matter(pos):
    """Without positions, causal attention at the last token would not see the order of earlier ones."""
    model = _model(tiny(pos))
    idx = torch.tensor([[1, 2, 3, 4, 5, 6]])
    swapped = torch.tensor([[2, 1, 3, 4, 5, 6]])
    # float32 noise here is ~1e-7; at init, order changes the last logits by 2e-5 (sinusoidal) to 7e-3 (RoPE)
    assert (model(idx)[0][0, -1] - model(swapped)[0][0, -1]).abs().max().item() > 1e-6


@pytest.mark.parametrize("pos", POS_TYPES)
@pytest.mark.parametrize("chunks", [[1] * 12, [5, 1, 4, 2]])
def test_kv_cache_logits_equal_recomputation(pos, chunks):
    model = _model(tiny(pos, ffn="swiglu"))
    idx = torch.randint(0, 50, (2, 12))
    full = model(idx)[0]
    cache = model.make_cache()
    pieces, start = [], 0
    for n in chunks:
        pieces.append(model(idx[:, start : start + n], kv_cache=cache)[0])
        start += n
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(2, 21, dtype=torch.long), kv_cache=cache)


@pytest.mark.parametrize("pos", POS_TYPES)
def test_math_and_fast_attention_give_the_same_model(pos):
    model = _model(tiny(pos), impl="math")
    idx = torch.randint(0, 50, (2, 16))
    math_logits = model(idx)[0]
    model.set_attention_impl("fast")
    torch.testing.assert_close(model(idx)[0], math_logits, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="impl"):
        model.set_attention_impl("flash")


def test_attention_maps_are_causal_distributions():
    model = _model(tiny(n_layers=3))
    maps = model.attention_maps(torch.randint(0, 50, (2, 7)))
    assert len(maps) == 3
    for weights in maps:
        assert weights.shape == (2, 2, 7, 7)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 7))
        assert torch.all(weights.triu(diagonal=1) == 0)
    assert all(not block.attn.record_weights for block in model.blocks)


def test_parameter_count_matches_the_architecture():
    V, T, C, L = 50, 32, 32, 2
    per_layer = 4 * (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C) + 2 * 2 * C  # attn, mlp, 2 LayerNorms
    expected = V * C + T * C + L * per_layer + 2 * C  # tied lm_head adds nothing
    model = _model(tiny())
    assert model.num_params() == expected
    assert model.lm_head.weight is model.tok_emb.weight
    assert model.num_params(non_embedding=True) == expected - T * C
    untied = _model(tiny(tie_weights=False))
    assert untied.num_params() == expected + V * C
    assert untied.num_params(non_embedding=True) == expected - T * C  # lm_head in, lookup table out
    assert _model(tiny("rope")).num_params() == expected - T * C  # no position table


@pytest.mark.parametrize("config", [tiny(), tiny("rope", ffn="swiglu", tie_weights=False, bias=False)])
def test_flops_per_token_matches_a_counted_training_step(config):
    """6N + 12·L·d·T against PyTorch's FLOP counter on the math path (which computes the full T×T scores)."""
    model = _model(config, impl="math")
    T = config.block_size
    idx = torch.randint(0, config.vocab_size, (1, T))
    with FlopCounterMode(display=False) as counter:
        model(idx, idx)[1].backward()
    counted_per_token = counter.get_total_flops() / T
    # the counter sees matmuls only: 6 FLOPs per matrix weight (2 forward, 4 backward) plus attention
    matrix_weights = sum(p.numel() for name, p in model.named_parameters() if p.dim() == 2 and "pos_emb" not in name)
    if not config.tie_weights:
        matrix_weights -= model.tok_emb.weight.numel()  # a lookup, not a matmul
    attention = 12 * config.n_layers * config.d_model * T
    assert counted_per_token == 6 * matrix_weights + attention
    # 6N also counts biases and norm gains, a few percent of a model this small
    assert model.flops_per_token() == pytest.approx(counted_per_token, rel=0.05)
    N = model.num_params(non_embedding=True)
    assert model.flops_per_token(seq_len=10) == 6 * N + 12 * config.n_layers * config.d_model * 10


def test_estimate_mfu(monkeypatch):
    model = _model(tiny())
    assert model.estimate_mfu(1e4, "cpu") is None
    monkeypatch.setattr(gpt_module, "peak_flops", lambda device: 1e12)
    assert model.estimate_mfu(1e4, "cpu") == pytest.approx(model.flops_per_token() * 1e4 / 1e12)


def test_init_scales_the_residual_projections():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, n_layers=8, d_model=256, n_heads=4, block_size=16))
    std = model.blocks[0].attn.out_proj.weight.std().item()
    assert std == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert model.blocks[0].attn.q_proj.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert model.blocks[0].attn.q_proj.bias.abs().max().item() == 0


@pytest.mark.parametrize("pos", POS_TYPES)
def test_a_tiny_gpt_overfits_one_batch(pos):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=16, block_size=16, n_layers=2, n_heads=2, d_model=32, pos=pos)
    model = GPT(config)
    x = torch.randint(0, 16, (4, 16))
    y = torch.roll(x, -1, dims=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(120):
        loss = model(x, y)[1]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("pos", POS_TYPES)
def test_torch_compile_traces_the_model_in_one_graph(pos):
    """fullgraph=True fails on any graph break (e.g. a branch on a tensor's value); aot_eager needs no compiler."""
    model = _model(tiny(pos)).train()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    idx = torch.randint(0, 50, (2, 16))
    logits, loss = compiled(idx, idx)
    loss.backward()
    torch.testing.assert_close(logits, model(idx)[0])


@pytest.mark.gpu
@pytest.mark.parametrize("pos", POS_TYPES)
def test_bf16_autocast_forward_agrees_loosely_with_fp32(pos):
    from course_lib.device import autocast, get_device

    device = get_device("cuda")
    model = _model(tiny(pos, block_size=128, d_model=128, n_heads=4)).to(device)
    idx = torch.randint(0, 50, (4, 128), device=device)
    fp32 = torch.softmax(model(idx)[0], -1)
    with autocast(device):
        low = torch.softmax(model(idx)[0].float(), -1)
    assert (low - fp32).abs().max().item() < 0.02


@pytest.mark.gpu
def test_fast_path_trains_on_gpu_and_matches_math():
    device = torch.device("cuda")
    model = _model(tiny(block_size=128), impl="fast").to(device).train()
    idx = torch.randint(0, 50, (4, 128), device=device)
    logits, loss = model(idx, idx)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval().set_attention_impl("math")
    math_logits = model(idx)[0]
    model.set_attention_impl("fast")
    torch.testing.assert_close(model(idx)[0], math_logits, atol=1e-4, rtol=1e-4)
    mfu = model.estimate_mfu(1e5, device)
    assert mfu is None or 0 < mfu < 1


def test_config_from_dict_reads_the_old_singular_names():
    """Checkpoints saved before the rename spell the fields n_layer/n_head; they still load, to the same config."""
    new = GPTConfig(vocab_size=50, block_size=32, n_layers=3, n_heads=2, d_model=32)
    old = new.to_dict()
    old["n_layer"], old["n_head"] = old.pop("n_layers"), old.pop("n_heads")
    assert GPTConfig.from_dict(old) == new
    assert GPTConfig.from_dict(new.to_dict()) == new
