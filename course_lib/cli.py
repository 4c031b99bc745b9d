"""The ``llmcourse`` command: one entry point, one module per group of subcommands.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its subcommands and sets
``func`` on them. Heavy imports (torch, nbgrader) happen inside those functions, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from course_lib import __version__
from course_lib.errors import CourseError

COMMAND_MODULES = (
    "course_lib.doctor",
    "course_lib.training.cli",
    "autograder.answer_key",
    "autograder.bridges_cli",
    "autograder.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmcourse",
        description="llm-course: check your setup, train and sample models, release and grade assignments.",
    )
    parser.add_argument("--version", action="version", version=f"llm-course {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CourseError as err:
        print(f"llmcourse {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"llmcourse {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
