"""``llmcourse grade``: grade a folder of collected submissions, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="autograde collected submissions of an assignment",
        description="Grade SUBMITTED_DIR/<student>/<assignment>/*.ipynb (nbgrader's collect layout) with the "
        "hidden graders in autograder/graders/<assignment>/. Writes OUT/grades.csv and, per student, "
        "results.json (Gradescope schema), feedback.md and feedback.html.",
    )
    parser.add_argument("assignment", help="assignment id, e.g. a0_warmup")
    parser.add_argument("submitted_dir", type=Path, help="folder with one sub-folder per student")
    parser.add_argument("--out", type=Path, required=True, help="output folder for grades and feedback")
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="submissions graded in parallel (default: number of cores)",
    )
    parser.add_argument("--resume", action="store_true", help="skip students already graded in OUT")
    parser.add_argument("--student", nargs="+", action="extend", metavar="ID", help="grade only these students")
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
    parser.set_defaults(func=run_grade)


# What the grader keeps of its environment (workers are forks of it: see restart_with_clean_environment).
KEPT_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TERM",
        "COLORTERM",
        "COLUMNS",
        "LINES",
        "NO_COLOR",
        "FORCE_COLOR",
        "TMPDIR",
        "TZ",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "LD_LIBRARY_PATH",
        "CUDA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    }
)
KEPT_ENV_PREFIXES = ("LC_", "XDG_", "COURSE_", "PYTHON")
CLEAN_MARK = "LLMCOURSE_GRADE_CLEAN_ENV"


def restart_with_clean_environment() -> None:
    """Start ``llmcourse grade`` again without environment variables it does not need.

    Every worker is a fork of the grader, so whatever the grader holds in memory, its environment included
    (``posix.environ`` survives scrubbing ``os.environ``), could be read by student code: an API token in
    the TA's shell must not be. ``execve`` replaces the process, so the dropped values are gone from memory.
    """
    if os.environ.get(CLEAN_MARK) == "1" or sys.argv[1:2] != ["grade"]:
        return
    kept = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith(KEPT_ENV_PREFIXES)}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "course_lib.cli", *sys.argv[1:]], {**kept, CLEAN_MARK: "1"})


def run_grade(args: argparse.Namespace) -> int:
    restart_with_clean_environment()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from course_lib.errors import CourseError

    from .manifest import load_manifest
    from .runner import grade_batch

    if args.jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {args.jobs}")
    load_manifest(args.assignment)  # bad input fails here, before any progress bar is drawn
    if not args.submitted_dir.is_dir():
        raise CourseError(f"submitted folder {args.submitted_dir} does not exist")
    console = Console(stderr=True)
    # auto_refresh=False: no refresh thread, because the runner forks and forking a threaded process is unsafe
    progress = Progress(
        TextColumn("grading {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,
        transient=False,
    )
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
    finally:
        if progress.live.is_started:
            progress.stop()
    print_summary(batch, Console())
    if args.nbgrader_db:
        from .nbgrader_bridge import sync_gradebook

        written = sync_gradebook(args.assignment, args.out, args.nbgrader_db)
        Console().print(f"nbgrader gradebook {args.nbgrader_db}: {len(written)} submission(s) written")
    return 0


def print_summary(batch: object, console: object) -> None:
    from rich.table import Table

    from .report import failure_reasons

    results = batch.results
    scores = [r.score for r in results]
    table = Table(title=f"{batch.assignment}: {len(results)} students in {batch.out_dir}", show_header=False)
    table.add_row("graded now", str(len(batch.graded_now)))
    if batch.skipped:
        table.add_row("skipped (--resume)", str(len(batch.skipped)))
    if scores:
        table.add_row("mean score", f"{statistics.mean(scores):.2f} / {results[0].max_score:g}")
        table.add_row("median score", f"{statistics.median(scores):.2f}")
        table.add_row("full marks", str(sum(r.score == r.max_score for r in results)))
    for reason, count in failure_reasons(results).items():
        table.add_row(f"lost points: {reason}", str(count))
    table.add_row("gradebook", str(batch.out_dir / "grades.csv"))
    console.print(table)
