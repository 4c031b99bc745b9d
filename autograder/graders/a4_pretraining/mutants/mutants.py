"""Realistic student bugs, as small patches of the A4 solution, for mutation-testing the hidden graders.

Each mutant replaces one snippet (``old``, which must occur exactly once) in the solution cell named by its nbgrader
``grade_id`` with ``new``. ``catches`` names the hidden tests meant to catch the bug: graded with the mutant applied,
each of them must lose points (``tests/a4/test_a4_mutation.py`` checks this and reports the kill rate).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str  # the student's mistake, in words
    cell: str  # nbgrader grade_id of the patched cell
    old: str
    new: str
    catches: tuple[str, ...]


MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- part 1: SGNS
    Mutant(
        "window_includes_centre",
        "the window pairs the centre word with itself",
        "window_pairs",
        "            if j != i:\n",
        "            if True:\n",
        ("test_window_pairs_random", "test_window_pairs_edges"),
    ),
    Mutant(
        "subsampling_inverted",
        "subsampling keeps a token when u >= keep (drops the rare words)",
        "subsampling",
        "return ids[u < keep[ids]]",
        "return ids[u >= keep[ids]]",
        ("test_subsampling_applies_the_uniforms",),
    ),
    Mutant(
        "subsampling_paper_formula",
        "keep probability 1 - sqrt(sample / f) (the paper's discard formula, inverted) instead of the stated one",
        "subsampling",
        "torch.clamp((torch.sqrt(f / sample) + 1) * sample / f, max=1.0)",
        "torch.clamp(torch.sqrt(sample / f), max=1.0)",
        ("test_subsampling_keep_probabilities",),
    ),
    Mutant(
        "noise_power_one",
        "noise distribution is the plain unigram distribution (power 1)",
        "noise",
        "def noise_distribution(counts: Tensor, power: float = 0.75) -> Tensor:",
        "def noise_distribution(counts: Tensor, power: float = 1.0) -> Tensor:",
        ("test_noise_distribution_default_power",),
    ),
    Mutant(
        "noise_power_half",
        "noise distribution uses power 0.5",
        "noise",
        "weights = counts.double() ** power",
        "weights = counts.double() ** 0.5",
        ("test_noise_distribution_default_power",),
    ),
    Mutant(
        "negatives_may_be_positive",
        "negatives equal to their positive are not drawn again",
        "noise",
        "    while clash.any():\n",
        "    while False:\n",
        ("test_noise_negatives_never_the_positive",),
    ),
    Mutant(
        "negative_term_sign",
        "the noise term is -log sigma(u_n . v) instead of -log sigma(-u_n . v)",
        "sgns_gradients",
        "loss = -logsigmoid(pos_score).sum() - logsigmoid(-neg_score).sum()",
        "loss = -logsigmoid(pos_score).sum() - logsigmoid(neg_score).sum()",
        ("test_sgns_gradients_loss",),
    ),
    Mutant(
        "gradients_u_v_swapped",
        "the centre and context gradients are returned in each other's place",
        "sgns_gradients",
        "return loss, grad_v, grad_u_pos, grad_u_neg",
        "return loss, grad_u_pos, grad_v, grad_u_neg",
        ("test_sgns_gradients_centre", "test_sgns_gradients_context_and_noise"),
    ),
    Mutant(
        "negative_gradient_sign",
        "the noise gradient uses sigma(u_n . v) - 1 like the positive",
        "sgns_gradients",
        "g_neg = torch.sigmoid(neg_score)  # d loss / d neg_score",
        "g_neg = torch.sigmoid(neg_score) - 1",
        ("test_sgns_gradients_centre", "test_sgns_gradients_context_and_noise"),
    ),
    Mutant(
        "duplicates_not_accumulated",
        "repeated negatives overwrite each other's update (W[idx] -= g) instead of adding up",
        "sgns_update",
        "    W_out.index_add_(0, negatives.reshape(-1), grad_u_neg.reshape(-1, grad_u_neg.shape[-1]), alpha=-lr)\n",
        "    W_out[negatives.reshape(-1)] -= lr * grad_u_neg.reshape(-1, grad_u_neg.shape[-1])\n",
        ("test_sgns_update_accumulates_repeats",),
    ),
    Mutant(
        "analogy_returns_query",
        "analogy does not exclude a, b and c",
        "analogy",
        "    scores[[a, b, c]] = -math.inf\n",
        "",
        ("test_analogy_excludes_query_words",),
    ),
    Mutant(
        "analogy_not_normalised",
        "analogy uses raw dot products instead of cosines",
        "analogy",
        "unit = vectors / vectors.norm(dim=1, keepdim=True)",
        "unit = vectors",
        ("test_analogy_uses_unit_vectors",),
    ),
    # ---------------------------------------------------------------- part 2: BERT inputs
    Mutant(
        "first_sep_type_one",
        "the [SEP] after A gets token type 1",
        "pair_input",
        "        types += [1] * (len(b) + 1)\n",
        "        types[-1] = 1\n        types += [1] * (len(b) + 1)\n",
        ("test_pair_input_random",),
    ),
    Mutant(
        "nsp_label_inverted",
        "the NSP label is 1 for a true next sentence",
        "nsp",
        "examples.append((list(a), list(following), IS_NEXT))",
        "examples.append((list(a), list(following), NOT_NEXT))",
        ("test_nsp_structure_and_labels", "test_nsp_half_are_true_next"),
    ),
    Mutant(
        "nsp_negative_same_document",
        "the random B may come from A's own document",
        "nsp",
        "            while other == d or not documents[other]:\n",
        "            while not documents[other]:\n",
        ("test_nsp_structure_and_labels",),
    ),
    Mutant(
        "specials_masked",
        "special tokens can be chosen for masking",
        "mlm",
        "chosen = (torch.rand(input_ids.shape, generator=generator) < 0.15) & ~special",
        "chosen = torch.rand(input_ids.shape, generator=generator) < 0.15",
        ("test_mlm_specials_never_chosen",),
    ),
    Mutant(
        "rule_on_all_tokens",
        "the 80/10/10 replacement is applied to every token, not only the chosen 15%",
        "mlm",
        "to_mask = chosen & (torch.rand(input_ids.shape, generator=generator) < 0.8)",
        "to_mask = torch.rand(input_ids.shape, generator=generator) < 0.8",
        ("test_mlm_labels_and_unchosen_tokens",),
    ),
    Mutant(
        "random_overwritten_by_mask",
        "every chosen token becomes [MASK]: the random replacements are overwritten",
        "mlm",
        "    inputs[to_mask] = mask_id\n",
        "    inputs[chosen] = mask_id\n",
        ("test_mlm_apply_exact", "test_mlm_rates"),
    ),
    Mutant(
        "loss_on_every_token",
        "labels keep every token, so the loss is also on unchosen tokens",
        "mlm",
        "labels = torch.full_like(input_ids, IGNORE_INDEX)",
        "labels = input_ids.clone()",
        ("test_mlm_apply_exact", "test_mlm_specials_never_chosen", "test_mlm_labels_and_unchosen_tokens"),
    ),
    Mutant(
        "label_is_mask_id",
        "the label of a chosen token is the [MASK] id",
        "mlm",
        "labels[chosen] = input_ids[chosen]",
        "labels[chosen] = mask_id",
        ("test_mlm_apply_exact", "test_mlm_labels_and_unchosen_tokens"),
    ),
    Mutant(
        "random_rate_unconditional",
        "a chosen, unmasked token becomes random with probability 0.1 instead of 0.5 (rates not conditional)",
        "mlm",
        "to_random = chosen & ~to_mask & (torch.rand(input_ids.shape, generator=generator) < 0.5)",
        "to_random = chosen & ~to_mask & (torch.rand(input_ids.shape, generator=generator) < 0.1)",
        ("test_mlm_rates",),
    ),
    # ---------------------------------------------------------------- part 3: BERT
    Mutant(
        "tanh_gelu",
        "GELU uses the tanh approximation",
        "gelu_and_layer_norm",
        "return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))",
        "return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))",
        ("test_gelu_is_the_erf_form",),
    ),
    Mutant(
        "layer_norm_eps_1e5",
        "LayerNorm eps is PyTorch's default 1e-5",
        "gelu_and_layer_norm",
        "LN_EPS = 1e-12",
        "LN_EPS = 1e-5",
        ("test_layer_norm_eps_and_biased_variance",),
    ),
    Mutant(
        "layer_norm_unbiased_variance",
        "LayerNorm divides by d - 1 (unbiased variance)",
        "gelu_and_layer_norm",
        "var = ((x - mean) ** 2).mean(-1, keepdim=True)",
        "var = x.var(-1, keepdim=True)",
        ("test_layer_norm_eps_and_biased_variance",),
    ),
    Mutant(
        "weights_not_transposed",
        "linear layers use x @ W instead of x @ W.T",
        "bert_encoder",
        'return x @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]',
        'return x @ weights[f"{name}.weight"] + weights[f"{name}.bias"]',
        ("test_bert_encoder_random_weights", "test_bert_encoder_other_shapes"),
    ),
    Mutant(
        "pre_ln",
        "pre-LN blocks (normalise before attention) instead of BERT's post-LN",
        "bert_encoder",
        'x = ln(x + linear(attended, weights, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")',
        'x = x + ln(linear(attended, weights, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")',
        ("test_bert_encoder_random_weights", "test_bert_encoder_padding_and_token_types"),
    ),
    Mutant(
        "no_padding_mask",
        "the attention ignores the padding mask",
        "bert_encoder",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(head) + additive",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(head)",
        ("test_bert_encoder_padding_and_token_types", "test_minilm_hidden_states_equal_the_checkpoint"),
    ),
    Mutant(
        "scale_by_d_model",
        "attention scores divided by sqrt(d_model) instead of sqrt(head size)",
        "bert_encoder",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(head) + additive",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d) + additive",
        ("test_bert_encoder_random_weights", "test_bert_encoder_other_shapes"),
    ),
    Mutant(
        "token_types_ignored",
        "token-type embeddings are left out",
        "bert_encoder",
        '         + weights["embeddings.token_type_embeddings.weight"][token_type_ids])',
        "         + 0)",
        ("test_bert_encoder_padding_and_token_types",),
    ),
    Mutant(
        "mean_pool_over_padding",
        "mean pooling averages the padding positions too",
        "minilm",
        "return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)",
        "return hidden.mean(1)",
        ("test_mean_pool_excludes_padding",),
    ),
    # ---------------------------------------------------------------- part 4: classifier
    Mutant(
        "classifier_last_token",
        "the classifier reads the last position instead of [CLS]",
        "classifier",
        "return hidden[:, 0] @ W.T + b",
        "return hidden[:, -1] @ W.T + b",
        ("test_classifier_cls_logits_use_the_first_token",),
    ),
    Mutant(
        "classifier_untrained",
        "the classifier is returned before training (the loop never runs)",
        "classifier",
        "    for _ in range(epochs):\n",
        "    for _ in range(0):\n",
        ("test_classifier_trains_to_the_reference_accuracy",),
    ),
    # ---------------------------------------------------------------- part 5: GPT and T5 objectives
    Mutant(
        "causal_labels_not_shifted",
        "the causal labels are the inputs themselves (not shifted by one)",
        "causal",
        "return stream_t[:-1].view(n_blocks, block_size), stream_t[1:].view(n_blocks, block_size)",
        "return stream_t[:-1].view(n_blocks, block_size), stream_t[:-1].view(n_blocks, block_size)",
        ("test_causal_random_documents", "test_causal_eos_after_every_document"),
    ),
    Mutant(
        "causal_no_eos",
        "documents are concatenated without EOS between them",
        "causal",
        "stream = [token for doc in documents for token in (*doc, eos_id)]",
        "stream = [token for doc in documents for token in doc]",
        ("test_causal_random_documents", "test_causal_eos_after_every_document"),
    ),
    Mutant(
        "one_sentinel_per_token",
        "every noise token gets its own sentinel",
        "span_corruption",
        "        if i == 0 or not noise[i - 1]:  # a span starts: one sentinel for the whole span\n",
        "        if True:\n",
        ("test_span_corruption_random_masks", "test_span_corruption_edges"),
    ),
    Mutant(
        "sentinels_increasing",
        "sentinel ids count up from the end of the vocabulary instead of down",
        "span_corruption",
        "            sentinel -= 1\n",
        "            sentinel += 1\n",
        ("test_span_corruption_random_masks", "test_span_corruption_edges"),
    ),
    Mutant(
        "missing_final_sentinel",
        "the targets end with EOS but no final sentinel",
        "span_corruption",
        "return inputs + [eos_id], targets + [sentinel, eos_id]",
        "return inputs + [eos_id], targets + [eos_id]",
        ("test_span_corruption_random_masks", "test_span_corruption_edges"),
    ),
    Mutant(
        "missing_eos",
        "neither the inputs nor the targets end with EOS",
        "span_corruption",
        "return inputs + [eos_id], targets + [sentinel, eos_id]",
        "return inputs, targets + [sentinel]",
        ("test_span_corruption_random_masks", "test_span_corruption_edges"),
    ),
    Mutant(
        "spans_of_fixed_length",
        "every noise span has the mean length (no random segmentation of the noise tokens)",
        "span_corruption",
        "    noise_lengths = _random_segmentation(n_noise, n_spans, generator)\n",
        "    noise_lengths = [n_noise // n_spans] * (n_spans - 1) + [n_noise - (n_noise // n_spans) * (n_spans - 1)]\n",
        ("test_span_corruption_random_mask_is_random",),
    ),
)


def apply_mutant(notebook, mutant: Mutant):
    """Patch a copy of the solution notebook (an nbformat node) with ``mutant``; the snippet must occur once."""
    import copy

    patched = copy.deepcopy(notebook)
    cells = [c for c in patched.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mutant.cell]
    if len(cells) != 1:
        raise ValueError(f"mutant {mutant.name}: {len(cells)} cells have grade_id {mutant.cell!r}")
    occurrences = cells[0].source.count(mutant.old)
    if occurrences != 1:
        raise ValueError(f"mutant {mutant.name}: the snippet occurs {occurrences} times in cell {mutant.cell!r}")
    cells[0].source = cells[0].source.replace(mutant.old, mutant.new)
    return patched
