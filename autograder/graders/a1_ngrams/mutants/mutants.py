"""Realistic student bugs, as small patches of the A1 solution, for mutation-testing the hidden graders.

Each mutant replaces one snippet (``old``, which must occur exactly once) in the solution cell named by its nbgrader
``grade_id`` with ``new``. ``catches`` names the hidden tests meant to catch the bug: graded with the mutant applied,
each of them must lose points (``tests/a1/test_a1_mutation.py`` checks this and reports the kill rate).
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
    # ---------------------------------------------------------------- part 1
    Mutant(
        "word_split_on_spaces",
        "word_tokenize splits on whitespace, keeping punctuation glued to words",
        "tokenizers",
        "return WORD_PATTERN.findall(text)",
        "return text.split()",
        ("test_word_tokenize_matches_reference",),
    ),
    Mutant(
        "lowercase_ignored",
        "word_tokenize ignores lowercase=True",
        "tokenizers",
        "        text = text.lower()\n",
        "        pass\n",
        ("test_word_tokenize_lowercase",),
    ),
    Mutant(
        "vocab_ties_first_seen",
        "vocabulary ties broken by first occurrence instead of alphabetically",
        "vocab",
        "key=lambda t: (-counts[t], t)",
        "key=lambda t: -counts[t]",
        ("test_build_vocab_matches_reference",),
    ),
    Mutant(
        "vocab_min_freq_strict",
        "min_freq compared with > instead of >=",
        "vocab",
        "c >= min_freq",
        "c > min_freq",
        ("test_build_vocab_min_freq_and_specials",),
    ),
    Mutant(
        "truncate_keeps_end",
        "truncation keeps the last max_len ids instead of the first",
        "batching",
        "seq = seq[:max_len]",
        "seq = seq[len(seq) - max_len:] if len(seq) > max_len else seq",
        ("test_pad_and_truncate_matches_reference",),
    ),
    Mutant(
        "mask_marks_padding",
        "attention mask is 1 at padding and 0 at real tokens",
        "batching",
        "mask = np.zeros(",
        "mask = np.ones(",
        ("test_pad_and_truncate_matches_reference", "test_pad_and_truncate_edge_cases"),
    ),
    # ---------------------------------------------------------------- part 2
    Mutant(
        "special_shortest_first",
        "overlapping special tokens: the shortest wins (no longest-first sort)",
        "pretokenize",
        "sorted(special_tokens, key=len, reverse=True)",
        "list(special_tokens)",
        ("test_pretokenize_overlapping_special_tokens",),
    ),
    Mutant(
        "merge_overlapping",
        "merge steps one position after a match, so occurrences overlap",
        "merge",
        "            out.append(new_id)\n            i += 2",
        "            out.append(new_id)\n            i += 1",
        ("test_merge_runs_do_not_overlap",),
    ),
    Mutant(
        "merge_across_specials",
        "training does not cut special tokens out, so merges cross them",
        "train_bpe",
        "counts = Counter(p for p in pretokenize(text, special_tokens) if p not in special_tokens)",
        "counts = Counter(pretokenize(text))",
        ("test_train_bpe_special_tokens_never_merged",),
    ),
    Mutant(
        "ties_first_seen",
        "equally frequent pairs: the first one counted wins, not the greatest",
        "train_bpe",
        "key=lambda p: (pair_counts[p], vocab[p[0]], vocab[p[1]])",
        "key=pair_counts.get",
        ("test_train_bpe_ties_compare_bytes",),
    ),
    Mutant(
        "ties_by_ids",
        "equally frequent pairs compared by their ids instead of their bytes",
        "train_bpe",
        "key=lambda p: (pair_counts[p], vocab[p[0]], vocab[p[1]])",
        "key=lambda p: (pair_counts[p], p)",
        ("test_train_bpe_ties_compare_bytes",),
    ),
    Mutant(
        "encode_latest_merge_first",
        "encode applies the most recently learned merge first",
        "encode_decode",
        "pair = min(zip(ids, ids[1:]), key=lambda p: new_id_of.get(p, math.inf))",
        "pair = max(zip(ids, ids[1:]), key=lambda p: new_id_of.get(p, -math.inf))",
        ("test_bpe_encode_matches_reference",),
    ),
    Mutant(
        "decode_split_utf8_raises",
        "decode raises on a token that holds half a UTF-8 character",
        "encode_decode",
        'decode("utf-8", errors="replace")',
        'decode("utf-8")',
        ("test_bpe_decode_split_utf8",),
    ),
    # ---------------------------------------------------------------- part 3
    Mutant(
        "forgets_eos",
        "sentences are padded without </s>",
        "pad_sentence",
        "return [BOS] * (order - 1) + list(tokens) + [EOS]",
        "return [BOS] * (order - 1) + list(tokens)",
        ("test_pad_sentence", "test_counts_match_reference", "test_mle_probabilities"),
    ),
    Mutant(
        "bos_in_vocab",
        "<s> is counted in the vocabulary V",
        "ngram_fit",
        "self.types = sorted(self.known | {UNK, EOS})",
        "self.types = sorted(self.known | {UNK, EOS, BOS})",
        ("test_counts_types_match_reference", "test_add_k_probabilities"),
    ),
    Mutant(
        "unk_threshold_strict",
        "words seen exactly unk_threshold times become <unk>",
        "ngram_fit",
        "c >= self.unk_threshold",
        "c > self.unk_threshold",
        ("test_counts_types_match_reference", "test_counts_with_rare_words"),
    ),
    Mutant(
        "window_off_by_one",
        "the last n-gram of every sentence (the one ending in </s>) is not counted",
        "ngram_fit",
        "for i in range(len(padded) - n + 1):",
        "for i in range(len(padded) - n):",
        ("test_counts_match_reference", "test_mle_probabilities"),
    ),
    Mutant(
        "add_k_forgets_unk",
        "add-k with |V| off by one (<unk> left out of the count)",
        "mle_add_k",
        "c_h + self.k * len(self.types)",
        "c_h + self.k * (len(self.types) - 1)",
        ("test_add_k_probabilities",),
    ),
    Mutant(
        "kn_raw_counts_lower",
        "Kneser-Ney uses raw counts at the lower orders instead of continuation counts",
        "ngram_fit",
        "            for suffix in {ngram[-(m + 1):] for ngram in self.ngram_counts}:\n"
        "                self.continuation[m][suffix[1:]] += 1",
        "            for ngram, c in self.ngram_counts.items():\n                self.continuation[m][ngram[-m:]] += c",
        ("test_kneser_ney_bigram", "test_kneser_ney_higher_orders"),
    ),
    Mutant(
        "kn_discounts_zero_counts",
        "the discount is subtracted from zero counts too (no max(., 0))",
        "kneser_ney",
        "return max(count - d, 0) / total",
        "return (count - d) / total",
        ("test_kneser_ney_bigram", "test_kneser_ney_unseen_words_and_histories"),
    ),
    Mutant(
        "kn_no_fall_through",
        "a history never seen gives 0 instead of falling through to the lower order",
        "kneser_ney",
        "    if total == 0:\n        return lower",
        "    if total == 0:\n        return 0.0",
        ("test_kneser_ney_unseen_words_and_histories",),
    ),
    # ---------------------------------------------------------------- part 4
    Mutant(
        "ppl_log2_exp_e",
        "perplexity sums log base 2 but exponentiates with base e",
        "perplexity",
        "total_logprob += math.log(p)",
        "total_logprob += math.log2(p)",
        ("test_perplexity_add_k", "test_perplexity_interpolated_kn"),
    ),
    Mutant(
        "ppl_skips_eos",
        "perplexity does not predict </s>",
        "perplexity",
        "for i in range(self.order - 1, len(padded)):",
        "for i in range(self.order - 1, len(padded) - 1):",
        ("test_perplexity_add_k", "test_perplexity_interpolated_kn"),
    ),
    Mutant(
        "temperature_multiplies",
        "temperature multiplies log-probabilities instead of dividing",
        "sampling",
        "math.log(p) / temperature",
        "math.log(p) * temperature",
        ("test_sampling_apply_temperature", "test_sampling_generate_follows_the_model"),
    ),
    Mutant(
        "sample_index_inclusive",
        "inverse-CDF sampling uses <= so a u on a boundary picks the previous word",
        "sampling",
        "if u < cumulative:",
        "if u <= cumulative:",
        ("test_sampling_sample_index",),
    ),
    Mutant(
        "generate_ignores_temperature",
        "generate samples at temperature 1 whatever it is given",
        "sampling",
        "probs = apply_temperature([self.prob(w, words) for w in types], temperature)",
        "probs = [self.prob(w, words) for w in types]",
        ("test_sampling_generate_follows_the_model",),
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
