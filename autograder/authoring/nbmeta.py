"""nbgrader's notebook metadata, read in one place: cells by ``grade_id``, and the solution markers.

An nbgrader source notebook marks each task's cell with ``metadata.nbgrader`` (``grade_id``, ``solution``,
``grade``, ``points``) and its solutions with ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` (hidden tests
with ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``). Sample submissions, answer keys, mutants and
tests all read these through the helpers below.
"""

from __future__ import annotations

import re
from typing import Any

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS)
# one solution block: its indentation and its body (what nbgrader replaces with a stub)
SOLUTION_BLOCK = re.compile(
    rf"^(?P<indent>[ \t]*){BEGIN_SOLUTION}[ \t]*\n(?P<body>.*?)^[ \t]*{END_SOLUTION}[ \t]*$", re.M | re.S
)


def nbgrader_metadata(cell: Any) -> dict:
    """A cell's ``metadata.nbgrader`` (``{}`` when it has none)."""
    found = cell.get("metadata", {}).get("nbgrader", {})
    return found if isinstance(found, dict) else {}


def grade_id(cell: Any) -> str | None:
    """The cell's nbgrader ``grade_id``, or None."""
    return nbgrader_metadata(cell).get("grade_id")


def cell_by_grade_id(notebook: Any, wanted: str) -> Any:
    """The one cell of ``notebook`` whose ``grade_id`` is ``wanted``; ValueError when there is not exactly one."""
    cells = [c for c in notebook.cells if grade_id(c) == wanted]
    if len(cells) != 1:
        raise ValueError(f"{len(cells)} cells have grade_id {wanted!r}, expected exactly one")
    return cells[0]


def strip_markers(source: str) -> str:
    """``source`` without its solution and hidden-test marker lines."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in MARKERS)
