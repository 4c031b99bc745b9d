"""Realistic student bugs, as small patches of the A2 solution, for mutation-testing the hidden graders.

See ``autograder.authoring.mutants`` for the format; ``tests/a2/test_a2_mutation.py`` checks that each mutant loses
points on the tests in its ``catches`` and reports the kill rate.
"""

from __future__ import annotations

from autograder.authoring.mutants import Mutant

RECURSIVE_BACKWARD = """        self.grads = [None] * len(self.values)

        def visit(i, grad):  # follows each edge at once instead of waiting for every use of a node
            self.grads[i] = grad if self.grads[i] is None else self.grads[i] + grad
            if self.ops[i] is None:
                return
            module = self.ops[i]
            module.cache = self.caches[i]
            grads = module.backward(self.grads[i])
            if len(self.parents[i]) == 1:
                grads = (grads,)
            for parent, g in zip(self.parents[i], grads):
                if g is not None:
                    visit(parent, g)

        visit(node, np.asarray(grad_out, dtype=np.float64))
"""

MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- part 1
    Mutant(
        "grad_assigned_not_accumulated",
        "Linear sets its weight gradient with = instead of +=",
        "linear",
        'self.grads["W"] += x.T @ grad_out',
        'self.grads["W"] = x.T @ grad_out',
        ("test_linear_gradients_accumulate", "test_graph_shared_module"),
    ),
    Mutant(
        "dW_missing_transpose",
        "dW computed as grad_out.T @ x (the transpose of the right answer)",
        "linear",
        'self.grads["W"] += x.T @ grad_out',
        'self.grads["W"] += grad_out.T @ x',
        ("test_linear_backward_non_square",),
    ),
    Mutant(
        "bias_grad_not_summed",
        "the bias gradient is averaged over the batch instead of summed",
        "linear",
        'self.grads["b"] += grad_out.sum(axis=0)',
        'self.grads["b"] += grad_out.mean(axis=0)',
        ("test_linear_backward_non_square", "test_linear_gradients_accumulate"),
    ),
    Mutant(
        "embedding_drops_duplicates",
        "Embedding.backward uses E_grad[ids] += g, which keeps one of repeated ids",
        "embedding",
        'np.add.at(self.grads["E"], ids.reshape(-1), grad_out.reshape(-1, grad_out.shape[-1]))',
        'self.grads["E"][ids.reshape(-1)] += grad_out.reshape(-1, grad_out.shape[-1])',
        ("test_embedding_duplicate_ids", "test_window_lm_gradients"),
    ),
    Mutant(
        "tanh_ignores_upstream",
        "Tanh.backward returns the local derivative and ignores the upstream gradient",
        "activations",
        "return grad_out * (1.0 - y**2)",
        "return 1.0 - y**2",
        ("test_activations_tanh",),
    ),
    Mutant(
        "tanh_derivative_from_input",
        "Tanh caches its input and computes 1 - x**2 instead of 1 - y**2",
        "activations",
        "y = np.tanh(x)\n        self.cache = y",
        "y = np.tanh(x)\n        self.cache = x",
        ("test_activations_tanh",),
    ),
    Mutant(
        "softmax_no_max_shift",
        "softmax computed without subtracting the row maximum (overflows for large logits)",
        "softmax_ce",
        "shifted = logits - logits.max(axis=1, keepdims=True)",
        "shifted = logits",
        ("test_softmax_ce_loss_stable",),
    ),
    Mutant(
        "ce_grad_not_divided_by_batch",
        "the cross-entropy gradient is not divided by the batch size",
        "softmax_ce",
        "return grad * grad_out / len(targets), None",
        "return grad * grad_out, None",
        ("test_softmax_ce_gradient", "test_window_lm_gradients"),
    ),
    Mutant(
        "recursive_backward_no_topological_order",
        "the graph backpropagates recursively along each edge, passing on partial (and repeated) gradients",
        "graph",
        """        self.grads = [None] * len(self.values)
        self.grads[node] = np.asarray(grad_out, dtype=np.float64)
        for i in range(node, -1, -1):  # creation order reversed: every user of i comes after i
            if self.ops[i] is None or self.grads[i] is None:
                continue
            module = self.ops[i]
            module.cache = self.caches[i]
            grads = module.backward(self.grads[i])
            if len(self.parents[i]) == 1:
                grads = (grads,)
            for parent, grad in zip(self.parents[i], grads):
                if grad is not None:
                    self.grads[parent] = grad if self.grads[parent] is None else self.grads[parent] + grad
""",
        RECURSIVE_BACKWARD,
        ("test_graph_diamond",),
    ),
    Mutant(
        "graph_ignores_per_call_cache",
        "the graph does not restore each call's cache, so a module used twice backpropagates its last call twice",
        "graph",
        "            module.cache = self.caches[i]\n",
        "",
        ("test_graph_shared_module",),
    ),
    # ---------------------------------------------------------------- part 2
    Mutant(
        "relative_error_over_numerical",
        "relative error divides by |numerical| only",
        "relative_error",
        "scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numerical)), tiny)",
        "scale = np.maximum(np.abs(numerical), tiny)",
        ("test_relative_error",),
    ),
    Mutant(
        "forward_difference",
        "numerical gradient with the forward difference (f(x+eps) - f(x)) / eps",
        "numerical_gradient",
        "value[index] = original - eps\n            minus = np.sum(upstream * module.forward(x))\n"
        "            value[index] = original\n            grad[index] = (plus - minus) / (2 * eps)",
        "value[index] = original\n            minus = np.sum(upstream * module.forward(x))\n"
        "            grad[index] = (plus - minus) / eps",
        ("test_numerical_gradient_central",),
    ),
    Mutant(
        "perturbation_not_restored",
        "each perturbed entry is left at original - eps",
        "numerical_gradient",
        "            value[index] = original\n",
        "",
        ("test_numerical_gradient_central", "test_numerical_gradient_restores"),
    ),
    Mutant(
        "grad_check_projects_with_ones",
        "grad_check uses an all-ones upstream gradient instead of a random direction",
        "grad_check",
        "u = np.random.default_rng(seed).standard_normal(np.shape(out))",
        "u = np.ones(np.shape(out))",
        ("test_grad_check_finds_planted_bugs",),
    ),
    # ---------------------------------------------------------------- part 3
    Mutant(
        "window_context_reversed",
        "window contexts newest first",
        "window_examples",
        "contexts = [padded[t : t + context] for t in range(len(ids))]",
        "contexts = [padded[t : t + context][::-1] for t in range(len(ids))]",
        ("test_window_examples_order", "test_window_examples_padding"),
    ),
    Mutant(
        "start_padding_real_word",
        "the start is padded with id 0, a real word, instead of pad_id",
        "window_examples",
        "padded = [pad_id] * context + list(ids)",
        "padded = [0] * context + list(ids)",
        ("test_window_examples_padding",),
    ),
    # ---------------------------------------------------------------- part 4
    Mutant(
        "state_reset_every_chunk",
        "truncated BPTT restarts every chunk from a zero state",
        "train_tbptt",
        "logits, state = model(inputs, state)",
        "logits, state = model(inputs, None)",
        ("test_train_tbptt_matches_reference", "test_train_tbptt_losses"),
    ),
    Mutant(
        "state_not_detached",
        "the state carried across chunks is not detached (backward reaches into the previous chunk)",
        "train_tbptt",
        "state = state.detach()",
        "state = state",
        ("test_train_tbptt_matches_reference", "test_train_tbptt_losses"),
    ),
    # ---------------------------------------------------------------- part 5
    Mutant(
        "gate_order_ifog",
        "LSTM gates read in the order i, f, o, g",
        "lstm_cell",
        "i, f, g, o = gates.chunk(4, dim=-1)",
        "i, f, o, g = gates.chunk(4, dim=-1)",
        ("test_lstm_cell_matches", "test_lstm_cell_zero_state"),
    ),
    Mutant(
        "missing_tanh_on_cell",
        "h = o * c instead of o * tanh(c)",
        "lstm_cell",
        "h = torch.sigmoid(o) * torch.tanh(c)",
        "h = torch.sigmoid(o) * c",
        ("test_lstm_cell_matches",),
    ),
    Mutant(
        "layer_state_from_first_layer",
        "every LSTM layer starts from the first layer's initial state",
        "lstm",
        "h, c = state[0][k], state[1][k]",
        "h, c = state[0][0], state[1][0]",
        ("test_lstm_multi_layer", "test_lstm_batch_first_and_state"),
    ),
    # ---------------------------------------------------------------- part 6
    Mutant(
        "clip_per_parameter",
        "each gradient clipped by its own norm instead of the global norm",
        "clip_grad_norm",
        "    if scale < 1:\n        for g in grads:\n            g.mul_(scale)",
        "    for g in grads:\n        own = max_norm / (float(g.double().norm()) + 1e-6)\n        if own < 1:\n"
        "            g.mul_(own)",
        ("test_clip_grad_norm_global",),
    ),
    Mutant(
        "clip_scales_up",
        "gradients are always rescaled to max_norm, also scaled up when they are small",
        "clip_grad_norm",
        "    if scale < 1:\n        for g in grads:",
        "    if True:\n        for g in grads:",
        ("test_clip_grad_norm_no_scale_up",),
    ),
    Mutant(
        "gradient_norms_by_time",
        "the norms are returned in time order instead of by distance from the last step",
        "gradient_norms",
        "return torch.stack(norms[::-1]).detach().to(inputs.dtype)",
        "return torch.stack(norms).detach().to(inputs.dtype)",
        ("test_gradient_norms_by_distance",),
    ),
)
