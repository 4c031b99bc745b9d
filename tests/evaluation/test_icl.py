"""ICL harness: prompts from a template, label scores against a float64 recomputation of the chain rule,
calibration against Zhao et al.'s formula."""

import pytest
import torch

from course_lib.errors import CourseError
from course_lib.evaluation import (
    calibrate,
    classify,
    content_free_probs,
    continuation_logprobs,
    k_shot_prompt,
    label_probs,
)
from course_lib.models.gpt import GPT, GPTConfig


def tiny_gpt(block_size=24, seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=11, block_size=block_size, n_layers=2, n_heads=2, d_model=16)).double().eval()


def chain_rule_logprob(model, prompt, continuation):
    """One continuation at a time, one token at a time: the log-probability by its definition."""
    total = 0.0
    seq = list(prompt)
    for token in continuation:
        context = torch.tensor([seq[-model.config.block_size :]])
        logits, _ = model(context)
        total += torch.log_softmax(logits[0, -1].double(), -1)[token].item()
        seq.append(token)
    return total


def test_k_shot_prompt_follows_the_template():
    prompt = k_shot_prompt(
        [("the film was great", "positive"), ("a dull plot", "negative")],
        "loved it",
        template="Review: {input}\nSentiment: {label}",
        separator="\n\n",
        instruction="Classify the sentiment.",
    )
    assert prompt == (
        "Classify the sentiment.\n\nReview: the film was great\nSentiment: positive\n\n"
        "Review: a dull plot\nSentiment: negative\n\nReview: loved it\nSentiment:"
    )
    assert k_shot_prompt([], "q", "{input} = {label}") == "q ="  # zero-shot: the query alone


def test_template_must_end_with_the_label():
    with pytest.raises(CourseError, match="end with"):
        k_shot_prompt([], "q", "{label} is {input}")


@pytest.mark.parametrize("prompt_length", [1, 5, 20])
def test_continuation_logprobs_match_the_chain_rule(prompt_length):
    model = tiny_gpt()
    g = torch.Generator().manual_seed(prompt_length)
    prompt = torch.randint(0, 11, (prompt_length,), generator=g).tolist()
    continuations = [[3], [4, 9], [0, 0, 7, 1], [10, 2, 5]]  # different lengths: padding must not count
    got = continuation_logprobs(model, prompt, continuations)
    want = torch.tensor([chain_rule_logprob(model, prompt, c) for c in continuations], dtype=torch.float64)
    assert got.dtype == torch.float64 and got.shape == (4,)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


def test_prompt_tokens_are_not_scored():
    # the same continuation after two prompts that differ only in their first token: a label score that
    # (wrongly) included prompt tokens would change by that token's own log-probability too
    model = tiny_gpt(block_size=4)  # prompt of 5 + continuation of 2 > block_size: the oldest are cropped
    a = continuation_logprobs(model, [1, 2, 3, 4, 5], [[6, 7]])
    b = continuation_logprobs(model, [9, 2, 3, 4, 5], [[6, 7]])
    torch.testing.assert_close(a, b)  # token 0 is cropped away: it cannot matter
    # one window for the whole scored sequence: its last block_size tokens, [3, 4, 5, 6] -> 7
    assert a.item() == pytest.approx(chain_rule_logprob(model, [3, 4, 5], [6, 7]), abs=1e-9)


def test_continuation_longer_than_the_window_is_an_error():
    with pytest.raises(CourseError, match="block_size"):
        continuation_logprobs(tiny_gpt(block_size=4), [1], [[1, 2, 3, 4, 5]])
    with pytest.raises(CourseError):
        continuation_logprobs(tiny_gpt(), [], [[1]])


def test_calibration_is_zhao_et_al_diagonal_reweighting():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1]], dtype=torch.float64)
    p_cf = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    W = torch.diag(1 / p_cf)  # the paper's W = diag(p_cf)^-1, b = 0, then softmax-free renormalisation
    want = probs @ W.T
    want = want / want.sum(-1, keepdim=True)
    torch.testing.assert_close(calibrate(probs, p_cf), want)
    # a prompt whose bias is exactly p_cf becomes uniform
    torch.testing.assert_close(calibrate(p_cf, p_cf), torch.full((3,), 1 / 3, dtype=torch.float64))


def test_classify_with_content_free_calibration():
    model = tiny_gpt()
    labels = [[3], [4, 5], [6]]
    prompt = [1, 2, 3, 7]
    p_cf = content_free_probs(model, [[1, 2, 3, 0], [1, 2, 3, 10]], labels)
    raw = [label_probs(continuation_logprobs(model, p, labels)) for p in ([1, 2, 3, 0], [1, 2, 3, 10])]
    torch.testing.assert_close(p_cf, (raw[0] + raw[1]) / (raw[0] + raw[1]).sum())
    result = classify(model, prompt, labels, p_cf=p_cf)
    scores = continuation_logprobs(model, prompt, labels)
    torch.testing.assert_close(result.scores, scores)
    torch.testing.assert_close(result.probs, calibrate(torch.softmax(scores, -1), p_cf))
    assert result.prediction == int(result.probs.argmax())
    assert classify(model, prompt, labels).prediction == int(scores.argmax())
