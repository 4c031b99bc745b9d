"""``llmcourse release``, ``llmcourse gradebook-sync`` and ``llmcourse gradescope-zip``: the TA's bridges to
nbgrader and Gradescope. The work lives in :mod:`autograder.nbgrader_bridge` and :mod:`autograder.gradescope`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _command(
    subparsers: argparse._SubParsersAction,
    name: str,
    func,
    help: str,
    description: str,
) -> argparse.ArgumentParser:
    """A subcommand taking an assignment id first."""
    parser = subparsers.add_parser(name, help=help, description=description)
    parser.add_argument("assignment", help="assignment id, e.g. a0_warmup")
    parser.set_defaults(func=func)
    return parser


def _course_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--course-root",
        type=Path,
        default=None,
        help="nbgrader course root holding nbgrader_config.py (default: the course's assignments/)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
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
    zipper.add_argument("-o", "--output", type=Path, required=True, help="zip file to write, e.g. a0.zip")


def run_release(args: argparse.Namespace) -> int:
    from autograder.nbgrader_bridge import generate_release

    out = generate_release(args.assignment, args.course_root)
    notebooks = sorted(p.name for p in out.glob("*.ipynb"))
    print(f"released {args.assignment}: {out} ({', '.join(notebooks)})")
    return 0


def run_gradebook_sync(args: argparse.Namespace) -> int:
    from autograder.nbgrader_bridge import sync_gradebook

    written = sync_gradebook(args.assignment, args.grades_dir, args.nbgrader_db, args.course_root)
    print(f"wrote {len(written)} submission(s) of {args.assignment} into {args.nbgrader_db}")
    return 0


def run_gradescope_zip(args: argparse.Namespace) -> int:
    from autograder.gradescope import build_zip

    out = build_zip(args.assignment, args.output)
    print(f"wrote {out}: upload it as the assignment's autograder on Gradescope")
    return 0
