"""Shared by the A1 tests: paths, the mutant catalogue, and the hidden tests' names and points."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from autograder.authoring import mutants

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "assignments" / "source" / "a1_ngrams" / "a1_ngrams.ipynb"
GRADERS = ROOT / "autograder" / "graders" / "a1_ngrams"


load_mutants = partial(mutants.load_mutants, "a1_ngrams")
hidden_tests = partial(mutants.hidden_test_points, "a1_ngrams")
