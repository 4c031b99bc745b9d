"""Pretraining objectives: exact outputs for fixed decisions, rates within 5 sigma, round trips to the source."""

import math

import pytest
import torch

from course_lib.training.objectives import (
    IGNORE_INDEX,
    NSP_IS_NEXT,
    NSP_RANDOM,
    apply_mlm,
    infilling_spans,
    mask_tokens,
    nsp_pairs,
    pack_causal,
    pair_input,
    random_spans_mask,
    sentinel_ids,
    span_corrupt,
    text_infill,
)

PAD, CLS, SEP, MASK = 0, 101, 102, 103
SPECIAL = {PAD, CLS, SEP, MASK}
V = 30000


def within_5_sigma(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- MLM ---


def test_apply_mlm_exact_given_the_decisions():
    ids = torch.tensor([[CLS, 7, 8, 9, 10, SEP]])
    chosen = torch.tensor([[False, True, True, True, False, False]])
    to_mask = torch.tensor([[False, True, False, False, False, False]])
    to_random = torch.tensor([[False, False, True, False, False, False]])
    random_ids = torch.full_like(ids, 555)
    inputs, labels = apply_mlm(ids, chosen, to_mask, to_random, random_ids, MASK)
    assert inputs.tolist() == [[CLS, MASK, 555, 9, 10, SEP]]  # 9 chosen but kept unchanged
    assert labels.tolist() == [[IGNORE_INDEX, 7, 8, 9, IGNORE_INDEX, IGNORE_INDEX]]
    with pytest.raises(ValueError, match="disjoint"):
        apply_mlm(ids, chosen, to_mask, to_mask, random_ids, MASK)


def test_mlm_rates_within_5_sigma_and_specials_never_chosen():
    g = gen(1)
    body = torch.randint(1000, V, (400, 126), generator=g)
    ids = torch.cat([torch.full((400, 1), CLS), body, torch.full((400, 1), SEP)], dim=1)
    ids[:, -10:] = PAD  # padding too
    inputs, labels = mask_tokens(ids, SPECIAL, MASK, V, gen(2))
    special = torch.isin(ids, torch.tensor(sorted(SPECIAL)))
    assert (labels[special] == IGNORE_INDEX).all() and (inputs[special] == ids[special]).all()
    chosen = labels != IGNORE_INDEX
    assert (labels[chosen] == ids[chosen]).all()
    n_eligible, n_chosen = int((~special).sum()), int(chosen.sum())
    assert within_5_sigma(n_chosen, n_eligible, 0.15)
    out, orig = inputs[chosen], ids[chosen]
    # a random token equals [MASK] or the original with probability 1/V each; include that exactly
    assert within_5_sigma(int((out == MASK).sum()), n_chosen, 0.8 + 0.1 / V)
    assert within_5_sigma(int((out == orig).sum()), n_chosen, 0.1 + 0.1 / V)
    assert within_5_sigma(int(((out != MASK) & (out != orig)).sum()), n_chosen, 0.1 * (1 - 2 / V))
    assert (inputs[~chosen] == ids[~chosen]).all()


def test_mlm_is_deterministic_under_a_generator():
    ids = torch.randint(1000, V, (4, 50), generator=gen(3))
    a = mask_tokens(ids, SPECIAL, MASK, V, gen(7))
    b = mask_tokens(ids, SPECIAL, MASK, V, gen(7))
    c = mask_tokens(ids, SPECIAL, MASK, V, gen(8))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[1], c[1])


# --- NSP ---


def test_pair_input_layout():
    ids, types = pair_input([5, 6], [7, 8, 9], CLS, SEP)
    assert ids == [CLS, 5, 6, SEP, 7, 8, 9, SEP]
    assert types == [0, 0, 0, 0, 1, 1, 1, 1]
    assert pair_input([5], None, CLS, SEP) == ([CLS, 5, SEP], [0, 0, 0])


def test_nsp_half_true_next_and_negatives_from_other_documents():
    # sentence k of document d is [d * 1000 + k]: the source of any B can be read off
    documents = [[[d * 1000 + k] for k in range(30)] for d in range(20)]
    examples = nsp_pairs(documents, gen(4))
    assert len(examples) == 20 * 29
    n_next = 0
    for a, b, label in examples:
        doc_a, doc_b = a[0] // 1000, b[0] // 1000
        if label == NSP_IS_NEXT:
            n_next += 1
            assert b[0] == a[0] + 1
        else:
            assert label == NSP_RANDOM and doc_b != doc_a
    assert within_5_sigma(n_next, len(examples), 0.5)
    with pytest.raises(ValueError, match="two"):
        nsp_pairs([[[1], [2]]], gen())


# --- causal LM packing ---


def test_pack_causal_shifts_by_one_and_separates_documents_with_eos():
    EOS = 99
    inputs, labels = pack_causal([[1, 2, 3], [4, 5], [6, 7, 8, 9]], block_size=4, eos_id=EOS)
    # stream: 1 2 3 EOS 4 5 EOS 6 7 8 9 EOS (12 tokens) -> (12 - 1) // 4 = 2 blocks
    assert inputs.tolist() == [[1, 2, 3, EOS], [4, 5, EOS, 6]]
    assert labels.tolist() == [[2, 3, EOS, 4], [5, EOS, 6, 7]]
    with pytest.raises(ValueError, match="block"):
        pack_causal([[1]], block_size=8, eos_id=EOS)


# --- T5 span corruption ---


def test_span_corrupt_exact_example_from_the_docstring():
    a, b, c, d, e, f, EOS = 10, 11, 12, 13, 14, 15, 1
    mask = torch.tensor([False, True, True, False, True, False])
    inputs, targets = span_corrupt([a, b, c, d, e, f], mask, vocab_size=100, eos_id=EOS)
    assert inputs == [a, 99, d, 98, f, EOS]
    assert targets == [99, b, c, 98, e, 97, EOS]
    assert sentinel_ids(100, 3) == [99, 98, 97]


def reconstruct_t5(inputs, targets, vocab_size, n_sentinels):
    """Put each span from the targets back in place of its sentinel (an independent inverse)."""
    sentinels = set(sentinel_ids(vocab_size, n_sentinels))
    spans, current = {}, None
    for token in targets[:-1]:
        if token in sentinels:
            current = token
            spans[current] = []
        else:
            spans[current].append(token)
    out = []
    for token in inputs[:-1]:
        out += spans[token] if token in sentinels else [token]
    return out


@pytest.mark.parametrize("length", [20, 57, 200, 513])
def test_span_corruption_properties(length):
    V5, EOS = 32100, 1
    ids = torch.randint(2, 32000, (length,), generator=gen(length)).tolist()
    mask = random_spans_mask(length, gen(length + 1))
    n_noise = int(mask.sum())
    assert n_noise == min(max(round(length * 0.15), 1), length - 1)
    n_spans = int((mask[1:] & ~mask[:-1]).sum() + mask[0])
    assert n_spans == max(round(n_noise / 3), 1)
    assert not mask[0]  # a kept run comes first
    inputs, targets = span_corrupt(ids, mask, V5, EOS)
    assert inputs[-1] == EOS and targets[-1] == EOS
    assert targets[-2] == V5 - 1 - n_spans  # the final sentinel
    assert len(inputs) == length - n_noise + n_spans + 1
    assert len(targets) == n_noise + n_spans + 2
    assert reconstruct_t5(inputs, targets, V5, n_spans + 1) == ids


def test_span_lengths_average_the_mean_span_length():
    lengths = []
    for seed in range(200):
        mask = random_spans_mask(200, gen(seed)).tolist()
        run = 0
        for is_noise in [*mask, False]:
            if is_noise:
                run += 1
            elif run:
                lengths.append(run)
                run = 0
    assert abs(sum(lengths) / len(lengths) - 3) < 0.1  # 30 noise tokens in 10 spans, every time


# --- BART text infilling ---


def test_text_infill_exact():
    inputs, targets = text_infill([1, 2, 3, 4, 5, 6, 7], [(1, 2), (4, 0), (5, 1)], MASK)
    assert inputs == [1, MASK, 4, MASK, 5, MASK, 7]
    assert targets == [1, 2, 3, 4, 5, 6, 7]


def test_infilling_spans_cover_the_ratio_and_reconstruct():
    covered, total = 0, 0
    for seed in range(50):
        length = 100
        spans = infilling_spans(length, gen(seed))
        ids = list(range(1000, 1000 + length))
        inputs, targets = text_infill(ids, spans, MASK)
        assert targets == ids
        assert inputs.count(MASK) == len(spans)
        # the kept tokens, in order, are exactly those outside the spans
        hidden = {i for start, n in spans for i in range(start, start + n)}
        assert [t for t in inputs if t != MASK] == [t for i, t in enumerate(ids) if i not in hidden]
        for (s1, n1), (s2, _) in zip(spans, spans[1:]):
            assert s2 > s1 + n1  # separated by a kept token
        covered += len(hidden)
        total += length
    assert covered == round(0.3 * 100) * 50  # the budget is filled exactly
