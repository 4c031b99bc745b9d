"""Norms and feed-forward layers against PyTorch's modules with the same weights."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.nn.layers import FeedForward, LayerNorm, RMSNorm, make_norm, swiglu_hidden_size


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))


@pytest.mark.parametrize("bias", [True, False])
def test_layernorm_matches_the_formula_and_torch(bias):
    mine, theirs = LayerNorm(12, bias=bias), torch.nn.LayerNorm(12, bias=bias)
    _randomise(mine)
    theirs.load_state_dict(mine.state_dict())  # same parameter names and shapes
    x = torch.randn(3, 5, 12) * 4 + 2
    x64, w64 = x.double(), mine.weight.double()
    mean = x64.sum(-1, keepdim=True) / 12
    var = ((x64 - mean) ** 2).sum(-1, keepdim=True) / 12
    expected = (x64 - mean) / torch.sqrt(var + 1e-5) * w64 + (mine.bias.double() if bias else 0)
    torch.testing.assert_close(mine(x).double(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(mine(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_rmsnorm_matches_the_formula():
    mine = RMSNorm(12, eps=1e-6)
    _randomise(mine)
    x = torch.randn(3, 5, 12) * 4 + 2
    x64 = x.double()
    expected = x64 / torch.sqrt((x64**2).mean(-1, keepdim=True) + 1e-6) * mine.weight.double()
    torch.testing.assert_close(mine(x).double(), expected, rtol=1e-5, atol=1e-5)


def test_rmsnorm_matches_torch():
    mine, theirs = RMSNorm(12, eps=1e-6), torch.nn.RMSNorm(12, eps=1e-6)
    _randomise(mine)
    theirs.load_state_dict(mine.state_dict())
    x = torch.randn(3, 5, 12) * 4 + 2
    torch.testing.assert_close(mine(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_make_norm_picks_the_kind_and_refuses_unknown_ones():
    assert isinstance(make_norm("layernorm", 4), LayerNorm)
    assert isinstance(make_norm("rmsnorm", 4), RMSNorm)
    with pytest.raises(ValueError, match="unknown norm"):
        make_norm("batchnorm", 4)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_feedforward_matches_a_torch_mlp(activation):
    ffn = FeedForward(8, 32, activation=activation)
    act = torch.nn.ReLU() if activation == "relu" else torch.nn.GELU()
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 32), act, torch.nn.Linear(32, 8))
    mlp[0].load_state_dict(ffn.up_proj.state_dict())
    mlp[2].load_state_dict(ffn.down_proj.state_dict())
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(ffn(x), mlp(x))


def test_swiglu_matches_float64_formula():
    ffn = FeedForward(8, 16, activation="swiglu", bias=False).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    gate, up, down = ffn.gate_proj.weight, ffn.up_proj.weight, ffn.down_proj.weight
    a = x @ gate.T
    expected = ((a * torch.sigmoid(a)) * (x @ up.T)) @ down.T  # SiLU(x W) ⊙ (x V), then W2
    torch.testing.assert_close(ffn(x), expected)


def test_swiglu_default_width_keeps_the_parameter_count_of_a_4d_mlp():
    d = 256
    hidden = swiglu_hidden_size(d)
    assert hidden % 64 == 0
    assert abs(3 * d * hidden - 2 * d * 4 * d) / (2 * d * 4 * d) < 0.1
    assert FeedForward(d, activation="swiglu").up_proj.out_features == hidden
    assert FeedForward(d).up_proj.out_features == 4 * d


def test_feedforward_dropout_and_bad_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        FeedForward(8, activation="tanh")
    ffn = FeedForward(8, dropout=0.5).eval()
    x = torch.randn(4, 8)
    torch.testing.assert_close(ffn(x), ffn.down_proj(F.gelu(ffn.up_proj(x))))
