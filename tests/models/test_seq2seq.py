"""Seq2seq with attention: scores and steps against float64 recomputations of their formulas, padding and
causality properties, the loss, and decoding against a from-scratch recomputation."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.data.synthetic import date_pairs, date_vocab, iter_date_pairs
from course_lib.decoding import search
from course_lib.models.seq2seq import (
    AdditiveScore,
    AttentionDecoder,
    DotScore,
    GeneralScore,
    RNNEncoder,
    Seq2SeqAttention,
    attend,
    beam_decode,
    exact_match,
    greedy_decode,
    make_batch,
    make_score,
    seq2seq_loss,
    shift_right,
    train_seq2seq,
)
from course_lib.nn import EncoderDecoder

V, B, S, T = 11, 3, 7, 5


def _keep() -> torch.Tensor:
    keep = torch.ones(B, S, dtype=torch.bool)
    keep[1, 4:] = False
    keep[2, 1:] = False
    return keep


def test_score_functions_match_their_formulas_in_float64():
    torch.manual_seed(0)
    query, keys = torch.randn(B, 6, dtype=torch.float64), torch.randn(B, S, 10, dtype=torch.float64)
    general = GeneralScore(6, 10).double()
    W = general.W.weight  # (10, 6): non-square, so W on the wrong side fails
    expected = torch.stack([torch.stack([keys[b, j] @ W @ query[b] for j in range(S)]) for b in range(B)])
    torch.testing.assert_close(general(query, keys), expected)
    additive = AdditiveScore(6, 10, 8).double()
    W1, W2, v = additive.W1.weight, additive.W2.weight, additive.v.weight[0]
    expected = torch.stack(
        [torch.stack([v @ torch.tanh(W1 @ keys[b, j] + W2 @ query[b]) for j in range(S)]) for b in range(B)]
    )
    torch.testing.assert_close(additive(query, keys), expected)
    keys6 = keys[..., :6]
    torch.testing.assert_close(DotScore()(query, keys6), torch.einsum("bd,bsd->bs", query, keys6))
    with pytest.raises(ValueError, match="equal widths"):
        DotScore()(query, keys)
    with pytest.raises(ValueError, match="unknown attention score"):
        make_score("cosine", 6, 10)


def test_attend_is_a_masked_distribution():
    torch.manual_seed(1)
    scores, values, keep = torch.randn(B, S), torch.randn(B, S, 4), _keep()
    context, weights = attend(scores, values, keep)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B))
    assert torch.all(weights[~keep] == 0)
    expected = torch.softmax(scores[1, :4], dim=0)
    torch.testing.assert_close(weights[1, :4], expected)
    torch.testing.assert_close(context, torch.einsum("bs,bsd->bd", weights, values))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_encoder_matches_unpadded_runs_and_ignores_padding(cell):
    torch.manual_seed(2)
    enc = RNNEncoder(V, 8, 5, cell=cell)
    src, keep = torch.randint(3, V, (B, S)), _keep()
    states, summary = enc(src, keep)
    assert states.shape == (B, S, 10) and summary.shape == (B, 10)
    assert torch.all(states[~keep] == 0)
    for b in range(B):  # oracle: each source alone, no padding, same weights
        n = int(keep[b].sum())
        alone, final = enc.rnn(enc.embedding(src[b : b + 1, :n]))
        torch.testing.assert_close(states[b, :n], alone[0], rtol=1e-5, atol=1e-6)
        h_n = final[0] if cell == "lstm" else final
        torch.testing.assert_close(summary[b], torch.cat([h_n[0, 0], h_n[1, 0]]), rtol=1e-5, atol=1e-6)
    changed = torch.where(keep, src, torch.randint(3, V, (B, S)))
    torch.testing.assert_close(enc(changed, keep)[0], states)
    with pytest.raises(ValueError, match="at least one real token"):
        enc(src, torch.zeros(B, S, dtype=torch.bool))


def _decoder_inputs(d_enc=10):
    torch.manual_seed(3)
    memory = torch.randn(B, S, d_enc, dtype=torch.float64)
    return torch.randint(3, V, (B,)), memory, _keep()


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_bahdanau_step_attends_from_the_previous_state(score):
    y_prev, memory, keep = _decoder_inputs()
    dec = AttentionDecoder(V, 6, 10, 10, score=score, style="bahdanau").double()
    s_prev = torch.randn(B, 10, dtype=torch.float64)
    logits, (s, c), weights = dec.step(y_prev, (s_prev, None), memory, keep)
    assert c is None and logits.shape == (B, V)
    expected_weights = torch.softmax(dec.score(s_prev, memory).masked_fill(~keep, float("-inf")), dim=-1)
    torch.testing.assert_close(weights, expected_weights)
    context = torch.einsum("bs,bsd->bd", expected_weights, memory)
    expected_s = dec.cell(torch.cat([dec.embedding(y_prev), context], dim=-1), s_prev)  # input feeding
    torch.testing.assert_close(s, expected_s)
    torch.testing.assert_close(logits, dec.out(torch.cat([expected_s, context], dim=-1)))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_luong_step_attends_from_the_new_state(cell):
    y_prev, memory, keep = _decoder_inputs(d_enc=12)
    dec = AttentionDecoder(V, 6, 8, 12, score="general", style="luong", cell=cell).double()
    state = dec.initial_state(torch.randn(B, 12, dtype=torch.float64))
    if cell == "lstm":
        state = (state[0], torch.randn(B, 8, dtype=torch.float64))
    logits, new_state, weights = dec.step(y_prev, state, memory, keep)
    if cell == "lstm":
        expected_s, expected_c = dec.cell(dec.embedding(y_prev), state)
        torch.testing.assert_close(new_state[1], expected_c)
    else:
        expected_s = dec.cell(dec.embedding(y_prev), state[0])
    torch.testing.assert_close(new_state[0], expected_s)
    scores = torch.einsum("bsk,kq,bq->bs", memory, dec.score.W.weight, expected_s)
    torch.testing.assert_close(weights, torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1))
    context = torch.einsum("bs,bsd->bd", weights, memory)
    h_tilde = torch.tanh(torch.cat([context, expected_s], dim=-1) @ dec.W_c.weight.T)
    torch.testing.assert_close(logits, dec.out(h_tilde))


def test_no_attention_decoder_sees_the_source_only_through_its_initial_state():
    y_prev, memory, keep = _decoder_inputs()
    dec = AttentionDecoder(V, 6, 10, 10, score="none").double()
    state = (torch.randn(B, 10, dtype=torch.float64), None)
    logits, _, weights = dec.step(y_prev, state, memory, keep)
    torch.testing.assert_close(dec.step(y_prev, state, torch.randn_like(memory), keep)[0], logits)
    assert torch.all(weights == 0)


@pytest.mark.parametrize(("score", "style", "cell"), [("additive", "bahdanau", "gru"), ("dot", "luong", "lstm")])
def test_model_is_causal_in_targets_and_ignores_padded_sources(score, style, cell):
    torch.manual_seed(4)
    model = Seq2SeqAttention(V, 6, 5, score=score, style=style, cell=cell)
    src, keep = torch.randint(3, V, (B, S)), _keep()
    tgt_in = torch.randint(3, V, (B, T))
    logits, weights = model(src, keep, tgt_in)
    assert logits.shape == (B, T, V) and weights.shape == (B, T, S)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, T))
    assert torch.all(weights.masked_select(~keep[:, None, :].expand(B, T, S)) == 0)
    future = tgt_in.clone()
    future[:, 3:] = (future[:, 3:] + 1) % V
    changed = model(src, keep, future)[0]
    torch.testing.assert_close(changed[:, :3], logits[:, :3])  # input 3 affects outputs from position 3 on
    assert not torch.allclose(changed[:, 3], logits[:, 3])
    padded = torch.where(keep, src, torch.randint(3, V, (B, S)))
    torch.testing.assert_close(model(padded, keep, tgt_in)[0], logits)


def test_loss_ignores_padding_and_shift_right_pairs_each_input_with_the_next_token():
    tgt = torch.tensor([[1, 5, 6, 2, 0], [1, 7, 2, 0, 0]])
    tgt_in, tgt_out = shift_right(tgt)
    assert tgt_in.tolist() == [[1, 5, 6, 2], [1, 7, 2, 0]] and tgt_out.tolist() == [[5, 6, 2, 0], [7, 2, 0, 0]]
    torch.manual_seed(5)
    logits = torch.randn(2, 4, V, dtype=torch.float64)
    real = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    expected = sum(-F.log_softmax(logits[b, t], -1)[tgt_out[b, t]] for b, t in real) / len(real)
    torch.testing.assert_close(seq2seq_loss(logits, tgt_out), expected)
    logits[1, 3] += 100 * torch.randn(V, dtype=torch.float64)  # a padded position
    torch.testing.assert_close(seq2seq_loss(logits, tgt_out), expected)


class _Recompute:
    """Decoding oracle: re-read the whole prefix with the teacher-forced forward pass at every call."""

    def __init__(self, model, src, keep, k):
        self.model, self.src, self.keep = model, src.repeat_interleave(k, 0), keep.repeat_interleave(k, 0)

    def __call__(self, idx):
        return self.model(self.src, self.keep, idx)[0][:, -1]

    def reorder(self, rows):
        self.src, self.keep = self.src[rows], self.keep[rows]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_greedy_and_beam_decoding_match_recomputation(cell):
    torch.manual_seed(6)
    model = Seq2SeqAttention(V, 6, 5, score="general", style="luong", cell=cell).eval()
    with torch.no_grad():
        model.decoder.out.bias[2] += 1.5  # make </s> likely enough that some hypotheses end early
    src, keep = torch.randint(3, V, (B, S)), _keep()
    start = torch.ones(B, 1, dtype=torch.long)
    for k in (1, 3):
        expected = search(_Recompute(model, src, keep, k), start, 8, num_beams=k, eos_id=2)[:, 1:]
        got = greedy_decode(model, src, keep, 8)[0] if k == 1 else beam_decode(model, src, keep, 8, num_beams=k)
        assert torch.equal(got, expected)
    tokens, weights = greedy_decode(model, src, keep, 8)
    assert weights.shape == (B, tokens.size(1), S)
    # a greedy token is the argmax given the tokens before it; after </s> only </s>
    logits, _ = model(src, keep, torch.cat([start, tokens[:, :-1]], dim=1))
    for b in range(B):
        row = tokens[b].tolist()
        n = row.index(2) + 1 if 2 in row else len(row)
        assert row[:n] == logits[b, :n].argmax(-1).tolist() and set(row[n:]) <= {2}


def test_transformer_decoding_goes_through_the_same_search():
    torch.manual_seed(7)
    model = EncoderDecoder(V, V, d_model=12, n_heads=3, n_encoder_layers=1, n_decoder_layers=1).eval()
    src, keep = torch.randint(3, V, (B, S)), _keep()
    tokens, weights = greedy_decode(model, src, keep, 6)
    assert weights is None
    logits = model(src, torch.cat([torch.ones(B, 1, dtype=torch.long), tokens[:, :-1]], dim=1), keep)
    for b in range(B):
        row = tokens[b].tolist()
        n = row.index(2) + 1 if 2 in row else len(row)
        assert row[:n] == logits[b, :n].argmax(-1).tolist()
    beams = beam_decode(model, src, keep, 6, num_beams=3)
    assert beams.shape[0] == B and beams.shape[1] <= 6
    with pytest.raises(TypeError, match="cannot decode"):
        greedy_decode(torch.nn.Linear(2, 2), src, keep, 3)


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="decoder style"):
        AttentionDecoder(V, 4, 4, 4, style="vaswani")
    with pytest.raises(ValueError, match="RNN cell"):
        RNNEncoder(V, 4, 4, cell="rnn")


@pytest.mark.slow
def test_attention_learns_the_date_task():
    """Two formats keep it to ~15 s on one core (lecture 05 and bench/bench_date_task.py train on all of them)."""
    torch.manual_seed(0)
    vocab, formats = date_vocab(), ["numeric_dot", "fr_long"]
    model = Seq2SeqAttention(vocab.vocab_size, 16, 32, score="additive", style="bahdanau")
    losses = train_seq2seq(model, vocab, iter_date_pairs("train", seed=0, formats=formats), steps=150, batch_size=32)
    assert losses[-1] < losses[0] / 20
    dev = date_pairs(200, "dev", seed=0, formats=formats)
    assert exact_match(model, vocab, dev) > 0.8
    assert exact_match(model, vocab, dev[:50], num_beams=3) > 0.8
    src, keep, tgt_in, tgt_out = make_batch(vocab, dev[:4])
    assert torch.equal(tgt_in[:, 1:], tgt_out[:, :-1]) and tgt_in[:, 0].eq(vocab.bos_id).all()
    assert torch.equal(keep, src != vocab.pad_id) and src[torch.arange(4), keep.sum(1) - 1].eq(vocab.eos_id).all()
