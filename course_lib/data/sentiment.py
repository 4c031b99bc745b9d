"""A binary sentence-classification task that is always available: SST-2 when it can be had, else an offline one.

SST-2 (Socher et al. 2013, the GLUE split; label 1 = positive) comes from ``$COURSE_DATA_DIR``, the cache, or GLUE's
archive (see :func:`course_lib.data.load_sst2`). Without it (offline and not staged) the task is built from the
Tiny Shakespeare corpus embedded in the package, with the runtime dependencies only: **question or statement?**
Sentences of 3 words or more that end in ``?`` (label 1) or ``.`` (label 0), with that final mark removed, so the
classifier has to go by the words (inverted word order, *what*/*how*/*wherefore*, ...). Each question is paired with
a statement of the same length in words, so length gives nothing away. Lectures and the A4 notebook print which
task they used.
"""

from __future__ import annotations

import random
from collections import defaultdict

from course_lib.data.corpora import DatasetNotFoundError, load_sentences, load_sst2

SST2 = "SST-2"
QUESTIONS = "Tiny Shakespeare, question or statement (offline fallback)"
N_DEV_FALLBACK = 800  # held-out sentences of the fallback task, half of each class
MIN_WORDS = 3  # "What?" alone says little either way


def load_sentiment(
    n_train: int | None = None, seed: int = 0
) -> tuple[list[tuple[int, str]], list[tuple[int, str]], str]:
    """``(train, dev, source)``: ``(label, sentence)`` pairs and the task's name (:data:`SST2` or
    :data:`QUESTIONS`).

    ``n_train`` keeps a random sample of that many training sentences (SST-2 has 67,349), for CPU budgets.
    """
    try:
        train, dev, source = load_sst2("train"), load_sst2("dev"), SST2
    except DatasetNotFoundError:
        train, dev, source = *question_or_statement(), QUESTIONS
    if n_train is not None and n_train < len(train):
        train = random.Random(seed).sample(train, n_train)
    return train, dev, source


def question_or_statement(seed: int = 0) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The fallback task: Tiny Shakespeare questions (1) and statements (0) of matched lengths, final mark removed.

    Returns ``(train, dev)``, both balanced and shuffled; the dev set has :data:`N_DEV_FALLBACK` sentences.
    """
    marks: dict[str, set[str]] = defaultdict(set)  # sentence without its final mark -> the marks it occurs with
    for sentence in load_sentences("tinyshakespeare"):
        if sentence.endswith(("?", ".")) and len(sentence.split()) >= MIN_WORDS:
            marks[sentence[:-1].rstrip()].add(sentence[-1])
    questions, statements = [], defaultdict(list)
    for text, seen in marks.items():  # each text once; one that occurs both ways has no single label
        if seen == {"?"}:
            questions.append(text)
        elif seen == {"."}:
            statements[len(text.split())].append(text)
    rng = random.Random(seed)
    for bucket in statements.values():
        rng.shuffle(bucket)
    pairs = []
    for question in questions:  # a statement of the same length for each question, while there are any
        same_length = statements.get(len(question.split()))
        if same_length:
            pairs.append(((1, question), (0, same_length.pop())))
    rng.shuffle(pairs)
    n_dev_pairs = N_DEV_FALLBACK // 2
    dev = [row for pair in pairs[:n_dev_pairs] for row in pair]
    train = [row for pair in pairs[n_dev_pairs:] for row in pair]
    rng.shuffle(dev)
    rng.shuffle(train)
    return train, dev
