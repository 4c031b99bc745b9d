"""Positional encodings vs their formulas (float64, written out) and RoPE's relative-position property."""

import math

import pytest
import torch

from course_lib.nn.positional import LearnedPositionalEmbedding, RoPE, SinusoidalPositionalEncoding


def test_sinusoidal_matches_the_formula():
    max_len, d = 50, 16
    pe = SinusoidalPositionalEncoding(max_len, d)
    got = pe(torch.arange(max_len))
    expected = torch.empty(max_len, d)
    for pos in range(max_len):
        for i in range(d // 2):
            expected[pos, 2 * i] = math.sin(pos / 10000 ** (2 * i / d))
            expected[pos, 2 * i + 1] = math.cos(pos / 10000 ** (2 * i / d))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert not list(pe.parameters())  # fixed, nothing to train
    torch.testing.assert_close(pe(torch.tensor([7, 3])), expected[[7, 3]])


def test_learned_embedding_looks_up_rows_and_refuses_positions_past_the_table():
    emb = LearnedPositionalEmbedding(8, 4)
    torch.testing.assert_close(emb(torch.arange(2, 5)), emb.weight[2:5])
    with pytest.raises(ValueError, match="positions < 8"):
        emb(torch.arange(9))


def _rope_float64(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """Rotate each pair (x[2i], x[2i+1]) by pos * theta^(-2i/d) with an explicit 2x2 rotation matrix."""
    x = x.double()
    out = torch.empty_like(x)
    d = x.size(-1)
    for t, pos in enumerate(positions.tolist()):
        for i in range(d // 2):
            angle = pos * theta ** (-2 * i / d)
            rotation = torch.tensor(
                [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=torch.float64
            )
            out[..., t, 2 * i : 2 * i + 2] = x[..., t, 2 * i : 2 * i + 2] @ rotation.T
    return out


@pytest.mark.parametrize("theta", [10000.0, 500.0])
def test_rope_matches_float64_rotation(theta):
    torch.manual_seed(0)
    rope = RoPE(8, theta=theta, max_seq_len=64)
    x = torch.randn(2, 3, 6, 8)  # (B, H, T, d)
    positions = torch.tensor([0, 1, 5, 17, 40, 63])
    expected = _rope_float64(x, positions, theta)
    torch.testing.assert_close(rope(x, positions).double(), expected, rtol=1e-5, atol=1e-5)


def test_rope_score_depends_only_on_relative_position():
    torch.manual_seed(1)
    rope = RoPE(16, max_seq_len=128)
    q, k = torch.randn(1, 16), torch.randn(1, 16)

    def score(m, n):
        return (rope(q, torch.tensor([m])) * rope(k, torch.tensor([n]))).sum().item()

    for m, n in [(0, 0), (5, 2), (2, 5), (30, 1)]:
        for shift in (1, 7, 90):
            assert score(m + shift, n + shift) == pytest.approx(score(m, n), abs=1e-4)
    # and it does depend on the distance (otherwise the property above would be vacuous)
    assert abs(score(5, 2) - score(9, 2)) > 1e-3


def test_rope_preserves_norms_and_is_identity_at_position_zero():
    torch.manual_seed(2)
    rope = RoPE(8, max_seq_len=16)
    x = torch.randn(4, 10, 8)
    rotated = rope(x, torch.arange(10))
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(rotated[:, 0], x[:, 0])


def test_rope_refuses_bad_shapes():
    with pytest.raises(ValueError, match="even"):
        RoPE(7)
    rope = RoPE(8, max_seq_len=4)
    with pytest.raises(ValueError, match="d=8"):
        rope(torch.randn(2, 6), torch.arange(2))
    with pytest.raises(ValueError, match="positions < 4"):
        rope(torch.randn(5, 8), torch.arange(5))
