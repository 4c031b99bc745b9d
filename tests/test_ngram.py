"""n-gram LMs checked against a float64 brute-force recomputation of the formulas in course_lib.ngram's
docstrings, plus sum-to-one, perplexity and sampling properties."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.ngram import NGramLM

CORPUS = [
    "the cat sat on the mat".split(),
    "the dog sat on the log".split(),
    "a cat and a dog".split(),
    "the cat ran".split(),
    "san francisco is foggy".split(),
    "san francisco is far".split(),
    "my reading glasses".split(),
    "his new glasses".split(),
]


class BruteForce:
    """The formulas, recomputed by scanning a list of events every time (no shared code with course_lib)."""

    def __init__(self, sentences, order, unk_threshold=1):
        self.order = order
        self.cache = {}
        counts = Counter(w for s in sentences for w in s)
        self.V = ({w for w, c in counts.items() if c >= unk_threshold} | {"<unk>", "</s>"}) - {"<s>"}
        self.grams = []  # the order-gram ending at every predicted position
        for s in sentences:
            padded = ["<s>"] * (order - 1) + [self.map(w) for w in s] + ["</s>"]
            for i in range(order - 1, len(padded)):
                self.grams.append(tuple(padded[i - order + 1 : i + 1]))

    def map(self, w):
        return w if w in self.V else "<unk>"

    def history(self, context):
        ctx = [w if w == "<s>" else self.map(w) for w in context][-(self.order - 1) :] if self.order > 1 else []
        return tuple(["<s>"] * (self.order - 1 - len(ctx)) + ctx) if self.order > 1 else ()

    def c(self, gram):
        if gram not in self.cache:  # memoised only to keep the test fast
            self.cache[gram] = sum(1 for g in self.grams if g[len(g) - len(gram) :] == gram)
        return self.cache[gram]

    def mle(self, w, context):
        h = self.history(context)
        c_h = sum(self.c(h + (v,)) for v in self.V)
        return self.c(h + (self.map(w),)) / c_h if c_h else 0.0

    def add_k(self, w, context, k):
        h = self.history(context)
        c_h = sum(self.c(h + (v,)) for v in self.V)
        return (self.c(h + (self.map(w),)) + k) / (c_h + k * len(self.V))

    def a(self, n, h, w):
        if n == self.order:
            return self.c(h + (w,))
        if (n, h, w) not in self.cache:  # N1+(. h w)
            self.cache[n, h, w] = len({g[-(n + 1)] for g in self.grams if g[-n:] == h + (w,)})
        return self.cache[n, h, w]

    def kn(self, w, context, d, n=None, h=None):
        n = self.order if n is None else n
        h = self.history(context) if h is None else h
        w = self.map(w)
        if n == 0:
            return 1.0 / len(self.V)
        lower = self.kn(w, context, d, n - 1, h[1:])
        total = sum(self.a(n, h, v) for v in self.V)
        if total == 0:
            return lower
        distinct = sum(1 for v in self.V if self.a(n, h, v) > 0)
        return max(self.a(n, h, w) - d, 0) / total + d * distinct / total * lower

    def prob(self, smoothing, w, context, k=1.0, d=0.75):
        if smoothing == "mle":
            return self.mle(w, context)
        if smoothing == "add_k":
            return self.add_k(w, context, k)
        return self.kn(w, context, d)


def contexts_to_check(sentences, order):
    """Every seen history, plus unseen ones, short ones and ones with unknown words."""
    seen = set()
    for s in sentences:
        padded = ["<s>"] * (order - 1) + s
        for i in range(len(padded) + 1):
            seen.add(tuple(padded[max(0, i - order + 1) : i]))
    return sorted(seen) + [(), ("zebra",), ("zebra", "quokka", "the"), ("the",), ("<s>", "the")]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize(
    "smoothing,options",
    [
        ("mle", {}),
        ("add_k", {"k": 0.5}),
        ("kneser_ney", {"discount": 0.75}),
        ("kneser_ney", {"discount": 1.0}),
        ("add_k", {"k": 2.0}),
    ],
)
@pytest.mark.parametrize("unk_threshold", [1, 2])
def test_probabilities_match_brute_force(order, smoothing, options, unk_threshold):
    lm = NGramLM(order, smoothing, unk_threshold=unk_threshold, **options).fit(CORPUS)
    brute = BruteForce(CORPUS, order, unk_threshold)
    assert set(lm.vocab) == brute.V
    for context in contexts_to_check(CORPUS, order):
        for w in [*sorted(brute.V), "zebra"]:
            expected = brute.prob(smoothing, w, list(context), options.get("k", 1.0), options.get("discount", 0.75))
            assert lm.prob(w, context) == pytest.approx(expected, rel=1e-12, abs=1e-15), (w, context)


sentences_strategy = st.lists(st.lists(st.sampled_from("abcde"), min_size=0, max_size=7), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    sentences=sentences_strategy,
    order=st.integers(1, 4),
    discount=st.floats(0, 1),
    k=st.floats(0.01, 3),
    context=st.lists(st.sampled_from("abcdez"), max_size=4),
)
def test_distributions_sum_to_one(sentences, order, discount, k, context):
    for lm in [
        NGramLM(order, "kneser_ney", discount=discount).fit(sentences),
        NGramLM(order, "add_k", k=k).fit(sentences),
    ]:
        dist = lm.distribution(context)
        assert math.fsum(dist) == pytest.approx(1.0, abs=1e-12)
        assert np.allclose(dist, [lm.prob(w, context) for w in lm.vocab], rtol=1e-12, atol=0)
    mle = NGramLM(order, "mle").fit(sentences)
    seen = mle.distribution(sentences[0][: order - 1])  # a history that occurs in training
    assert math.fsum(seen) == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(sentences=sentences_strategy, order=st.integers(1, 3))
def test_kneser_ney_matches_brute_force_on_random_corpora(sentences, order):
    lm = NGramLM(order, "kneser_ney", discount=0.6).fit(sentences)
    brute = BruteForce(sentences, order)
    for context in contexts_to_check(sentences, order)[:20]:
        for w in sorted(brute.V):
            assert lm.prob(w, context) == pytest.approx(brute.kn(w, list(context), 0.6), rel=1e-12)


def test_perplexity_matches_brute_force_and_counts_end_tokens():
    test = ["the cat sat on the log".split(), "a zebra ran".split()]
    for smoothing in ["add_k", "kneser_ney"]:
        lm = NGramLM(3, smoothing).fit(CORPUS)
        brute = BruteForce(CORPUS, 3)
        logs = []
        for s in test:
            padded = ["<s>", "<s>"] + s + ["</s>"]
            logs += [math.log(brute.prob(smoothing, padded[i], padded[i - 2 : i])) for i in range(2, len(padded))]
        assert len(logs) == 6 + 1 + 3 + 1
        assert lm.perplexity(test) == pytest.approx(math.exp(-math.fsum(logs) / len(logs)), rel=1e-12)
        assert lm.logprob("cat", ["the"]) == pytest.approx(math.log(lm.prob("cat", ["the"])))


def test_short_context_means_sentence_start():
    lm = NGramLM(4, "kneser_ney").fit(CORPUS)
    assert lm.prob("sat", ["the", "cat"]) == lm.prob("sat", ["<s>", "the", "cat"])
    assert lm.prob("sat", ["the", "cat"]) != lm.prob("sat", ["on", "the", "cat"])
    assert lm.prob("cat", ["x", "y", "the"]) == lm.prob("cat", ["q", "x", "y", "the"])  # only 3 words matter


def test_mle_perplexity_is_infinite_on_unseen_events_and_says_so():
    lm = NGramLM(2, "mle").fit(CORPUS)
    assert math.isfinite(lm.perplexity(CORPUS[:2]))
    with pytest.warns(RuntimeWarning, match="perplexity is infinite"):
        assert lm.perplexity(["the mat sat".split()]) == math.inf
    assert lm.logprob("mat", ["cat"]) == -math.inf


def test_generate_is_seeded_and_respects_temperature():
    lm = NGramLM(2, "kneser_ney").fit(CORPUS)
    assert lm.generate(rng=3) == lm.generate(rng=3)
    samples = [lm.generate(max_len=10, rng=seed) for seed in range(30)]
    assert all(len(s) <= 10 and "<s>" not in s and "</s>" not in s for s in samples)
    assert len({tuple(s) for s in samples}) > 1
    greedy, context = lm.generate(["my"], max_len=3, temperature=0), ["my"]
    for word in greedy:
        assert word == lm.vocab[int(np.argmax(lm.distribution(context)))]
        context.append(word)
    mle = NGramLM(2, "mle").fit(CORPUS)
    for s in (mle.generate(rng=seed) for seed in range(20)):  # MLE only produces seen bigrams
        padded = ["<s>", *s, "</s>"]
        assert all(mle.count(padded[i : i + 2]) > 0 for i in range(len(padded) - 2))


def test_counts_for_teaching():
    lm = NGramLM(3, "kneser_ney").fit(CORPUS)
    bigrams = Counter()
    for s in CORPUS:
        padded = ["<s>", "<s>", *s, "</s>"]
        bigrams.update(tuple(padded[i - 1 : i + 1]) for i in range(2, len(padded)))
    expected = sorted(bigrams.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert lm.most_common(2, 5) == expected
    assert lm.count(("the", "cat")) == 2
    # "francisco" is as frequent as "glasses" but only ever follows "san".
    assert lm.count(("francisco",)) == lm.count(("glasses",)) == 2
    assert lm.continuation_count(("francisco",)) == 1
    assert lm.continuation_count(("glasses",)) == 2
    assert lm.continuation_counts(1)[("sat",)] == 2  # cat sat, dog sat


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, "witten_bell")
    with pytest.raises(ValueError, match="discount"):
        NGramLM(2, "kneser_ney", discount=1.5)
    with pytest.raises(ValueError, match="k > 0"):
        NGramLM(2, "add_k", k=0)
    with pytest.raises(ValueError, match="order"):
        NGramLM(0)
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(2).prob("a")
    with pytest.raises(TypeError, match="token lists"):
        NGramLM(2).fit(["the cat sat"])
