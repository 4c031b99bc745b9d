"""Generated sample submissions: honest ones equal the solution, buggy ones fail the notebook's own checks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from a0_release import A0, a0_release  # noqa: F401 (a fixture)

from autograder.authoring.samples import A0_BUGS, a0_variant, clear_solutions, fill_stubs, solutions, write_submissions


@pytest.fixture
def a0(a0_release) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:  # noqa: F811
    return a0_release.source, a0_release.release


def run_code_cells(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Execute the notebook's code cells in one namespace (trusted, our own code); errors by grade_id."""
    namespace: dict = {}
    errors = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            try:
                exec(compile(cell.source, "<cell>", "exec"), namespace)
            except Exception as err:  # we record which checks fail
                errors[cell.metadata["nbgrader"]["grade_id"]] = type(err).__name__
    return errors


def test_filling_the_release_with_the_solutions_gives_back_the_source_code(a0) -> None:
    source, release = a0
    answers = solutions(source)
    assert set(answers) == {"softmax", "cross_entropy"}
    filled = fill_stubs(release, answers)
    for src_cell, cell in zip(source.cells, filled.cells, strict=True):
        without_markers = "\n".join(
            line
            for line in src_cell.source.splitlines()
            if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
        )
        assert cell.source.rstrip() == without_markers.rstrip()
    assert run_code_cells(filled) == {}, "the solution passes the notebook's public checks"


def test_clear_solutions_makes_the_code_cells_nbgrader_releases(a0) -> None:
    source, release = a0
    cleared = clear_solutions(source)
    code = [
        (c.source.rstrip(), r.source.rstrip())
        for c, r in zip(cleared.cells, release.cells, strict=True)
        if c.cell_type == "code"
    ]
    assert all(mine == nbgraders for mine, nbgraders in code), code
    assert sum("raise NotImplementedError()" in mine for mine, _ in code) == len(solutions(source))
    assert any("BEGIN SOLUTION" in c.source for c in source.cells), "the source is left alone"


def test_untouched_release_and_bugs_fail_the_public_checks(a0) -> None:
    source, release = a0
    correct = solutions(source)
    assert run_code_cells(release) == {
        "test_softmax": "NotImplementedError",
        "test_cross_entropy": "NotImplementedError",
    }
    no_shift = fill_stubs(release, {**correct, "softmax": A0_BUGS["softmax"]["no_shift"]})
    assert set(run_code_cells(no_shift)) == {"test_softmax"}
    unstable = fill_stubs(release, {**correct, "cross_entropy": A0_BUGS["cross_entropy"]["unstable"]})
    assert set(run_code_cells(unstable)) == {"test_cross_entropy"}


def test_variants_cycle_and_layout(a0, tmp_path: Path) -> None:
    source, release = a0
    correct = solutions(source)
    kinds = [a0_variant(i, correct)[0] for i in range(14)]
    assert kinds[0] == "correct" and "untouched" in kinds and "softmax:no_shift" in kinds
    assert kinds[:7] == kinds[7:], "the cycle is deterministic"
    notebooks = {f"s{i:02d}": fill_stubs(release, a0_variant(i, correct)[1]) for i in range(3)}
    paths = write_submissions(tmp_path, A0, notebooks)
    assert paths == [tmp_path / f"s{i:02d}" / A0 / f"{A0}.ipynb" for i in range(3)]
    assert nbformat.read(paths[0], as_version=4).cells == notebooks["s00"].cells


def test_fill_stubs_rejects_unknown_cells(a0) -> None:
    _, release = a0
    with pytest.raises(ValueError, match="no solution cells named \\['nope'\\]"):
        fill_stubs(release, {"nope": "pass"})
    filled = fill_stubs(release, {"softmax": "return x"})
    with pytest.raises(ValueError, match="has no `# YOUR CODE HERE` stub"):
        fill_stubs(filled, {"softmax": "return x"})
