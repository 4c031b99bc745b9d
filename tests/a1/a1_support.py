"""Shared by the A1 tests: paths, the mutant catalogue, and the hidden tests' names and points."""

from __future__ import annotations

from autograder.authoring.mutants import hidden_tests as _hidden_tests
from autograder.authoring.mutants import load_catalogue
from autograder.paths import GRADERS_DIR, REPO_ROOT

ASSIGNMENT = "a1_ngrams"
SOURCE = REPO_ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GRADERS = GRADERS_DIR / ASSIGNMENT


def load_mutants():
    return load_catalogue(ASSIGNMENT)


def hidden_tests(engine_names: bool = False) -> dict[str, float]:
    """test function name (or the engine's ``<file stem>::<function>``) -> points, read without importing."""
    return _hidden_tests(ASSIGNMENT, engine_names)
