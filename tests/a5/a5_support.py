"""Shared by the A5 tests: paths; the mutants and the hidden tests' names and points come from
:mod:`autograder.authoring.mutants`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from autograder.authoring import mutants

ASSIGNMENT = "a5_decoding_icl"
ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GRADERS = ROOT / "autograder" / "graders" / ASSIGNMENT


def load_mutants() -> SimpleNamespace:
    """The catalogue: ``MUTANTS``, and ``Mutant`` and ``apply_mutant`` to make and apply more."""
    return SimpleNamespace(
        MUTANTS=mutants.load_mutants(ASSIGNMENT), Mutant=mutants.Mutant, apply_mutant=mutants.apply_mutant
    )


def hidden_tests(engine_names: bool = False) -> dict[str, float]:
    """test function name (or the engine's ``<file stem>::<function>``) -> points, read without importing."""
    return mutants.hidden_tests(ASSIGNMENT, engine_names)
