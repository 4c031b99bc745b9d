"""``make demo``: release A0, grade a class of sample submissions, show the gradebook.

The class is generated from A0's own notebooks (see :mod:`autograder.authoring.samples`): honest and buggy students,
students who attack the grader, and malformed uploads. Everything lands in ``build/demo/`` (not committed):

    build/demo/submitted/<student>/a0_warmup/...   the class, in nbgrader's layout
    build/demo/grades/                             what `llmcourse grade` wrote (grades.csv, feedback, ...)
    build/demo/gradebook.db                        nbgrader's gradebook, as formgrader would show it

    python -m autograder.authoring.demo [--out build/demo] [--jobs N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from ..bridges.nbgrader import db_url_for, generate_release, nbgrader_api
from ..paths import COURSE_ROOT
from .samples import A0_BUGS, fill_stubs, solutions

A0 = "a0_warmup"
NOTEBOOK = f"{A0}.ipynb"

# Attacks, each a cell run at the end of an otherwise-given notebook or a body for a graded function.
# The hidden graders run in a process these cannot reach, so each should lose exactly what it did not earn.
PATCH_CHECKS = (
    "import torch\n"
    "torch.allclose = lambda *args, **kwargs: True  # every public check now 'passes'\n"
    "torch.testing.assert_close = lambda *args, **kwargs: None"
)
FAKE_RESULTS = (
    "import json, pathlib\n"
    "fake = json.dumps({'score': 100, 'tests': []})\n"
    "for folder in ('.', '..', '../..', '/tmp'):\n"
    "    try:\n"
    "        pathlib.Path(folder, 'results.json').write_text(fake)\n"
    "    except OSError:\n"
    "        pass"
)


def _notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nb).encode()


def _with_cell(nb: nbformat.NotebookNode, code: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)  # a copy
    nb.cells.append(nbformat.v4.new_code_cell(code))
    return nb


def demo_class(source: nbformat.NotebookNode, release: nbformat.NotebookNode) -> dict[str, dict[str, bytes]]:
    """``{student: {file name: content}}``: who is in the demo class and what each uploaded."""
    correct = solutions(source)
    honest = fill_stubs(release, correct)

    def only(**given: str) -> bytes:
        return _notebook_bytes(fill_stubs(release, given))

    def answers(**changed: str) -> bytes:
        return only(**{**correct, **changed})

    return {
        # honest work
        "honest_full_marks": {NOTEBOOK: _notebook_bytes(honest)},
        "honest_softmax_only": {NOTEBOOK: only(softmax=correct["softmax"])},
        "untouched_release": {NOTEBOOK: _notebook_bytes(release)},
        # realistic bugs
        "buggy_no_max_shift": {NOTEBOOK: answers(softmax=A0_BUGS["softmax"]["no_shift"])},
        "buggy_sum_not_mean": {NOTEBOOK: answers(cross_entropy=A0_BUGS["cross_entropy"]["sum_not_mean"])},
        # attacks
        "malicious_patches_checks": {
            NOTEBOOK: _notebook_bytes(
                _with_cell(
                    fill_stubs(release, {"softmax": "return x", "cross_entropy": "return logits.sum() * 0"}),
                    PATCH_CHECKS,
                )
            )
        },
        "malicious_forbidden_api": {NOTEBOOK: answers(softmax="return torch.softmax(x, dim=dim)")},
        "malicious_exits": {NOTEBOOK: answers(cross_entropy="import os\nos._exit(0)")},
        "malicious_endless_loop": {NOTEBOOK: answers(softmax="while True:\n    pass")},
        "malicious_fake_results": {NOTEBOOK: _notebook_bytes(_with_cell(release, FAKE_RESULTS))},
        # malformed uploads
        "malformed_empty_file": {NOTEBOOK: b""},
        "malformed_not_json": {NOTEBOOK: b"I am a notebook, honestly"},
        "malformed_wrong_name": {"a0_warmup (1).ipynb": _notebook_bytes(honest)},
    }


def write_class(submitted: Path, files: dict[str, dict[str, bytes]]) -> None:
    """Write the class in nbgrader's layout ``<submitted>/<student>/a0_warmup/<file>``."""
    for student, uploads in files.items():
        folder = submitted / student / A0
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in uploads.items():
            (folder / name).write_bytes(content)


def prepare(out: Path, students: list[str] | None = None, release_dir: Path | None = None) -> Path:
    """Release A0 (into ``release_dir``, default ``assignments/release/``) and write the demo class under
    ``out``; return its submitted/ folder."""
    out.mkdir(parents=True, exist_ok=True)
    release_dir = generate_release(A0, release_dir=release_dir, db_url=db_url_for(out / "gradebook.db"))
    print(f"released {A0} with nbgrader: {release_dir}")
    source = nbformat.read(COURSE_ROOT / "source" / A0 / NOTEBOOK, as_version=4)
    release = nbformat.read(release_dir / NOTEBOOK, as_version=4)
    everyone = demo_class(source, release)
    chosen = {s: everyone[s] for s in (students or everyone)}
    submitted = out / "submitted"
    shutil.rmtree(submitted, ignore_errors=True)
    write_class(submitted, chosen)
    print(f"{len(chosen)} sample submissions in {submitted}")
    return submitted


def print_gradebook(db: Path) -> None:
    """The gradebook as nbgrader (and formgrader) sees it, one row per student."""
    from rich.console import Console
    from rich.table import Table

    api = nbgrader_api(db_url=db_url_for(db))
    table = Table(title=f"nbgrader gradebook: {A0} ({db})")
    for column in ("student", "score", "max", "needs manual grade"):
        table.add_column(column, justify="left" if column == "student" else "right")
    for row in sorted(api.get_submissions(A0), key=lambda r: r["student"]):
        table.add_row(
            row["student"], f"{row['score']:g}", f"{row['max_score']:g}", "yes" if row["needs_manual_grade"] else ""
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.authoring.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/demo"))
    parser.add_argument("--jobs", type=int, default=None, help="grading workers (default: cores)")
    parser.add_argument("--student", action="append", help="only these sample students (repeatable)")
    parser.add_argument("--release-dir", type=Path, help="release A0 here (default: assignments/release/)")
    args = parser.parse_args(argv)
    out: Path = args.out
    submitted = prepare(out, args.student, args.release_dir)

    grades = out / "grades"
    shutil.rmtree(grades, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "autograder.cli",
        "grade",
        A0,
        str(submitted),
        "--out",
        str(grades),
        "--nbgrader-db",
        str(out / "gradebook.db"),
    ]
    if args.jobs:
        command += ["--jobs", str(args.jobs)]
    print("$ llmcourse " + " ".join(command[3:]), flush=True)
    if subprocess.run(command).returncode != 0:
        return 1

    print_gradebook(out / "gradebook.db")
    print(f"per-student feedback: {grades}/<student>/feedback.md; spreadsheet: {grades / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
