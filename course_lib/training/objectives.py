"""Pretraining objectives: how raw token ids become (input, target) pairs. One function per objective.

- :func:`mask_tokens`: BERT's masked language modelling, 80/10/10 (Devlin et al. 2019, section 3.1);
- :func:`nsp_pairs` and :func:`pair_input`: next-sentence prediction and ``[CLS] A [SEP] B [SEP]`` inputs;
- :func:`pack_causal`: GPT's causal language modelling on documents packed into fixed blocks (Radford et al. 2018);
- :func:`span_corrupt`: T5's span corruption with sentinels (Raffel et al. 2020, section 3.1.4);
- :func:`text_infill`: BART's text infilling (Lewis et al. 2020, section 2.2).

Every random choice comes from a ``torch.Generator`` passed in, so a seed fixes the output; each objective is
split into a *sampler* (which tokens or spans) and a deterministic *apply* step, which tests check exactly.
Positions that carry no loss have label ``IGNORE_INDEX`` (-100), which ``F.cross_entropy`` skips.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch
from torch import Tensor

IGNORE_INDEX = -100
NSP_IS_NEXT, NSP_RANDOM = 0, 1  # Hugging Face's convention for next_sentence_label


# --- BERT: masked language modelling -------------------------------------------------------------------------


def mask_tokens(
    input_ids: Tensor,
    special_ids: Collection[int],
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
) -> tuple[Tensor, Tensor]:
    """BERT's corruption: ``input_ids (..., T)`` -> ``(inputs, labels)``, both ``(..., T)``.

    Each non-special token is *chosen* with probability ``mlm_probability``; special tokens never are. A chosen
    token is replaced by ``[MASK]`` with probability 0.8; otherwise (0.2) by a random token with conditional
    probability 0.5 (so 0.1 overall), else kept (0.1). Why not always ``[MASK]``: fine-tuning never sees
    ``[MASK]``, so the model must also predict tokens it can see, and cannot trust that visible tokens are right.
    ``labels`` hold the original id at chosen positions and ``IGNORE_INDEX`` elsewhere: the loss is on the chosen
    tokens only, whatever happened to them.
    """
    special = torch.isin(input_ids, torch.tensor(sorted(special_ids), dtype=input_ids.dtype, device=input_ids.device))
    draw = lambda: torch.rand(input_ids.shape, generator=generator).to(input_ids.device)  # noqa: E731
    chosen = (draw() < mlm_probability) & ~special
    to_mask = chosen & (draw() < 0.8)
    to_random = chosen & ~to_mask & (draw() < 0.5)  # P(random | chosen, not masked) = 0.1 / 0.2
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator).to(input_ids.device)
    return apply_mlm(input_ids, chosen, to_mask, to_random, random_ids, mask_id)


def apply_mlm(
    input_ids: Tensor, chosen: Tensor, to_mask: Tensor, to_random: Tensor, random_ids: Tensor, mask_id: int
) -> tuple[Tensor, Tensor]:
    """The deterministic half of :func:`mask_tokens`, given its boolean decisions (all ``(..., T)``)."""
    if (to_mask & to_random).any() or ((to_mask | to_random) & ~chosen).any():
        raise ValueError("to_mask and to_random must be disjoint subsets of chosen")
    inputs = torch.where(to_mask, torch.full_like(input_ids, mask_id), input_ids)
    inputs = torch.where(to_random, random_ids, inputs)
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    return inputs, labels


# --- BERT: sentence pairs and next-sentence prediction ---------------------------------------------------------


def pair_input(a: Sequence[int], b: Sequence[int] | None, cls_id: int, sep_id: int) -> tuple[list[int], list[int]]:
    """``[CLS] A [SEP] B [SEP]`` and its token types: 0 for ``[CLS]``, A and the first ``[SEP]``; 1 for B and its
    ``[SEP]``. Without ``b``: ``[CLS] A [SEP]``, all type 0."""
    ids = [cls_id, *a, sep_id]
    types = [0] * len(ids)
    if b is not None:
        ids += [*b, sep_id]
        types += [1] * (len(b) + 1)
    return ids, types


def nsp_pairs(
    documents: Sequence[Sequence[Sequence[int]]], generator: torch.Generator
) -> list[tuple[list[int], list[int], int]]:
    """Next-sentence-prediction examples ``(A, B, label)`` from documents given as lists of sentences (token ids).

    For each pair of consecutive sentences ``(A, next)`` of a document: with probability 0.5 ``B = next`` and
    label ``NSP_IS_NEXT``; otherwise ``B`` is a random sentence of a *different* document, label ``NSP_RANDOM``
    (from the same document it could be a near neighbour, too easy to confuse with a true next sentence).
    """
    if sum(len(doc) > 0 for doc in documents) < 2:
        raise ValueError("nsp_pairs needs at least two non-empty documents (negatives come from another one)")
    examples = []
    for d, doc in enumerate(documents):
        for a, following in zip(doc[:-1], doc[1:]):
            if torch.rand((), generator=generator) < 0.5:
                examples.append((list(a), list(following), NSP_IS_NEXT))
                continue
            other = d
            while other == d or not documents[other]:
                other = int(torch.randint(len(documents), (), generator=generator))
            pick = int(torch.randint(len(documents[other]), (), generator=generator))
            examples.append((list(a), list(documents[other][pick]), NSP_RANDOM))
    return examples


# --- GPT: causal language modelling with packing ---------------------------------------------------------------


def pack_causal(documents: Sequence[Sequence[int]], block_size: int, eos_id: int) -> tuple[Tensor, Tensor]:
    """Concatenate documents, each followed by ``eos_id``, and cut the stream into ``(N, block_size)`` examples.

    ``inputs[i] = stream[i*B : i*B + B]`` and ``labels[i] = stream[i*B + 1 : i*B + B + 1]`` (``B = block_size``):
    the target at each position is the *next* token, so every position is a training example and no padding is
    wasted. EOS marks where one document ends, so the model learns to stop and not to blend documents; the tail
    that does not fill a block is dropped.
    """
    stream = [token for doc in documents for token in (*doc, eos_id)]
    n_blocks = (len(stream) - 1) // block_size
    if n_blocks == 0:
        raise ValueError(f"{len(stream)} tokens (with EOS) do not fill one block of {block_size} + 1")
    stream_t = torch.tensor(stream[: n_blocks * block_size + 1])
    return stream_t[:-1].view(n_blocks, block_size), stream_t[1:].view(n_blocks, block_size)


# --- T5: span corruption ---------------------------------------------------------------------------------------


def sentinel_ids(vocab_size: int, n: int) -> list[int]:
    """T5's sentinels ``<extra_id_0>, <extra_id_1>, ...`` are the *last* ids of the vocabulary, counting down."""
    return [vocab_size - 1 - i for i in range(n)]


def random_spans_mask(
    length: int, generator: torch.Generator, noise_density: float = 0.15, mean_span_length: float = 3.0
) -> Tensor:
    """T5's noise mask: a bool ``(length,)`` with ``round(length * noise_density)`` True tokens in spans.

    The noise tokens are cut into ``n_spans = round(n_noise / mean_span_length)`` spans (at least 1), the other
    tokens into ``n_spans`` runs, each of random length >= 1; runs and spans alternate, a run first, so a span
    never starts the sequence and ``n_spans`` is exact (as in T5's ``random_spans_noise_mask``).
    """
    n_noise = min(max(round(length * noise_density), 1), length - 1)
    n_spans = max(min(round(n_noise / mean_span_length), n_noise, length - n_noise), 1)
    noise_lengths = _random_segmentation(n_noise, n_spans, generator)
    keep_lengths = _random_segmentation(length - n_noise, n_spans, generator)
    mask = []
    for keep, noise in zip(keep_lengths, noise_lengths, strict=True):
        mask += [False] * keep + [True] * noise
    return torch.tensor(mask)


def _random_segmentation(n_items: int, n_segments: int, generator: torch.Generator) -> list[int]:
    """Split ``n_items`` into ``n_segments`` random positive lengths (cut points drawn without replacement)."""
    cuts = (torch.randperm(n_items - 1, generator=generator)[: n_segments - 1] + 1).sort().values.tolist()
    bounds = [0, *cuts, n_items]
    return [b - a for a, b in zip(bounds[:-1], bounds[1:])]


def span_corrupt(ids: Sequence[int], noise_mask: Tensor, vocab_size: int, eos_id: int) -> tuple[list[int], list[int]]:
    """T5's ``(inputs, targets)`` given the noise mask ``(len(ids),)``.

    Each noise span becomes one sentinel in the inputs; the targets list each sentinel followed by the span it
    hides, then one final sentinel and EOS. Sentinels count down from the end of the vocabulary. Example with
    ``vocab_size = 100``: ids ``[a b c d e f]``, mask on ``b c`` and ``e`` -> inputs ``[a 99 d 98 f EOS]``,
    targets ``[99 b c 98 e 97 EOS]``.
    """
    if len(ids) != len(noise_mask):
        raise ValueError(f"noise_mask has {len(noise_mask)} entries for {len(ids)} ids")
    noise = noise_mask.tolist()
    starts = {i for i, is_noise in enumerate(noise) if is_noise and (i == 0 or not noise[i - 1])}
    sentinels = iter(sentinel_ids(vocab_size, len(starts) + 1))
    inputs: list[int] = []
    targets: list[int] = []
    for i, (token, is_noise) in enumerate(zip(ids, noise, strict=True)):
        if not is_noise:
            inputs.append(token)
            continue
        if i in starts:
            sentinel = next(sentinels)
            inputs.append(sentinel)
            targets.append(sentinel)
        targets.append(token)
    return [*inputs, eos_id], [*targets, next(sentinels), eos_id]


# --- BART: text infilling --------------------------------------------------------------------------------------


def infilling_spans(
    length: int, generator: torch.Generator, mask_ratio: float = 0.3, poisson_lambda: float = 3.0
) -> list[tuple[int, int]]:
    """BART's spans ``(start, span_length)``, sorted and separated by at least one kept token.

    Span lengths are drawn from Poisson(``poisson_lambda``) until about ``mask_ratio`` of the tokens are covered;
    a length-0 span is an *insertion* point (the model must learn that nothing is missing there).
    """
    budget = round(length * mask_ratio)
    covered = torch.zeros(length + 1, dtype=torch.bool)  # one extra slot: an insertion may sit at the very end
    spans: list[tuple[int, int]] = []
    rate = torch.tensor(float(poisson_lambda))
    for _ in range(20 * length):  # rejection sampling of starts; plenty of attempts for any sensible ratio
        used = sum(n for _, n in spans)
        if used >= budget:
            break
        n = min(int(torch.poisson(rate, generator=generator)), budget - used)
        start = int(torch.randint(length - n + 1, (), generator=generator))
        lo, hi = max(start - 1, 0), min(start + n + 1, length + 1)
        if covered[lo:hi].any() or (n == 0 and any(s == start for s, _ in spans)):
            continue  # would touch another span: two masks in a row would merge their meaning
        covered[start : start + max(n, 1)] = True
        spans.append((start, n))
    return sorted(spans)


def text_infill(ids: Sequence[int], spans: Sequence[tuple[int, int]], mask_id: int) -> tuple[list[int], list[int]]:
    """BART's ``(inputs, targets)``: each span becomes a single ``[MASK]`` (so the model must also guess how many
    tokens are missing); the targets are the original sequence, which the decoder reconstructs in full."""
    inputs: list[int] = []
    position = 0
    for start, n in sorted(spans):
        if start < position:
            raise ValueError(f"spans overlap or touch at position {start}")
        inputs += [*ids[position:start], mask_id]
        position = start + n
    return [*inputs, *ids[position:]], list(ids)
