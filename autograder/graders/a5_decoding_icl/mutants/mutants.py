"""Realistic student bugs, as small patches of the A5 solution, for mutation-testing the hidden graders
(``Mutant`` and ``apply_mutant`` are described in ``autograder/authoring/mutants.py``)."""

from __future__ import annotations

from autograder.authoring.mutants import Mutant, apply_mutant

__all__ = ["MUTANTS", "Mutant", "apply_mutant"]

MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- part 1: KV cache
    Mutant(
        "no_position_offset",
        "new tokens after a cache get positions 0, 1, ... again",
        "kv_cache",
        "    positions = torch.arange(offset, offset + T)\n",
        "    positions = torch.arange(T)\n",
        ("test_kv_cache_prefill_then_one_token_at_a_time", "test_kv_cache_chunked_prefill"),
    ),
    Mutant(
        "offset_added_twice",
        "the cache length is added to the positions twice",
        "kv_cache",
        "    positions = torch.arange(offset, offset + T)\n",
        "    positions = torch.arange(offset, offset + T) + offset\n",
        ("test_kv_cache_prefill_then_one_token_at_a_time", "test_kv_cache_chunked_prefill"),
    ),
    Mutant(
        "mask_hides_the_cache",
        "the causal mask is lower-triangular from the top-left, so a single new query sees only the first key",
        "kv_cache",
        ".tril(diagonal=T_k - T_q)",
        ".tril(diagonal=0)",
        ("test_kv_cache_attention_with_earlier_keys", "test_kv_cache_prefill_then_one_token_at_a_time"),
    ),
    Mutant(
        "kv_not_appended_before_attending",
        "attends to the new tokens' keys and values only; the cache is extended afterwards",
        "kv_cache",
        "        out = causal_attention(q, k, v)\n",
        "        out = causal_attention(q, k[:, :, -T:], v[:, :, -T:])\n",
        ("test_kv_cache_prefill_then_one_token_at_a_time", "test_kv_cache_chunked_prefill"),
    ),
    Mutant(
        "no_scaling_by_sqrt_d",
        "attention scores not divided by sqrt(d)",
        "kv_cache",
        " / math.sqrt(q.size(-1))",
        "",
        ("test_kv_cache_attention_without_earlier_keys", "test_kv_cache_forward_without_a_cache"),
    ),
    # ---------------------------------------------------------------- part 2: sampling
    Mutant(
        "top_k_drops_ties",
        "top-k keeps exactly k indices (torch.topk), dropping logits tied with the k-th",
        "sampling",
        '    return logits.masked_fill(logits < kth, float("-inf"))',
        "    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, min(k, logits.size(-1)), "
        'dim=-1).indices, True)\n    return logits.masked_fill(~keep, float("-inf"))',
        ("test_sampling_top_k_filter_with_ties",),
    ),
    Mutant(
        "top_p_drops_the_crossing_token",
        "top-p keeps only tokens whose cumulative probability (their own included) is below p",
        "sampling",
        "    drop_sorted = mass_above >= p\n",
        "    drop_sorted = probs.cumsum(dim=-1) > p\n",
        ("test_sampling_top_p_filter", "test_sampling_probs_temperature_then_filters"),
    ),
    Mutant(
        "top_p_not_renormalised",
        "the nucleus is cut out of the probabilities without renormalising them",
        "sampling",
        "        logits = top_p_filter(logits, top_p)\n    return torch.softmax(logits, dim=-1)",
        "        return torch.softmax(logits, dim=-1).masked_fill(~torch.isfinite(top_p_filter(logits, top_p)), 0.0)\n"
        "    return torch.softmax(logits, dim=-1)",
        ("test_sampling_probs_temperature_then_filters",),
    ),
    Mutant(
        "temperature_after_softmax",
        "the probabilities, not the logits, are divided by the temperature (and renormalised: no effect)",
        "sampling",
        "    logits = logits / temperature\n    if top_k",
        "    logits = torch.log(torch.softmax(logits, dim=-1) / temperature)\n    if top_k",
        ("test_sampling_probs_temperature_then_filters",),
    ),
    Mutant(
        "first_sample_broadcast",
        "one draw is made and copied to every row",
        "sampling",
        "    return torch.multinomial(probs, 1, generator=generator)[:, 0]",
        "    return torch.multinomial(probs[:1], 1, generator=generator)[:, 0].expand(probs.size(0)).clone()",
        ("test_sampling_draws_follow_the_distribution", "test_sampling_rows_are_drawn_from_their_own_distribution"),
    ),
    # ---------------------------------------------------------------- part 3: beam search
    Mutant(
        "cache_not_reordered_with_parents",
        "the cache is not reordered: beam i keeps row i (row 0 while the beam grows from one)",
        "beam_search",
        "        rows = torch.tensor(parents)\n",
        "        rows = torch.arange(len(parents)).clamp(max=cache[0][0].size(0) - 1)\n",
        # the narrow-beam test shows it on some draws only: the best hypothesis often descends from row 0
        ("test_beam_search_length_penalty",),
    ),
    Mutant(
        "no_length_normalisation",
        "hypotheses compared by total log-probability whatever the length penalty",
        "beam_search",
        "        return total_logprob / length**length_penalty\n",
        "        return total_logprob\n",
        ("test_beam_search_wide_beam_equals_brute_force", "test_beam_search_length_penalty"),
    ),
    Mutant(
        "eos_not_counted_in_length",
        "a finished hypothesis's length leaves out its EOS token",
        "beam_search",
        "                finished.append((normalised(total, len(hypothesis)), hypothesis))\n",
        "                finished.append((normalised(total, max(1, len(hypothesis) - 1)), hypothesis))\n",
        ("test_beam_search_wide_beam_equals_brute_force", "test_beam_search_length_penalty"),
    ),
    Mutant(
        "stops_at_the_first_finished_hypothesis",
        "the search stops as soon as one hypothesis ends in EOS",
        "beam_search",
        "        if len(finished) >= beam_size or not beams:\n",
        "        if finished or not beams:\n",
        ("test_beam_search_wide_beam_equals_brute_force", "test_beam_search_finished_hypotheses_stay_finished"),
    ),
    Mutant(
        "extends_finished_beams",
        "a hypothesis ending in EOS is added to the pool but also keeps running",
        "beam_search",
        "                finished.append((normalised(total, len(hypothesis)), hypothesis))\n                continue\n",
        "                finished.append((normalised(total, len(hypothesis)), hypothesis))\n",
        ("test_beam_search_finished_hypotheses_stay_finished",),
    ),
    Mutant(
        "returns_the_shortest_hypothesis",
        "returns the shortest hypothesis instead of the best-scoring one",
        "beam_search",
        "    return max(hypotheses, key=lambda h: h[0])[1]",
        "    return min(hypotheses, key=lambda h: (len(h[1]), -h[0]))[1]",
        ("test_beam_search_wide_beam_equals_brute_force", "test_beam_search_returns_the_best_score_not_the_shortest"),
    ),
    Mutant(
        "top_k_per_beam",
        "each beam proposes its own best beam_size tokens, and the first beam_size proposals are kept",
        "beam_search",
        "        top = torch.topk(candidates, min(beam_size, candidates.numel()))\n",
        "        per_beam = torch.topk(candidates.view(-1, vocab_size), min(beam_size, vocab_size), dim=-1)\n"
        "        flat = (per_beam.indices + vocab_size * torch.arange(per_beam.indices.size(0))[:, None]).reshape(-1)\n"
        "        top = torch.return_types.topk((candidates[flat][:beam_size], flat[:beam_size]))\n",
        ("test_beam_search_narrow_beams_follow_the_rules",),
    ),
    Mutant(
        "identical_initial_beams",
        "the search starts from beam_size copies of the prompt, which then fill the beam with duplicates",
        "beam_search",
        "    beams, scores = [[]], torch.zeros(1, dtype=torch.float64)\n",
        "    beams, scores = [[] for _ in range(beam_size)], torch.zeros(beam_size, dtype=torch.float64)\n"
        "    cache = [(k.expand(beam_size, *k.shape[1:]), v.expand(beam_size, *v.shape[1:])) for k, v in cache]\n"
        "    logits = logits.expand(beam_size, *logits.shape[1:])\n",
        ("test_beam_search_narrow_beams_follow_the_rules",),
    ),
    # ---------------------------------------------------------------- part 4: prompting and calibration
    Mutant(
        "query_keeps_the_space_before_the_label",
        "the query's template is cut at {label} but the space before it is kept",
        "icl",
        '    head = template[: -len("{label}")].rstrip(" ")\n',
        '    head = template[: -len("{label}")]\n',
        ("test_icl_k_shot_prompt", "test_icl_k_shot_prompt_zero_shot_and_label_spacing"),
    ),
    Mutant(
        "prompt_tokens_scored",
        "the score sums the log-probabilities of every token, the prompt's included",
        "icl",
        "    return float(logprobs[n_prompt - 1 : -1].gather(-1, targets[:, None]).sum())",
        "    return float(logprobs[:-1].gather(-1, tokens[1:, None]).sum())",
        (
            "test_icl_continuation_logprob_matches_the_chain_rule",
            "test_icl_continuation_logprob_ignores_the_prompt_tokens",
        ),
    ),
    Mutant(
        "label_logits_off_by_one",
        "token t is read from the logits at position t instead of t - 1",
        "icl",
        "    return float(logprobs[n_prompt - 1 : -1].gather(-1, targets[:, None]).sum())",
        "    return float(logprobs[n_prompt:].gather(-1, targets[:, None]).sum())",
        ("test_icl_continuation_logprob_matches_the_chain_rule",),
    ),
    Mutant(
        "calibration_not_renormalised",
        "calibrated probabilities are divided by p_cf but not renormalised",
        "icl",
        "    return weighted / weighted.sum(dim=-1, keepdim=True)",
        "    return weighted",
        ("test_icl_calibrate", "test_icl_calibration_removes_the_content_free_bias"),
    ),
    Mutant(
        "content_free_scores_averaged",
        "the content-free scores are averaged before the softmax instead of the probabilities after it",
        "icl",
        "    mean = torch.softmax(cf_scores.double(), dim=-1).mean(dim=0)\n",
        "    mean = torch.softmax(cf_scores.double().mean(dim=0), dim=-1)\n",
        ("test_icl_content_free_probs",),
    ),
    # ---------------------------------------------------------------- part 5: scaling laws
    Mutant(
        "raw_minimum_instead_of_vertex",
        "the best run of the profile is returned instead of the parabola's vertex",
        "scaling",
        "    vertex = -coeffs[1] / (2 * coeffs[0])\n",
        "    vertex = x[int(np.argmin(losses))]\n",
        ("test_scaling_isoflop_vertex",),
    ),
    Mutant(
        "parabola_in_n_not_log_n",
        "the parabola is fitted against N instead of log N",
        "scaling",
        "    x = np.log(np.asarray(n_params, dtype=np.float64))\n",
        "    x = np.asarray(n_params, dtype=np.float64)\n    x = x / x.mean()\n",
        ("test_scaling_isoflop_vertex", "test_scaling_isoflop_on_a_scaling_law"),
    ),
    Mutant(
        "power_law_fitted_in_linear_space",
        "the power law is fitted to y itself (weighted by the largest values), not to log y",
        "scaling",
        "    p, log_k = np.polyfit(np.log(x), np.log(y), 1)\n",
        "    p, log_k = np.polyfit(np.log(x), np.log(y), 1, w=np.sqrt(y / np.max(y)))\n",
        ("test_scaling_power_law_least_squares_in_log_space",),
    ),
    Mutant(
        "irreducible_loss_dropped",
        "the fit leaves out E: L = A / N^alpha + B / D^beta",
        "scaling",
        "        X = np.stack([np.ones_like(N), N**-alpha, D**-beta], axis=1)\n"
        "        coeffs = np.linalg.lstsq(X, L, rcond=None)[0]\n",
        "        X = np.stack([np.zeros_like(N), N**-alpha, D**-beta], axis=1)\n"
        "        coeffs = np.linalg.lstsq(X, L, rcond=None)[0]\n",
        ("test_scaling_fit_chinchilla_recovers_the_parameters",),
    ),
    Mutant(
        "compute_is_2nd",
        "training compute taken as C = 2 N D (forward pass only)",
        "scaling",
        "    per_param_token = flops / 6\n",
        "    per_param_token = flops / 2\n",
        ("test_scaling_compute_optimal",),
    ),
    # ---------------------------------------------------------------- part 6: costs
    Mutant(
        "flops_count_multiply_adds_once",
        "attention FLOPs count each multiply-add once (2 T^2 d per layer)",
        "costs",
        "    return 4 * seq_len**2 * d_model * n_layers",
        "    return 2 * seq_len**2 * d_model * n_layers",
        ("test_costs_attention_flops",),
    ),
    Mutant(
        "cache_memory_keys_only",
        "the KV-cache memory counts the keys but not the values",
        "costs",
        "    return 2 * n_layers * d_model * n_tokens * batch_size * bytes_per_number",
        "    return n_layers * d_model * n_tokens * batch_size * bytes_per_number",
        ("test_costs_cache_memory",),
    ),
)
