"""The ``llmcourse`` command: one entry point, one module per group of subcommands.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its subcommands and sets
``func`` on them. Other installed packages add theirs through the entry point group ``llmcourse.commands``
(the grader registers ``grade``, ``release``, ``answer-key``, ... this way), so ``course_lib`` never imports
them. Heavy imports (torch, nbgrader) happen inside the commands' functions, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Iterable

from course_lib import __version__
from course_lib.errors import CourseError

COMMAND_MODULES = (
    "course_lib.doctor",
    "course_lib.course_map",
    "course_lib.data_cli",
    "course_lib.training.cli",
)
ENTRY_POINT_GROUP = "llmcourse.commands"

Registrar = Callable[[argparse._SubParsersAction], None]


def registrars() -> list[Registrar]:
    """``register`` functions: this package's command modules, then each installed ``llmcourse.commands`` plugin.

    A plugin that cannot be loaded (a broken or half-uninstalled package) costs only its own commands: it is skipped
    with one warning on stderr naming its distribution and the error, and every other command still works.
    """
    found: list[Registrar] = [importlib.import_module(name).register for name in COMMAND_MODULES]
    unique: dict[str, importlib.metadata.EntryPoint] = {}
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        unique.setdefault(entry.value, entry)  # one target once, even if two installed distributions declare it
    for entry in unique.values():
        try:
            found.append(entry.load())
        except Exception as err:  # whatever its import raises, the plugin is not ours to crash on
            distribution = entry.dist.name if entry.dist is not None else "an unknown distribution"
            print(
                f"llmcourse: warning: skipped the commands of {distribution} ({entry.name} = {entry.value}): "
                f"{type(err).__name__}: {err}",
                file=sys.stderr,
            )
    return found


def build_parser(register_with: Iterable[Registrar] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmcourse",
        description="llm-course: check your setup, train and sample models, release and grade assignments.",
    )
    parser.add_argument("--version", action="version", version=f"llm-course {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in registrars() if register_with is None else register_with:
        register(subparsers)
    return parser


def run_command(register_with: Iterable[Registrar] | None, argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; a CourseError becomes one ``llmcourse CMD: error:`` line."""
    parser = build_parser(register_with)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CourseError as err:
        print(f"llmcourse {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"llmcourse {args.command}: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    return run_command(None, argv)


if __name__ == "__main__":
    sys.exit(main())
