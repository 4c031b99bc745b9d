"""Mutants: realistic student bugs as small patches of an assignment's solution, for mutation-testing its graders.

Each assignment lists its mutants in ``autograder/graders/<id>/mutants/mutants.py`` as ``MUTANTS``. A mutant
replaces one snippet (``old``, which must occur exactly once) in the solution cell named by its nbgrader
``grade_id`` with ``new``; ``catches`` names the hidden tests meant to catch the bug: graded with the mutant applied,
each of them must lose points (``tests/<id-prefix>/test_*_mutation.py`` checks this and reports the kill rate).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str  # the student's mistake, in words
    cell: str  # nbgrader grade_id of the patched cell
    old: str
    new: str
    catches: tuple[str, ...]


def apply_mutant(notebook, mutant: Mutant):
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


def load_mutants(assignment: str):
    """The module ``autograder/graders/<assignment>/mutants/mutants.py`` (it is not a package: graders are data)."""
    import importlib.util
    import sys

    from autograder.paths import GRADERS_DIR

    name = f"{assignment}_mutants"
    spec = importlib.util.spec_from_file_location(name, GRADERS_DIR / assignment / "mutants" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while a class is created
    spec.loader.exec_module(module)
    return module


def hidden_test_points(assignment: str, engine_names: bool = False) -> dict[str, float]:
    """Hidden test name (or the engine's ``<file stem>::<function>``) -> points, read from the sources without
    importing them."""
    import ast

    from autograder.paths import GRADERS_DIR

    tests = {}
    for path in sorted((GRADERS_DIR / assignment).glob("test_*.py")):
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
