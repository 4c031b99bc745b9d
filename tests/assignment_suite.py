"""The checks every assignment (A1–A5) passes, written once; ``tests/aN/aN_support.py`` holds what differs.

Two suites, each subclassed once per assignment with its :class:`AssignmentSpec`:

- :class:`StructureChecks` (``tests/aN/test_aN_assignment.py``, seconds): the notebook defines what the manifest
  grades, the hidden tests are many and each worth points, chosen tests land in the grade cell of their task, the
  mutants apply and name real tests, the answer key has no solution markers and gives model answers. That grade
  cells and hidden tests agree on points is checked for every assignment in ``tests/autograder/test_points_agree.py``.
- :class:`MutationChecks` (``tests/aN/test_aN_mutation.py``, minutes; ``make test-mutants``): the answer key, the
  untouched release, every mutant and every cheat are graded in one batch by the real engine. The answer key gets
  full marks, the release 0, each mutant loses points on every hidden test declared to catch it, each cheat loses
  the tests that use what it calls. ``pytest tests/aN/test_aN_mutation.py -s`` prints the gradebook; set
  ``AN_MUTATION_SEED`` to grade with other grading-time inputs.

One file per assignment and suite on purpose: ``make test`` spreads files over the workers (``--dist loadfile``), so
the five mutation batches run side by side rather than one after another.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

import nbformat
import pytest

from autograder.authoring.answer_key import make_answer_key
from autograder.authoring.mutants import Mutant, apply_mutant, grade_variants, hidden_tests, load_mutants, lost
from autograder.bridges.nbgrader import GradeCellInfo, map_tests_to_cells
from autograder.engine.manifest import load_manifest
from autograder.paths import GRADERS_DIR, REPO_ROOT

Gradebook = dict[str, dict[str, str]]  # student id -> grades.csv row


@dataclass(frozen=True)
class Cheat:
    """A submission that calls what the manifest forbids instead of its own code: ``old`` -> ``new`` in ``cell``.

    ``costs`` names the hidden tests it must lose, or is ``"everything"`` when a forbidden module is imported (that
    taints every graded name, so the submission scores 0); ``keeps`` names tests it must not lose (they do not run the
    forbidden call, so the scan must not over-reach there).
    """

    name: str
    cell: str
    old: str
    new: str
    costs: tuple[str, ...] | Literal["everything"]
    keeps: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssignmentSpec:
    """What one assignment's checks need to know that its files do not say."""

    assignment: str  # e.g. "a1_ngrams"
    min_hidden_tests: int
    min_mutants: int
    test_cells: dict[str, str]  # spot checks: engine test name (``<file stem>::<test>``) -> the grade cell it lands in
    cheats: tuple[Cheat, ...]
    seed: int  # the default grading-time seed of the mutation batch
    written_answers: int = 1  # hand-graded Markdown cells
    rubric: bool = True  # the answer key states the rubric of the written answers

    @property
    def source(self) -> nbformat.NotebookNode:
        path = REPO_ROOT / "assignments" / "source" / self.assignment / f"{self.assignment}.ipynb"
        return nbformat.read(path, as_version=4)

    @property
    def seed_variable(self) -> str:
        return f"{self.assignment.split('_')[0].upper()}_MUTATION_SEED"  # a1_ngrams -> A1_MUTATION_SEED


class StructureChecks:
    """Manifest, graders, notebook, mutants and answer key agree. Subclass as ``TestAN...`` with ``spec`` set."""

    spec: ClassVar[AssignmentSpec]

    def test_hidden_tests_are_many_and_each_worth_points(self) -> None:
        tests = hidden_tests(self.spec.assignment)
        assert len(tests) >= self.spec.min_hidden_tests, f"only {len(tests)} hidden tests"
        assert all(points > 0 for points in tests.values()), "every hidden test must be worth points"

    def test_every_grader_file_holds_hidden_tests(self) -> None:
        """The engine collects every ``test_*.py`` of the graders folder: a helper must not be named like one."""
        folder = GRADERS_DIR / self.spec.assignment
        with_tests = {name.split("::")[0] for name in hidden_tests(self.spec.assignment, engine_names=True)}
        for path in folder.glob("test_*.py"):
            assert path.stem.removeprefix("test_") in with_tests, f"{path.name} holds no hidden test: rename it"
        assert not list(folder.glob("mutants/test_*.py"))

    def test_notebook_defines_the_graded_names_and_its_written_answers(self) -> None:
        nb = self.spec.source
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for name in load_manifest(self.spec.assignment).graded_names:
            assert re.search(rf"^(def|class) {name}\b", code, re.M), f"{name} is not defined in the notebook"
        written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
        assert len(written) == self.spec.written_answers
        assert all(c.metadata["nbgrader"]["solution"] for c in written), "a written answer must be a solution cell"

    def test_chosen_hidden_tests_land_in_the_grade_cell_of_their_task(self) -> None:
        """gradebook-sync puts each test's score into the cell of the notebook part it tests, not a look-alike."""
        cells = [
            GradeCellInfo(c.metadata.nbgrader.grade_id, self.spec.assignment, float(c.metadata.nbgrader.points))
            for c in self.spec.source.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
        ]
        mapping = map_tests_to_cells(hidden_tests(self.spec.assignment, engine_names=True), cells)
        assert {test: mapping[test].name for test in self.spec.test_cells} == self.spec.test_cells

    def test_enough_mutants_each_applies_once_and_names_real_tests(self) -> None:
        mutants = load_mutants(self.spec.assignment)
        assert len(mutants) >= self.spec.min_mutants
        assert len({m.name for m in mutants}) == len(mutants), "mutant names must be unique"
        source, tests = self.spec.source, hidden_tests(self.spec.assignment)
        for mutant in mutants:
            assert apply_mutant(source, mutant) != source, mutant.name
            assert mutant.catches and set(mutant.catches) <= set(tests), f"{mutant.name}: unknown tests"

    def test_cheats_apply_and_name_real_tests(self) -> None:
        source, tests = self.spec.source, hidden_tests(self.spec.assignment)
        for cheat in self.spec.cheats:
            assert apply_mutant(source, _as_mutant(cheat)) != source, cheat.name
            named = set(cheat.keeps) | (set() if cheat.costs == "everything" else set(cheat.costs))
            assert named <= set(tests), f"{cheat.name}: unknown tests {sorted(named - set(tests))}"

    def test_answer_key_has_every_solution_and_model_answers(self) -> None:
        key = make_answer_key(self.spec.source, self.spec.assignment)
        text = "\n".join(c.source for c in key.cells)
        code = "\n".join(c.source for c in key.cells if c.cell_type == "code")
        assert "### BEGIN SOLUTION" not in text, "solution markers left in the answer key"
        assert "raise NotImplementedError()" not in code, "a stub without a solution"
        assert text.count("Model answer") >= self.spec.written_answers
        assert not self.spec.rubric or "rubric" in text.lower(), "the written answers' rubric is missing"


class MutationChecks:
    """Grade the answer key, the release, the mutants and the cheats in one batch (minutes). Subclass with ``spec``."""

    spec: ClassVar[AssignmentSpec]
    pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # tens of submissions on a busy 2-core machine

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "mutant" in metafunc.fixturenames:
            mutants = load_mutants(self.spec.assignment)
            metafunc.parametrize("mutant", mutants, ids=[m.name for m in mutants])
        if "cheat" in metafunc.fixturenames:
            metafunc.parametrize("cheat", self.spec.cheats, ids=[c.name for c in self.spec.cheats])

    @pytest.fixture(scope="class")
    @classmethod
    def gradebook(cls, tmp_path_factory: pytest.TempPathFactory) -> Gradebook:
        solution = cls.spec.source
        variants = {f"mutant_{m.name}": apply_mutant(solution, m) for m in load_mutants(cls.spec.assignment)}
        variants |= {c.name: apply_mutant(solution, _as_mutant(c)) for c in cls.spec.cheats}
        seed = int(os.environ.get(cls.spec.seed_variable, str(cls.spec.seed)))
        root = tmp_path_factory.mktemp(cls.spec.assignment)
        return grade_variants(cls.spec.assignment, solution, root, variants, seed=seed)

    def test_answer_key_gets_full_marks(self, gradebook: Gradebook) -> None:
        row = gradebook["solution"]
        full = load_manifest(self.spec.assignment).total_points
        assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) == full, row

    def test_untouched_release_gets_zero(self, gradebook: Gradebook) -> None:
        row = gradebook["release"]
        assert row["status"] == "graded" and float(row["score"]) == 0, row

    def test_cheat_loses_the_tests_that_use_what_it_calls(self, gradebook: Gradebook, cheat: Cheat) -> None:
        row = gradebook[cheat.name]
        if cheat.costs == "everything":
            assert float(row["score"]) == 0, row  # a forbidden module taints every graded name
        else:
            assert [t for t in cheat.costs if not lost(row, t)] == [], f"{cheat.name} kept these points"
        assert [t for t in cheat.keeps if lost(row, t)] == [], f"{cheat.name} lost tests that do not use the call"

    def test_mutant_loses_points_where_expected(self, gradebook: Gradebook, mutant: Mutant) -> None:
        row = gradebook[f"mutant_{mutant.name}"]
        assert float(row["score"]) < float(gradebook["solution"]["score"]), f"{mutant.name} survived: {mutant.bug}"
        missed = [t for t in mutant.catches if not lost(row, t)]
        assert not missed, f"{mutant.name} ({mutant.bug}) kept its points on {missed}"

    def test_kill_rate(self, gradebook: Gradebook, capsys: pytest.CaptureFixture[str]) -> None:
        mutants = load_mutants(self.spec.assignment)
        scores = {m.name: float(gradebook[f"mutant_{m.name}"]["score"]) for m in mutants}
        full = float(gradebook["solution"]["score"])  # killed: scores below the answer key (whatever it scores)
        killed = [name for name, score in scores.items() if score < full]
        with capsys.disabled():
            print(
                f"\n{self.spec.assignment} mutation testing: {len(killed)}/{len(mutants)} mutants killed "
                f"({100 * len(killed) / len(mutants):.0f}%)"
            )
            for m in mutants:
                print(f"  {m.name:42s} {scores[m.name]:5.1f}/{full:g}  {m.bug}")
        assert len(killed) == len(mutants)


def _as_mutant(cheat: Cheat) -> Mutant:
    return Mutant(cheat.name, "calls what the manifest forbids", cheat.cell, cheat.old, cheat.new, ())
