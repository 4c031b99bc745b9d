"""A0 released by nbgrader once per test process, shared by the nbgrader, samples, demo and Gradescope tests.

Import the fixture into a test module (``from a0_release import a0_release``); pytest picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.nbgrader_bridge import COURSE_ROOT, db_url_for, generate_release

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

    Each module importing this fixture gets its own instance, so the release itself is cached in the
    session's temp root: nbgrader runs once per test process.
    """
    scratch = tmp_path_factory.getbasetemp() / "a0_release"
    db_url = db_url_for(scratch / "gradebook.db")
    out = scratch / "release" / A0
    if not (out / NOTEBOOK).is_file():
        scratch.mkdir(exist_ok=True)
        out = generate_release(A0, release_dir=scratch / "release", db_url=db_url)
    return Released(
        source=nbformat.read(COURSE_ROOT / "source" / A0 / NOTEBOOK, as_version=4),
        release=nbformat.read(out / NOTEBOOK, as_version=4),
        path=out / NOTEBOOK,
        db_url=db_url,
    )
