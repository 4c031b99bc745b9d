"""Grading starts from a clean environment, whoever calls it: ``llmcourse grade``, the Python API, Gradescope.

Every worker is a fork of the grader, so whatever the grader holds in memory could be read by student code,
its environment included: an API token in the TA's shell must not reach a worker. Removing variables from a
running process is not enough (``posix.environ`` keeps them, and the block a process started with stays in
its stack pages, which forks copy), so when the grading process holds a variable outside :data:`KEPT_ENV`, the
engine grades in a new Python process started with only the kept variables (see
:func:`autograder.engine.runner.grade_batch`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# What the grader keeps of its environment: locale, terminal, paths to the interpreter and its libraries, and
# names that are nobody's secret (the shell's and pytest's bookkeeping).
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
        "PWD",
        "OLDPWD",
        "SHLVL",
        "SHELL",
        "HOSTNAME",
        "_",
    }
)
KEPT_ENV_PREFIXES = ("LC_", "XDG_", "COURSE_", "PYTHON", "PYTEST_")


def is_kept(name: str) -> bool:
    return name in KEPT_ENV or name.startswith(KEPT_ENV_PREFIXES)


def clean_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of ``environ`` (default: this process's) that grading keeps."""
    environ = os.environ if environ is None else environ
    return {name: value for name, value in environ.items() if is_kept(name)}


def environment_is_clean() -> bool:
    """Whether this process holds no variable grading would drop, now or in the block it started with (a
    variable deleted from ``os.environ`` is still there): then it may fork workers itself."""
    return all(is_kept(name) for name in [*os.environ, *_names_at_start()])


def _names_at_start() -> list[str]:
    """Names in the environment block this process started with (Linux; elsewhere none are known)."""
    try:
        block = Path("/proc/self/environ").read_bytes()
    except OSError:
        return []
    return [entry.split(b"=", 1)[0].decode("utf-8", "replace") for entry in block.split(b"\0") if entry]
