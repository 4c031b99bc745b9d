"""Hidden tests for A4 part 1: skip-gram with negative sampling.
Oracles: course_lib.models.word2vec (float64) and recomputation of the stated formulas; 5-sigma bounds for sampling.

Clause -> test: pairs with 0 < |i - j| <= window, ordered by centre then context -> test_window_pairs_random; empty
and one-id lists, repeated ids -> test_window_pairs_edges; keep probability formula, capped at 1, float64 ->
test_subsampling_keep_probabilities; keep iff u < keep[id], order kept -> test_subsampling_applies_the_uniforms;
default power 3/4, power argument honoured -> test_noise_distribution_default_power; (B, K) int64, never the
positive -> test_noise_negatives_never_the_positive; draws follow P_n without the positive ->
test_noise_negatives_follow_the_distribution; summed loss, 0-d, input dtype -> test_sgns_gradients_loss; grad_v ->
test_sgns_gradients_centre; grad_u_pos, grad_u_neg -> test_sgns_gradients_context_and_noise; repeats add up,
arguments not modified -> test_sgns_update_accumulates_repeats; a, b, c excluded, int returned ->
test_analogy_excludes_query_words; unit vectors -> test_analogy_uses_unit_vectors; 3CosAdd -> test_analogy_random.
"""

import math
import random

import pytest
import torch
from a4_inputs import check_exact, check_rate

from autograder.checks import check_close, check_pairs, check_tensor, check_type
from course_lib.models import word2vec as ref


def expected_pairs(ids: list[int], window: int) -> list[tuple[int, int]]:
    """The reference's pairs, put in the stated order (by centre position, then context position)."""
    positions = torch.arange(len(ids))
    centres, contexts = ref.skipgram_pairs(positions, window)
    order = sorted(zip(centres.tolist(), contexts.tolist()))
    return [(ids[i], ids[j]) for i, j in order]


@pytest.mark.points(2)
def test_window_pairs_random(student, seed):
    """skipgram_pairs on random id lists (repeated ids) with windows from 1 to longer than the list."""
    rng = random.Random(seed)
    for _ in range(8):
        ids = [rng.randint(0, 6) for _ in range(rng.randint(2, 12))]
        window = rng.randint(1, 14)
        check_pairs(
            student.skipgram_pairs(ids, window), expected_pairs(ids, window), f"skipgram_pairs(window={window})"
        )


@pytest.mark.points(1)
def test_window_pairs_edges(student, seed):
    """skipgram_pairs of an empty list and of a single id is empty; a window of 1 pairs only neighbours."""
    check_pairs(student.skipgram_pairs([], 3), [], "skipgram_pairs([], 3)")
    check_pairs(student.skipgram_pairs([seed % 50], 2), [], "skipgram_pairs of one id")
    check_pairs(student.skipgram_pairs([3, 3, 3], 1), expected_pairs([3, 3, 3], 1), "skipgram_pairs([3, 3, 3], 1)")


@pytest.mark.points(2)
def test_subsampling_keep_probabilities(student, rng):
    """keep_probabilities on random counts (very frequent to rare words) and sample rates: float64, capped at 1."""
    for sample in (1e-3, 1e-2, 1e-4):
        counts = torch.cat([torch.tensor([5e5, 5e4]), torch.randint(1, 2000, (20,), generator=rng).double()])
        counts = counts[torch.randperm(len(counts), generator=rng)]
        want = torch.as_tensor(ref.keep_probabilities(counts.numpy(), sample), dtype=torch.float64)
        check_close(
            student.keep_probabilities(counts, sample), want, f"keep_probabilities(sample={sample})", atol=1e-12
        )


@pytest.mark.points(1)
def test_subsampling_applies_the_uniforms(student, rng):
    """subsample keeps ids[i] exactly when u[i] < keep[ids[i]], in order."""
    keep = torch.rand(30, generator=rng, dtype=torch.float64)
    ids = torch.randint(0, 30, (500,), generator=rng)
    u = torch.rand(500, generator=rng, dtype=torch.float64)
    check_exact(student.subsample(ids, keep, u), ids[u < keep[ids]], "subsample(ids, keep, u)")


@pytest.mark.points(1)
def test_noise_distribution_default_power(student, rng):
    """noise_distribution(counts) with the default power 3/4, and with power=1 and 0.5 given explicitly."""
    counts = torch.randint(1, 10000, (40,), generator=rng).double()
    check_close(
        student.noise_distribution(counts), ref.noise_distribution(counts.numpy()), "noise_distribution(counts)"
    )
    for power in (1.0, 0.5):
        want = ref.noise_distribution(counts.numpy(), power)
        check_close(student.noise_distribution(counts, power), want, f"noise_distribution(power={power})")


def _negatives(student, seed, B=3000, K=5, V=6):
    g = torch.Generator().manual_seed(seed)
    rest = 0.6 * ref.noise_distribution(torch.randint(1, 50, (V - 1,), generator=g).numpy())
    probs = torch.cat([torch.tensor([0.4], dtype=torch.float64), rest])  # word 0 frequent: clashes are common
    positives = torch.randint(0, V, (B,), generator=g)
    negatives = check_tensor(
        student.sample_negatives(positives, K, probs, seed % 100000),
        "sample_negatives",
        shape=(B, K),
        dtype=torch.int64,
    )
    return probs, positives, negatives


@pytest.mark.points(1)
def test_noise_negatives_never_the_positive(student, seed):
    """sample_negatives: (B, K) int64 ids in range, never equal to their own positive (frequent positives)."""
    probs, positives, negatives = _negatives(student, seed)
    if ((negatives < 0) | (negatives >= len(probs))).any():
        raise AssertionError("sample_negatives returned ids outside the vocabulary")
    if (negatives == positives[:, None]).any():
        raise AssertionError("sample_negatives returned a negative equal to its positive")


@pytest.mark.points(1)
def test_noise_negatives_follow_the_distribution(student, seed):
    """sample_negatives: for a given positive, negatives follow the noise distribution without that word (5 sigma)."""
    probs, positives, negatives = _negatives(student, seed + 1)
    rows = negatives[positives == 0].flatten()
    rest = probs[1:] / probs[1:].sum()
    for word in range(1, len(probs)):
        check_rate(int((rows == word).sum()), rows.numel(), float(rest[word - 1]), f"share of negative word {word}")


def _sgns_inputs(rng, dtype=torch.float64):
    B, K, d = (int(torch.randint(lo, hi, (), generator=rng)) for lo, hi in ((3, 9), (2, 7), (4, 11)))
    make = lambda *shape: 1.5 * torch.randn(*shape, generator=rng, dtype=dtype)  # noqa: E731
    return make(B, d), make(B, d), make(B, K, d)


@pytest.mark.points(2)
def test_sgns_gradients_loss(student, rng):
    """sgns_loss_and_grads: the summed loss, a 0-dimensional tensor in the inputs' dtype (float64 and float32)."""
    for dtype in (torch.float64, torch.float32):
        v, u_pos, u_neg = _sgns_inputs(rng, dtype)
        got = student.sgns_loss_and_grads(v, u_pos, u_neg)
        check_type(got, tuple, "sgns_loss_and_grads")
        if len(got) != 4:
            raise AssertionError("sgns_loss_and_grads must return (loss, grad_v, grad_u_pos, grad_u_neg)")
        want = ref.sgns_loss_and_grads(v, u_pos, u_neg)[0]
        check_close(got[0], want, f"the loss ({dtype})", atol=1e-6 if dtype == torch.float64 else 1e-4)


@pytest.mark.points(2)
def test_sgns_gradients_centre(student, rng):
    """sgns_loss_and_grads: grad_v, the gradient for the centre vectors, on random float64 batches."""
    for _ in range(3):
        v, u_pos, u_neg = _sgns_inputs(rng)
        got = student.sgns_loss_and_grads(v, u_pos, u_neg)
        check_close(got[1], ref.sgns_loss_and_grads(v, u_pos, u_neg)[1], "grad_v", atol=1e-9)


@pytest.mark.points(2)
def test_sgns_gradients_context_and_noise(student, rng):
    """sgns_loss_and_grads: grad_u_pos (B, d) and grad_u_neg (B, K, d) on random float64 batches."""
    for _ in range(3):
        v, u_pos, u_neg = _sgns_inputs(rng)
        got = student.sgns_loss_and_grads(v, u_pos, u_neg)
        want = ref.sgns_loss_and_grads(v, u_pos, u_neg)
        check_close(got[2], want[2], "grad_u_pos", atol=1e-9)
        check_close(got[3], want[3], "grad_u_neg", atol=1e-9)


@pytest.mark.points(2)
def test_sgns_update_accumulates_repeats(student, rng):
    """sgns_update: one SGD step where centres, contexts and negatives repeat; the arguments are not modified."""
    V, d, B, K = 7, 5, 12, 4
    for _ in range(2):
        W_in, W_out = (
            torch.randn(V, d, generator=rng, dtype=torch.float64),
            torch.randn(V, d, generator=rng, dtype=torch.float64),
        )
        centres, contexts = torch.randint(0, V, (B,), generator=rng), torch.randint(0, V, (B,), generator=rng)
        negatives = torch.randint(0, V, (B, K), generator=rng)
        negatives[0, :2] = negatives[1, 0] = 3  # a word repeated inside one row and across rows
        want_in, want_out = W_in.clone(), W_out.clone()
        ref.sgns_step(want_in, want_out, centres, contexts, negatives, 0.05)
        got = student.sgns_update(W_in, W_out, centres, contexts, negatives, 0.05)
        check_type(got, tuple, "sgns_update")
        check_close(got[0], want_in, "the new W_in", atol=1e-9)
        check_close(got[1], want_out, "the new W_out", atol=1e-9)


def _analogy_oracle(vectors: torch.Tensor, a: int, b: int, c: int) -> int:
    unit = vectors / vectors.norm(dim=1, keepdim=True)
    scores = unit @ (unit[b] - unit[a] + unit[c])
    scores[[a, b, c]] = -math.inf
    return int(scores.argmax())


@pytest.mark.points(1)
def test_analogy_excludes_query_words(student, rng):
    """analogy never answers a, b or c, even when one of them is the closest word (returns an int)."""
    for _ in range(10):
        vectors = torch.randn(12, 6, generator=rng, dtype=torch.float64)
        a, b, c = torch.randperm(12, generator=rng)[:3].tolist()
        vectors[b] = vectors[c] + 0.05 * vectors[b]  # b and c nearly equal: b - a + c is close to both
        got = student.analogy(vectors, a, b, c)
        check_type(got, int, "analogy")
        if got in (a, b, c):
            raise AssertionError("analogy returned one of the query words")


@pytest.mark.points(1)
def test_analogy_uses_unit_vectors(student, rng):
    """analogy compares cosines: a long vector pointing slightly off is not the answer."""
    for _ in range(10):
        vectors = torch.randn(10, 5, generator=rng, dtype=torch.float64)
        vectors[torch.randint(0, 10, (3,), generator=rng)] *= 40  # a few very long vectors
        a, b, c = torch.randperm(10, generator=rng)[:3].tolist()
        if student.analogy(vectors, a, b, c) != _analogy_oracle(vectors, a, b, c):
            raise AssertionError("analogy picked a different word than 3CosAdd on unit vectors")


@pytest.mark.points(1)
def test_analogy_random(student, rng):
    """analogy on random vocabularies of 50 words in 8 dimensions."""
    for _ in range(10):
        vectors = torch.randn(50, 8, generator=rng, dtype=torch.float64) * torch.rand(
            50, 1, generator=rng, dtype=torch.float64
        )
        a, b, c = torch.randperm(50, generator=rng)[:3].tolist()
        if student.analogy(vectors, a, b, c) != _analogy_oracle(vectors, a, b, c):
            raise AssertionError("analogy picked a different word than 3CosAdd")
