"""word2vec (SGNS): gradients against autograd in float64, sampling rates within 5 sigma, gensim as the peer."""

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from course_lib.errors import CourseError
from course_lib.models.word2vec import (
    NoiseSampler,
    Word2Vec,
    analogy_accuracy,
    build_vocabulary,
    keep_probabilities,
    noise_distribution,
    read_analogies,
    read_similarity_pairs,
    sgns_loss_and_grads,
    sgns_step,
    similarity_correlation,
    skipgram_pairs,
    spearman,
    subsample,
)

gensim = pytest.importorskip("gensim")
GENSIM_DATA = Path(gensim.__file__).parent / "test" / "test_data"  # read from the installed package, never copied


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def within_5_sigma(count, n, p):
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def lee_sentences():
    text = (GENSIM_DATA / "lee_background.cor").read_text(encoding="utf-8")
    return [re.findall(r"[a-z]+", line.lower()) for line in text.splitlines()]


def test_gradients_equal_autograd_in_float64():
    g = gen(1)
    B, K, d = 6, 4, 7
    v, u_pos, u_neg = (torch.randn(*shape, generator=g, dtype=torch.float64) for shape in [(B, d), (B, d), (B, K, d)])
    leaves = [t.clone().requires_grad_() for t in (v, u_pos, u_neg)]
    expected = (
        -torch.nn.functional.logsigmoid((leaves[1] * leaves[0]).sum(-1)).sum()
        - torch.nn.functional.logsigmoid(-torch.einsum("bkd,bd->bk", leaves[2], leaves[0])).sum()
    )
    expected.backward()
    loss, *grads = sgns_loss_and_grads(v, u_pos, u_neg)
    assert torch.allclose(loss, expected)
    for ours, leaf in zip(grads, leaves, strict=True):
        assert torch.allclose(ours, leaf.grad)


def test_step_accumulates_repeated_words_like_autograd():
    g = gen(2)
    V, d, lr = 5, 3, 0.1
    W_in, W_out = (
        torch.randn(V, d, generator=g, dtype=torch.float64),
        torch.randn(V, d, generator=g, dtype=torch.float64),
    )
    centres, contexts = torch.tensor([1, 1, 2]), torch.tensor([3, 4, 3])
    negatives = torch.tensor([[0, 0], [2, 4], [0, 1]])  # word 0 twice in one row, word 3 as context twice
    a, b = W_in.clone().requires_grad_(), W_out.clone().requires_grad_()
    loss, *_ = sgns_loss_and_grads(a[centres], b[contexts], b[negatives])
    loss.backward()
    sgns_step(W_in, W_out, centres, contexts, negatives, lr)
    assert torch.allclose(W_in, a.detach() - lr * a.grad)
    assert torch.allclose(W_out, b.detach() - lr * b.grad)


def test_skipgram_pairs_exact_and_without_the_centre():
    centres, contexts = skipgram_pairs(torch.tensor([10, 11, 12, 13]), window=1)
    assert sorted(zip(centres.tolist(), contexts.tolist())) == [
        (10, 11),
        (11, 10),
        (11, 12),
        (12, 11),
        (12, 13),
        (13, 12),
    ]
    centres, contexts = skipgram_pairs(torch.arange(50), window=3, generator=gen())
    assert (centres != contexts).all() and ((centres - contexts).abs() <= 3).all()


def test_segments_keep_pairs_inside_one_sentence():
    ids, segments = torch.tensor([1, 2, 3, 4, 5]), torch.tensor([0, 0, 1, 1, 1])
    centres, contexts = skipgram_pairs(ids, window=2, segments=segments)
    got = sorted(zip(centres.tolist(), contexts.tolist()))
    expected = sorted(
        [
            *zip(*[t.tolist() for t in skipgram_pairs(ids[:2], 2)]),
            *zip(*[t.tolist() for t in skipgram_pairs(ids[2:], 2)]),
        ]
    )
    assert got == expected


def test_reduced_window_weights_distance_d_by_window_minus_d_plus_1():
    N, window = 20000, 4
    centres, contexts = skipgram_pairs(torch.arange(N), window, generator=gen(3))
    distance = (centres - contexts).abs()
    for d in range(1, window + 1):
        # each of the ~2N (centre, side) slots at distance d is used when the drawn radius is >= d
        assert within_5_sigma(int((distance == d).sum()), 2 * (N - d), (window - d + 1) / window)


def test_subsampling_formula_and_rates():
    counts = np.array([100000, 1000, 10, 1])
    keep = keep_probabilities(counts, sample=1e-3)
    f = counts / counts.sum()
    assert np.allclose(keep, np.minimum((np.sqrt(f / 1e-3) + 1) * 1e-3 / f, 1))
    assert keep[0] < keep[1] <= keep[2] == keep[3] == 1.0  # frequent words are dropped, rare ones kept
    assert (keep_probabilities(counts, sample=0) == 1).all()
    ids = torch.zeros(50000, dtype=torch.long)
    kept = subsample(ids, torch.tensor(keep, dtype=torch.float32), gen(4))
    assert within_5_sigma(len(kept), len(ids), float(keep[0]))


def test_noise_distribution_and_sampler():
    counts = np.array([81, 16, 1, 0])
    probs = noise_distribution(counts)
    expected = np.array([27, 8, 1, 0]) / 36  # count ** 0.75
    assert np.allclose(probs.numpy(), expected)
    positives = torch.tensor([0, 1, 2] * 4000)
    negatives = NoiseSampler(probs, gen(5)).sample(positives, K=5)
    assert negatives.shape == (12000, 5)
    assert (negatives != positives[:, None]).all()
    rows = negatives[positives == 2]  # for positive 2, draws come from P_n restricted to {0, 1}
    p0 = expected[0] / (expected[0] + expected[1])
    assert within_5_sigma(int((rows == 0).sum()), rows.numel(), p0)


def test_vocabulary_and_errors():
    vocab = build_vocabulary([["b", "a", "b"], ["c", "a", "b"]], min_count=2)
    assert vocab.words == ["b", "a"] and vocab.counts.tolist() == [3, 2]
    assert vocab.encode(["a", "zzz", "b"]) == [1, 0]
    with pytest.raises(CourseError, match="min_count"):
        build_vocabulary([["a"]], min_count=2)


def test_analogy_excludes_query_words_and_uses_unit_vectors():
    model = Word2Vec([["a", "b", "c", "d", "e"] * 3], dim=4, min_count=1, epochs=1)
    words = ["man", "king", "woman", "queen", "apple"]
    model.vocab.words, model.vocab.index = words, {w: i for i, w in enumerate(words)}
    # king - man + woman is closest to king itself; the answer must still be queen. apple is long but off-axis.
    model.W_in = torch.tensor([[1.0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0.2, 0.6, 0.6, 0], [50, 50, 0, 5]])
    assert model.analogy("man", "king", "woman") == "queen"
    assert [w for w, _ in model.most_similar(["king"], topn=4)][0] != "king"
    with pytest.raises(CourseError, match="vocabulary"):
        model.similarity("king", "emperor")


def test_spearman_equals_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(6)
    x, y = rng.integers(0, 10, 50).astype(float), rng.normal(size=50)  # with ties
    assert math.isclose(spearman(x, y), spearmanr(x, y).statistic, rel_tol=1e-12)


def test_reading_gensims_bundled_evaluation_files():
    questions = read_analogies(GENSIM_DATA / "questions-words.txt")
    assert len(questions) == 19544 and ("athens", "greece", "baghdad", "iraq") in questions
    pairs = read_similarity_pairs(GENSIM_DATA / "wordsim353.tsv")
    assert len(pairs) == 353 and all(0 <= s <= 10 for _, _, s in pairs)


@pytest.mark.slow
def test_agrees_with_gensim_trained_on_the_same_corpus():
    sentences = lee_sentences()
    settings = dict(window=5, negative=5, min_count=5, epochs=5, sample=1e-3)
    ours = Word2Vec(sentences, dim=50, seed=0, **settings)
    peer = gensim.models.Word2Vec(sentences, vector_size=50, sg=1, workers=1, seed=0, **settings).wv
    assert set(ours.vocab.words) == set(peer.index_to_key)
    words = ours.vocab.words[20:80]  # frequent, but not stop words
    pairs = list(itertools.combinations(words, 2))
    agreement = spearman([ours.similarity(a, b) for a, b in pairs], [float(peer.similarity(a, b)) for a, b in pairs])
    assert agreement > 0.7, f"cosines of the two models correlate only {agreement:.2f}"
    assert np.mean(ours.losses[-50:]) < np.mean(ours.losses[:50]) - 1.0
    # the evaluation helpers accept both models
    for model in (ours, peer):
        accuracy, asked = analogy_accuracy(model, read_analogies(GENSIM_DATA / "questions-words.txt"))
        assert asked > 50 and 0 <= accuracy <= 1
        rho, n = similarity_correlation(model, read_similarity_pairs(GENSIM_DATA / "wordsim353.tsv"))
        assert n > 20 and -1 <= rho <= 1
