"""Inputs drawn at grading time and plain-data checks for the A1 graders.

Every generator takes a ``random.Random`` seeded from the grading-time ``seed`` fixture. Check messages say what
is wrong (type, length, first differing position), never the expected value.
"""

from __future__ import annotations

import random

from autograder.checks import check_float, check_list, check_pairs, check_type  # noqa: F401 (graders import them here)

ASCII_WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "don't",
    "it's",
    "Hello",
    "WORLD",
    "x",
    "rock'n'roll",
    "snake_case",
    "42",
    "3.14",
    "I'm",
    "we've",
    "they'll",
]
UNICODE_WORDS = [
    "café",
    "naïve",
    "Straße",
    "ÉCOLE",
    "über",
    "señor",
    "Ωmega",
    "σοφία",
    "Привет",
    "東京",
    "日本語",
    "👋",
    "🙂🙂",
    "a\u0301",
    "ﬁne",
    "İstanbul",
    "ǅemal",
]
PUNCTUATION = [",", ".", "!", "?", ";", ":", "(", ")", '"', "'", "--", "...", "@", "#", "$", "%", "«", "»", "—"]
SPACES = [" ", " ", " ", "  ", "\t", "\n", " \n ", "\u00a0", "   "]


def random_text(rng: random.Random, n_pieces: int | None = None, unicode: bool = True) -> str:
    """Words (ASCII and, optionally, Unicode with emoji and combining marks), punctuation and odd whitespace."""
    n = rng.randint(1, 25) if n_pieces is None else n_pieces
    words = ASCII_WORDS + (UNICODE_WORDS if unicode else [])
    parts = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.65:
            parts.append(rng.choice(words))
        elif roll < 0.85:
            parts.append(rng.choice(PUNCTUATION))
        else:
            parts.append(str(rng.randint(0, 9999)))
        parts.append(rng.choice(SPACES) if rng.random() < 0.8 else "")
    return "".join(parts)


def random_corpus(rng: random.Random, n_words: int, alphabet: str = "abcdefgh", unicode: bool = False) -> str:
    """Text made of short random 'words' over a small alphabet, so that BPE finds many repeated pairs."""
    pool = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(12)]
    if unicode:
        pool += rng.sample(UNICODE_WORDS, 4)
    words = [rng.choice(pool) for _ in range(n_words)]
    return "".join(w + rng.choice([" ", " ", " ", "\n", ", ", ". "]) for w in words)


def random_sentences(
    rng: random.Random, n: int, words: list[str], max_len: int = 8, min_len: int = 0
) -> list[list[str]]:
    """Token lists with a skewed (Zipf-like) word distribution, some of them possibly empty."""
    weights = [1 / (i + 1) for i in range(len(words))]
    return [rng.choices(words, weights, k=rng.randint(min_len, max_len)) for _ in range(n)]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """Distinct word types: short ASCII strings plus a few Unicode ones."""
    types = {"".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(1, 3))) for _ in range(size * 2)}
    types = sorted(types)[:size] + rng.sample(["é", "日本", "🙂", "Ωx"], 2)
    rng.shuffle(types)
    return types


def fit_both(student, sentences: list[list[str]], order: int, **options):
    """The student's NGramLM (living in the worker) and the reference, fitted on the same sentences."""
    from course_lib.ngram import NGramLM

    lm = student.new("NGramLM", order, **options)
    lm.fit(sentences)
    return lm, NGramLM(order, **options).fit(sentences)


def full_context(context: list[str], order: int) -> list[str]:
    """The context left-padded with <s> to at least order-1 words (the history the formulas use)."""
    return ["<s>"] * max(0, order - 1 - len(context)) + list(context)
