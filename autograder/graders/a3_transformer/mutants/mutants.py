"""Realistic student bugs, as small patches of the A3 solution, for mutation-testing the hidden graders.

Each mutant replaces one snippet (``old``, which must occur exactly once) in the solution cell named by its nbgrader
``grade_id`` with ``new``. ``catches`` names the hidden tests meant to catch the bug: graded with the mutant applied,
each of them must lose points (``tests/a3/test_a3_mutation.py`` checks this and reports the kill rate).
See :mod:`autograder.authoring.mutants`.
"""

from __future__ import annotations

from autograder.authoring.mutants import Mutant

_BAHDANAU_RIGHT = """    scores = additive_scores(s_prev, memory, params["W1"], params["W2"], params["v"])
    context, weights = attend(scores, memory, keep)
    x = torch.cat([params["embedding"][y_prev], context], dim=-1)
    s = gru_cell(x, s_prev, params["W_ih"], params["W_hh"], params["b_ih"], params["b_hh"])
"""
_BAHDANAU_FROM_NEW_STATE = """    x = torch.cat([params["embedding"][y_prev], memory.mean(dim=1)], dim=-1)
    s = gru_cell(x, s_prev, params["W_ih"], params["W_hh"], params["b_ih"], params["b_hh"])
    scores = additive_scores(s, memory, params["W1"], params["W2"], params["v"])
    context, weights = attend(scores, memory, keep)
"""
_MASK_BEFORE_SOFTMAX = """    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
"""
_MASK_AFTER_SOFTMAX = """    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
"""
_INLINE_ATTENTION_SQRT_D_MODEL = """    scores = q @ k.transpose(-2, -1) / math.sqrt(x.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    out = weights @ v
"""
_SINUSOID_INTERLEAVED = """    table[:, 0::2] = torch.sin(position * inv_freq)
    table[:, 1::2] = torch.cos(position * inv_freq)
"""
_SINUSOID_HALVES = """    table[:, : d // 2] = torch.sin(position * inv_freq)
    table[:, d // 2 :] = torch.cos(position * inv_freq)
"""

MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- part 1
    Mutant(
        "luong_W_wrong_side",
        "general score computes sᵀ W h (W on the query's side) instead of hᵀ W s",
        "scores",
        "(query @ W.T)",
        "(query @ W)",
        ("test_scores_general_matches_reference", "test_luong_step_square_widths"),
    ),
    Mutant(
        "additive_without_tanh",
        "additive score forgets the tanh: vᵀ(W₁h + W₂s)",
        "scores",
        "hidden = torch.tanh(keys @ W1.T + (query @ W2.T).unsqueeze(1))",
        "hidden = keys @ W1.T + (query @ W2.T).unsqueeze(1)",
        ("test_scores_additive_matches_reference", "test_bahdanau_step_matches_reference"),
    ),
    Mutant(
        "attend_finite_mask",
        "attend fills padded scores with -1e4 instead of -inf",
        "attend",
        'scores.masked_fill(~keep, float("-inf"))',
        "scores.masked_fill(~keep, -1e4)",
        ("test_attend_padding_with_huge_logits",),
    ),
    Mutant(
        "attend_ignores_padding",
        "attend takes the softmax over every source position, padding included",
        "attend",
        'torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)',
        "torch.softmax(scores, dim=-1)",
        ("test_attend_matches_reference", "test_attend_ignores_padded_values", "test_bahdanau_step_ignores_padding"),
    ),
    # ---------------------------------------------------------------- part 2
    Mutant(
        "bahdanau_attends_from_new_state",
        "Bahdanau step attends from s_t (after the GRU step) instead of s_{t-1}",
        "bahdanau",
        _BAHDANAU_RIGHT,
        _BAHDANAU_FROM_NEW_STATE,
        ("test_bahdanau_step_matches_reference", "test_bahdanau_steps_unrolled"),
    ),
    Mutant(
        "luong_concat_order",
        "Luong combines tanh(W_c [s; c]) instead of tanh(W_c [c; s])",
        "luong",
        "torch.cat([context, s], dim=-1)",
        "torch.cat([s, context], dim=-1)",
        ("test_luong_step_matches_reference", "test_luong_step_square_widths"),
    ),
    # ---------------------------------------------------------------- part 3
    Mutant(
        "not_shifted",
        "decoder inputs and targets are the same tokens (not shifted)",
        "teacher_forcing",
        "return tgt[:, :-1], tgt[:, 1:]",
        "return tgt[:, :-1], tgt[:, :-1]",
        ("test_teacher_forcing_shift_right",),
    ),
    Mutant(
        "loss_averaged_over_pads",
        "the loss sums over real tokens but divides by every position, padding included",
        "teacher_forcing",
        "return -(picked * real).sum() / real.sum()",
        "return -(picked * real).sum() / real.numel()",
        ("test_teacher_forcing_loss_matches_reference", "test_teacher_forcing_loss_ignores_padding"),
    ),
    Mutant(
        "loss_counts_pad_targets",
        "the loss is the mean over every position, so predicting <pad> at padding counts",
        "teacher_forcing",
        "return -(picked * real).sum() / real.sum()",
        "return -picked.mean()",
        ("test_teacher_forcing_loss_matches_reference", "test_teacher_forcing_loss_ignores_padding"),
    ),
    Mutant(
        "greedy_not_stopping_at_eos",
        "greedy search keeps writing argmax tokens after a row produced </s>",
        "greedy",
        "        next_token = next_token.masked_fill(finished, eos_id)\n",
        "",
        ("test_greedy_search_on_tables", "test_greedy_stops_when_every_row_ended"),
    ),
    Mutant(
        "greedy_always_max_len",
        "greedy search never stops early, even when every row is finished",
        "greedy",
        "        if finished.all():\n            break\n",
        "",
        ("test_greedy_stops_when_every_row_ended",),
    ),
    # ---------------------------------------------------------------- part 4
    Mutant(
        "mask_after_softmax",
        "the mask zeroes weights after the softmax (rows no longer sum to 1)",
        "scaled_attention",
        _MASK_BEFORE_SOFTMAX,
        _MASK_AFTER_SOFTMAX,
        ("test_scaled_attention_with_boolean_mask", "test_scaled_attention_causal_mask"),
    ),
    Mutant(
        "finite_mask_value",
        "masked scores are filled with -1e4 instead of -inf",
        "scaled_attention",
        'scores = scores.masked_fill(~mask, float("-inf"))',
        "scores = scores.masked_fill(~mask, -1e4)",
        ("test_scaled_attention_mask_with_large_scores",),
    ),
    Mutant(
        "softmax_over_queries",
        "the softmax runs over the query axis instead of the keys",
        "scaled_attention",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores, dim=-2)",
        ("test_scaled_attention_matches_reference", "test_multi_head_self_attention_matches_reference"),
    ),
    Mutant(
        "causal_wrong_triangle",
        "causal mask is the upper triangle (each token sees the future)",
        "scaled_attention",
        "torch.ones(T, T, dtype=torch.bool).tril()",
        "torch.ones(T, T, dtype=torch.bool).triu()",
        ("test_scaled_attention_causal_mask", "test_multi_head_causal_and_padding_properties"),
    ),
    Mutant(
        "causal_excludes_diagonal",
        "causal mask excludes the diagonal (a token cannot see itself)",
        "scaled_attention",
        "torch.ones(T, T, dtype=torch.bool).tril()",
        "torch.ones(T, T, dtype=torch.bool).tril(-1)",
        ("test_scaled_attention_causal_mask", "test_multi_head_self_attention_matches_reference"),
    ),
    Mutant(
        "view_without_transpose",
        "split_heads views (B, T, D) as (B, h, T, d_h) directly, without the transpose",
        "heads",
        "return x.view(B, T, n_heads, D // n_heads).transpose(1, 2)",
        "return x.view(B, n_heads, T, D // n_heads)",
        ("test_heads_split_matches_reference", "test_multi_head_self_attention_matches_reference"),
    ),
    Mutant(
        "merge_without_transpose",
        "merge_heads reshapes (B, h, T, d_h) to (B, T, D) without transposing back",
        "heads",
        "return x.transpose(1, 2).reshape(B, T, h * d_h)",
        "return x.reshape(B, T, h * d_h)",
        ("test_heads_merge_matches_reference", "test_heads_round_trip"),
    ),
    Mutant(
        "scale_by_sqrt_d_model",
        "multi-head attention divides the scores by √d_model instead of √d_head",
        "multi_head",
        "    out, weights = scaled_attention(q, k, v, mask)\n",
        _INLINE_ATTENTION_SQRT_D_MODEL,
        ("test_multi_head_self_attention_matches_reference", "test_multi_head_cross_attention_with_key_padding"),
    ),
    Mutant(
        "padding_mask_on_queries",
        "the padding mask is applied to the queries instead of the keys",
        "multi_head",
        "mask = key_keep[:, None, None, :]",
        "mask = key_keep[:, None, :, None]",
        ("test_multi_head_self_attention_matches_reference", "test_multi_head_cross_attention_with_key_padding"),
    ),
    # ---------------------------------------------------------------- part 5
    Mutant(
        "sinusoid_halves",
        "sines in the first half of the columns and cosines in the second, instead of interleaved",
        "positions",
        _SINUSOID_INTERLEAVED,
        _SINUSOID_HALVES,
        ("test_positions_match_reference", "test_positions_other_shapes"),
    ),
    Mutant(
        "sinusoid_wrong_exponent",
        "the frequency exponent is i/d instead of 2i/d",
        "positions",
        "-torch.arange(0, d, 2, dtype=torch.float64) / d",
        "-torch.arange(0, d // 2, dtype=torch.float64) / d",
        ("test_positions_match_reference", "test_positions_other_shapes"),
    ),
    Mutant(
        "residual_around_the_norm",
        "the self-attention residual adds the normalised x (x = LN(x) + MHA(LN(x)))",
        "block",
        "x = x + multi_head_attention(h, None,",
        "x = h + multi_head_attention(h, None,",
        ("test_block_encoder_matches_reference", "test_block_decoder_matches_reference"),
    ),
    Mutant(
        "cross_attention_with_target_mask",
        "cross-attention is given the decoder's own padding and causal mask instead of the memory's",
        "block",
        'multi_head_attention(h, memory, params["cross"], n_heads, key_keep=memory_keep)',
        'multi_head_attention(h, memory, params["cross"], n_heads, key_keep=keep, causal=causal)',
        ("test_block_decoder_matches_reference", "test_block_cross_attention_reads_the_whole_source"),
    ),
)
