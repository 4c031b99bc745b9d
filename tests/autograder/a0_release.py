"""A0 released by nbgrader once per test session, shared by the nbgrader, samples, demo and Gradescope tests.

Import the fixture into a test module (``from a0_release import a0_release``); pytest picks it up. Under
pytest-xdist every worker process asks for it; the first builds it (nbgrader takes most of a minute on two
cores) under a file lock in the session's shared temp root, and the others wait for it and read it.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.bridges.nbgrader import COURSE_ROOT, db_url_for, generate_release

A0 = "a0_warmup"
NOTEBOOK = f"{A0}.ipynb"


@dataclass(frozen=True)
class Released:
    source: nbformat.NotebookNode  # the instructor notebook, with solutions
    release: nbformat.NotebookNode  # what students get
    path: Path  # the released notebook file
    db_url: str  # the scratch gradebook nbgrader recorded the assignment in


@pytest.fixture(scope="session")
def a0_release(tmp_path_factory) -> Released:
    """A0 released into a scratch folder and gradebook (the course's own files stay untouched).

    Each module importing this fixture gets its own instance, and each xdist worker its own session, so the
    release itself is cached in the temp root shared by the whole run: nbgrader runs once per test session.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker has its own basetemp under the run's shared one
        root = root.parent
    scratch = root / "a0_release"
    db_url = db_url_for(scratch / "gradebook.db")
    out = scratch / "release" / A0
    done = scratch / "done"  # written after a complete release: a worker killed half-way leaves none
    with open(root / "a0_release.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.is_file():
            scratch.mkdir(exist_ok=True)
            out = generate_release(A0, release_dir=scratch / "release", db_url=db_url)
            done.write_text("released\n")
    return Released(
        source=nbformat.read(COURSE_ROOT / "source" / A0 / NOTEBOOK, as_version=4),
        release=nbformat.read(out / NOTEBOOK, as_version=4),
        path=out / NOTEBOOK,
        db_url=db_url,
    )
