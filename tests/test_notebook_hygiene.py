"""Every lecture, assignment-source and answer-key notebook is valid nbformat and stored without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STORED_CLEAN = sorted(
    [*ROOT.glob("lectures/*.ipynb"), *ROOT.glob("assignments/source/*/*.ipynb"), *ROOT.glob("solutions/*.ipynb")]
)


def test_the_course_has_lectures_assignments_and_keys() -> None:
    # guards the parametrised test below against passing vacuously
    names = {p.relative_to(ROOT).parts[0] for p in STORED_CLEAN}
    assert names == {"lectures", "assignments", "solutions"}


@pytest.mark.parametrize("path", STORED_CLEAN, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_valid_and_has_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{path.name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} have stored outputs; clear them before committing"
