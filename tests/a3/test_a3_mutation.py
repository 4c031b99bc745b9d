"""Grade the A3 solution, the untouched release, every mutant and two cheats in one batch with the real engine.

Solution -> full marks; release -> 0; every mutant loses points on each hidden test meant to catch it. The kill
rate is printed: ``pytest tests/a3/test_a3_mutation.py -s``; set ``A3_MUTATION_SEED`` for other grading-time inputs.
Each submission trains the notebook's small Transformer, so this is the slowest assignment check.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from a3_support import SOURCE, load_mutants

from autograder.authoring.mutants import Mutant, apply_mutant, grade_variants, lost

MUTANTS = load_mutants().MUTANTS
FULL = 90

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # every submission trains a small model

# Submissions that use what the manifest forbids instead of their own code.
CHEATS = [
    (
        "cheat_sdpa",
        "scaled_attention",
        "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))\n",
        "    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None\n"
        "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))\n",
    ),
    (
        "cheat_course_lib",
        "heads",
        "    B, T, D = x.shape\n",
        "    from course_lib.nn import MultiHeadAttention  # noqa: F401\n    B, T, D = x.shape\n",
    ),
]


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    solution = nbformat.read(SOURCE, as_version=4)
    variants = {f"mutant_{m.name}": apply_mutant(solution, m) for m in MUTANTS}
    for name, cell, old, new in CHEATS:
        variants[name] = apply_mutant(solution, Mutant(name, "", cell, old, new, ()))
    seed = int(os.environ.get("A3_MUTATION_SEED", "20261129"))  # other seeds: other grading-time inputs
    return grade_variants("a3_transformer", solution, tmp_path_factory.mktemp("a3"), variants, seed=seed)


def test_solution_gets_full_marks(gradebook) -> None:
    row = gradebook["solution"]
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) == FULL, row


def test_untouched_release_gets_zero(gradebook) -> None:
    row = gradebook["release"]
    assert row["status"] == "graded" and float(row["score"]) == 0, row


def test_forbidden_apis_cost_the_tests_that_use_them(gradebook) -> None:
    row = gradebook["cheat_sdpa"]
    assert lost(row, "test_scaled_attention_matches_reference")
    assert lost(row, "test_multi_head_self_attention_matches_reference")
    assert float(gradebook["cheat_course_lib"]["score"]) == 0  # a forbidden module taints every graded name


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_where_expected(gradebook, mutant) -> None:
    row = gradebook[f"mutant_{mutant.name}"]
    assert float(row["score"]) < float(row["max_score"]), f"{mutant.name} survived: {mutant.bug}"
    missed = [t for t in mutant.catches if not lost(row, t)]
    assert not missed, f"{mutant.name} ({mutant.bug}) kept its points on {missed}"


def test_kill_rate(gradebook, capsys) -> None:
    killed = [m.name for m in MUTANTS if float(gradebook[f"mutant_{m.name}"]["score"]) < FULL]
    with capsys.disabled():
        print(
            f"\nA3 mutation testing: {len(killed)}/{len(MUTANTS)} mutants killed "
            f"({100 * len(killed) / len(MUTANTS):.0f}%)"
        )
        for m in MUTANTS:
            print(f"  {m.name:34s} {float(gradebook[f'mutant_{m.name}']['score']):5.1f}/{FULL}  {m.bug}")
    assert len(killed) == len(MUTANTS)
