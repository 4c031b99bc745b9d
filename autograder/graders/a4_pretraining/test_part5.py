"""Hidden tests for A4 part 5: causal-LM examples with packing, T5 span corruption.
Oracle: course_lib.training.objectives (pack_causal, span_corrupt); properties of T5's noise mask.

Clause -> test: blocks of the stream, labels shifted by one, tail dropped, int64 -> test_causal_random_documents;
EOS after every document (empty and last ones too) -> test_causal_eos_after_every_document; ValueError when no block
-> test_causal_too_short_raises; one sentinel per span, counting down, final sentinel and EOS ->
test_span_corruption_random_masks and test_span_corruption_edges (spans at both ends, adjacent spans, no noise,
all noise); exact noise count, span count, kept token first -> test_span_corruption_random_mask_counts; random
segmentation across seeds -> test_span_corruption_random_mask_is_random.
"""

import random

import pytest
import torch
from a4_inputs import check_exact

from autograder.checks import check_list, check_tensor, check_type
from autograder.engine.session import StudentCodeError
from course_lib.training import objectives as ref


def _documents(rng: random.Random, eos: int):
    return [[rng.randint(eos + 1, eos + 500) for _ in range(rng.randint(0, 12))] for _ in range(rng.randint(1, 8))]


def _causal(student, documents, block_size, eos):
    want = ref.pack_causal(documents, block_size, eos)
    got = student.causal_lm_examples(documents, block_size, eos)
    check_type(got, tuple, "causal_lm_examples")
    check_exact(got[0], want[0], f"causal_lm_examples inputs (block_size={block_size})")
    check_exact(got[1], want[1], f"causal_lm_examples labels (block_size={block_size})")


@pytest.mark.points(5)
def test_causal_random_documents(student, seed):
    """causal_lm_examples on random documents (some empty) and block sizes: inputs and next-token labels."""
    rng = random.Random(seed)
    done = 0
    while done < 8:
        eos = rng.randint(0, 5)
        documents, block_size = _documents(rng, eos), rng.randint(1, 9)
        if (sum(len(d) + 1 for d in documents) - 1) // block_size == 0:
            continue
        _causal(student, documents, block_size, eos)
        done += 1


@pytest.mark.points(2)
def test_causal_eos_after_every_document(student, seed):
    """causal_lm_examples puts EOS after every document, including empty ones and the last one."""
    eos = seed % 7
    _causal(student, [[10, 11], [], [12], [13, 14, 15]], 2, eos)
    _causal(student, [[20, 21, 22]], 3, eos)  # the last document's EOS is the last label


@pytest.mark.points(1)
def test_causal_too_short_raises(student, seed):
    """causal_lm_examples raises ValueError when the documents do not fill one block."""
    try:
        student.causal_lm_examples([[5, 6]], 3 + seed % 5, 0)
    except StudentCodeError as err:
        if err.kind != "raised" or "ValueError" not in str(err):
            raise AssertionError("causal_lm_examples raised something other than ValueError") from None
    else:
        raise AssertionError("causal_lm_examples accepted documents that do not fill one block")


def _span_case(student, ids, mask, vocab_size, eos, what):
    want = ref.span_corrupt(ids, mask, vocab_size, eos)
    got = student.span_corrupt(ids, mask, vocab_size, eos)
    check_type(got, tuple, "span_corrupt")
    if len(got) != 2:
        raise AssertionError("span_corrupt must return (inputs, targets)")
    check_list(got[0], want[0], f"span_corrupt inputs ({what})")
    check_list(got[1], want[1], f"span_corrupt targets ({what})")


@pytest.mark.points(5)
def test_span_corruption_random_masks(student, seed):
    """span_corrupt on random ids and random masks (spans of length 1 to 5) with vocabularies of 100 to 32100."""
    rng = random.Random(seed)
    for _ in range(10):
        length = rng.randint(5, 60)
        mask = torch.tensor([rng.random() < 0.3 for _ in range(length)])
        vocab_size = rng.choice([100, 1000, 32100])
        ids = [rng.randint(2, vocab_size - 30) for _ in range(length)]
        _span_case(student, ids, mask, vocab_size, 1, f"length {length}")


@pytest.mark.points(2)
def test_span_corruption_edges(student, seed):
    """span_corrupt with spans at the start and the end, adjacent one-token spans, and a mask with no noise."""
    rng = random.Random(seed)
    ids = [rng.randint(10, 90) for _ in range(8)]
    for pattern in ("11000011", "10101010", "01111110", "00000000", "11111111"):
        mask = torch.tensor([c == "1" for c in pattern])
        _span_case(student, ids, mask, 100, 1, f"mask {pattern}")


def _mask(student, length, seed, **kwargs):
    got = student.random_spans_mask(length, seed, **kwargs)
    return check_tensor(got, f"random_spans_mask({length})", shape=(length,), dtype=torch.bool)


@pytest.mark.points(3)
def test_span_corruption_random_mask_counts(student, seed):
    """random_spans_mask: exactly round(length * density) noise tokens in round(n_noise / mean) spans, a kept
    token first, for lengths 10 to 600 and densities 0.15 and 0.3."""
    rng = random.Random(seed)
    for _ in range(12):
        length, density, mean = rng.randint(10, 600), rng.choice([0.15, 0.3]), rng.choice([3.0, 2.0])
        mask = _mask(student, length, rng.randint(0, 10**6), noise_density=density, mean_span_length=mean)
        n_noise = min(max(round(length * density), 1), length - 1)
        n_spans = max(min(round(n_noise / mean), n_noise, length - n_noise), 1)
        starts = int(mask[0]) + int((mask[1:] & ~mask[:-1]).sum())
        if int(mask.sum()) != n_noise:
            raise AssertionError(f"random_spans_mask({length}) has the wrong number of noise tokens")
        if starts != n_spans:
            raise AssertionError(f"random_spans_mask({length}) has the wrong number of spans")
        if mask[0]:
            raise AssertionError("random_spans_mask must start with a kept token")


@pytest.mark.points(2)
def test_span_corruption_random_mask_is_random(student, seed):
    """random_spans_mask: different seeds give different masks, and span lengths vary (not all equal)."""
    masks = [_mask(student, 200, seed % 10**6 + k) for k in range(6)]
    if all(torch.equal(masks[0], m) for m in masks[1:]):
        raise AssertionError("random_spans_mask gives the same mask for different seeds")
    lengths = set()
    for mask in masks:
        run = 0
        for value in [*mask.tolist(), False]:
            if value:
                run += 1
            elif run:
                lengths.add(run)
                run = 0
    if len(lengths) < 2:
        raise AssertionError("random_spans_mask: every span has the same length; span lengths should be random")
