"""A2's structure: manifest, graders, notebook, mutants and answer key agree (checks: tests/assignment_suite.py)."""

from __future__ import annotations

from a2_support import SPEC

from tests.assignment_suite import StructureChecks


class TestA2Structure(StructureChecks):
    spec = SPEC
