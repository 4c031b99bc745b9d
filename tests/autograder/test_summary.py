"""The grading summary: hidden tests hardest first, the students a TA must look at, the similarity flags."""

from __future__ import annotations

import io

from rich.console import Console

from autograder.results import GRADED, GRADER_ERROR, Outcome, Status, SubmissionResult, TestResult
from autograder.review.summary import print_summary, render_html, summarise


def result(student: str, passed: set[str], status: str = GRADED, flags: tuple[str, ...] = ()) -> SubmissionResult:
    tests = [
        TestResult(
            name, f"checks {name}", 1, float(name in passed), Outcome.PASSED if name in passed else Outcome.FAILED, ""
        )
        for name in ("a::test_easy", "a::test_hard", "b::test_mid")
    ]
    return SubmissionResult(
        student, "a0_warmup", status, tests=tests if status in (GRADED, GRADER_ERROR) else [], flags=list(flags)
    )


def test_summary_orders_tests_and_lists_who_to_look_at(tmp_path):
    (tmp_path / "similarity").mkdir()
    (tmp_path / "similarity" / "similarity.csv").write_text(
        "a,b,kind,unit_a,unit_b,similarity_a,similarity_b,shared_tokens\nann,ben,pair,merge,merge,0.950,0.900,300\n"
    )
    results = [
        result("ann", {"a::test_easy", "a::test_hard", "b::test_mid"}),
        result("ben", {"a::test_easy", "b::test_mid"}, flags=("timeout",)),
        result("cat", {"a::test_easy"}, status=GRADER_ERROR),
        result("dan", set(), status=Status.SYMLINK),
    ]
    summary = summarise("a0_warmup", results, tmp_path)
    assert [(t.name, t.passed, t.graded) for t in summary.tests] == [
        ("a::test_hard", 1, 3),
        ("b::test_mid", 2, 3),
        ("a::test_easy", 3, 3),
    ]
    assert summary.grader_errors == ["cat"] and summary.limits_hit == {"ben": ["timeout"]}
    assert list(summary.not_graded) == ["dan"] and summary.similarity[0]["a"] == "ann"
    console = Console(file=io.StringIO(), width=200)
    print_summary(summary, console)
    text = console.file.getvalue()
    assert text.index("a::test_hard") < text.index("a::test_easy")
    for needle in ("cat", "grader error", "limits hit: timeout", "not graded: symlink", "ann ~ ben", "95%"):
        assert needle in text, needle
    page = render_html(summary)
    assert "33%" in page and "similarity/similarity.html" in page and "<li>dan: not graded (symlink: )</li>" in page
