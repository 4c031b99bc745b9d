"""Hidden tests for A2 part 4: the RNN LM and truncated BPTT.

Oracle: course_lib.models.neural_lm.RNNLM (same state_dict layout) and course_lib.models.bptt, in float64, with
random weights loaded into both through the notebook's GradedModule.set_weights.

Clause -> test:
- forward(idx, None): logits (B, T, V) and state (1, B, H) from a zero state -> test_rnnlm_logits
- forward(idx, state) continues from the given state (two chunks = one long run) -> test_rnnlm_state_carry
- streams ids[:n*B].view(B, n), chunks [start, min(start+bptt, n-1)), targets shifted -> test_tbptt_batches
- one SGD pass, state carried across chunks and detached, no clipping -> test_train_tbptt_matches_reference
- returns the chunk losses as floats -> test_train_tbptt_losses
"""

import math

import pytest
import torch
from a2_inputs import randomize, state_dict64

from autograder.checks import check_close
from course_lib.models.bptt import batchify, tbptt_chunks, train_tbptt
from course_lib.models.neural_lm import RNNLM, RecurrentLMConfig


def sizes(gen: torch.Generator) -> tuple[int, int, int]:
    V = int(torch.randint(7, 11, (1,), generator=gen))
    return V, int(torch.randint(3, 6, (1,), generator=gen)), int(torch.randint(11, 14, (1,), generator=gen))


def both_models(student, gen: torch.Generator):
    V, d_embed, d_hidden = sizes(gen)
    ref = randomize(RNNLM(RecurrentLMConfig(V, d_embed, d_hidden, n_layers=1, fast=True)), gen, 0.4)
    model = student.new("RNNLM", V, d_embed, d_hidden)
    model.set_weights(state_dict64(ref))
    return model, ref, V


def check_pair(got, what: str):
    if type(got) not in (tuple, list) or len(got) != 2:
        raise AssertionError(f"{what} must return (logits, state)")
    return got


@pytest.mark.points(3)
def test_rnnlm_logits(student, rng):
    """RNNLM.forward(idx) from a zero state: logits and final state equal the reference's."""
    model, ref, V = both_models(student, rng)
    idx = torch.randint(0, V, (3, 7), generator=rng)
    logits, state = check_pair(model.forward(idx), "RNNLM.forward")
    want_logits, want_state = ref.run(idx)
    check_close(logits, want_logits, "RNNLM.forward logits (B=3, T=7)", atol=1e-9, rtol=1e-7)
    check_close(state, want_state, "RNNLM.forward final state", atol=1e-9, rtol=1e-7)


@pytest.mark.points(2)
def test_rnnlm_state_carry(student, rng):
    """RNNLM.forward(idx, state) starts from the given state (random, not zeros)."""
    model, ref, V = both_models(student, rng)
    idx = torch.randint(0, V, (2, 5), generator=rng)
    state = torch.randn(1, 2, ref.config.d_hidden, generator=rng, dtype=torch.float64)
    logits, new_state = check_pair(model.forward(idx, state), "RNNLM.forward(idx, state)")
    want_logits, want_state = ref.run(idx, state)
    check_close(logits, want_logits, "RNNLM.forward(idx, state) logits", atol=1e-9, rtol=1e-7)
    check_close(new_state, want_state, "RNNLM.forward(idx, state) final state", atol=1e-9, rtol=1e-7)


@pytest.mark.points(3)
def test_tbptt_batches(student, rng):
    """tbptt_batches for random lengths, batch sizes and bptt (including a bptt longer than the streams)."""
    for _ in range(3):
        N, B = int(torch.randint(20, 60, (1,), generator=rng)), int(torch.randint(2, 5, (1,), generator=rng))
        for bptt in (int(torch.randint(2, 7, (1,), generator=rng)), N):
            ids = torch.randint(0, 50, (N,), generator=rng)
            got = student.tbptt_batches(ids, B, bptt)
            want = list(tbptt_chunks(batchify(ids, B), bptt))
            what = f"tbptt_batches({N} ids, batch_size={B}, bptt={bptt})"
            if type(got) is not list or len(got) != len(want):
                raise AssertionError(f"{what} must return a list of {len(want)} (inputs, targets) pairs")
            for i, (pair, (x, y)) in enumerate(zip(got, want)):
                if type(pair) not in (tuple, list) or len(pair) != 2:
                    raise AssertionError(f"{what}: item {i} is not an (inputs, targets) pair")
                check_close(pair[0], x, f"{what}: inputs of chunk {i}")
                check_close(pair[1], y, f"{what}: targets of chunk {i}")


def train_both(student, rng):
    model, ref, V = both_models(student, rng)
    N, B = int(torch.randint(60, 90, (1,), generator=rng)), int(torch.randint(2, 4, (1,), generator=rng))
    bptt, lr = int(torch.randint(3, 6, (1,), generator=rng)), 0.3
    ids = torch.randint(0, V, (N,), generator=rng)
    losses = student.train_tbptt(model, ids, B, bptt, lr)
    want = train_tbptt(ref, ids, torch.optim.SGD(ref.parameters(), lr=lr), batch_size=B, bptt=bptt, clip=None)
    return model, ref, losses, want


@pytest.mark.points(6)
def test_train_tbptt_matches_reference(student, rng):
    """after one pass of train_tbptt (state carried and detached) the weights equal the reference's."""
    model, ref, _, _ = train_both(student, rng)
    got = model.weights()
    for name, value in ref.state_dict().items():
        check_close(got[name], value, f"the weight {name!r} after train_tbptt", atol=1e-8, rtol=1e-6, check_dtype=False)


@pytest.mark.points(2)
def test_train_tbptt_losses(student, rng):
    """train_tbptt returns one float loss per chunk, equal to the reference's."""
    _, _, losses, want = train_both(student, rng)
    if type(losses) is not list or len(losses) != len(want) or not all(type(v) is float for v in losses):
        raise AssertionError(f"train_tbptt must return a list of {len(want)} floats (one per chunk)")
    for i, (a, b) in enumerate(zip(losses, want)):
        if not math.isclose(a, b, rel_tol=1e-7):
            raise AssertionError(f"train_tbptt: the loss of chunk {i} is wrong")
