"""Grade A5's answer key, release, mutants and cheats in one batch with the real engine (tests/assignment_suite.py).

``pytest tests/a5/test_a5_mutation.py -s`` prints the gradebook; ``A5_MUTATION_SEED`` sets other grading-time inputs.
"""

from __future__ import annotations

from a5_support import SPEC

from tests.assignment_suite import MutationChecks


class TestA5Mutation(MutationChecks):
    spec = SPEC
