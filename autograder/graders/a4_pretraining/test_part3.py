"""Hidden tests for A4 part 3: GELU, LayerNorm, a BERT encoder from Hugging Face weights, MiniLM, mean pooling.
Oracle: course_lib.models.bert.BertModel (float64 for random weights; the real MiniLM checkpoint in float32).

Clause -> test: erf GELU -> test_gelu_is_the_erf_form; eps 1e-12, biased variance, last dimension ->
test_layer_norm_eps_and_biased_variance; weights [out, in], post-LN, 1/sqrt(head size), layers from the weights ->
test_bert_encoder_random_weights; additive padding mask, token types, real tokens independent of padding ->
test_bert_encoder_padding_and_token_types; feed-forward narrower than d, 1 to 6 heads, 1 to 3 layers ->
test_bert_encoder_other_shapes; MiniLM from its safetensors, 12 heads, types 0 ->
test_minilm_hidden_states_equal_the_checkpoint; mean over real tokens only -> test_mean_pool_excludes_padding.
"""

import math

import pytest
import torch
from a4_inputs import padded_batch, random_bert_weights, reference_bert

from autograder.checks import check_close
from course_lib.models.bert import BertModel, mean_pool
from course_lib.pretrained import minilm_dir


@pytest.mark.points(2)
def test_gelu_is_the_erf_form(student, rng):
    """gelu on float64 values in [-6, 6] and a random (3, 4, 5) tensor: the exact erf GELU, same shape and dtype."""
    for x in (
        torch.linspace(-6, 6, 241, dtype=torch.float64),
        3 * torch.randn(3, 4, 5, generator=rng, dtype=torch.float64),
    ):
        check_close(student.gelu(x), 0.5 * x * (1 + torch.erf(x / math.sqrt(2))), "gelu(x)", atol=1e-10, rtol=1e-8)


@pytest.mark.points(2)
def test_layer_norm_eps_and_biased_variance(student, rng):
    """layer_norm over the last dimension with eps 1e-12, on float64 inputs of tiny, ordinary and large scale."""
    for scale in (1e-5, 1.0, 300.0):
        x = scale * torch.randn(4, 3, 10, generator=rng, dtype=torch.float64) + torch.randn(
            4, 3, 1, generator=rng, dtype=torch.float64
        )
        weight, bias = (
            torch.randn(10, generator=rng, dtype=torch.float64),
            torch.randn(10, generator=rng, dtype=torch.float64),
        )
        want = torch.nn.functional.layer_norm(x, (10,), weight, bias, eps=1e-12)
        check_close(student.layer_norm(x, weight, bias), want, f"layer_norm (inputs of scale {scale:g})", atol=1e-8)


def _encoder_case(student, rng, d, d_ff, n_layers, n_heads, B, T):
    vocab, max_len = 40, 32
    weights = random_bert_weights(rng, d, d_ff, n_layers, vocab, max_len)
    ids, mask, types = padded_batch(rng, B, T, vocab)
    with torch.no_grad():
        want = reference_bert(weights, n_heads)(ids, mask, types).last_hidden_state
    got = student.bert_encoder(weights, n_heads, ids, mask, types)
    keep = mask.bool()[..., None].expand_as(want)  # padded positions are not graded
    if isinstance(got, torch.Tensor) and got.shape == want.shape:
        got = torch.where(keep, got, want)
    return got, want


@pytest.mark.points(4)
def test_bert_encoder_random_weights(student, rng):
    """bert_encoder with random float64 weights (2 layers, d 24, 4 heads, feed-forward 40) on a full batch."""
    weights = random_bert_weights(rng, 24, 40, 2, 40, 32)
    ids = torch.randint(1, 40, (3, 11), generator=rng)
    mask, types = torch.ones_like(ids), torch.zeros_like(ids)
    with torch.no_grad():
        want = reference_bert(weights, 4)(ids, mask, types).last_hidden_state
    check_close(student.bert_encoder(weights, 4, ids, mask, types), want, "bert_encoder hidden states", atol=1e-8)


@pytest.mark.points(3)
def test_bert_encoder_padding_and_token_types(student, rng):
    """bert_encoder with padded rows of random lengths and segment B token types (real tokens are compared)."""
    got, want = _encoder_case(student, rng, d=16, d_ff=28, n_layers=2, n_heads=2, B=4, T=13)
    check_close(got, want, "bert_encoder hidden states of the real tokens", atol=1e-8)


@pytest.mark.points(3)
def test_bert_encoder_other_shapes(student, rng):
    """bert_encoder with 3 layers, 6 heads, d 30 and feed-forward 17 (narrower than d), and one layer with 1 head."""
    got, want = _encoder_case(student, rng, d=30, d_ff=17, n_layers=3, n_heads=6, B=2, T=9)
    check_close(got, want, "bert_encoder hidden states (3 layers, 6 heads)", atol=1e-8)
    got, want = _encoder_case(student, rng, d=8, d_ff=20, n_layers=1, n_heads=1, B=3, T=5)
    check_close(got, want, "bert_encoder hidden states (1 layer, 1 head)", atol=1e-8)


_MINILM: list[BertModel] = []


def _minilm() -> BertModel:
    if not _MINILM:
        _MINILM.append(BertModel.from_pretrained(minilm_dir()))
    return _MINILM[0]


@pytest.mark.points(4)
def test_minilm_hidden_states_equal_the_checkpoint(student, rng):
    """minilm_hidden_states on random token ids with padding: the real all-MiniLM-L6-v2 hidden states."""
    model = _minilm()
    ids, mask, _ = padded_batch(rng, 3, 20, model.config.vocab_size, low=1000)
    ids[:, 0] = 101
    with torch.no_grad():
        want = model(ids, mask).last_hidden_state
    got = student.minilm_hidden_states(ids, mask)
    if isinstance(got, torch.Tensor) and got.shape == want.shape:
        got = torch.where(mask.bool()[..., None], got, want)  # padded positions are not graded
    check_close(got, want, "minilm_hidden_states", atol=1e-4, rtol=1e-4, check_dtype=False)


@pytest.mark.points(2)
def test_mean_pool_excludes_padding(student, rng):
    """mean_pool over real tokens only, for rows of random lengths, float32 and float64."""
    for dtype in (torch.float32, torch.float64):
        hidden = torch.randn(5, 9, 7, generator=rng, dtype=dtype)
        _, mask, _ = padded_batch(rng, 5, 9, 10)
        check_close(student.mean_pool(hidden, mask), mean_pool(hidden, mask), f"mean_pool ({dtype})", atol=1e-6)
