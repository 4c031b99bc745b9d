"""A5's structure: manifest, graders, notebook, mutants and answer key agree (checks: tests/assignment_suite.py)."""

from __future__ import annotations

from a5_support import SPEC

from tests.assignment_suite import StructureChecks


class TestA5Structure(StructureChecks):
    spec = SPEC
