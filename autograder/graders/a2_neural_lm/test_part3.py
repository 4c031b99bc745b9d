"""Hidden tests for A2 part 3: window examples and the window LM in the student's own autodiff.

Oracle: course_lib.models.neural_lm.window_examples, and the model recomputed in float64 torch.autograd.

Clause -> test:
- contexts are the previous `context` ids, oldest first; targets are the ids; int64 -> test_window_examples_order
- before the start, pad_id (never a real word's id), also when context > len(ids) -> test_window_examples_padding
- logits = tanh(concat(E[ctx]) W1 + b1) W2 + b2, shape (N, V) -> test_window_lm_logits
- loss: mean cross-entropy as a float -> test_window_lm_loss
- gradients of all five parameters (repeated ids, padding row), accumulated -> test_window_lm_gradients
- train_window_lm: `steps` float losses, learning a periodic sequence -> test_train_window_lm_learns
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from a2_inputs import check_array, check_dict_keys, t64

from autograder.checks import check_float
from course_lib.models.neural_lm import window_examples

NAMES = ("E", "W1", "b1", "W2", "b2")


def check_examples(got, ids: list[int], context: int, pad_id: int) -> None:
    want_ctx, want_tgt = window_examples(torch.tensor(ids), context, pad_id)
    if type(got) not in (tuple, list) or len(got) != 2:
        raise AssertionError("window_examples must return (contexts, targets)")
    for value, want, what in ((got[0], want_ctx, "contexts"), (got[1], want_tgt, "targets")):
        if type(value) is not np.ndarray or value.dtype != np.int64:
            raise AssertionError(f"window_examples: {what} must be a numpy int64 array")
        if value.shape != tuple(want.shape) or not np.array_equal(value, want.numpy()):
            raise AssertionError(
                f"window_examples({len(ids)} ids, context={context}, pad_id={pad_id}): {what} are wrong"
            )


@pytest.mark.points(2)
def test_window_examples_order(student, seed):
    """contexts oldest first for random id sequences and context sizes 1 to 4."""
    rng = np.random.default_rng(seed)
    for context in (1, 2, 3, 4):
        V = int(rng.integers(5, 30))
        ids = [int(i) for i in rng.integers(0, V, int(rng.integers(8, 20)))]
        check_examples(student.window_examples(ids, context, V), ids, context, V)


@pytest.mark.points(2)
def test_window_examples_padding(student, seed):
    """the padding id (not 0, not a word) before the start, including a context longer than the text."""
    rng = np.random.default_rng(seed)
    for n, context in ((6, 3), (3, 5), (1, 2)):
        V = int(rng.integers(5, 30))
        ids = [int(i) for i in rng.integers(0, V, n)]
        check_examples(student.window_examples(ids, context, V), ids, context, V)


def window_problem(rng: np.random.Generator):
    k, d, N = 3, 4, 9
    V, H = int(rng.integers(6, 9)), int(rng.integers(10, 12))  # V, H and k * d = 12 all different
    weights = {
        "E": rng.standard_normal((V + 1, d)),
        "W1": rng.standard_normal((k * d, H)) * 0.5,
        "b1": rng.standard_normal(H),
        "W2": rng.standard_normal((H, V)) * 0.5,
        "b2": rng.standard_normal(V),
    }
    ids = [int(i) for i in rng.integers(0, V, N)]
    contexts, targets = (a.numpy() for a in window_examples(torch.tensor(ids), k, V))
    return weights, contexts, targets


def oracle(weights: dict, contexts: np.ndarray, targets: np.ndarray):
    ts = {k: t64(v, True) for k, v in weights.items()}
    x = F.embedding(torch.tensor(contexts), ts["E"]).reshape(len(contexts), -1)
    logits = torch.tanh(x @ ts["W1"] + ts["b1"]) @ ts["W2"] + ts["b2"]
    loss = F.cross_entropy(logits, torch.tensor(targets))
    return ts, logits, loss


def new_lm(student, weights):
    return student.new("WindowLM", *(weights[k] for k in NAMES))


@pytest.mark.points(3)
def test_window_lm_logits(student, seed):
    """WindowLM.logits for random weights (V, H, k*d all different) and padded contexts."""
    rng = np.random.default_rng(seed)
    weights, contexts, targets = window_problem(rng)
    _, logits, _ = oracle(weights, contexts, targets)
    check_array(new_lm(student, weights).logits(contexts), logits.detach().numpy(), "WindowLM.logits")


@pytest.mark.points(2)
def test_window_lm_loss(student, seed):
    """WindowLM.loss is the mean cross-entropy of the logits, as a float."""
    rng = np.random.default_rng(seed)
    weights, contexts, targets = window_problem(rng)
    _, _, loss = oracle(weights, contexts, targets)
    check_float(new_lm(student, weights).loss(contexts, targets), loss.item(), "WindowLM.loss")


@pytest.mark.points(5)
def test_window_lm_gradients(student, seed):
    """WindowLM.backward: every parameter's gradient (repeated ids and the padding row), then accumulation."""
    rng = np.random.default_rng(seed)
    weights, contexts, targets = window_problem(rng)
    ts, _, loss = oracle(weights, contexts, targets)
    loss.backward()
    lm = new_lm(student, weights)
    lm.zero_grad()
    lm.loss(contexts, targets)
    lm.backward()
    grads = check_dict_keys(lm.grads(), set(NAMES), "WindowLM.grads()")
    for name in NAMES:
        check_array(grads[name], ts[name].grad.numpy(), f"WindowLM.grads()[{name!r}]")
    lm.loss(contexts[::-1].copy(), targets[::-1].copy())  # the same examples in another order: same gradient
    lm.backward()
    check_array(lm.grads()["W1"], 2 * ts["W1"].grad.numpy(), "WindowLM.grads()['W1'] after two backward calls")


@pytest.mark.points(3)
def test_train_window_lm_learns(student, seed):
    """train_window_lm returns `steps` float losses and learns a periodic sequence (last loss < 40% of the first)."""
    rng = np.random.default_rng(seed)
    V = int(rng.integers(4, 7))
    ids = [int(i) for i in rng.permutation(V)] * 8  # each token determines the next one
    losses = student.train_window_lm(ids, V, 1, 8, 32, 80, 1.0, int(rng.integers(1000)))
    if type(losses) is not list or len(losses) != 80 or not all(type(v) is float for v in losses):
        raise AssertionError("train_window_lm must return a list of `steps` floats")
    if not np.isfinite(losses).all() or not losses[-1] < 0.4 * losses[0]:
        raise AssertionError("train_window_lm does not learn a periodic sequence (the loss barely falls)")
