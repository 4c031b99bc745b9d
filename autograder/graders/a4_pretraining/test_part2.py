"""Hidden tests for A4 part 2: pair inputs, next-sentence pairs, masked language modelling.
Oracle: course_lib.training.objectives; statistical parts within 5 sigma over many draws.

Clause -> test: [CLS] A [SEP] B [SEP], types 0 up to the first [SEP] -> test_pair_input_random; b=None ->
test_pair_input_single_segment; one example per consecutive pair in order, IS_NEXT iff B is the next sentence,
NOT_NEXT from another document -> test_nsp_structure_and_labels; probability 1/2 -> test_nsp_half_are_true_next;
ValueError with < 2 non-empty documents -> test_nsp_needs_two_documents; given decisions, random then [MASK], labels
original at chosen, IGNORE_INDEX elsewhere, input not modified -> test_mlm_apply_exact; specials never chosen ->
test_mlm_specials_never_chosen; unchosen tokens unchanged, labels original -> test_mlm_labels_and_unchosen_tokens;
15% / 80% / 10% / 10% -> test_mlm_rates.
"""

import random

import pytest
import torch
from a4_inputs import IGNORE_INDEX, check_exact, check_rate

from autograder.checks import check_list, check_type
from course_lib.training import objectives as ref

CLS, SEP, PAD, MASK, UNK = 101, 102, 0, 103, 100
SPECIALS = [PAD, UNK, CLS, SEP, MASK]


def _check_pair(got, want, what):
    check_type(got, tuple, what)
    if len(got) != 2:
        raise AssertionError(f"{what} must return (ids, token_type_ids)")
    check_list(got[0], want[0], f"{what} ids")
    check_list(got[1], want[1], f"{what} token_type_ids")


@pytest.mark.points(3)
def test_pair_input_random(student, seed):
    """pair_input on random segments (including empty ones) and special ids."""
    rng = random.Random(seed)
    for _ in range(8):
        a = [rng.randint(1000, 5000) for _ in range(rng.randint(0, 8))]
        b = [rng.randint(1000, 5000) for _ in range(rng.randint(0, 8))]
        cls_id, sep_id = rng.sample(range(1, 200), 2)
        _check_pair(student.pair_input(a, b, cls_id, sep_id), ref.pair_input(a, b, cls_id, sep_id), "pair_input(a, b)")


@pytest.mark.points(1)
def test_pair_input_single_segment(student, seed):
    """pair_input(a, None, ...) is [CLS] A [SEP] with all token types 0."""
    a = list(range(seed % 7 + 1))
    _check_pair(student.pair_input(a, None, CLS, SEP), ref.pair_input(a, None, CLS, SEP), "pair_input(a, None)")


def _documents(rng: random.Random, n_docs: int, n_sentences: int):
    # sentence k of document d is [d * 1000 + k, length marker]: where any B came from can be read off
    return [[[d * 1000 + k, rng.randint(1, 9)] for k in range(rng.randint(2, n_sentences))] for d in range(n_docs)]


def _nsp(student, documents, seed):
    got = student.nsp_pairs(documents, seed)
    check_type(got, list, "nsp_pairs")
    expected = [(a, following) for doc in documents for a, following in zip(doc[:-1], doc[1:])]
    if len(got) != len(expected):
        raise AssertionError(f"nsp_pairs returned {len(got)} examples, expected one per consecutive sentence pair")
    for i, (example, (a, _)) in enumerate(zip(got, expected)):
        if type(example) not in (tuple, list) or len(example) != 3:
            raise AssertionError(f"nsp_pairs: example {i} is not (A, B, label)")
        if list(example[0]) != a:
            raise AssertionError(f"nsp_pairs: example {i} has the wrong A (examples follow the documents' order)")
    return got, expected


@pytest.mark.points(3)
def test_nsp_structure_and_labels(student, seed):
    """nsp_pairs: one example per consecutive pair, in order; IS_NEXT exactly when B is A's next sentence,
    NOT_NEXT with B from another document."""
    rng = random.Random(seed)
    documents = _documents(rng, rng.randint(3, 6), 8)
    got, expected = _nsp(student, documents, seed % 10000)
    for i, ((a, b, label), (_, following)) in enumerate(zip(got, expected)):
        if label not in (ref.NSP_IS_NEXT, ref.NSP_RANDOM) or type(label) is not int:
            raise AssertionError(f"nsp_pairs: example {i} has a label that is not 0 or 1")
        if label == ref.NSP_IS_NEXT and list(b) != following:
            raise AssertionError(f"nsp_pairs: example {i} is labelled IS_NEXT but B is not the next sentence")
        if label == ref.NSP_RANDOM and list(b)[0] // 1000 == a[0] // 1000:
            raise AssertionError(f"nsp_pairs: example {i} is labelled NOT_NEXT but B comes from A's document")


@pytest.mark.points(1)
def test_nsp_half_are_true_next(student, seed):
    """nsp_pairs: about half of the examples are IS_NEXT (5 sigma over 600 examples)."""
    documents = [[[d * 1000 + k] for k in range(31)] for d in range(20)]
    got, _ = _nsp(student, documents, seed % 10000)
    check_rate(sum(label == ref.NSP_IS_NEXT for _, _, label in got), len(got), 0.5, "share of IS_NEXT examples")


@pytest.mark.points(1)
def test_nsp_needs_two_documents(student, seed):
    """nsp_pairs raises ValueError with fewer than two non-empty documents."""
    from autograder.engine.session import StudentCodeError

    for documents in ([[[1], [2], [3]]], [[[1], [2]], []]):
        try:
            student.nsp_pairs(documents, seed % 1000)
        except StudentCodeError as err:
            if err.kind != "raised" or "ValueError" not in str(err):
                raise AssertionError("nsp_pairs raised something other than ValueError") from None
        else:
            raise AssertionError("nsp_pairs accepted fewer than two non-empty documents")


def _decisions(rng: torch.Generator, shape):
    chosen = torch.rand(shape, generator=rng) < 0.3
    to_mask = chosen & (torch.rand(shape, generator=rng) < 0.6)
    to_random = chosen & ~to_mask & (torch.rand(shape, generator=rng) < 0.5)
    return chosen, to_mask, to_random


@pytest.mark.points(4)
def test_mlm_apply_exact(student, rng):
    """apply_mlm with given decisions: [MASK], random and unchanged tokens, labels; input_ids not modified."""
    for shape in ((3, 17), (1, 40), (5, 9)):
        ids = torch.randint(1000, 30000, shape, generator=rng)
        chosen, to_mask, to_random = _decisions(rng, shape)
        random_ids = torch.randint(0, 30522, shape, generator=rng)
        want = ref.apply_mlm(ids, chosen, to_mask, to_random, random_ids, MASK)
        got = student.apply_mlm(ids.clone(), chosen, to_mask, to_random, random_ids, MASK)
        check_type(got, tuple, "apply_mlm")
        check_exact(got[0], want[0], "apply_mlm inputs")
        check_exact(got[1], want[1], "apply_mlm labels")


def _mask_tokens(student, seed, rows=300, T=64, V=30522):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, V, (rows, T), generator=g)
    lengths = torch.randint(T // 2, T + 1, (rows,), generator=g)
    ids[:, 0] = CLS
    for r, n in enumerate(lengths.tolist()):
        ids[r, n - 1] = SEP
        ids[r, n:] = PAD
        ids[r, torch.randint(1, max(n - 1, 2), (2,), generator=g)] = UNK  # unknown words are special too
    got = student.mask_tokens(ids.clone(), SPECIALS, MASK, V, seed % 100000)
    check_type(got, tuple, "mask_tokens")
    inputs = check_exact_shape(got[0], ids, "mask_tokens inputs")
    labels = check_exact_shape(got[1], ids, "mask_tokens labels")
    special = torch.isin(ids, torch.tensor(SPECIALS))
    return ids, inputs, labels, special, V


def check_exact_shape(got, like, what):
    from autograder.checks import check_tensor

    return check_tensor(got, what, shape=tuple(like.shape), dtype=like.dtype)


@pytest.mark.points(2)
def test_mlm_specials_never_chosen(student, seed):
    """mask_tokens never chooses [CLS], [SEP], [PAD], [UNK] or [MASK]: unchanged, with label IGNORE_INDEX."""
    ids, inputs, labels, special, _ = _mask_tokens(student, seed)
    if (labels[special] != IGNORE_INDEX).any() or (inputs[special] != ids[special]).any():
        raise AssertionError("mask_tokens chose a special token")


@pytest.mark.points(2)
def test_mlm_labels_and_unchosen_tokens(student, seed):
    """mask_tokens: labels are the original ids where chosen and IGNORE_INDEX elsewhere; unchosen inputs unchanged."""
    ids, inputs, labels, _, _ = _mask_tokens(student, seed + 1)
    chosen = labels != IGNORE_INDEX
    if (labels[chosen] != ids[chosen]).any():
        raise AssertionError("mask_tokens: a label is not the original token id")
    if (inputs[~chosen] != ids[~chosen]).any():
        raise AssertionError("mask_tokens changed a token that carries no label")


@pytest.mark.points(3)
def test_mlm_rates(student, seed):
    """mask_tokens: 15% of non-special tokens chosen; of those 80% [MASK], 10% random, 10% unchanged (5 sigma)."""
    ids, inputs, labels, special, V = _mask_tokens(student, seed + 2)
    chosen = labels != IGNORE_INDEX
    n_chosen = int(chosen.sum())
    check_rate(n_chosen, int((~special).sum()), 0.15, "share of non-special tokens chosen")
    out, orig = inputs[chosen], ids[chosen]
    check_rate(int((out == MASK).sum()), n_chosen, 0.8 + 0.1 / V, "share of chosen tokens replaced by [MASK]")
    check_rate(int((out == orig).sum()), n_chosen, 0.1 + 0.1 / V, "share of chosen tokens left unchanged")
