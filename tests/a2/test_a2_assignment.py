"""A2's structure: manifest, graders and notebook agree, the mutants apply, the answer key is current."""

from __future__ import annotations

import re

import nbformat
from a2_support import ASSIGNMENT, GRADERS, SOURCE, hidden_tests, load_mutants

from autograder.authoring.answer_key import is_current, make_answer_key
from autograder.bridges.nbgrader import GradeCellInfo, map_tests_to_cells
from autograder.engine.manifest import load_manifest


def test_manifest_total_matches_the_graders() -> None:
    tests = hidden_tests()
    manifest = load_manifest(ASSIGNMENT)
    assert len(tests) >= 35, f"only {len(tests)} hidden tests"
    assert all(points > 0 for points in tests.values()), "every hidden test must be worth points"
    assert sum(tests.values()) == manifest.total_points


def test_notebook_defines_the_graded_names_and_one_written_answer() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in load_manifest(ASSIGNMENT).graded_names:
        assert re.search(rf"^(def|class) {name}\b", code, re.M), f"{name} is not defined in the notebook"
    written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(written) == 1 and written[0].metadata["nbgrader"]["solution"]
    assert "Rubric" in written[0].source
    assert written[0].metadata["nbgrader"]["points"] + load_manifest(ASSIGNMENT).total_points == 100


def test_every_hidden_test_maps_to_the_grade_cell_of_its_task() -> None:
    """So that gradebook-sync can put the engine's scores into nbgrader: cell points = its tests' points."""
    nb = nbformat.read(SOURCE, as_version=4)
    cells = [
        GradeCellInfo(c.metadata.nbgrader.grade_id, ASSIGNMENT, float(c.metadata.nbgrader.points))
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]
    tests = hidden_tests(engine_names=True)
    mapping = map_tests_to_cells(tests, cells)
    for cell in cells:
        mine = {name for name, target in mapping.items() if target.name == cell.name}
        assert mine, f"no hidden test grades {cell.name}"
        assert sum(tests[name] for name in mine) == cell.max_score, (cell.name, sorted(mine))
    assert mapping["part5::test_lstm_cell_matches"].name == "test_lstm_cell"
    assert mapping["part3::test_train_window_lm_learns"].name == "test_train_window_lm"


def test_at_least_18_mutants_each_applies_once_and_names_real_tests() -> None:
    module = load_mutants()
    mutants = module.MUTANTS
    assert len(mutants) >= 18
    assert len({m.name for m in mutants}) == len(mutants), "mutant names must be unique"
    source = nbformat.read(SOURCE, as_version=4)
    tests = hidden_tests()
    for mutant in mutants:
        assert module.apply_mutant(source, mutant) != source, mutant.name
        assert mutant.catches and set(mutant.catches) <= set(tests), f"{mutant.name}: unknown tests"


def test_answer_key_is_generated_from_the_source() -> None:
    assert is_current(ASSIGNMENT), f"run: llmcourse answer-key {ASSIGNMENT}"
    key = make_answer_key(nbformat.read(SOURCE, as_version=4), ASSIGNMENT)
    text = "\n".join(c.source for c in key.cells)
    assert "### BEGIN SOLUTION" not in text and "raise NotImplementedError()" not in text
    assert all(not c.get("outputs") for c in key.cells if c.cell_type == "code")
    assert "Model answer" in text and "Rubric" in text


def test_grader_helpers_are_not_collected_as_tests() -> None:
    assert not list(GRADERS.glob("mutants/test_*.py"))
