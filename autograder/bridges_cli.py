"""``llmcourse release``, ``llmcourse gradebook-sync`` and ``llmcourse gradescope-zip``: the TA's bridges to
nbgrader and Gradescope. The work lives in :mod:`autograder.nbgrader_bridge` and :mod:`autograder.gradescope`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    release = subparsers.add_parser(
        "release", help="generate the student version of an assignment with nbgrader",
        description="Run nbgrader's generate_assignment on assignments/source/ASSIGNMENT/: solutions become "
                    "`raise NotImplementedError()`, hidden tests are removed, the graded cells are recorded in "
                    "the gradebook. Writes assignments/release/ASSIGNMENT/.",
    )
    release.add_argument("assignment", help="assignment id, e.g. a0_warmup")
    release.add_argument("--course-root", type=Path, default=None,
                         help="nbgrader course root holding nbgrader_config.py (default: the course's assignments/)")
    release.set_defaults(func=run_release)

    sync = subparsers.add_parser(
        "gradebook-sync", help="write `llmcourse grade` results into nbgrader's gradebook (for formgrader)",
        description="Read GRADES_DIR/<student>/results.json (the output of `llmcourse grade`) and store each "
                    "student's scores on the assignment's autograded cells in nbgrader's gradebook. Each hidden "
                    "test counts towards the cell of the task it is named after (test_softmax_* -> test_softmax).",
    )
    sync.add_argument("assignment", help="assignment id, e.g. a0_warmup")
    sync.add_argument("grades_dir", type=Path, help="the --out folder of `llmcourse grade`")
    sync.add_argument("--nbgrader-db", type=Path, required=True, metavar="DB",
                      help="gradebook file, e.g. assignments/gradebook.db (created when absent)")
    sync.add_argument("--course-root", type=Path, default=None,
                      help="nbgrader course root holding nbgrader_config.py (default: the course's assignments/)")
    sync.set_defaults(func=run_gradebook_sync)


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
