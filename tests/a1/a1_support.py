"""What A1's checks need to know (the checks themselves: tests/assignment_suite.py)."""

from __future__ import annotations

from tests.assignment_suite import AssignmentSpec, Cheat

SPEC = AssignmentSpec(
    assignment="a1_ngrams",
    min_hidden_tests=30,
    min_mutants=15,
    # each test lands in the cell of the notebook part it tests, e.g. part3::test_kneser_ney_* -> test_kneser_ney
    test_cells={
        "part3::test_counts_types_match_reference": "test_counts",
        "part2::test_train_bpe_special_tokens_never_merged": "test_train_bpe",
        "part2::test_bpe_decode_split_utf8": "test_bpe",
    },
    # submissions that call the reference implementations (forbidden by the manifest) instead of their own code
    cheats=(
        Cheat(
            "cheat_ngram",
            "imports",
            "import regex",
            "import regex\nfrom course_lib.ngram import NGramLM as Reference",
            costs="everything",
        ),
        Cheat(
            "cheat_vocab",
            "vocab",
            "    counts = Counter(token for sentence in sentences for token in sentence)",
            "    from course_lib.data import Vocab\n    return Vocab.build(sentences, min_freq, specials).token_to_id",
            # (the engine's scan over-approximates and flags other graded names too; not asserted)
            costs=("test_build_vocab_matches_reference", "test_build_vocab_min_freq_and_specials"),
        ),
    ),
    seed=20261123,
)
