"""4-gram interpolated Kneser-Ney: course_lib.ngram vs nltk.lm.KneserNeyInterpolated (fit + perplexity).

    python bench/bench_ngram.py            # tinyshakespeare if COURSE_DATA_DIR has it, else pydocs
    python bench/bench_ngram.py --quick    # a small subset

nltk scores each token by recursing through its count tables and recomputing continuation counts, so scoring a
whole test set takes it very long: nltk scores test tokens for at most --nltk-seconds, and its time for the full
test set is extrapolated from that (the script says so). Fitting is timed in full for both.
Wall-clock ratios are only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.ngram import NGramLM
from course_lib.tokenizers import WordTokenizer

ORDER = 4


def sentences() -> tuple[str, list[list[str]]]:
    from course_lib.data import load_corpus

    name = "tinyshakespeare" if os.environ.get("COURSE_DATA_DIR") else "pydocs"
    try:
        text = load_corpus(name)
    except Exception:  # staged data missing: fall back to the embedded corpus
        name, text = "pydocs", load_corpus("pydocs")
    lines = (WordTokenizer.split(line, lowercase=True) for line in text.splitlines())
    return name, [line for line in lines if line]


def nltk_fit(train: list[list[str]]):
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    lm = KneserNeyInterpolated(ORDER, discount=0.75)
    grams, vocab = padded_everygram_pipeline(ORDER, train)
    lm.fit(grams, vocab)
    return lm


def nltk_score(lm, events: list[tuple[str, list[str]]], budget_s: float) -> tuple[int, float, float]:
    """Score events until the budget runs out: (events scored, seconds, sum of log2 probabilities)."""
    start = time.perf_counter()
    total, n = 0.0, 0
    for word, context in events:
        total += lm.logscore(word, context)
        n += 1
        if time.perf_counter() - start > budget_s:
            break
    return n, time.perf_counter() - start, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small subset")
    parser.add_argument("--nltk-seconds", type=float, default=None, help="time budget for nltk's scoring")
    args = parser.parse_args()
    import nltk

    name, sents = sentences()
    if args.quick:
        sents = sents[:4000]
    budget = args.nltk_seconds or (5.0 if args.quick else 60.0)
    cut = int(len(sents) * 0.9)
    train, test = sents[:cut], sents[cut:]
    n_train = sum(len(s) for s in train)
    events = []  # (word, context) for every predicted token of the test set, </s> included
    for s in test:
        padded = ["<s>"] * (ORDER - 1) + s + ["</s>"]
        events += [(padded[i], padded[i - ORDER + 1 : i]) for i in range(ORDER - 1, len(padded))]
    print(
        f"corpus: {name}; {ORDER}-gram KN; train {len(train):,} sentences / {n_train:,} words; "
        f"test {len(events):,} predicted tokens; peer: nltk {nltk.__version__}"
    )

    start = time.perf_counter()
    ours = NGramLM(ORDER, "kneser_ney", discount=0.75).fit(train)
    ours_fit = time.perf_counter() - start
    start = time.perf_counter()
    ppl = ours.perplexity(test)
    ours_ppl = time.perf_counter() - start

    start = time.perf_counter()
    theirs = nltk_fit(train)
    nltk_fit_s = time.perf_counter() - start
    scored, nltk_score_s, _ = nltk_score(theirs, events, budget)
    nltk_ppl_s = nltk_score_s * len(events) / scored
    note = "measured" if scored == len(events) else f"extrapolated from {scored:,} tokens in {nltk_score_s:.0f} s"

    ours_total, nltk_total = ours_fit + ours_ppl, nltk_fit_s + nltk_ppl_s
    print(f"course_lib: fit {ours_fit:6.2f} s, perplexity {ours_ppl:6.2f} s (ppl {ppl:.1f})")
    print(f"nltk      : fit {nltk_fit_s:6.2f} s, perplexity {nltk_ppl_s:6.1f} s ({note})")
    print(
        f"fit: nltk/course_lib = {nltk_fit_s / ours_fit:.1f}x; "
        f"scoring per token: nltk/course_lib = {(nltk_score_s / scored) / (ours_ppl / len(events)):.0f}x"
    )
    print(f"fit + perplexity: nltk/course_lib = {nltk_total / ours_total:.1f}x faster (target >= 10x)")


if __name__ == "__main__":
    main()
