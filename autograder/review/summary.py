"""The grading summary a TA acts on: which hidden tests the class failed most, who needs a look, what is similar.

Built from the results of ``llmcourse grade`` (and, when ``llmcourse similarity`` wrote ``OUT/similarity/``, its
flags); shown in the terminal after grading and written to ``OUT/summary.html``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ..results import GRADED, GRADER_ERROR, Outcome, SubmissionResult
from .similarity import read_flags

LIMIT_FLAGS = ("timeout", "crashed", "garbage")  # a sandbox limit or the student's process giving out
SIMILARITY_DIR = "similarity"


@dataclass(frozen=True)
class TestRate:
    name: str
    description: str
    passed: int
    graded: int  # submissions whose hidden tests ran

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class Summary:
    assignment: str
    students: int
    tests: list[TestRate]  # hardest first
    grader_errors: list[str] = field(default_factory=list)  # students
    limits_hit: dict[str, list[str]] = field(default_factory=dict)  # student -> flags
    not_graded: dict[str, str] = field(default_factory=dict)  # student -> status: message
    similarity: list[dict[str, str]] = field(default_factory=list)  # rows of similarity.csv


def summarise(assignment: str, results: list[SubmissionResult], out_dir: Path) -> Summary:
    ran = [r for r in results if r.status in (GRADED, GRADER_ERROR)]
    rates: dict[str, TestRate] = {}
    for r in ran:
        for t in r.tests:
            old = rates.get(t.name, TestRate(t.name, t.description, 0, 0))
            rates[t.name] = TestRate(t.name, t.description, old.passed + (t.outcome == Outcome.PASSED), old.graded + 1)
    return Summary(
        assignment,
        len(results),
        sorted(rates.values(), key=lambda t: (t.rate, t.name)),
        [r.student_id for r in results if r.status == GRADER_ERROR],
        {r.student_id: [f for f in r.flags if f in LIMIT_FLAGS] for r in results if set(r.flags) & set(LIMIT_FLAGS)},
        {r.student_id: f"{r.status}: {r.message}" for r in results if r.status not in (GRADED, GRADER_ERROR)},
        read_flags(out_dir / SIMILARITY_DIR / "similarity.csv"),
    )


def print_summary(summary: Summary, console, hardest: int = 10) -> None:
    from rich.table import Table

    tests = Table(title=f"{summary.assignment}: hardest hidden tests", show_lines=False)
    for column in ("test", "passed", "of"):
        tests.add_column(column, justify="left" if column == "test" else "right")
    for t in summary.tests[:hardest]:
        tests.add_row(t.name, f"{t.rate:.0%}", str(t.graded))
    console.print(tests)
    look = Table(title="students to look at", show_header=False)
    for student in summary.grader_errors:
        look.add_row(student, "grader error: grade the affected tests by hand (grading.json has the traceback)")
    for student, flags in summary.limits_hit.items():
        look.add_row(student, f"limits hit: {', '.join(flags)}")
    for student, why in summary.not_graded.items():
        look.add_row(student, f"not graded: {why}")
    for row in summary.similarity[:hardest]:
        share = max(float(row["similarity_a"]), float(row["similarity_b"]))
        look.add_row(f"{row['a']} ~ {row['b']}", f"similar code ({row['unit_a']} / {row['unit_b']}, {share:.0%})")
    if look.row_count:
        console.print(look)


def render_html(summary: Summary) -> str:
    e = html.escape
    tests = "".join(
        f"<tr><td>{e(t.name)}</td><td>{e(t.description)}</td><td>{t.rate:.0%}</td><td>{t.passed} / {t.graded}</td></tr>"
        for t in summary.tests
    )
    look = [f"<li>{e(s)}: grader error (grading.json has the traceback)</li>" for s in summary.grader_errors]
    look += [f"<li>{e(s)}: limits hit ({e(', '.join(f))})</li>" for s, f in summary.limits_hit.items()]
    look += [f"<li>{e(s)}: not graded ({e(why)})</li>" for s, why in summary.not_graded.items()]
    similar = "".join(
        f"<tr><td>{e(r['a'])}</td><td>{e(r['b'])}</td><td>{e(r['unit_a'])} / {e(r['unit_b'])}</td>"
        f"<td>{float(r['similarity_a']):.0%}</td><td>{float(r['similarity_b']):.0%}</td></tr>"
        for r in summary.similarity
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Grading summary: {e(summary.assignment)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "td,th{border:1px solid #ccc;padding:.2em .5em}table{border-collapse:collapse}</style></head><body>"
        f"<h1>Grading summary: {e(summary.assignment)} ({summary.students} students)</h1>"
        "<h2>Hidden tests, hardest first</h2><table><tr><th>test</th><th>what it checks</th><th>passed</th>"
        f"<th></th></tr>{tests}</table>"
        f"<h2>Students to look at</h2><ul>{''.join(look) or '<li>none</li>'}</ul>"
        "<h2>Similar code</h2>"
        + (
            "<table><tr><th>a</th><th>b</th><th>units</th><th>share of a</th><th>share of b</th></tr>"
            f"{similar}</table><p>Details: <a href='{SIMILARITY_DIR}/similarity.html'>similarity report</a>.</p>"
            if summary.similarity
            else f"<p>None flagged, or not checked yet: <code>llmcourse similarity {e(summary.assignment)} "
            f"SUBMITTED --out OUT/{SIMILARITY_DIR}</code>.</p>"
        )
        + "</body></html>\n"
    )
