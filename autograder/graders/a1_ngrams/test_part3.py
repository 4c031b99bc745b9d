"""Hidden tests for A1 part 3: n-gram counts, MLE, add-k and interpolated Kneser-Ney.
Oracle: course_lib.ngram.NGramLM on corpora and queries drawn at grading time."""

import random

import pytest
from a1_inputs import check_float, check_list, check_type, fit_both, full_context, random_sentences, vocabulary

from autograder.checks import check_probabilities
from course_lib.ngram import NGramLM


def corpus(rng: random.Random, n_types: int = 8, n_sentences: int = 25) -> tuple[list[str], list[list[str]]]:
    words = vocabulary(rng, n_types)
    return words, random_sentences(rng, n_sentences, words, max_len=7)


def queries(rng: random.Random, reference: NGramLM, words: list[str], n: int, unseen: bool = True):
    """(word, context) pairs: every history seen in training with its followers, plus random and unseen ones."""
    order = reference.order
    seen = list(reference.counts[order])
    picked = rng.sample(seen, min(len(seen), n // 2))
    out = [(gram[-1], list(gram[:-1])) for gram in picked]
    pool = words + ["</s>", "<unk>"] + (["never-seen", "<s>"] if unseen else [])
    history_pool = words + (["never-seen", "<s>"] if unseen else [])
    while len(out) < n:
        context = [rng.choice(history_pool) for _ in range(order - 1)]
        out.append((rng.choice(pool), context))
    return out


def check_probs(lm, reference, pairs, what: str) -> None:
    for word, context in pairs:
        context = full_context(context, reference.order)
        check_float(lm.prob(word, context), reference.prob(word, context), f"{what}: prob({word!r}, {context})")


# ------------------------------------------------------------------------------------------- 3.1, 3.2


@pytest.mark.points(2)
def test_pad_sentence(student, seed):
    """pad_sentence for orders 1 to 5, including the empty sentence."""
    rng = random.Random(seed)
    words = vocabulary(rng, 6)
    for order in range(1, 6):
        for tokens in ([], rng.choices(words, k=rng.randint(1, 6))):
            check_list(
                student.pad_sentence(tokens, order),
                ["<s>"] * (order - 1) + tokens + ["</s>"],
                f"pad_sentence({tokens}, {order})",
            )


@pytest.mark.points(2)
def test_counts_types_match_reference(student, seed):
    """vocab() after fit: kept training types plus <unk> and </s>, sorted, never <s> (unk_threshold 1 to 3)."""
    rng = random.Random(seed)
    for threshold in (1, 2, 3):
        _, sentences = corpus(rng)
        sentences += [["exactly"] * threshold, ["fewer"] * (threshold - 1)]  # on both sides of the threshold
        rng.shuffle(sentences)
        lm, reference = fit_both(student, sentences, rng.randint(1, 3), unk_threshold=threshold)
        check_list(lm.vocab(), reference.vocab, f"vocab() with unk_threshold={threshold}")


@pytest.mark.points(4)
def test_counts_match_reference(student, seed):
    """count(ngram) for every n-gram seen in training and some unseen ones, orders 1 to 4."""
    rng = random.Random(seed)
    for order in (1, 2, 3, 4):
        words, sentences = corpus(rng)
        lm, reference = fit_both(student, sentences, order)
        grams = [list(g) for g in reference.counts[order]]
        grams += [rng.choices(words + ["</s>"], k=order) for _ in range(10)]
        for gram in grams:
            got = lm.count(gram)
            check_type(got, int, "count")
            if got != reference.count(gram):
                raise AssertionError(f"count({gram}) is wrong for an order-{order} model")


@pytest.mark.points(2)
def test_counts_with_rare_words(student, seed):
    """with unk_threshold 2 or 3, rare words are counted as <unk>."""
    rng = random.Random(seed)
    for threshold in (2, 3):
        words, sentences = corpus(rng, n_types=14, n_sentences=12)
        sentences += [["a", "exactly"] * threshold, ["a", "fewer"] * (threshold - 1)]
        lm, reference = fit_both(student, sentences, 2, unk_threshold=threshold)
        for gram in reference.counts[2]:
            if lm.count(list(gram)) != reference.count(gram):
                raise AssertionError(f"count({list(gram)}) is wrong with unk_threshold={threshold}")


# ------------------------------------------------------------------------------------------- 3.3


@pytest.mark.points(3)
def test_mle_probabilities(student, seed):
    """MLE probabilities for orders 1 to 3: seen events, unseen words (-> <unk>) and unseen histories (-> 0)."""
    rng = random.Random(seed)
    for order in (1, 2, 3):
        words, sentences = corpus(rng)
        lm, reference = fit_both(student, sentences, order, smoothing="mle")
        check_probs(lm, reference, queries(rng, reference, words, 30), f"MLE order {order}")


@pytest.mark.points(3)
def test_add_k_probabilities(student, seed):
    """add-k probabilities for orders 1 to 3 with random k, rare words as <unk>, unseen words and histories."""
    rng = random.Random(seed)
    for order in (1, 2, 3):
        words, sentences = corpus(rng)
        k = rng.choice([1.0, round(rng.uniform(0.01, 0.5), 3), round(rng.uniform(1.5, 3.0), 3)])
        lm, reference = fit_both(student, sentences, order, smoothing="add_k", k=k, unk_threshold=rng.randint(1, 2))
        check_probs(lm, reference, queries(rng, reference, words, 30), f"add-k (k={k}) order {order}")


# ------------------------------------------------------------------------------------------- 3.4


def _kneser_ney(student, seed, order: int, n_queries: int, unseen: bool) -> None:
    rng = random.Random(seed)
    for _ in range(2):
        words, sentences = corpus(rng, n_types=rng.randint(5, 12))
        discount = rng.choice([0.75, round(rng.uniform(0.1, 0.95), 3)])
        lm, reference = fit_both(student, sentences, order, smoothing="kneser_ney", discount=discount)
        check_probs(
            lm, reference, queries(rng, reference, words, n_queries, unseen), f"Kneser-Ney order {order}, d={discount}"
        )


@pytest.mark.points(2)
def test_kneser_ney_unigram(student, seed):
    """Kneser-Ney with order=1: discounted raw counts interpolated with the uniform distribution."""
    _kneser_ney(student, seed, 1, 15, unseen=True)


@pytest.mark.points(3)
def test_kneser_ney_bigram(student, seed):
    """Kneser-Ney bigrams: discounted counts plus continuation-count unigrams."""
    _kneser_ney(student, seed, 2, 40, unseen=False)


@pytest.mark.points(4)
def test_kneser_ney_higher_orders(student, seed):
    """Kneser-Ney trigrams and 4-grams: every lower order uses continuation counts."""
    _kneser_ney(student, seed, 3, 35, unseen=False)
    _kneser_ney(student, seed + 1, 4, 35, unseen=False)


@pytest.mark.points(3)
def test_kneser_ney_unseen_words_and_histories(student, seed):
    """Kneser-Ney for unseen words and for histories never seen (which fall through to lower orders)."""
    rng = random.Random(seed)
    for order in (2, 3):
        words, sentences = corpus(rng)
        lm, reference = fit_both(
            student, sentences, order, smoothing="kneser_ney", discount=rng.choice([0.5, 0.75, 1.0])
        )
        pairs = [
            (rng.choice(words + ["never-seen", "</s>"]), [rng.choice(words + ["never-seen"]) for _ in range(order - 1)])
            for _ in range(25)
        ]
        check_probs(lm, reference, pairs, f"Kneser-Ney order {order} (unseen words and histories)")


@pytest.mark.points(2)
def test_probabilities_sum_to_one(student, seed):
    """for add-k and Kneser-Ney, P(w | h) summed over the vocabulary is 1 for random histories."""
    rng = random.Random(seed)
    words, sentences = corpus(rng)
    for smoothing in ("add_k", "kneser_ney"):
        lm, reference = fit_both(student, sentences, 3, smoothing=smoothing)
        for _ in range(3):
            context = rng.choices(words + ["<s>"], k=2)
            # over the oracle's vocabulary (the student's could be chosen to make any sum 1); NaN fails
            check_probabilities([lm.prob(w, context) for w in reference.vocab], f"{smoothing}: P(w | {context})")
