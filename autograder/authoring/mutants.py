"""Mutation testing of an assignment's hidden graders: realistic student bugs as small patches of its solution.

An assignment's catalogue lives in ``autograder/graders/<id>/mutants/mutants.py`` as ``MUTANTS``, a tuple of
:class:`Mutant`. Each replaces one snippet (``old``, which must occur exactly once) in the solution cell named by
its nbgrader ``grade_id`` with ``new``; ``catches`` names the hidden tests meant to catch the bug. The assignment's
mutation test (``tests/a1/test_a1_mutation.py`` is the worked example) grades the solution, the untouched release
and every mutant in one batch with :func:`grade_mutants` and checks that each mutant loses points on each test in
its ``catches``.
"""

from __future__ import annotations

import ast
import copy
import csv
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from autograder.paths import GRADERS_DIR


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str  # the student's mistake, in words
    cell: str  # nbgrader grade_id of the patched cell
    old: str
    new: str
    catches: tuple[str, ...]


def apply_mutant(notebook: Any, mutant: Mutant) -> Any:
    """Patch a copy of the solution notebook (an nbformat node) with ``mutant``; the snippet must occur once."""
    patched = copy.deepcopy(notebook)
    cells = [c for c in patched.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mutant.cell]
    if len(cells) != 1:
        raise ValueError(f"mutant {mutant.name}: {len(cells)} cells have grade_id {mutant.cell!r}")
    occurrences = cells[0].source.count(mutant.old)
    if occurrences != 1:
        raise ValueError(f"mutant {mutant.name}: the snippet occurs {occurrences} times in cell {mutant.cell!r}")
    cells[0].source = cells[0].source.replace(mutant.old, mutant.new)
    return patched


def load_catalogue(assignment: str, graders_root: Path | None = None) -> ModuleType:
    """The assignment's ``mutants/mutants.py`` module (its ``MUTANTS``)."""
    path = (graders_root or GRADERS_DIR) / assignment / "mutants" / "mutants.py"
    name = f"{assignment}_mutants"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def hidden_tests(assignment: str, engine_names: bool = False, graders_root: Path | None = None) -> dict[str, float]:
    """Test function name (or the engine's ``<file stem>::<function>``) -> points, read without importing."""
    tests = {}
    for path in sorted(((graders_root or GRADERS_DIR) / assignment).glob("test_*.py")):
        stem = path.stem.removeprefix("test_")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                points = [
                    d.args[0].value
                    for d in node.decorator_list
                    if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "points"
                ]
                tests[f"{stem}::{node.name}" if engine_names else node.name] = float(points[0]) if points else 0.0
    return tests


def grade_mutants(
    assignment: str,
    solution: Any,
    mutants: tuple[Mutant, ...],
    root: Path,
    *,
    cheats: list[tuple[str, str, str, str]] = (),
    seed: int = 0,
    jobs: int = 2,
) -> dict[str, dict[str, str]]:
    """Grade, in one batch under ``root``, the solution, the untouched release, every mutant (``mutant_<name>``)
    and every cheat ``(name, cell, old, new)``; returns the gradebook rows by student id."""
    import nbformat

    from autograder.bridges.nbgrader import generate_release
    from autograder.engine.runner import grade_batch

    submitted = root / "submitted"

    def submit(student: str, notebook: Any) -> None:
        folder = submitted / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{assignment}.ipynb")

    submit("solution", solution)
    release = generate_release(assignment, release_dir=root / "release", db_url=f"sqlite:///{root / 'gb.db'}")
    submit("release", nbformat.read(Path(release) / f"{assignment}.ipynb", as_version=4))
    for mutant in mutants:
        submit(f"mutant_{mutant.name}", apply_mutant(solution, mutant))
    for name, cell, old, new in cheats:
        submit(name, apply_mutant(solution, Mutant(name, "", cell, old, new, ())))
    grade_batch(assignment, submitted, root / "grades", jobs=jobs, seed=seed)
    with open(root / "grades" / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def lost_tests(row: dict[str, str]) -> set[str]:
    """The hidden tests (function names) on which a gradebook row scored 0."""
    return {column.split("::")[1] for column, value in row.items() if "::" in column and float(value) == 0}
