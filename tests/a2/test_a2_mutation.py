"""Grade the A2 solution, the untouched release, every mutant and two cheats in one batch with the real engine.

Solution -> full marks; release -> 0; every mutant loses points on each hidden test meant to catch it. The kill
rate is printed: ``pytest tests/a2/test_a2_mutation.py -s``; set ``A2_MUTATION_SEED`` for other grading-time inputs.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from a2_support import ASSIGNMENT, SOURCE, load_mutants

from autograder.authoring.mutants import Mutant, apply_mutant, grade_variants, lost

MUTANTS = load_mutants().MUTANTS
TOTAL = 94

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # 29 submissions: minutes on a busy 2-core machine

# Submissions that call what the manifest forbids instead of their own code.
CHEATS = [
    (
        "cheat_autodiff",
        "linear",
        "        self.cache = x\n        return x @ self.params",
        "        from course_lib.autodiff import Linear as Reference\n"
        "        self.cache = x\n        return x @ self.params",
    ),
    (
        "cheat_nn_lstm",
        "lstm",
        "        seq = x.transpose(0, 1) if self.batch_first else x  # (T, B, D)",
        "        return nn.LSTM(1, self.hidden_size)(x, state)\n"
        "        seq = x.transpose(0, 1) if self.batch_first else x  # (T, B, D)",
    ),
    (
        "cheat_clip",
        "clip_grad_norm",
        "    grads = [p.grad for p in parameters if p.grad is not None]",
        "    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)",
    ),
]


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    solution = nbformat.read(SOURCE, as_version=4)
    variants = {f"mutant_{m.name}": apply_mutant(solution, m) for m in MUTANTS}
    for name, cell, old, new in CHEATS:
        variants[name] = apply_mutant(solution, Mutant(name, "", cell, old, new, ()))
    seed = int(os.environ.get("A2_MUTATION_SEED", "20261129"))  # other seeds: other grading-time inputs
    return grade_variants(ASSIGNMENT, solution, tmp_path_factory.mktemp("a2"), variants, seed=seed)


def lost_tests(row: dict[str, str]) -> set[str]:
    return {c.split("::")[1] for c in row if "::" in c and lost(row, c.split("::")[1])}


def test_solution_gets_full_marks(gradebook) -> None:
    row = gradebook["solution"]
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) == TOTAL, row


def test_untouched_release_gets_zero(gradebook) -> None:
    row = gradebook["release"]
    assert row["status"] == "graded" and float(row["score"]) == 0, row


def test_using_the_reference_autodiff_scores_zero(gradebook) -> None:
    assert float(gradebook["cheat_autodiff"]["score"]) == 0  # a forbidden module taints every graded name


def test_using_nn_lstm_costs_the_lstm_tests(gradebook) -> None:
    lost = lost_tests(gradebook["cheat_nn_lstm"])
    assert {"test_lstm_single_layer", "test_lstm_multi_layer", "test_lstm_batch_first_and_state"} <= lost, lost
    assert "test_lstm_cell_matches" not in lost and "test_clip_grad_norm_global" not in lost


def test_using_torch_clipping_costs_the_clipping_tests(gradebook) -> None:
    lost = lost_tests(gradebook["cheat_clip"])
    assert {t for t in lost if "clip" in t} == {
        "test_clip_grad_norm_global",
        "test_clip_grad_norm_no_scale_up",
        "test_clip_grad_norm_skips_none",
        "test_clip_grad_norm_returns_norm",
    }, lost


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_where_expected(gradebook, mutant) -> None:
    row = gradebook[f"mutant_{mutant.name}"]
    assert float(row["score"]) < float(row["max_score"]), f"{mutant.name} survived: {mutant.bug}"
    missed = [t for t in mutant.catches if not lost(row, t)]
    assert not missed, f"{mutant.name} ({mutant.bug}) kept its points on {missed}"


def test_kill_rate(gradebook, capsys) -> None:
    killed = [m.name for m in MUTANTS if float(gradebook[f"mutant_{m.name}"]["score"]) < TOTAL]
    with capsys.disabled():
        print(
            f"\nA2 mutation testing: {len(killed)}/{len(MUTANTS)} mutants killed "
            f"({100 * len(killed) / len(MUTANTS):.0f}%)"
        )
        for m in MUTANTS:
            print(f"  {m.name:42s} {float(gradebook[f'mutant_{m.name}']['score']):5.1f}/{TOTAL}  {m.bug}")
    assert len(killed) == len(MUTANTS)
