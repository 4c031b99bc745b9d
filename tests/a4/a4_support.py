"""Shared by the A4 tests: paths, the mutant catalogue, and the hidden tests' names and points."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from autograder.authoring import mutants

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "assignments" / "source" / "a4_pretraining" / "a4_pretraining.ipynb"
GRADERS = ROOT / "autograder" / "graders" / "a4_pretraining"

load_mutants = partial(mutants.load_mutants, "a4_pretraining")
hidden_tests = partial(mutants.hidden_test_points, "a4_pretraining")
