"""A binary sentiment task that is always available: SST-2 when staged, else a small offline fallback.

SST-2 (Socher et al. 2013, the GLUE split) comes from ``$COURSE_DATA_DIR``/the cache (see
:func:`course_lib.data.load_sst2`). Without it, the fallback is the 200 movie-review sentences of Pang & Lee's
polarity data (the corpus SST grew out of) that ship with gensim's test data (gensim is a dev dependency), split
150 train / 50 dev. Lectures and the A4 notebook say which one they used.
"""

from __future__ import annotations

import random
from pathlib import Path

from course_lib.data.corpora import DatasetNotFoundError, load_sst2
from course_lib.errors import CourseError

SST2 = "SST-2"
PANG_LEE = "Pang & Lee polarity (gensim test data, offline fallback)"


def load_sentiment(
    n_train: int | None = None, seed: int = 0
) -> tuple[list[tuple[int, str]], list[tuple[int, str]], str]:
    """``(train, dev, source)``: ``(label, sentence)`` pairs with label 1 = positive, and the data set's name.

    ``n_train`` keeps a random sample of that many training sentences (SST-2 has 67,349), for CPU budgets.
    """
    try:
        train, dev, source = load_sst2("train"), load_sst2("dev"), SST2
    except DatasetNotFoundError:
        train, dev, source = *_pang_lee_split(), PANG_LEE
    if n_train is not None and n_train < len(train):
        train = random.Random(seed).sample(train, n_train)
    return train, dev, source


def pang_lee_path() -> Path:
    try:
        import gensim
    except ImportError:
        raise CourseError(
            "no sentiment data: stage SST-2 in $COURSE_DATA_DIR/sst2, or install the dev extra "
            '(pip install -e ".[dev]") for the offline fallback in gensim\'s test data'
        ) from None
    return Path(gensim.__file__).parent / "test" / "test_data" / "pang_lee_polarity.cor"


def _pang_lee_split() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    pairs = []
    for line in pang_lee_path().read_text(encoding="cp1252").splitlines():  # the file is Windows-1252
        tag, _, sentence = line.partition(" ")
        if tag in ("__label__pos", "__label__neg"):
            pairs.append((int(tag == "__label__pos"), sentence.strip()))
    random.Random(0).shuffle(pairs)  # the file lists all negatives first
    return pairs[:150], pairs[150:]
