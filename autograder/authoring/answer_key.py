"""Answer keys: ``solutions/<id>.ipynb`` generated from the nbgrader source ``assignments/source/<id>/<id>.ipynb``.

The source notebook is the one place where a solution is written; the answer key is that notebook with the
``### BEGIN/END SOLUTION`` (and hidden-test) marker lines removed, nbgrader metadata dropped, written answers
labelled as model answers, outputs cleared, and a header saying where it came from. It is stored without outputs
and executed by nbval in CI (``make test``), so a stale or broken key fails the build rather than misleading a TA;
``llmcourse answer-key ID --check`` says whether the stored key matches its source.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from course_lib.errors import CourseError

from ..paths import REPO_ROOT
from .nbmeta import nbgrader_metadata, strip_markers

if TYPE_CHECKING:  # nbformat takes seconds to import; `llmcourse --help` must not wait for it
    import nbformat


def source_path(assignment: str, root: Path | None = None) -> Path:
    return (root or REPO_ROOT) / "assignments" / "source" / assignment / f"{assignment}.ipynb"


def key_path(assignment: str, root: Path | None = None) -> Path:
    return (root or REPO_ROOT) / "solutions" / f"{assignment}.ipynb"


def make_answer_key(source: nbformat.NotebookNode, assignment: str) -> nbformat.NotebookNode:
    """The answer key for an nbgrader source notebook (a new notebook; ``source`` is not modified)."""
    import nbformat

    key = copy.deepcopy(source)
    for cell in key.cells:
        nbgrader = nbgrader_metadata(cell)
        cell.metadata.pop("nbgrader", None)
        cell.source = strip_markers(cell.source)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        elif nbgrader.get("solution") and nbgrader.get("grade"):  # a written, manually graded answer
            cell.source = f"**Model answer ({nbgrader.get('points', '?')} points, graded by hand):**\n\n{cell.source}"
    header = nbformat.v4.new_markdown_cell(
        f"**Answer key for `{assignment}`.** Generated from `assignments/source/{assignment}/{assignment}.ipynb` "
        f"by `llmcourse answer-key {assignment}`; edit the source, not this file."
    )
    key.cells.insert(0, header)
    key.nbformat, key.nbformat_minor = 4, 5
    for i, cell in enumerate(key.cells):  # deterministic ids: regenerating gives an identical file
        cell["id"] = f"cell-{i}"
    return key


def write_answer_key(assignment: str, root: Path | None = None) -> Path:
    src = source_path(assignment, root)
    if not src.is_file():
        raise CourseError(f"no source notebook for {assignment!r} at {src}")
    out = key_path(assignment, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_render(assignment, root), encoding="utf-8")
    return out


def _render(assignment: str, root: Path | None) -> str:
    import nbformat

    key = make_answer_key(nbformat.read(source_path(assignment, root), as_version=4), assignment)
    return nbformat.writes(key) + "\n"


def is_current(assignment: str, root: Path | None = None) -> bool:
    """Whether the stored answer key is exactly what the source generates now."""
    out = key_path(assignment, root)
    if not out.is_file():
        return False
    return _render(assignment, root) == out.read_text(encoding="utf-8")
