"""Grade the A4 solution, the untouched release and every mutant in one batch with the real engine.

Solution -> full marks; release -> 0; every mutant loses points on each hidden test meant to catch it. The kill
rate (mutants scoring below full marks) is printed: ``pytest tests/a4/test_a4_mutation.py -s``; set
``A4_MUTATION_SEED`` to grade with other grading-time inputs.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from a4_support import SOURCE, load_mutants

from autograder.authoring.mutants import Mutant, apply_mutant, grade_variants, lost
from course_lib.pretrained import has_minilm

MUTANTS = load_mutants().MUTANTS
TOTAL = 90

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # about 40 submissions graded in one batch
    pytest.mark.skipif(not has_minilm(), reason="needs the MiniLM wheel: make install"),
]

# Submissions that call the reference implementations or PyTorch's ready-made layers instead of their own code.
CHEATS = [
    (
        "cheat_word2vec",
        "sgns_gradients",
        "def sgns_loss_and_grads(",
        "from course_lib.models.word2vec import sgns_loss_and_grads as _ref\n\n\ndef sgns_loss_and_grads(",
    ),
    (
        "cheat_gelu",
        "gelu_and_layer_norm",
        "return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))",
        "return torch.nn.functional.gelu(x)",
    ),
]


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    solution = nbformat.read(SOURCE, as_version=4)
    variants = {f"mutant_{m.name}": apply_mutant(solution, m) for m in MUTANTS}
    for name, cell, old, new in CHEATS:
        variants[name] = apply_mutant(solution, Mutant(name, "", cell, old, new, ()))
    seed = int(os.environ.get("A4_MUTATION_SEED", "20261129"))  # other seeds: other grading-time inputs
    return grade_variants("a4_pretraining", solution, tmp_path_factory.mktemp("a4"), variants, seed=seed)


def test_solution_gets_full_marks(gradebook) -> None:
    row = gradebook["solution"]
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) == TOTAL, row


def test_untouched_release_gets_zero(gradebook) -> None:
    row = gradebook["release"]
    assert row["status"] == "graded" and float(row["score"]) == 0, row


def test_using_the_reference_costs_the_tests_that_use_it(gradebook) -> None:
    for name, tests in [
        ("cheat_word2vec", {"test_sgns_gradients_loss", "test_sgns_gradients_centre"}),
        ("cheat_gelu", {"test_gelu_is_the_erf_form", "test_bert_encoder_random_weights"}),
    ]:
        row = gradebook[name]
        zeroed = {c.split("::")[1] for c, v in row.items() if "::" in c and float(v) == 0}
        assert tests <= zeroed, (name, zeroed)


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
            f"\nA4 mutation testing: {len(killed)}/{len(MUTANTS)} mutants killed "
            f"({100 * len(killed) / len(MUTANTS):.0f}%)"
        )
        for m in MUTANTS:
            print(f"  {m.name:32s} {float(gradebook[f'mutant_{m.name}']['score']):5.1f}/{TOTAL}  {m.bug}")
    assert len(killed) == len(MUTANTS)
