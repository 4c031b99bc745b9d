"""Hidden tests for A5 part 4: k-shot prompts, rank classification on continuation tokens, contextual calibration.
Oracles: course_lib.evaluation (trusted side) and float64 recomputations of the chain rule and of Zhao et al.'s
calibration.

Clause -> test:
- k_shot_prompt: each example through the template, then the query, joined by separator (templates and
  separators other than the defaults) -> test_icl_k_shot_prompt
- the query's template cut before {label} and the spaces before it removed; zero-shot is the query alone
  -> test_icl_k_shot_prompt_zero_shot_and_label_spacing
- continuation_logprob: Σ_{t >= n_prompt} log p(tokens_t | tokens_<t), logits at t - 1 predicting token t (no
  off-by-one), a float -> test_icl_continuation_logprob_matches_the_chain_rule
- the prompt's tokens are never scored -> test_icl_continuation_logprob_ignores_the_prompt_tokens
- content_free_probs: softmax of each row over the labels, averaged, renormalised -> test_icl_content_free_probs
- calibrate: divide by p_cf elementwise, renormalise each row -> test_icl_calibrate
- calibration undoes the content-free bias (p_cf calibrated by itself is uniform, rows sum to 1)
  -> test_icl_calibration_removes_the_content_free_bias
"""

import math
import random

import pytest
import torch

from autograder.checks import check_close, check_float, check_type
from course_lib.evaluation import k_shot_prompt

WORDS = ["great", "film", "dull", "plot", "2+2", "café", "naïve", "x", "the end", "Paris", "?", "42"]
TEMPLATES = ["{input} {label}", "Q: {input}\nA: {label}", "Review: {input}\nSentiment:  {label}", "{input}={label}"]


def _example(rng: random.Random) -> tuple[str, str]:
    return " ".join(rng.sample(WORDS, rng.randint(1, 3))), rng.choice(["positive", "negative", "4", "France"])


def _check_prompt(student, examples, query, template, separator):
    got = student.k_shot_prompt(examples, query, template, separator)
    check_type(got, str, "k_shot_prompt")
    want = k_shot_prompt(examples, query, template, separator)
    if got != want:
        where = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise AssertionError(
            f"k_shot_prompt with {len(examples)} examples and template {template!r} differs from the expected prompt "
            f"at character {where} (of {len(want)})"
        )


@pytest.mark.points(3)
def test_icl_k_shot_prompt(student, seed):
    """k_shot_prompt with 1 to 5 random examples, several templates and separators."""
    rng = random.Random(seed)
    for template in TEMPLATES:
        for separator in ("\n", "\n\n", " | "):
            examples = [_example(rng) for _ in range(rng.randint(1, 5))]
            _check_prompt(student, examples, _example(rng)[0], template, separator)


@pytest.mark.points(2)
def test_icl_k_shot_prompt_zero_shot_and_label_spacing(student, seed):
    """Zero-shot (the query alone) and templates with spaces before {label}: the query ends without them."""
    rng = random.Random(seed)
    for template in ("{input} => {label}", "Sentence: {input}\nLabel:   {label}", "{input}{label}"):
        _check_prompt(student, [], _example(rng)[0], template, "\n")
        _check_prompt(student, [_example(rng)], _example(rng)[0], template, "\n")


def _chain_rule(logits: torch.Tensor, tokens: list[int], n_prompt: int) -> float:
    """log p of each continuation token from the row before it, one at a time, in float64."""
    total = 0.0
    for t in range(n_prompt, len(tokens)):
        row = logits[t - 1].double()
        total += (row[tokens[t]] - torch.logsumexp(row, dim=0)).item()
    return total


@pytest.mark.points(4)
def test_icl_continuation_logprob_matches_the_chain_rule(student, rng):
    """continuation_logprob on random logits: the sum of log p(token t | tokens before t) over the label only."""
    for T, V, n_prompt in ((6, 9, 3), (10, 7, 1), (8, 11, 7), (12, 5, 4)):
        logits = torch.randn(T, V, generator=rng, dtype=torch.float64) * 3
        tokens = torch.randint(0, V, (T,), generator=rng)
        got = student.continuation_logprob(logits, tokens, n_prompt)
        check_float(
            got,
            _chain_rule(logits, tokens.tolist(), n_prompt),
            f"continuation_logprob(T={T}, n_prompt={n_prompt})",
            rel=1e-9,
            abs_=1e-9,
        )


@pytest.mark.points(3)
def test_icl_continuation_logprob_ignores_the_prompt_tokens(student, rng):
    """Changing the prompt's token ids (same logits) leaves the score unchanged; the label's ids change it."""
    T, V, n_prompt = 9, 8, 5
    logits = torch.randn(T, V, generator=rng, dtype=torch.float64) * 3
    tokens = torch.randint(0, V, (T,), generator=rng)
    base = student.continuation_logprob(logits, tokens, n_prompt)
    check_float(base, _chain_rule(logits, tokens.tolist(), n_prompt), "continuation_logprob", rel=1e-9, abs_=1e-9)
    other_prompt = tokens.clone()
    other_prompt[:n_prompt] = (tokens[:n_prompt] + 1) % V
    check_float(
        student.continuation_logprob(logits, other_prompt, n_prompt),
        base,
        "continuation_logprob after changing only prompt tokens",
        rel=1e-9,
        abs_=1e-9,
    )


def _label_probs(scores: torch.Tensor) -> torch.Tensor:
    return torch.softmax(scores.double(), dim=-1)


@pytest.mark.points(3)
def test_icl_content_free_probs(student, rng):
    """content_free_probs: each content-free query's scores renormalised over the labels, averaged, renormalised."""
    for M, L in ((3, 2), (1, 4), (5, 3)):
        scores = torch.randn(M, L, generator=rng, dtype=torch.float64) * 2 - 5  # summed log-probabilities
        want = _label_probs(scores).mean(dim=0)
        check_close(student.content_free_probs(scores), want / want.sum(), f"content_free_probs ({M}x{L})", atol=1e-12)


@pytest.mark.points(3)
def test_icl_calibrate(student, rng):
    """calibrate(probs, p_cf) = probs @ diag(p_cf)^-1, each row renormalised (Zhao et al. 2021)."""
    for N, L in ((4, 2), (6, 5), (1, 3)):
        probs = _label_probs(torch.randn(N, L, generator=rng, dtype=torch.float64))
        p_cf = _label_probs(torch.randn(L, generator=rng, dtype=torch.float64))
        want = probs @ torch.diag(1 / p_cf)
        check_close(
            student.calibrate(probs, p_cf), want / want.sum(-1, keepdim=True), f"calibrate ({N}x{L})", atol=1e-12
        )


@pytest.mark.points(2)
def test_icl_calibration_removes_the_content_free_bias(student, rng):
    """After calibration the content-free queries' own average prediction is uniform over the labels."""
    L = 4
    scores = torch.randn(3, L, generator=rng, dtype=torch.float64) * 2
    p_cf = student.content_free_probs(scores)
    calibrated = student.calibrate(p_cf[None, :], p_cf)
    check_close(calibrated, torch.full((1, L), 1 / L, dtype=torch.float64), "calibrate(p_cf, p_cf)", atol=1e-12)
    if not math.isclose(float(calibrated.sum()), 1.0, abs_tol=1e-12):
        raise AssertionError("calibrated probabilities do not sum to 1")
