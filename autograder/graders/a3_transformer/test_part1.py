"""Hidden tests for A3 part 1: attention scores and padding. Oracle: course_lib.models.seq2seq (float64).

Test: the clause it checks
- (B, S), dtype kept            -> test_scores_dot_matches_reference: dot score sᵀh, shapes (B, d), (B, S, d)
- test_scores_general_matches_reference: general score hᵀ W s with W (d_k, d_q) (W on the right side, not Wᵀ)
- test_scores_additive_matches_reference: additive score vᵀ tanh(W₁h + W₂s), W₁ (d_a, d_k), W₂ (d_a, d_q)
- test_attend_matches_reference: attend: softmax over source positions, context = Σ α v
- test_attend_padding_with_huge_logits: padded positions get weight exactly 0 whatever their score (−inf, not −1e4)
- test_attend_ignores_padded_values: padded values never reach the context
"""

import pytest
import torch
from a3_inputs import F64, check_close, check_pair, padding_keep, randn

from course_lib.models.seq2seq import AdditiveScore, DotScore, GeneralScore, attend

B, S = 3, 7


@pytest.mark.points(3)
def test_scores_dot_matches_reference(student, rng):
    """dot_scores on random (3, 5) queries and (3, 7, 5) keys, in float64 and float32."""
    query, keys = randn(rng, B, 5), randn(rng, B, S, 5)
    check_close(student.dot_scores(query, keys), DotScore()(query, keys), "dot_scores(query, keys)")
    check_close(
        student.dot_scores(query.float(), keys.float()), DotScore()(query, keys).float(), "dot_scores (float32)"
    )


@pytest.mark.points(3)
def test_scores_general_matches_reference(student, rng):
    """general_scores with a non-square W (d_k=6, d_q=4) and with a random square W (not symmetric)."""
    for d_q, d_k in ((4, 6), (5, 5)):
        query, keys, W = randn(rng, B, d_q), randn(rng, B, S, d_k), randn(rng, d_k, d_q)
        oracle = GeneralScore(d_q, d_k).double()
        with torch.no_grad():
            oracle.W.weight.copy_(W)
        check_close(
            student.general_scores(query, keys, W), oracle(query, keys), f"general_scores (d_q={d_q}, d_k={d_k})"
        )


@pytest.mark.points(4)
def test_scores_additive_matches_reference(student, rng):
    """additive_scores with d_q=4, d_k=6, d_a=5, and once more in float32."""
    query, keys = randn(rng, B, 4), randn(rng, B, S, 6)
    W1, W2, v = randn(rng, 5, 6), randn(rng, 5, 4), randn(rng, 5)
    oracle = AdditiveScore(4, 6, 5).double()
    with torch.no_grad():
        oracle.W1.weight.copy_(W1)
        oracle.W2.weight.copy_(W2)
        oracle.v.weight.copy_(v[None])
        want = oracle(query, keys)
    check_close(student.additive_scores(query, keys, W1, W2, v), want, "additive_scores(query, keys, W1, W2, v)")
    got32 = student.additive_scores(query.float(), keys.float(), W1.float(), W2.float(), v.float())
    check_close(got32, want.float(), "additive_scores (float32)")


@pytest.mark.points(2)
def test_attend_matches_reference(student, rng):
    """attend on random scores, (3, 7, 4) values and a padding mask: context and weights."""
    scores, values, keep = randn(rng, B, S), randn(rng, B, S, 4), padding_keep(rng, B, S)
    want_context, want_weights = attend(scores, values, keep)
    context, weights = check_pair(student.attend(scores, values, keep), "attend")
    check_close(weights, want_weights, "attend(...) weights")
    check_close(context, want_context, "attend(...) context")


@pytest.mark.points(2)
def test_attend_padding_with_huge_logits(student, rng):
    """attend where padded positions have huge scores and real ones very negative scores: pads still get 0."""
    keep = padding_keep(rng, B, S, min_len=2)
    scores = torch.where(keep, -1e5 + randn(rng, B, S), 1e6 * torch.ones(B, S, dtype=F64))
    values = randn(rng, B, S, 3)
    want_context, want_weights = attend(scores, values, keep)
    context, weights = check_pair(student.attend(scores, values, keep), "attend")
    check_close(weights, want_weights, "attend(...) weights with large scores")
    check_close(context, want_context, "attend(...) context with large scores")


@pytest.mark.points(1)
def test_attend_ignores_padded_values(student, rng):
    """Changing the values at padded positions leaves the context unchanged."""
    scores, values, keep = randn(rng, B, S), randn(rng, B, S, 4), padding_keep(rng, B, S)
    context, _ = check_pair(student.attend(scores, values, keep), "attend")
    changed = torch.where(keep[..., None], values, 100 + randn(rng, B, S, 4))
    again, _ = check_pair(student.attend(scores, changed, keep), "attend")
    check_close(again, context.detach(), "attend context after changing padded values")
