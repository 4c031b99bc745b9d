"""Hidden tests for A3 part 2: Bahdanau and Luong decoder steps. Oracle: course_lib's AttentionDecoder, float64,
with the same weights. Widths all differ: V=11, d_emb=3, H=4, d_enc=6, d_a=5; S=7, B=3.

Test: the clause it checks
- test_bahdanau_step_matches_reference: attend from s_{t-1} (additive), GRU on [E y; c], logits W_out[s; c] + b
- test_bahdanau_step_ignores_padding: the step ignores padded source positions
- test_bahdanau_steps_unrolled: the state returned is the one the next step continues from
- test_luong_step_matches_reference: Luong: GRU on E y, attend from s_t (general, W (d_enc, H)), tanh(W_c [c; s])
- test_luong_step_square_widths: Luong with d_enc = H (a transposed W or swapped concatenation no longer crashes)
- test_luong_step_ignores_padding: Luong ignores padded source positions
"""

import pytest
import torch
from a3_inputs import bahdanau_params, check_close, check_triple, luong_params, padding_keep, randn, reference_decoder

V, E, H, D, A, B, S = 11, 3, 4, 6, 5, 3, 7


def _inputs(rng, d_enc=D):
    y_prev = torch.randint(3, V, (B,), generator=rng)
    return y_prev, randn(rng, B, H), randn(rng, B, S, d_enc), padding_keep(rng, B, S)


def _check_step(student_step, reference, y_prev, s_prev, memory, keep, params, what):
    with torch.no_grad():
        want_logits, (want_s, _), want_weights = reference.step(y_prev, (s_prev, None), memory, keep)
    logits, s, weights = check_triple(student_step(y_prev, s_prev, memory, keep, params), what)
    check_close(weights, want_weights, f"{what} attention weights")
    check_close(s, want_s, f"{what} new state")
    check_close(logits, want_logits, f"{what} logits")
    return logits, s, weights


@pytest.mark.points(4)
def test_bahdanau_step_matches_reference(student, rng):
    """bahdanau_step on random weights and inputs: weights, new state and logits."""
    params = bahdanau_params(rng, V, E, H, D, A)
    _check_step(student.bahdanau_step, reference_decoder(params, "bahdanau"), *_inputs(rng), params, "bahdanau_step")


@pytest.mark.points(3)
def test_bahdanau_step_ignores_padding(student, rng):
    """bahdanau_step: changing the encoder states at padded positions changes nothing; their weights are 0."""
    params = bahdanau_params(rng, V, E, H, D, A)
    y_prev, s_prev, memory, keep = _inputs(rng)
    logits, s, weights = check_triple(student.bahdanau_step(y_prev, s_prev, memory, keep, params), "bahdanau_step")
    if bool((weights.detach()[~keep] != 0).any()):
        raise AssertionError("bahdanau_step gives attention weight to padded source positions")
    changed = torch.where(keep[..., None], memory, 50 + randn(rng, B, S, D))
    again = check_triple(student.bahdanau_step(y_prev, s_prev, changed, keep, params), "bahdanau_step")
    check_close(again[0], logits.detach(), "bahdanau_step logits after changing padded encoder states")


@pytest.mark.points(3)
def test_bahdanau_steps_unrolled(student, rng):
    """Four bahdanau_step calls in a row, each fed the state the previous one returned (teacher forcing)."""
    params = bahdanau_params(rng, V, E, H, D, A)
    reference = reference_decoder(params, "bahdanau")
    _, s_prev, memory, keep = _inputs(rng)
    want_s = got_s = s_prev
    for t in range(4):
        y_prev = torch.randint(3, V, (B,), generator=rng)
        with torch.no_grad():
            want_logits, (want_s, _), _ = reference.step(y_prev, (want_s, None), memory, keep)
        logits, got_s, _ = check_triple(student.bahdanau_step(y_prev, got_s, memory, keep, params), "bahdanau_step")
        check_close(logits, want_logits, f"bahdanau_step logits at step {t}")


@pytest.mark.points(5)
def test_luong_step_matches_reference(student, rng):
    """luong_step on random weights with d_enc=6, H=4: weights, new state and logits."""
    params = luong_params(rng, V, E, H, D)
    _check_step(student.luong_step, reference_decoder(params, "luong"), *_inputs(rng), params, "luong_step")


@pytest.mark.points(3)
def test_luong_step_square_widths(student, rng):
    """luong_step when the encoder and decoder widths are equal (d_enc = H = 4)."""
    params = luong_params(rng, V, E, H, H)
    _check_step(student.luong_step, reference_decoder(params, "luong"), *_inputs(rng, H), params, "luong_step")


@pytest.mark.points(2)
def test_luong_step_ignores_padding(student, rng):
    """luong_step: changing the encoder states at padded positions changes nothing."""
    params = luong_params(rng, V, E, H, D)
    y_prev, s_prev, memory, keep = _inputs(rng)
    logits, _, _ = check_triple(student.luong_step(y_prev, s_prev, memory, keep, params), "luong_step")
    changed = torch.where(keep[..., None], memory, 50 + randn(rng, B, S, D))
    again = check_triple(student.luong_step(y_prev, s_prev, changed, keep, params), "luong_step")
    check_close(again[0], logits.detach(), "luong_step logits after changing padded encoder states")
