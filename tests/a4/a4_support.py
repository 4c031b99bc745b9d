"""What A4's checks need to know (the checks themselves: tests/assignment_suite.py)."""

from __future__ import annotations

from tests.assignment_suite import AssignmentSpec, Cheat

SPEC = AssignmentSpec(
    assignment="a4_pretraining",
    min_hidden_tests=35,
    min_mutants=20,
    test_cells={
        "part1::test_sgns_update_accumulates_repeats": "test_sgns_update",
        "part1::test_sgns_gradients_centre": "test_sgns_gradients",
        "part3::test_mean_pool_excludes_padding": "test_mean_pool",
    },
    # submissions that call the reference implementations or PyTorch's ready-made layers instead of their own code
    cheats=(
        Cheat(
            "cheat_word2vec",
            "sgns_gradients",
            "def sgns_loss_and_grads(",
            "from course_lib.models.word2vec import sgns_loss_and_grads as _ref\n\n\ndef sgns_loss_and_grads(",
            costs=("test_sgns_gradients_loss", "test_sgns_gradients_centre"),
        ),
        Cheat(
            "cheat_gelu",
            "gelu_and_layer_norm",
            "return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))",
            "return torch.nn.functional.gelu(x)",
            costs=("test_gelu_is_the_erf_form", "test_bert_encoder_random_weights"),
        ),
    ),
    seed=20261129,
    written_answers=2,  # the written question and the pretraining report
)
