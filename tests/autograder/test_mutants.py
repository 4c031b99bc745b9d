"""autograder.authoring.mutants: patching a solution, reading hidden tests' points, reading a gradebook row."""

from __future__ import annotations

import nbformat
import pytest

from autograder.authoring.mutants import Mutant, apply_mutant, hidden_tests, load_mutants, lost


def _solution() -> nbformat.NotebookNode:
    source = "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return x + 1\n"
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": "f", "solution": True}})
    return nbformat.v4.new_notebook(cells=[cell])


def test_apply_mutant_patches_a_copy() -> None:
    solution = _solution()
    patched = apply_mutant(
        solution, Mutant("off", "off by one", "f", "def f(x):\n    return x + 1", "def f(x):\n    return x", ("t",))
    )
    assert patched.cells[0].source.startswith("def f(x):\n    return x\n")
    assert solution.cells[0].source.startswith("def f(x):\n    return x + 1")  # the solution is left alone


@pytest.mark.parametrize(("old", "times"), [("this text is not in the cell", 0), ("return x + 1", 2)])
def test_apply_mutant_refuses_a_snippet_that_does_not_occur_once(old: str, times: int) -> None:
    with pytest.raises(ValueError, match=f"occurs {times} times in cell 'f'"):
        apply_mutant(_solution(), Mutant("x", "bug", "f", old, "y", ("t",)))
    with pytest.raises(ValueError, match="0 cells have grade_id 'nope'"):
        apply_mutant(_solution(), Mutant("x", "bug", "nope", "def f", "y", ("t",)))


def test_hidden_tests_reads_points_without_importing(tmp_path) -> None:
    graders = tmp_path / "hw"
    (graders / "mutants").mkdir(parents=True)
    (graders / "test_part1.py").write_text(  # imports nothing installed: read, not run
        "import not_installed_anywhere\n\n\n@pytest.mark.points(2)\ndef test_a(): ...\n\n\n"
        "@pytest.mark.points(1.5)\ndef test_b(): ...\n\n\ndef test_free(): ...\n\n\ndef helper(): ...\n"
    )
    assert hidden_tests("hw", graders_dir=tmp_path) == {"test_a": 2.0, "test_b": 1.5, "test_free": 0.0}
    assert hidden_tests("hw", engine_names=True, graders_dir=tmp_path) == {
        "part1::test_a": 2.0,
        "part1::test_b": 1.5,
        "part1::test_free": 0.0,
    }
    (graders / "mutants" / "mutants.py").write_text(
        "from autograder.authoring.mutants import Mutant\n\n"
        "MUTANTS = (Mutant('m', 'bug', 'f', 'a', 'b', ('test_a',)),)\n"
    )
    assert load_mutants("hw", graders_dir=tmp_path) == (Mutant("m", "bug", "f", "a", "b", ("test_a",)),)


def test_lost_reads_the_column_of_one_test() -> None:
    row = {"student_id": "s", "score": "2", "part1::test_a": "0", "part1::test_ab": "2"}
    assert lost(row, "test_a") and not lost(row, "test_ab")
