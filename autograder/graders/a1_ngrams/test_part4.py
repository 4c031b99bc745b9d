"""Hidden tests for A1 part 4: perplexity and sampling. Oracles: course_lib.ngram.NGramLM for perplexity and the
model's distributions; float64 NumPy for the temperature formula and inverse-CDF sampling."""

import random
from collections import Counter

import numpy as np
import pytest
from a1_inputs import check_float, check_type, fit_both, random_sentences, vocabulary

from autograder.checks import check_list_of, chi_square_p_value


def _perplexity(student, seed, smoothing: str, **options) -> None:
    rng = random.Random(seed)
    for order in (1, 2, 3):
        words = vocabulary(rng, 10)
        train = random_sentences(rng, 30, words)
        test = random_sentences(rng, 6, words + ["never-seen"]) + [[]]
        lm, reference = fit_both(student, train, order, smoothing=smoothing, **options)
        check_float(lm.perplexity(test), reference.perplexity(test), f"{smoothing} order {order}: perplexity", rel=1e-8)


@pytest.mark.points(2)
def test_perplexity_add_k(student, seed):
    """add-k perplexity (orders 1 to 3) on held-out sentences with unseen words and an empty sentence."""
    _perplexity(student, seed, "add_k", k=0.5)


@pytest.mark.points(2)
def test_perplexity_interpolated_kn(student, seed):
    """Kneser-Ney perplexity (orders 1 to 3) on held-out sentences with unseen words and an empty sentence."""
    _perplexity(student, seed, "kneser_ney", discount=0.75)


@pytest.mark.points(2)
def test_perplexity_mle(student, seed):
    """MLE perplexity: finite on training sentences, infinite once a held-out event was never seen."""
    rng = random.Random(seed)
    words = vocabulary(rng, 8)
    train = random_sentences(rng, 20, words, min_len=1)
    for order in (1, 2):
        lm, reference = fit_both(student, train, order, smoothing="mle")
        check_float(
            lm.perplexity(train[:5]),
            reference.perplexity(train[:5]),
            f"MLE order {order} on training sentences: perplexity",
            rel=1e-8,
        )
    with pytest.warns(RuntimeWarning):
        want = reference.perplexity([train[0] + ["never-seen"]])
    check_float(lm.perplexity([train[0] + ["never-seen"]]), want, "MLE bigram with an unseen word: perplexity")


def reference_temperature(probs: list[float], temperature: float) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    logs = np.full_like(p, -np.inf)
    np.log(p, out=logs, where=p > 0)
    weights = np.exp(logs / temperature - np.max(logs / temperature))
    return weights / weights.sum()


def random_distribution(rng: random.Random, n: int, zeros: bool = True) -> list[float]:
    raw = [rng.random() ** 3 * (0 if zeros and rng.random() < 0.2 else 1) for _ in range(n)]
    raw[rng.randrange(n)] += 0.1
    total = sum(raw)
    return [x / total for x in raw]


def check_distribution(got, want: np.ndarray, what: str, atol: float = 1e-9) -> None:
    check_type(got, list, what)
    if len(got) != len(want):
        raise AssertionError(f"{what} returned {len(got)} probabilities, expected {len(want)}")
    if not all(type(x) in (float, int) for x in got):
        raise AssertionError(f"{what} should return a list of floats")
    if not np.allclose(np.asarray(got, dtype=np.float64), want, atol=atol, rtol=1e-7):
        raise AssertionError(f"{what} returned wrong probabilities")


@pytest.mark.points(2)
def test_sampling_apply_temperature(student, seed):
    """apply_temperature for T in {0.5, 1, 2} and a random T, on random distributions with zeros."""
    rng = random.Random(seed)
    for temperature in (0.5, 1.0, 2.0, round(rng.uniform(0.2, 5), 3)):
        probs = random_distribution(rng, rng.randint(2, 12))
        check_distribution(
            student.apply_temperature(probs, temperature),
            reference_temperature(probs, temperature),
            f"apply_temperature(probs, {temperature})",
        )


@pytest.mark.points(1)
def test_sampling_temperature_extremes(student, seed):
    """apply_temperature at a very low temperature (0.01) and with tiny probabilities does not underflow."""
    rng = random.Random(seed)
    for temperature in (0.01, 0.03):
        probs = [p * 1e-30 for p in random_distribution(rng, 6, zeros=False)]
        check_distribution(
            student.apply_temperature(probs, temperature),
            reference_temperature(probs, temperature),
            f"apply_temperature(tiny probs, {temperature})",
        )


@pytest.mark.points(2)
def test_sampling_sample_index(student, seed):
    """sample_index for random u, u exactly on a cumulative boundary, u = 0, and zero-probability entries."""
    rng = random.Random(seed)
    dyadic = [0.25, 0.0, 0.25, 0.5]  # exact cumulative sums 0.25, 0.25, 0.5, 1.0
    cases = [(dyadic, u) for u in (0.0, 0.25, 0.5, 0.75, 0.9999)]
    for _ in range(10):
        probs = random_distribution(rng, rng.randint(1, 10))
        cases.append((probs, rng.random()))
    for probs, u in cases:
        want = int(np.searchsorted(np.cumsum(probs), u, side="right"))
        want = min(want, max(i for i, p in enumerate(probs) if p > 0))
        got = student.sample_index(probs, u)
        check_type(got, int, "sample_index")
        if got != want:
            raise AssertionError(f"sample_index({[round(p, 4) for p in probs]}, u={u}) picked the wrong index")


@pytest.mark.points(2)
def test_sampling_generate_follows_the_model(student, seed):
    """generate's first word, over 400 seeds at T=0.5 and T=2, follows the model's tempered distribution."""
    rng = random.Random(seed)
    words = vocabulary(rng, 5)[:5]
    train = [[w] for w, n in zip(words, (12, 6, 3, 2, 1)) for _ in range(n)]
    lm, reference = fit_both(student, train, 2, smoothing="add_k", k=0.5)
    for temperature in (0.5, 2.0):
        q = reference_temperature(list(reference.distribution([])), temperature)
        firsts = Counter()
        for i in range(400):
            out = check_list_of(lm.generate([], 1, temperature, seed + i), str, "generate")
            firsts[out[0] if out else "</s>"] += 1
        unknown = set(firsts) - set(reference.vocab)
        if unknown:
            raise AssertionError(f"generate produced words outside the vocabulary: {sorted(unknown)[:3]}")
        observed = [firsts[w] for w in reference.vocab]
        if chi_square_p_value(observed, 400 * q) < 1e-6:
            raise AssertionError(
                f"at temperature {temperature}, the first generated word does not follow the "
                "model's tempered distribution (chi-square test over 400 seeds)"
            )


@pytest.mark.points(1)
def test_sampling_generate_stops_at_end_and_max_len(student, seed):
    """generate continues the context, stops at </s> (not returned) and after max_len words; seeds reproduce."""
    rng = random.Random(seed)
    words = vocabulary(rng, 8)
    sentence = rng.sample(words, 6)
    lm, _ = fit_both(student, [sentence], 3, smoothing="mle")  # only one continuation everywhere
    for start in range(0, 5):
        got = lm.generate(sentence[:start], 20, 1.0, rng.randint(0, 10**6))
        if got != sentence[start:]:
            raise AssertionError(
                f"generate({sentence[:start]}) on a one-sentence MLE model should follow the "
                "sentence to its end and stop at </s>"
            )
    if lm.generate([], 3, 1.0, 0) != sentence[:3]:
        raise AssertionError("generate(..., max_len=3) should return at most 3 words")
    kn, _ = fit_both(student, random_sentences(rng, 20, words), 2, smoothing="kneser_ney")
    if kn.generate([], 15, 1.0, 7) != kn.generate([], 15, 1.0, 7):
        raise AssertionError("generate with the same seed returned different samples")
