"""Mutation testing of an assignment's hidden graders: realistic student bugs as small patches of its solution.

Each assignment lists its mutants in ``autograder/graders/<id>/mutants/mutants.py`` as ``MUTANTS``, a tuple of
:class:`Mutant`: one snippet (``old``, which must occur exactly once) in the solution cell named by its nbgrader
``grade_id`` is replaced by ``new``; ``catches`` names the hidden tests meant to catch the bug. The assignment's
mutation test (``tests/<id-prefix>/test_*_mutation.py``, on the checks of ``tests/assignment_suite.py``) grades the
solution, the untouched release and every mutant in one batch with :func:`grade_variants` and checks that each
mutant loses points on those tests.
"""

from __future__ import annotations

import ast
import copy
import csv
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..paths import GRADERS_DIR
from .nbmeta import cell_by_grade_id


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
    cell = cell_by_grade_id(patched, mutant.cell)
    occurrences = cell.source.count(mutant.old)
    if occurrences != 1:
        raise ValueError(f"mutant {mutant.name}: the snippet occurs {occurrences} times in cell {mutant.cell!r}")
    cell.source = cell.source.replace(mutant.old, mutant.new)
    return patched


def load_mutants(assignment: str, graders_dir: Path = GRADERS_DIR) -> tuple[Mutant, ...]:
    """The ``MUTANTS`` of ``graders/<assignment>/mutants/mutants.py``."""
    path = graders_dir / assignment / "mutants" / "mutants.py"
    name = f"{assignment}_mutants"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no mutants for {assignment}: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while a class is created
    spec.loader.exec_module(module)
    return tuple(module.MUTANTS)


def hidden_tests(assignment: str, engine_names: bool = False, graders_dir: Path = GRADERS_DIR) -> dict[str, float]:
    """Test function name (or the engine's ``<file stem>::<function>``) -> points, read without importing."""
    tests = {}
    for path in sorted((graders_dir / assignment).glob("test_*.py")):
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


def grade_variants(
    assignment: str, solution: Any, root: Path, variants: dict[str, Any], *, seed: int, jobs: int = 2
) -> dict[str, dict[str, str]]:
    """Grade ``solution``, the untouched nbgrader release and each of ``variants`` (student id -> notebook) in one
    batch with the real engine; returns ``grades.csv`` as ``{student id: row}`` (the solution is ``"solution"``,
    the release ``"release"``)."""
    import nbformat

    from ..bridges.nbgrader import generate_release
    from ..engine.runner import grade_batch

    submitted = root / "submitted"
    release = generate_release(assignment, release_dir=root / "release", db_url=f"sqlite:///{root / 'gb.db'}")
    notebooks = {
        "solution": solution,
        "release": nbformat.read(Path(release) / f"{assignment}.ipynb", as_version=4),
        **variants,
    }
    for student, notebook in notebooks.items():
        folder = submitted / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{assignment}.ipynb")
    grade_batch(assignment, submitted, root / "grades", jobs=jobs, seed=seed)
    with open(root / "grades" / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def lost(row: dict[str, str], test: str) -> bool:
    """Whether a gradebook row scored 0 on the hidden test named ``test`` (its function name)."""
    [column] = [c for c in row if c.endswith("::" + test)]
    return float(row[column]) == 0.0
