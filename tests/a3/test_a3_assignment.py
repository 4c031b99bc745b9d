"""A3's structure: manifest, graders, notebook, mutants and answer key agree (checks: tests/assignment_suite.py)."""

from __future__ import annotations

from a3_support import SPEC

from tests.assignment_suite import StructureChecks


class TestA3Structure(StructureChecks):
    spec = SPEC
