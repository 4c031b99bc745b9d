"""A3's structure: the manifest agrees with the graders, the mutants apply, the answer key is current."""

from __future__ import annotations

import nbformat
from a3_support import GRADERS, SOURCE, hidden_tests, load_mutants

from autograder.authoring.answer_key import is_current, make_answer_key
from autograder.bridges.nbgrader import GradeCellInfo, map_tests_to_cells
from autograder.engine.manifest import load_manifest


def test_manifest_total_matches_the_graders() -> None:
    tests = hidden_tests()
    manifest = load_manifest("a3_transformer")
    assert len(tests) >= 35, f"only {len(tests)} hidden tests"
    assert all(points > 0 for points in tests.values()), "every hidden test must be worth points"
    assert sum(tests.values()) == manifest.total_points


def test_notebook_defines_the_graded_names_and_one_written_answer() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in load_manifest("a3_transformer").graded_names:
        assert f"def {name}(" in code, f"{name} is not defined in the notebook"
    written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(written) == 1 and written[0].metadata["nbgrader"]["solution"]
    assert written[0].metadata["nbgrader"]["points"] + load_manifest("a3_transformer").total_points == 100


def test_every_hidden_test_maps_to_the_grade_cell_of_its_task() -> None:
    """So that gradebook-sync can put the engine's scores into nbgrader: cell points = its tests' points."""
    nb = nbformat.read(SOURCE, as_version=4)
    cells = [
        GradeCellInfo(c.metadata.nbgrader.grade_id, "a3_transformer", float(c.metadata.nbgrader.points))
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]
    tests = hidden_tests(engine_names=True)
    mapping = map_tests_to_cells(tests, cells)
    for cell in cells:
        mine = {name for name, target in mapping.items() if target.name == cell.name}
        assert mine, f"no hidden test grades {cell.name}"
        assert sum(tests[name] for name in mine) == cell.max_score, (cell.name, sorted(mine))
    assert mapping["part4::test_multi_head_cross_attention_with_key_padding"].name == "test_multi_head"
    assert mapping["part4::test_heads_round_trip"].name == "test_heads"


def test_at_least_16_mutants_each_applies_once_and_names_real_tests() -> None:
    module = load_mutants()
    mutants = module.MUTANTS
    assert len(mutants) >= 16
    assert len({m.name for m in mutants}) == len(mutants), "mutant names must be unique"
    source = nbformat.read(SOURCE, as_version=4)
    tests = hidden_tests()
    for mutant in mutants:
        patched = module.apply_mutant(source, mutant)
        assert patched != source, mutant.name
        assert mutant.catches and set(mutant.catches) <= set(tests), f"{mutant.name}: unknown tests"


def test_answer_key_is_generated_from_the_source() -> None:
    assert is_current("a3_transformer"), "run: llmcourse answer-key a3_transformer"
    key = make_answer_key(nbformat.read(SOURCE, as_version=4), "a3_transformer")
    text = "\n".join(c.source for c in key.cells)
    code = "\n".join(c.source for c in key.cells if c.cell_type == "code")
    assert "### BEGIN SOLUTION" not in text and "raise NotImplementedError()" not in code
    assert all(not c.get("outputs") for c in key.cells if c.cell_type == "code")
    assert "Model answer" in text


def test_grader_helpers_are_not_collected_as_tests() -> None:
    assert not list(GRADERS.glob("mutants/test_*.py"))
    assert not list(GRADERS.glob("test_*inputs*.py"))
