"""One points scheme per assignment (all of them):
every grade cell is worth what its hidden tests are worth.

The notebook students read (grade-cell points), the gradebook (nbgrader reads the same cells) and the feedback (the
hidden tests' points) must agree; manual points (written answers) plus the autograded total make the assignment.
"""

from __future__ import annotations

import nbformat
import pytest

from autograder.authoring.mutants import hidden_tests
from autograder.bridges.nbgrader import GradeCellInfo, map_tests_to_cells
from autograder.engine.manifest import load_manifest
from autograder.paths import REPO_ROOT as ROOT

ASSIGNMENTS = sorted(p.name for p in (ROOT / "autograder" / "graders").iterdir() if (p / "manifest.toml").is_file())


def test_there_are_assignments() -> None:
    assert {"a0_warmup", "a1_ngrams"} <= set(ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grade_cells_carry_their_hidden_tests_points(assignment: str) -> None:
    nb = nbformat.read(ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    grade_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    auto = [
        GradeCellInfo(c.metadata.nbgrader.grade_id, assignment, float(c.metadata.nbgrader.points))
        for c in grade_cells
        if c.cell_type == "code"
    ]
    manual = sum(float(c.metadata.nbgrader.points) for c in grade_cells if c.cell_type == "markdown")
    tests = hidden_tests(assignment, engine_names=True)
    manifest = load_manifest(assignment)
    assert sum(tests.values()) == manifest.total_points
    mapping = map_tests_to_cells(tests, auto)
    for cell in auto:
        mine = [name for name, target in mapping.items() if target.name == cell.name]
        assert mine, f"no hidden test grades {cell.name}"
        assert sum(tests[name] for name in mine) == cell.max_score, f"{cell.name}: cell points vs hidden tests {mine}"
    assert sum(cell.max_score for cell in auto) == manifest.total_points
    assert manual + manifest.total_points in (manifest.total_points, 100)  # A0 has no written part; A1 adds to 100
