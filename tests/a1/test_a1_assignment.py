"""A1's structure: manifest, graders, notebook, mutants and answer key agree (checks: tests/assignment_suite.py)."""

from __future__ import annotations

from a1_support import SPEC

from tests.assignment_suite import StructureChecks


class TestA1Structure(StructureChecks):
    spec = SPEC
