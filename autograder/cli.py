"""The grader's commands of ``llmcourse``: ``grade``, ``similarity``, ``release``, ``gradebook-sync``,
``gradescope-zip``, ``answer-key``.

``course_lib`` does not know the grader: its ``llmcourse`` command finds these through the entry point group
``llmcourse.commands`` (declared in ``pyproject.toml``), which names :func:`register`. ``python -m autograder.cli``
runs them without that registration (the grader's own subprocesses use it). Heavy imports (torch, nbgrader,
nbformat) happen inside the ``run_*`` functions, so ``llmcourse --help`` stays fast.

One vocabulary: an assignment id comes first; ``--out`` names what a command writes; ``--student ID`` takes one
id and repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add every grader command to ``llmcourse``'s subparsers."""
    _register_grade(subparsers)
    _register_similarity(subparsers)
    _register_bridges(subparsers)
    _register_answer_key(subparsers)


# ----------------------------------------------------------------------------------------------- shared


def _command(subparsers: argparse._SubParsersAction, name: str, func, **texts: str) -> argparse.ArgumentParser:
    """A subcommand whose first positional is an assignment id."""
    parser = subparsers.add_parser(name, **texts)
    parser.add_argument("assignment", help="assignment id, e.g. a0_warmup")
    parser.set_defaults(func=func)
    return parser


def _submitted_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submitted_dir", type=Path, help="folder with one sub-folder per student")


def _progress(verb: str, **options):
    """A rich progress bar on stderr: ``<verb> <assignment> ━━━ 3/40 0:00:12``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(verb + " {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), **options)


def _course_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--course-root",
        type=Path,
        default=None,
        help="nbgrader course root holding nbgrader_config.py (default: the course's assignments/)",
    )


# ------------------------------------------------------------------------------------------------ grade


def _register_grade(subparsers: argparse._SubParsersAction) -> None:
    parser = _command(
        subparsers,
        "grade",
        run_grade,
        help="autograde collected submissions of an assignment",
        description="Grade SUBMITTED_DIR/<student>/<assignment>/*.ipynb (nbgrader's collect layout) with the "
        "hidden graders in autograder/graders/<assignment>/. Writes OUT/grades.csv and, per student, "
        "results.json (Gradescope schema), feedback.md and feedback.html.",
    )
    _submitted_dir_argument(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder for grades and feedback")
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="submissions graded in parallel (default: number of cores)",
    )
    parser.add_argument("--resume", action="store_true", help="skip students already graded in OUT")
    parser.add_argument("--student", action="append", metavar="ID", help="grade only this student (repeat for several)")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="salt for the grading-time random inputs (recorded per student; default 0)",
    )
    parser.add_argument(
        "--nbgrader-db",
        type=Path,
        metavar="DB",
        help="also write the scores into this nbgrader gradebook (e.g. assignments/gradebook.db)",
    )


def run_grade(args: argparse.Namespace) -> int:
    from rich.console import Console

    from course_lib.errors import CourseError

    from .engine.manifest import load_manifest
    from .engine.runner import GradingInterrupted, grade_batch

    if args.jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {args.jobs}")
    load_manifest(args.assignment)  # bad input fails here, before any progress bar is drawn
    if not args.submitted_dir.is_dir():
        raise CourseError(f"submitted folder {args.submitted_dir} does not exist")
    # auto_refresh=False: no refresh thread, because the runner forks and forking a threaded process is unsafe
    progress = _progress("grading", auto_refresh=False, transient=False)
    task_id = progress.add_task(args.assignment, total=None)

    def started(total: int) -> None:  # called once the inputs are checked: bad input never shows a bar
        progress.update(task_id, total=total)
        progress.start()
        progress.refresh()

    def finished(student_id: str) -> None:
        progress.advance(task_id)
        progress.refresh()

    try:
        batch = grade_batch(
            args.assignment,
            args.submitted_dir,
            args.out,
            jobs=args.jobs,
            resume=args.resume,
            students=args.student,
            seed=args.seed,
            on_start=started,
            on_result=finished,
        )
    except GradingInterrupted as stop:
        if progress.live.is_started:
            progress.stop()
        print(f"llmcourse grade: {stop}", file=sys.stderr)
        return 130
    finally:
        if progress.live.is_started:
            progress.stop()
    print_summary(batch, Console())
    from .engine.report import write_atomic
    from .review.summary import print_summary as print_review
    from .review.summary import render_html, summarise

    review = summarise(args.assignment, batch.results, batch.out_dir)
    print_review(review, Console())
    write_atomic(batch.out_dir / "summary.html", render_html(review))
    Console().print(f"summary: {batch.out_dir / 'summary.html'}")
    if args.nbgrader_db:
        from .bridges.nbgrader import export_feedback, sync_gradebook

        written = sync_gradebook(args.assignment, args.out, args.nbgrader_db)
        Console().print(f"nbgrader gradebook {args.nbgrader_db}: {len(written)} submission(s) written")
        exported = export_feedback(args.assignment, args.out)
        if exported:
            Console().print(
                f"nbgrader feedback: {len(exported)} page(s) ready; release them with formgrader's "
                f"Release feedback or `nbgrader release_feedback {args.assignment}`"
            )
    return 0


def print_summary(batch, console) -> None:
    """The batch in a table: how many graded now or skipped, mean and median, why points were lost."""
    from rich.table import Table

    from .engine.report import failure_reasons
    from .results import GRADED, GRADER_ERROR

    results = batch.results
    scores = [r.score for r in results]
    table = Table(title=f"{batch.assignment}: {len(results)} students in {batch.out_dir}", show_header=False)
    table.add_row("graded now", str(len(batch.graded_now)))
    if batch.skipped:
        table.add_row("skipped (--resume, unchanged)", str(len(batch.skipped)))
    if batch.regraded:
        table.add_row("re-graded (submission or graders changed)", ", ".join(batch.regraded))
    if scores:
        table.add_row("mean score", f"{statistics.mean(scores):.2f} / {results[0].max_score:g}")
        table.add_row("median score", f"{statistics.median(scores):.2f}")
        table.add_row("full marks", str(sum(r.score == r.max_score for r in results)))
    for reason, count in failure_reasons(results).items():
        table.add_row(f"lost points: {reason}", str(count))
    for r in results:  # submissions that could not be graded at all, each on one line
        if r.status not in (GRADED, GRADER_ERROR):
            table.add_row(f"not graded: {r.student_id}", f"{r.status}: {r.message}")
    table.add_row("gradebook", str(batch.out_dir / "grades.csv"))
    console.print(table)


# ------------------------------------------------------------------------------------------- similarity


def _register_similarity(subparsers: argparse._SubParsersAction) -> None:
    parser = _command(
        subparsers,
        "similarity",
        run_similarity,
        help="flag similar code between submissions and with course_lib",
        description="Compare every pair of submissions in SUBMITTED_DIR, and each with the course_lib files that "
        "implement the graded parts, function by function (copydetect's winnowed fingerprints: renaming and "
        "reformatting do not hide a copy; the release's code is excluded). Writes OUT/similarity.csv and "
        "OUT/similarity.html. Run it with --out GRADES/similarity and the grading summary lists its flags.",
    )
    _submitted_dir_argument(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder for the report")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="share of a function or class found in the other that flags a pair (default 0.6)",
    )


def run_similarity(args: argparse.Namespace) -> int:
    from .review.similarity import DEFAULT_THRESHOLD, check_similarity

    progress = _progress("comparing")
    with progress:
        task_id = progress.add_task(args.assignment, total=None)
        report = check_similarity(
            args.assignment,
            args.submitted_dir,
            args.out,
            threshold=DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
            on_progress=lambda done, total: progress.update(task_id, completed=done, total=total),
        )
    print(
        f"{len(report.students)} submissions, {len(report.references)} course_lib file(s): "
        f"{sum(m.kind == 'pair' for m in report.matches)} similar pair(s), "
        f"{sum(m.kind == 'reference' for m in report.matches)} similar to course_lib -> {args.out / 'similarity.html'}"
    )
    for m in report.matches[:20]:
        print(f"  {m.a:<20} {m.b:<28} {m.unit_a} / {m.unit_b}: {m.similarity_a:.0%} / {m.similarity_b:.0%}")
    return 0


# -------------------------------------------------------------------------- nbgrader and Gradescope bridges


def _register_bridges(subparsers: argparse._SubParsersAction) -> None:
    release = _command(
        subparsers,
        "release",
        run_release,
        help="generate the student version of an assignment with nbgrader",
        description="Run nbgrader's generate_assignment on assignments/source/ASSIGNMENT/: solutions "
        "become `raise NotImplementedError()`, hidden tests are removed, the graded cells are "
        "recorded in the gradebook. Writes assignments/release/ASSIGNMENT/.",
    )
    _course_root_option(release)

    sync = _command(
        subparsers,
        "gradebook-sync",
        run_gradebook_sync,
        help="write `llmcourse grade` results into nbgrader's gradebook (for formgrader)",
        description="Read what `llmcourse grade` wrote in GRADES_DIR (<student>/grading.json) and store "
        "each student's scores on the assignment's autograded cells in nbgrader's gradebook. "
        "Each hidden test counts towards the cell of the task it is named after "
        "(softmax::test_* -> cell test_softmax), scaled to the cell's points.",
    )
    sync.add_argument("grades_dir", type=Path, help="the --out folder of `llmcourse grade`")
    sync.add_argument(
        "--nbgrader-db",
        type=Path,
        required=True,
        metavar="DB",
        help="gradebook file, e.g. assignments/gradebook.db (created when absent)",
    )
    _course_root_option(sync)

    zipper = _command(
        subparsers,
        "gradescope-zip",
        run_gradescope_zip,
        help="build a Gradescope autograder zip that runs `llmcourse grade`",
        description="Write a Gradescope autograder zip: setup.sh installs this course from a bundled wheel "
        "(pinned by constraints.txt); run_autograder grades /autograder/submission/*.ipynb with "
        "`llmcourse grade` and writes /autograder/results/results.json.",
    )
    zipper.add_argument("--out", "-o", type=Path, required=True, help="zip file to write, e.g. a0.zip")


def run_release(args: argparse.Namespace) -> int:
    from .bridges.nbgrader import generate_release

    out = generate_release(args.assignment, args.course_root)
    notebooks = sorted(p.name for p in out.glob("*.ipynb"))
    print(f"released {args.assignment}: {out} ({', '.join(notebooks)})")
    return 0


def run_gradebook_sync(args: argparse.Namespace) -> int:
    from .bridges.nbgrader import sync_gradebook

    written = sync_gradebook(args.assignment, args.grades_dir, args.nbgrader_db, args.course_root)
    print(f"wrote {len(written)} submission(s) of {args.assignment} into {args.nbgrader_db}")
    return 0


def run_gradescope_zip(args: argparse.Namespace) -> int:
    from .bridges.gradescope import build_zip

    out = build_zip(args.assignment, args.out)
    print(f"wrote {out}: upload it as the assignment's autograder on Gradescope")
    return 0


# ------------------------------------------------------------------------------------------- answer keys


def _register_answer_key(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "answer-key",
        help="generate solutions/ID.ipynb from the assignment's nbgrader source",
        description="Write the answer key solutions/ID.ipynb from assignments/source/ID/ID.ipynb "
        "(solution markers removed, outputs cleared).",
    )
    parser.add_argument("assignment", nargs="+", help="assignment id, e.g. a1_ngrams")
    parser.add_argument("--check", action="store_true", help="only check that the stored key is current")
    parser.set_defaults(func=run_answer_key)


def run_answer_key(args: argparse.Namespace) -> int:
    from course_lib.errors import CourseError

    from .authoring.answer_key import is_current, key_path, write_answer_key

    for assignment in args.assignment:
        if args.check:
            if not is_current(assignment):
                raise CourseError(f"{key_path(assignment)} is stale; run: llmcourse answer-key {assignment}")
            print(f"{assignment}: answer key is current")
        else:
            print(f"{assignment}: wrote {write_answer_key(assignment)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.cli COMMAND ...``: the grader's commands alone, as ``llmcourse`` runs them."""
    from course_lib.cli import run_command

    return run_command([register], argv)


if __name__ == "__main__":
    sys.exit(main())
