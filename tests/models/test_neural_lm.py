"""Window, RNN and LSTM language models; truncated BPTT, clipping and the gradient-norm measurement."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.errors import CourseError
from course_lib.models.bptt import (
    batchify,
    clip_grad_norm,
    detach_state,
    hidden_gradient_norms,
    stream_perplexity,
    tbptt_chunks,
    train_tbptt,
)
from course_lib.models.neural_lm import (
    LSTMLM,
    RNNLM,
    RecurrentLMConfig,
    WindowLM,
    WindowLMConfig,
    window_contexts,
    window_examples,
)
from course_lib.models.recurrent import LSTMCell, RNNCell


def test_window_contexts_oldest_first_with_padding():
    idx = torch.tensor([[5, 6, 7, 8]])
    got = window_contexts(idx, 3, pad_id=99)
    want = [[99, 99, 5], [99, 5, 6], [5, 6, 7], [6, 7, 8]]
    assert got.tolist() == [want]
    contexts, targets = window_examples(torch.tensor([5, 6, 7, 8]), 2, pad_id=99)
    assert contexts.tolist() == [[99, 99], [99, 5], [5, 6], [6, 7]] and targets.tolist() == [5, 6, 7, 8]


def test_window_lm_equals_the_formula_and_is_causal():
    torch.manual_seed(0)
    cfg = WindowLMConfig(vocab_size=10, context=3, d_embed=4, d_hidden=8)
    lm = WindowLM(cfg)
    idx = torch.randint(0, 10, (2, 6))
    logits, loss = lm(idx, idx)
    E, W1, b1, W2, b2 = lm.embedding.weight, lm.hidden.weight, lm.hidden.bias, lm.head.weight, lm.head.bias
    t = 4
    x = torch.cat([E[idx[1, t - 2]], E[idx[1, t - 1]], E[idx[1, t]]])
    torch.testing.assert_close(logits[1, t], W2 @ torch.tanh(W1 @ x + b1) + b2)
    x0 = torch.cat([E[10], E[10], E[idx[0, 0]]])  # the padding row, not a word's
    torch.testing.assert_close(logits[0, 0], W2 @ torch.tanh(W1 @ x0 + b1) + b2)
    torch.testing.assert_close(loss, F.cross_entropy(logits.flatten(0, 1), idx.flatten()))
    changed = idx.clone()
    changed[:, 5] = (changed[:, 5] + 1) % 10
    torch.testing.assert_close(lm(changed)[0][:, :5], logits[:, :5])  # future tokens do not matter


@pytest.mark.parametrize("cls", [RNNLM, LSTMLM])
def test_recurrent_lm_fast_and_readable_agree(cls):
    torch.manual_seed(0)
    fast = cls(RecurrentLMConfig(vocab_size=12, d_embed=5, d_hidden=6, n_layers=2, fast=True))
    slow = cls(RecurrentLMConfig(vocab_size=12, d_embed=5, d_hidden=6, n_layers=2, fast=False))
    slow.load_state_dict(fast.state_dict())
    idx = torch.randint(0, 12, (3, 7))
    torch.testing.assert_close(fast(idx, idx)[0], slow(idx, idx)[0], atol=1e-6, rtol=0)
    # carrying the state across two chunks equals one pass over the whole sequence
    whole, _ = slow.run(idx)
    first, state = slow.run(idx[:, :3])
    second, _ = slow.run(idx[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)


def test_tbptt_chunks_cover_the_streams_once():
    ids = torch.arange(43)
    streams = batchify(ids, 4)
    assert streams.shape == (4, 10) and streams[1, 0] == 10
    chunks = list(tbptt_chunks(streams, 4))
    assert [x.shape[1] for x, _ in chunks] == [4, 4, 1]
    for x, y in chunks:
        assert torch.equal(y, x + 1)  # targets are the next tokens of the same stream
    assert torch.equal(torch.cat([x for x, _ in chunks], 1), streams[:, :-1])


def test_train_tbptt_carries_a_detached_state(monkeypatch):
    torch.manual_seed(0)
    lm = LSTMLM(RecurrentLMConfig(vocab_size=5, d_embed=4, d_hidden=8))
    seen = []
    run = lm.run

    def spy(x, state=None):
        seen.append(state)
        return run(x, state)

    monkeypatch.setattr(lm, "run", spy)
    ids = torch.tensor([0, 1, 2, 3, 4] * 40)
    losses = train_tbptt(lm, ids, torch.optim.Adam(lm.parameters(), 0.03), batch_size=4, bptt=5, epochs=3)
    assert seen[0] is None and all(s is not None and not s[0].requires_grad for s in seen[1:10])
    assert sum(s is None for s in seen) == 3  # reset once per epoch, not per chunk
    assert losses[-1] < 0.3 * losses[0]  # a periodic sequence is learnt
    assert stream_perplexity(lm, ids[:50], bptt=7) < 1.5


def test_detach_state():
    h = torch.ones(2, requires_grad=True) * 2
    assert not detach_state(h).requires_grad
    assert not any(s.requires_grad for s in detach_state((h, h)))
    assert detach_state(None) is None


@pytest.mark.parametrize("max_norm", [0.05, 1e6])
def test_clip_grad_norm_equals_torch(max_norm):
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(2, 2))
    b = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(2, 2))
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 4)
    for m in (a, b):
        m[0](x).sum().backward()  # layers 1 and 2 keep grad None, and must be skipped
        (m(x) ** 2).sum().backward()
    a[2].bias.grad = None
    b[2].bias.grad = None
    ours = clip_grad_norm(a.parameters(), max_norm)
    ref = nn.utils.clip_grad_norm_(b.parameters(), max_norm)
    torch.testing.assert_close(ours, ref)
    for p, q in zip(a.parameters(), b.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            torch.testing.assert_close(p.grad, q.grad)


def test_hidden_gradient_norms_identity_at_zero_and_vanish_for_a_small_rnn():
    torch.manual_seed(0)
    rnn = RNNCell(3, 6)
    with torch.no_grad():
        rnn.weight_hh.mul_(0.3)  # a contracting recurrence: gradients must vanish
    norms = hidden_gradient_norms(rnn, torch.randn(30, 3))
    assert norms.shape == (30,)
    assert math.isclose(norms[0].item(), 1.0, rel_tol=1e-6)
    assert norms[-1] < 1e-6 * norms[1]
    # one step back: dh_T/dh_{T-1} = diag(1 - h_T^2) W_hh, checked with torch.autograd.functional.jacobian
    x = torch.randn(5, 3)
    h = None
    for x_t in x[:-1]:
        h = rnn(x_t[None], h)
    jac = torch.autograd.functional.jacobian(lambda h_prev: rnn(x[-1][None], h_prev), h)[0, :, 0, :]
    torch.testing.assert_close(hidden_gradient_norms(rnn, x)[1], torch.linalg.matrix_norm(jac, ord=2))
    lstm_norms = hidden_gradient_norms(LSTMCell(3, 6), torch.randn(10, 3))
    assert lstm_norms.shape == (10,) and torch.all(lstm_norms > 0)


def test_hidden_gradient_norms_along_a_direction_equal_autograd_functional():
    torch.manual_seed(1)
    cell = RNNCell(3, 5).double()
    x, u = torch.randn(6, 3, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    norms = hidden_gradient_norms(cell, x, u)
    assert math.isclose(norms[0].item(), u.norm().item(), rel_tol=1e-12)

    def last_from(k):  # h_T as a function of h_{T-k}, replaying the remaining k steps
        def run(h):
            for x_t in x[len(x) - k :]:
                h = cell(x_t[None], h)
            return (h[0] * u).sum()

        return run

    h = None
    states = []
    for x_t in x:
        h = cell(x_t[None], h)
        states.append(h.detach())
    for k in range(1, 6):
        grad = torch.autograd.functional.jacobian(last_from(k), states[len(x) - 1 - k])
        assert math.isclose(norms[k].item(), grad.norm().item(), rel_tol=1e-9)


def test_generate_carries_the_state_and_follows_the_distribution():
    torch.manual_seed(0)
    lm = LSTMLM(RecurrentLMConfig(vocab_size=6, d_embed=4, d_hidden=8))
    prompt = torch.tensor([1, 2, 3])
    # near-zero temperature: the greedy continuation, recomputed from scratch on the whole prefix each step
    got = lm.generate(prompt, 5, temperature=1e-4, generator=torch.Generator().manual_seed(1))
    seq = prompt.clone()
    for _ in range(5):
        logits, _ = lm(seq[None])
        seq = torch.cat([seq, logits[0, -1].argmax()[None]])
    assert got.tolist() == seq[3:].tolist()
    # temperature 1: the first sampled token's frequencies match softmax(logits) (5 sigma)
    probs = torch.softmax(lm(prompt[None])[0][0, -1], -1)
    g = torch.Generator().manual_seed(2)
    counts = torch.bincount(torch.stack([lm.generate(prompt, 1, generator=g)[0] for _ in range(600)]), minlength=6)
    sigma = (600 * probs * (1 - probs)).sqrt()
    assert torch.all((counts - 600 * probs).abs() <= 5 * sigma + 1)
    with pytest.raises(CourseError, match="non-empty 1-D prompt"):
        lm.generate(torch.tensor([]), 3)


def test_train_tbptt_on_chunk_hook_sees_every_chunk_and_can_stop():
    torch.manual_seed(0)
    lm = RNNLM(RecurrentLMConfig(vocab_size=5, d_embed=3, d_hidden=4))
    seen = []

    def hook(chunks, loss):
        seen.append((chunks, loss, lm.training))
        lm.eval()  # an evaluation in the hook; training must switch back
        return chunks == 7

    losses = train_tbptt(
        lm, torch.arange(200) % 5, torch.optim.SGD(lm.parameters(), 0.1), batch_size=2, bptt=5, epochs=5, on_chunk=hook
    )
    assert [c for c, _, _ in seen] == list(range(1, 8)) and len(losses) == 7
    assert [loss for _, loss, _ in seen] == losses and all(training for _, _, training in seen)
