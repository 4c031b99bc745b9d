"""Grade A2's answer key, release, mutants and cheats in one batch with the real engine (tests/assignment_suite.py).

``pytest tests/a2/test_a2_mutation.py -s`` prints the gradebook; ``A2_MUTATION_SEED`` sets other grading-time inputs.
"""

from __future__ import annotations

from a2_support import SPEC

from tests.assignment_suite import MutationChecks


class TestA2Mutation(MutationChecks):
    spec = SPEC
