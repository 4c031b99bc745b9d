"""Grade A1's answer key, release, mutants and cheats in one batch with the real engine (tests/assignment_suite.py).

``pytest tests/a1/test_a1_mutation.py -s`` prints the gradebook; ``A1_MUTATION_SEED`` sets other grading-time inputs.
"""

from __future__ import annotations

from a1_support import SPEC

from tests.assignment_suite import MutationChecks


class TestA1Mutation(MutationChecks):
    spec = SPEC
