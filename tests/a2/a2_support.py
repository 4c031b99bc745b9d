"""Shared by the A2 tests: paths, the mutant catalogue, and the hidden tests' names and points."""

from __future__ import annotations

from types import SimpleNamespace

from autograder.authoring import mutants
from autograder.paths import GRADERS_DIR, REPO_ROOT

ASSIGNMENT = "a2_neural_lm"
SOURCE = REPO_ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GRADERS = GRADERS_DIR / ASSIGNMENT


def load_mutants() -> SimpleNamespace:
    """The catalogue: ``MUTANTS``, and ``Mutant`` and ``apply_mutant`` to make and apply more."""
    return SimpleNamespace(
        MUTANTS=mutants.load_mutants(ASSIGNMENT), Mutant=mutants.Mutant, apply_mutant=mutants.apply_mutant
    )


def hidden_tests(engine_names: bool = False) -> dict[str, float]:
    """test function name (or the engine's ``<file stem>::<function>``) -> points, read without importing."""
    return mutants.hidden_tests(ASSIGNMENT, engine_names)
