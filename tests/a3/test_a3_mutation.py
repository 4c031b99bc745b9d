"""Grade A3's answer key, release, mutants and cheats in one batch with the real engine (tests/assignment_suite.py).

``pytest tests/a3/test_a3_mutation.py -s`` prints the gradebook; ``A3_MUTATION_SEED`` sets other grading-time inputs.
"""

from __future__ import annotations

from a3_support import SPEC

from tests.assignment_suite import MutationChecks


class TestA3Mutation(MutationChecks):
    spec = SPEC
