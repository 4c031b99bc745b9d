"""In-context learning: k-shot prompts, rank classification, contextual calibration.

**k-shot prompting** (Brown et al. 2020): the task is shown by ``k`` solved examples written with one template,
followed by the query with its label left out; the model is not trained on the task at all.

**Rank classification**: instead of letting the model generate freely, score every candidate label ``y`` by
the log-probability of its continuation tokens given the prompt,

    score(y) = Σ_t log p(y_t | prompt, y_<t)        (the prompt's own tokens are never scored)

and predict the highest. Label probabilities are the scores renormalised over the candidates.

**Contextual calibration** (Zhao et al. 2021, "Calibrate before use"): a prompt biases the model towards some
labels (the majority or most recent label in the examples, common tokens). Measure that bias with
*content-free* queries ("N/A", "", "[MASK]") in the same prompt: their label probabilities ``p_cf`` should be
uniform but are not. Then divide every prediction's probabilities by ``p_cf`` and renormalise (the paper's
``W = diag(p_cf)^-1, b = 0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib.errors import CourseError


def k_shot_prompt(
    examples: Sequence[tuple[str, str]],
    query: str,
    template: str = "{input} {label}",
    separator: str = "\n",
    instruction: str = "",
) -> str:
    """The prompt for ``query`` after the solved ``examples`` ``[(input, label), ...]``, each written with
    ``template``; the query's copy of the template stops where ``{label}`` would go (so the template must end
    with ``{label}``). ``instruction``, if given, comes first, followed by ``separator``.

    >>> k_shot_prompt([("great film", "positive")], "dull plot", "Review: {input}\\nSentiment: {label}")
    'Review: great film\\nSentiment: positive\\nReview: dull plot\\nSentiment:'
    """
    if "{input}" not in template or not template.endswith("{label}"):
        raise CourseError(f"the template must contain {{input}} and end with {{label}}, got {template!r}")
    head = template[: -len("{label}")].rstrip(" ")  # the label's leading space belongs to the label
    shots = [template.format(input=x, label=y) for x, y in examples]
    parts = ([instruction] if instruction else []) + shots + [head.format(input=query)]
    return separator.join(parts)


def _logits(model: nn.Module, idx: Tensor) -> Tensor:
    out = model(idx)
    return out[0] if isinstance(out, tuple) else out  # GPT returns (logits, loss)


@torch.no_grad()
def continuation_logprobs(model: nn.Module, prompt: Sequence[int], continuations: Sequence[Sequence[int]]) -> Tensor:
    """Summed log-probability of each continuation's tokens after ``prompt``: ``(n_continuations,)`` float64.

    All candidates run as one batch ``prompt + continuation`` (right-padded). Only the continuation's tokens are
    scored: the logits at position ``t`` predict token ``t + 1``, so continuation token ``j`` is read from the
    logits at ``len(prompt) - 1 + j``. Longer than the model's ``block_size``, the oldest tokens are cropped: one
    window (the last ``block_size`` inputs) serves every scored token.
    """
    if len(prompt) == 0:
        raise CourseError("the prompt needs at least one token (e.g. a beginning-of-sequence token)")
    if len(continuations) == 0 or any(len(c) == 0 for c in continuations):
        raise CourseError("give at least one continuation, each with at least one token")
    device = next(model.parameters()).device
    P = len(prompt)
    lengths = torch.tensor([len(c) for c in continuations], device=device)
    T = P + int(lengths.max())
    seqs = torch.zeros(len(continuations), T, dtype=torch.long, device=device)
    seqs[:, :P] = torch.as_tensor(list(prompt), device=device)
    for i, cont in enumerate(continuations):
        seqs[i, P : P + len(cont)] = torch.as_tensor(list(cont), device=device)
    inputs, targets = seqs[:, :-1], seqs[:, 1:]  # (L, T-1): logits at t predict token t+1
    block_size = getattr(getattr(model, "config", None), "block_size", None)
    crop = max(0, inputs.size(1) - block_size) if block_size else 0
    if crop > P - 1:  # cropping would cut off a scored token (or the token right before the first one)
        raise CourseError(f"a continuation is too long for the model's block_size {block_size}")
    was_training = model.training
    model.eval()
    try:
        logprobs = torch.log_softmax(_logits(model, inputs[:, crop:]).double(), dim=-1)  # (L, T-1-crop, V)
    finally:
        model.train(was_training)
    token_logprobs = logprobs.gather(-1, targets[:, crop:, None])[..., 0]  # (L, T-1-crop)
    position = torch.arange(crop, T - 1, device=device)  # where each column sits in the uncropped sequence
    scored = (position >= P - 1) & (position < P - 1 + lengths[:, None])  # continuation tokens only
    return torch.where(scored, token_logprobs, 0.0).sum(dim=-1).cpu()


def label_probs(scores: Tensor) -> Tensor:
    """Renormalise label scores (summed log-probabilities, ``(..., L)``) into a distribution over the labels."""
    return torch.softmax(scores.double(), dim=-1)


def calibrate(probs: Tensor, p_cf: Tensor) -> Tensor:
    """Contextual calibration: ``probs (..., L) / p_cf (L,)``, renormalised over the labels."""
    if p_cf.shape[-1] != probs.shape[-1] or (p_cf <= 0).any():
        raise CourseError(f"p_cf must be {probs.shape[-1]} positive label probabilities, got {tuple(p_cf.shape)}")
    weighted = probs.double() / p_cf.double()
    return weighted / weighted.sum(dim=-1, keepdim=True)


def content_free_probs(model: nn.Module, prompts: Sequence[Sequence[int]], labels: Sequence[Sequence[int]]) -> Tensor:
    """``p_cf (L,)``: the label distribution averaged over prompts whose query is content-free (Zhao et al.
    use "N/A", "" and "[MASK]" in place of the test input), renormalised."""
    if len(prompts) == 0:
        raise CourseError("give at least one content-free prompt")
    mean = torch.stack([label_probs(continuation_logprobs(model, p, labels)) for p in prompts]).mean(dim=0)
    return mean / mean.sum()


@dataclass
class Classification:
    """One rank-classification decision: ``scores`` and ``probs`` are ``(n_labels,)`` float64."""

    scores: Tensor  # summed log-probability of each label's continuation tokens
    probs: Tensor  # scores renormalised over the labels (calibrated when p_cf was given)
    prediction: int  # index of the most probable label


def classify(
    model: nn.Module, prompt: Sequence[int], labels: Sequence[Sequence[int]], p_cf: Tensor | None = None
) -> Classification:
    """Rank classification of one prompt among the candidate ``labels`` (token ids), optionally calibrated."""
    scores = continuation_logprobs(model, prompt, labels)
    probs = label_probs(scores)
    if p_cf is not None:
        probs = calibrate(probs, p_cf)
    return Classification(scores, probs, int(probs.argmax()))
