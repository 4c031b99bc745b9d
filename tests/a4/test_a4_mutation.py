"""Grade A4's answer key, release, mutants and cheats in one batch with the real engine (tests/assignment_suite.py).

``pytest tests/a4/test_a4_mutation.py -s`` prints the gradebook; ``A4_MUTATION_SEED`` sets other grading-time inputs.
"""

from __future__ import annotations

import pytest
from a4_support import SPEC

from course_lib.pretrained import has_minilm
from tests.assignment_suite import MutationChecks

pytestmark = pytest.mark.skipif(not has_minilm(), reason="needs the MiniLM wheel: make install")


class TestA4Mutation(MutationChecks):
    spec = SPEC
