"""What A2's checks need to know (the checks themselves: tests/assignment_suite.py)."""

from __future__ import annotations

from tests.assignment_suite import AssignmentSpec, Cheat

SPEC = AssignmentSpec(
    assignment="a2_neural_lm",
    min_hidden_tests=35,
    min_mutants=18,
    test_cells={
        "part5::test_lstm_cell_matches": "test_lstm_cell",
        "part3::test_train_window_lm_learns": "test_train_window_lm",
    },
    # submissions that call what the manifest forbids instead of their own code
    cheats=(
        Cheat(
            "cheat_autodiff",
            "linear",
            "        self.cache = x\n        return x @ self.params",
            "        from course_lib.autodiff import Linear as Reference\n"
            "        self.cache = x\n        return x @ self.params",
            costs="everything",
        ),
        Cheat(
            "cheat_nn_lstm",
            "lstm",
            "        seq = x.transpose(0, 1) if self.batch_first else x  # (T, B, D)",
            "        return nn.LSTM(1, self.hidden_size)(x, state)\n"
            "        seq = x.transpose(0, 1) if self.batch_first else x  # (T, B, D)",
            costs=("test_lstm_single_layer", "test_lstm_multi_layer", "test_lstm_batch_first_and_state"),
            keeps=("test_lstm_cell_matches", "test_clip_grad_norm_global"),
        ),
        Cheat(
            "cheat_clip",
            "clip_grad_norm",
            "    grads = [p.grad for p in parameters if p.grad is not None]",
            "    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)",
            costs=(
                "test_clip_grad_norm_global",
                "test_clip_grad_norm_no_scale_up",
                "test_clip_grad_norm_skips_none",
                "test_clip_grad_norm_returns_norm",
            ),
            keeps=("test_lstm_cell_matches",),
        ),
    ),
    seed=20261129,
)
