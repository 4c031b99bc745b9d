"""``llmcourse grade``: grade a folder of collected submissions, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import os
import statistics
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
    parser.add_argument(
        "--student", nargs="+", action="extend", metavar="ID", help="grade only these students"
    )
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


def run_grade(args: argparse.Namespace) -> int:
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

    def started(total: int) -> None:
        progress.update(task_id, total=total)
        progress.refresh()

    def finished(result: object) -> None:
        progress.advance(task_id)
        progress.refresh()

    with progress:
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
