"""What grading writes: per-student Gradescope ``results.json``, feedback (Markdown and HTML), the gradebook.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), and a
student's ``grading.json`` is written last, so a batch killed at any moment leaves each student either fully
graded or not graded at all; ``--resume`` trusts exactly the students whose ``grading.json`` reads back.
Feedback contains test descriptions, scores and the reasons for failures; never a hidden test's code or
expected values, nor the tracebacks of a grader's own failures (``grader_errors``: ``grading.json`` only).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..results import GRADED, GRADER_ERROR, Outcome, SubmissionResult

RECORD = "grading.json"
KEY = "graded-from.json"  # what the record was graded from (assignment, submission hash, seed, graders): --resume


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # errors=: text a worker sent may hold lone surrogates ("\\udcff"); they are written escaped
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def gradescope_results(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's autograder results schema (score, execution_time, output, tests[])."""
    return {
        "score": result.score,
        "execution_time": round(result.execution_time, 3),
        "output": _summary_text(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": t.description,
                "score": t.score,
                "max_score": t.max_score,
                "output": t.message or "passed",
                "visibility": "visible",
            }
            for t in result.tests
        ],
    }


def score_line(result: SubmissionResult) -> str:
    """The score, and the points still to come from hand grading (so 94 / 94 does not read as the whole)."""
    line = f"Score: {result.score:g} / {result.max_score:g}"
    if result.hand_graded_points:
        line += (
            f" autograded points; {result.hand_graded_points:g} more points (written answers) are graded by hand "
            f"by the course staff, out of {result.max_score + result.hand_graded_points:g} in all"
        )
    return line


def _summary_text(result: SubmissionResult) -> str:
    lines = [score_line(result)]
    if result.status != GRADED:
        lines.append(_status_line(result.status, result.message))
    lines += [f"Note: {note}" for note in result.notes]
    if result.cell_errors:
        lines.append("Cells that raised an error while your notebook ran (execution continued):")
        lines += [f"  {e}" for e in result.cell_errors]
    return "\n".join(lines)


def _status_line(status: str, message: str) -> str:
    if status == GRADER_ERROR:
        return f"Grading is not complete: {message}"
    return f"Your submission could not be graded ({status}): {message}"


def feedback_markdown(result: SubmissionResult) -> str:
    out = [f"# Feedback: {result.assignment}", "", f"**{score_line(result)}**", ""]
    if result.status != GRADED:
        out += [_status_line(result.status, _md(result.message)), ""]
    for note in result.notes:
        out.append(f"- Note: {_md(note)}")
    if result.cell_errors:
        out += [
            "",
            "## Cells that raised an error",
            "",
            "Grading runs your notebook top to bottom; these cells failed (the rest still ran):",
            "",
        ]
        out += [f"- {_md(e)}" for e in result.cell_errors]
    if result.tests:
        out += ["", "## Tests", "", "| | test | points | why |", "|---|---|---|---|"]
        for t in result.tests:
            mark = "✅" if t.outcome == Outcome.PASSED else "❌"
            out.append(f"| {mark} | {_md(t.description)} | {t.score:g} / {t.max_score:g} | {_md(t.message)} |")
    out.append("")
    return "\n".join(out)


def _md(text: str) -> str:
    """Student-controlled text inside Markdown (and a table cell): one line, no markup, no HTML."""
    text = " ".join(str(text).split())
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def feedback_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("js-default").enable("table").render(markdown)  # js-default: raw HTML is escaped
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Feedback</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "td,th{border:1px solid #ccc;padding:.3em .6em}table{border-collapse:collapse}</style>"
        f"</head><body>{body}</body></html>\n"
    )


def write_student_outputs(out_dir: Path, result: SubmissionResult, key: dict | None = None) -> None:
    folder = out_dir / result.student_id
    markdown = feedback_markdown(result)
    (folder / RECORD).unlink(missing_ok=True)  # first: a half-rewritten student never counts as graded
    write_atomic(folder / "results.json", json.dumps(gradescope_results(result), indent=2))
    write_atomic(folder / "feedback.md", markdown)
    write_atomic(folder / "feedback.html", feedback_html(markdown))
    if key is not None:
        write_atomic(folder / KEY, json.dumps(key))
    write_atomic(folder / RECORD, json.dumps(result.to_dict(), indent=1))  # last: marks the student graded


def read_key(folder: Path) -> dict | None:
    """What a student's saved result was graded from, when it is complete (see :data:`KEY`); else None.
    Only this small file is read: the process that forks graders never loads students' results."""
    if not (folder / RECORD).is_file():
        return None
    try:
        key = json.loads((folder / KEY).read_text())
    except (OSError, ValueError):
        return None
    return key if isinstance(key, dict) else None


def read_graded(out_dir: Path, assignment: str) -> dict[str, SubmissionResult]:
    """Students in ``out_dir`` with a complete record for ``assignment``."""
    graded = {}
    for record in sorted(out_dir.glob(f"*/{RECORD}")):
        try:
            result = SubmissionResult.from_dict(json.loads(record.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if result.assignment == assignment and result.student_id == record.parent.name:
            graded[result.student_id] = result
    return graded


def write_grades_csv(out_dir: Path, results: list[SubmissionResult]) -> None:
    test_names: list[str] = []
    for result in results:
        for test in result.tests:
            if test.name not in test_names:
                test_names.append(test.name)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student_id", "assignment", "score", "max_score", "status", "flags", *test_names])
    for r in results:
        points = {t.name: t.score for t in r.tests}
        writer.writerow(
            [
                r.student_id,
                r.assignment,
                f"{r.score:g}",
                f"{r.max_score:g}",
                r.status,
                ";".join(r.flags),
                *(f"{points[n]:g}" if n in points else "" for n in test_names),
            ]
        )
    write_atomic(out_dir / "grades.csv", buffer.getvalue())


def failure_reasons(results: list[SubmissionResult]) -> dict[str, int]:
    """How many submissions lost points for each reason (status, or the kind of each failed test)."""
    counts: dict[str, int] = {}
    for r in results:
        failed = {t.kind or t.outcome for t in r.tests if t.outcome != Outcome.PASSED}
        reasons = {r.status} if r.status != GRADED else failed
        for reason in reasons:
            counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
