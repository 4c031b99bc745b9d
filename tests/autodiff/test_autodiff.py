"""course_lib.autodiff against float64 torch.autograd on the same graphs and the same random upstream gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.autodiff import (
    Add,
    Embedding,
    Flatten,
    Graph,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    check_module,
    grad_check,
)
from course_lib.errors import CourseError


def t(a: np.ndarray, grad: bool = True) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def close(a: np.ndarray, b: torch.Tensor) -> None:
    np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_linear_matches_torch_on_3d_input(rng):
    lin = Linear(5, 3, rng)
    x = rng.standard_normal((4, 2, 5))
    u = rng.standard_normal((4, 2, 3))
    W, b, xt = t(lin.params["W"]), t(lin.params["b"]), t(x)
    y = xt @ W + b
    y.backward(torch.tensor(u))
    close(lin.forward(x), y)
    close(lin.backward(u), xt.grad)
    close(lin.grads["W"], W.grad)
    close(lin.grads["b"], b.grad)


@pytest.mark.parametrize(
    "module, torch_fn",
    [(Tanh(), torch.tanh), (Sigmoid(), torch.sigmoid), (ReLU(), torch.relu)],
    ids=["tanh", "sigmoid", "relu"],
)
def test_activations_match_torch(rng, module, torch_fn):
    x = rng.standard_normal((3, 7)) * 3
    x[0, :3] = [800.0, -800.0, 0.5]  # sigmoid must not overflow
    u = rng.standard_normal(x.shape)
    xt = t(x)
    y = torch_fn(xt)
    y.backward(torch.tensor(u))
    with np.errstate(over="raise"):
        close(module.forward(x), y)
    close(module.backward(u), xt.grad)


def test_softmax_cross_entropy_matches_torch_and_is_stable(rng):
    logits = rng.standard_normal((6, 9)) * 2
    logits[0] += 1000.0  # a naive exp overflows here
    targets = rng.integers(0, 9, 6)
    lt = t(logits)
    loss = F.cross_entropy(lt, torch.tensor(targets))
    (loss * 0.7).backward()
    ce = SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise"):
        close(ce.forward(logits, targets), loss)
        grad, none = ce.backward(0.7)
    assert none is None
    close(grad, lt.grad)


def test_embedding_duplicate_ids_accumulate(rng):
    emb = Embedding(6, 4, rng)
    ids = np.array([[1, 3, 1], [1, 5, 3]])  # id 1 three times, id 3 twice
    u = rng.standard_normal((2, 3, 4))
    E = t(emb.params["E"])
    F.embedding(torch.tensor(ids), E).backward(torch.tensor(u))
    emb.forward(ids)
    assert emb.backward(u) is None
    close(emb.grads["E"], E.grad)
    assert np.abs(emb.grads["E"][1]).sum() > 0 and not emb.grads["E"][0].any()


def test_gradients_accumulate_until_zero_grad(rng):
    lin = Linear(3, 2, rng)
    x, u = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    lin.forward(x)
    lin.backward(u)
    once = lin.grads["W"].copy()
    lin.backward(u)
    np.testing.assert_allclose(lin.grads["W"], 2 * once)
    lin.zero_grad()
    assert not lin.grads["W"].any() and not lin.grads["b"].any()


def test_window_lm_sequential_matches_torch(rng):
    """Embedding -> Flatten -> Linear -> Tanh -> Linear -> softmax CE, the Bengio et al. (2003) window LM."""
    V, n_ctx, d, H, B = 11, 3, 4, 7, 8
    emb, l1, l2 = Embedding(V + 1, d, rng), Linear(n_ctx * d, H, rng), Linear(H, V, rng)
    net = Sequential(emb, Flatten(), l1, Tanh(), l2)
    ids = rng.integers(0, V + 1, (B, n_ctx))
    ids[0] = [2, 2, 2]
    targets = rng.integers(0, V, B)
    ce = SoftmaxCrossEntropy()
    loss = ce.forward(net.forward(ids), targets)
    net.backward(ce.backward()[0])

    E, W1, b1, W2, b2 = (t(m.params[k]) for m, k in [(emb, "E"), (l1, "W"), (l1, "b"), (l2, "W"), (l2, "b")])
    h = torch.tanh(F.embedding(torch.tensor(ids), E).reshape(B, -1) @ W1 + b1)
    loss_t = F.cross_entropy(h @ W2 + b2, torch.tensor(targets))
    loss_t.backward()
    close(loss, loss_t)
    for (_, _, grad), ref in zip(net.named_parameters(), [E, W1, b1, W2, b2]):
        close(grad, ref.grad)
    assert [n for n, _, _ in net.named_parameters()] == ["0.E", "2.W", "2.b", "4.W", "4.b"]


def test_graph_diamond_and_reused_module_match_torch(rng):
    """x -> A -> tanh -> h;  y = B(h) + C(h) (a diamond);  z = tanh(A(y)) (A reused, non-square B/C)."""
    A, B, C = Linear(4, 4, rng), Linear(4, 4, rng), Linear(4, 4, rng)
    B2 = Linear(4, 4, rng)
    x = rng.standard_normal((3, 4))
    u = rng.standard_normal((3, 4))
    g = Graph()
    xn = g.input(x)
    h = g.apply(Tanh(), g.apply(A, xn))
    y = g.apply(Add(), g.apply(B, h), g.apply(C, h))
    y2 = g.apply(Add(), y, g.apply(B2, h))  # h used three times
    z = g.apply(Tanh(), g.apply(A, y2))
    g.backward(z, u)

    xt = t(x)
    (Aw, Ab), (Bw, Bb), (Cw, Cb), (B2w, B2b) = [(t(m.params["W"]), t(m.params["b"])) for m in (A, B, C, B2)]
    ht = torch.tanh(xt @ Aw + Ab)
    y2t = (ht @ Bw + Bb) + (ht @ Cw + Cb) + (ht @ B2w + B2b)
    zt = torch.tanh(y2t @ Aw + Ab)
    zt.backward(torch.tensor(u))
    close(z.value, zt)
    close(xn.grad, xt.grad)
    for m, (w, b) in zip((A, B, C, B2), [(Aw, Ab), (Bw, Bb), (Cw, Cb), (B2w, B2b)]):
        close(m.grads["W"], w.grad)
        close(m.grads["b"], b.grad)


def test_graph_long_chain_shared_module_is_not_recursive(rng):
    """An RNN-like chain of 3000 steps through one shared Linear: no recursion limit, gradients equal torch's."""
    lin, tanh = Linear(2, 2, rng), Tanh()
    g = Graph()
    x = g.input(rng.standard_normal((1, 2)))
    node = x
    for _ in range(3000):
        node = g.apply(tanh, g.apply(lin, node))
    g.backward(node, np.ones((1, 2)))
    W, b = t(lin.params["W"]), t(lin.params["b"])
    ht = torch.tensor(x.value)
    for _ in range(3000):
        ht = torch.tanh(ht @ W + b)
    ht.sum().backward()
    close(lin.grads["W"], W.grad)


def test_graph_rejects_wrong_number_of_gradients(rng):
    class Bad(Add):
        def backward(self, grad_out):
            return (grad_out,)

    g = Graph()
    a, b = g.input(np.ones(2)), g.input(np.ones(2))
    with pytest.raises(CourseError, match="1 gradients for 2 inputs"):
        g.backward(g.apply(Bad(), a, b), np.ones(2))


def test_grad_check_passes_on_correct_modules(rng):
    net = Sequential(Linear(5, 4, rng), Tanh(), Linear(4, 3, rng), Sigmoid())
    result = check_module(net, rng.standard_normal((6, 5)))
    assert result.ok(1e-6), result


class _BiasGradOnePercentOff(Linear):
    """A subtle planted bug: the bias gradient 1% too large."""

    def backward(self, grad_out):
        out = super().backward(grad_out)
        self.grads["b"] *= 1.01  # 1% off
        return out


class _IgnoresUpstream(Tanh):
    def backward(self, grad_out):
        return 1.0 - self.cache**2  # as if grad_out were all ones


def test_grad_check_fails_on_a_planted_wrong_gradient(rng):
    result = check_module(_BiasGradOnePercentOff(4, 3, rng), rng.standard_normal((5, 4)))
    assert not result.ok(1e-5)
    assert result.worst == "b" and result.max_error > 1e-3


def test_grad_check_random_projection_catches_ignored_upstream(rng):
    assert not check_module(_IgnoresUpstream(), rng.standard_normal((3, 4))).ok(1e-3)


def test_grad_check_restores_parameters_and_finds_worst(rng):
    W = rng.standard_normal((3, 2))
    before = W.copy()

    def f():
        return W**2

    def wrong(u):
        g = 2 * W * u
        g[2, 1] += 1.0
        return {"W": g}

    result = grad_check(f, {"W": W}, wrong)
    np.testing.assert_array_equal(W, before)
    assert result.worst == "W" and result.index == (2, 1)


def test_grad_check_needs_float64(rng):
    W = rng.standard_normal(3).astype(np.float32)
    with pytest.raises(CourseError, match="float64"):
        grad_check(lambda: W * 2, {"W": W}, lambda u: {"W": 2 * u})


def test_bad_inputs_raise_course_errors(rng):
    with pytest.raises(CourseError, match="integer ids"):
        Embedding(3, 2, rng).forward(np.array([0.5]))
    with pytest.raises(CourseError, match=r"\[0, 3\)"):
        Embedding(3, 2, rng).forward(np.array([3]))
    with pytest.raises(CourseError, match="before forward"):
        Tanh().backward(np.ones(2))
