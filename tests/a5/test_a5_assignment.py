"""A5's structure: the manifest agrees with the graders, the mutants apply, the answer key is current."""

from __future__ import annotations

import nbformat
from a5_support import GRADERS, SOURCE, hidden_tests, load_mutants

from autograder.authoring.answer_key import is_current, make_answer_key
from autograder.bridges.nbgrader import GradeCellInfo, map_tests_to_cells
from autograder.engine.manifest import load_manifest


def test_manifest_total_matches_the_graders() -> None:
    tests = hidden_tests()
    manifest = load_manifest("a5_decoding_icl")
    assert len(tests) >= 35, f"only {len(tests)} hidden tests"
    assert all(points > 0 for points in tests.values()), "every hidden test must be worth points"
    assert sum(tests.values()) == manifest.total_points


def test_notebook_has_the_graded_names_and_one_written_answer() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in load_manifest("a5_decoding_icl").graded_names:
        assert f"def {name}(" in code or f"class {name}" in code, f"{name} is not defined in the notebook"
    written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(written) == 1 and written[0].metadata["nbgrader"]["solution"]
    # manual points + autograded points = 100
    assert written[0].metadata["nbgrader"]["points"] + load_manifest("a5_decoding_icl").total_points == 100


def test_every_hidden_test_maps_to_the_grade_cell_of_its_task() -> None:
    """So that gradebook-sync can put the engine's scores into nbgrader: cell points = its tests' points."""
    nb = nbformat.read(SOURCE, as_version=4)
    cells = [
        GradeCellInfo(c.metadata.nbgrader.grade_id, "a5_decoding_icl", float(c.metadata.nbgrader.points))
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]
    tests = hidden_tests(engine_names=True)
    mapping = map_tests_to_cells(tests, cells)
    for cell in cells:
        mine = {name for name, target in mapping.items() if target.name == cell.name}
        assert mine, f"no hidden test grades {cell.name}"
        assert sum(tests[name] for name in mine) == cell.max_score, (cell.name, sorted(mine))
    # each test lands in the cell of its part, e.g. costs::test_costs_cache_memory -> test_costs, not test_kv_cache
    assert mapping["costs::test_costs_cache_memory"].name == "test_costs"
    assert mapping["kv_cache::test_kv_cache_chunked_prefill"].name == "test_kv_cache"


def test_at_least_20_mutants_each_applies_once_and_names_real_tests() -> None:
    module = load_mutants()
    mutants = module.MUTANTS
    assert len(mutants) >= 20
    assert len({m.name for m in mutants}) == len(mutants), "mutant names must be unique"
    source = nbformat.read(SOURCE, as_version=4)
    tests = hidden_tests()
    for mutant in mutants:
        patched = module.apply_mutant(source, mutant)
        assert patched != source, mutant.name
        assert mutant.catches and set(mutant.catches) <= set(tests), f"{mutant.name}: unknown tests"


def test_apply_mutant_refuses_a_snippet_that_is_not_there() -> None:
    module = load_mutants()
    broken = module.Mutant("x", "bug", "sampling", "this text is not in the cell", "y", ("test_sampling_top_p_filter",))
    try:
        module.apply_mutant(nbformat.read(SOURCE, as_version=4), broken)
    except ValueError as err:
        assert "occurs 0 times" in str(err)
    else:
        raise AssertionError("apply_mutant accepted a snippet that does not occur")


def test_answer_key_is_generated_from_the_source() -> None:
    assert is_current("a5_decoding_icl"), "run: llmcourse answer-key a5_decoding_icl"
    key = make_answer_key(nbformat.read(SOURCE, as_version=4), "a5_decoding_icl")
    text = "\n".join(c.source for c in key.cells)
    code = "\n".join(c.source for c in key.cells if c.cell_type == "code")
    assert "### BEGIN SOLUTION" not in text and "raise NotImplementedError()" not in code
    assert all("nbgrader" not in c.metadata for c in key.cells)
    assert all(not c.get("outputs") for c in key.cells if c.cell_type == "code")
    assert "Model answer" in text


def test_grader_helpers_are_not_collected_as_tests() -> None:
    assert not list(GRADERS.glob("mutants/test_*.py"))
