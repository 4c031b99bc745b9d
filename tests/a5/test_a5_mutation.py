"""Grade the A5 solution, the untouched release and every mutant in one batch with the real engine.

Solution -> full marks; release -> 0; every mutant loses points on each hidden test meant to catch it. The kill
rate (mutants scoring below full marks) is printed: ``pytest tests/a5/test_a5_mutation.py -s``; set
``A5_MUTATION_SEED`` to grade with other grading-time inputs.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from a5_support import SOURCE, load_mutants

from autograder.authoring.mutants import Mutant, apply_mutant, grade_variants, lost

MUTANTS = load_mutants().MUTANTS

pytestmark = pytest.mark.slow

# Submissions that call the reference implementations (forbidden by the manifest) instead of their own code.
CHEATS = [
    ("cheat_module", "imports", "import torch", "import torch\nimport course_lib.evaluation as reference"),
    (
        "cheat_sdpa",
        "kv_cache",
        "    return torch.softmax(scores, dim=-1) @ v\n",
        "    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=visible)\n",
    ),
]


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    solution = nbformat.read(SOURCE, as_version=4)
    variants = {f"mutant_{m.name}": apply_mutant(solution, m) for m in MUTANTS}
    for name, cell, old, new in CHEATS:
        variants[name] = apply_mutant(solution, Mutant(name, "", cell, old, new, ()))
    seed = int(os.environ.get("A5_MUTATION_SEED", "20261123"))  # other seeds: other grading-time inputs
    return grade_variants("a5_decoding_icl", solution, tmp_path_factory.mktemp("a5"), variants, seed=seed)


def test_solution_gets_full_marks(gradebook) -> None:
    row = gradebook["solution"]
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) == 94, row


def test_untouched_release_gets_zero(gradebook) -> None:
    row = gradebook["release"]
    assert row["status"] == "graded" and float(row["score"]) == 0, row


def test_using_a_forbidden_module_scores_zero(gradebook) -> None:
    row = gradebook["cheat_module"]
    assert float(row["score"]) == 0, row  # a forbidden module taints every graded name


def test_using_a_forbidden_api_costs_the_tests_that_use_it(gradebook) -> None:
    row = gradebook["cheat_sdpa"]
    assert lost(row, "test_kv_cache_attention_without_earlier_keys") and lost(row, "test_kv_cache_chunked_prefill")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_where_expected(gradebook, mutant) -> None:
    row = gradebook[f"mutant_{mutant.name}"]
    assert float(row["score"]) < float(row["max_score"]), f"{mutant.name} survived: {mutant.bug}"
    missed = [t for t in mutant.catches if not lost(row, t)]
    assert not missed, f"{mutant.name} ({mutant.bug}) kept its points on {missed}"


def test_kill_rate(gradebook, capsys) -> None:
    killed = [m.name for m in MUTANTS if float(gradebook[f"mutant_{m.name}"]["score"]) < 94]
    with capsys.disabled():
        print(
            f"\nA5 mutation testing: {len(killed)}/{len(MUTANTS)} mutants killed "
            f"({100 * len(killed) / len(MUTANTS):.0f}%)"
        )
        for m in MUTANTS:
            print(f"  {m.name:32s} {float(gradebook[f'mutant_{m.name}']['score']):5.1f}/94  {m.bug}")
    assert len(killed) == len(MUTANTS)
