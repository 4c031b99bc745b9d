"""Hidden tests for A2 part 1: the NumPy autodiff modules and the graph tape.

Oracle: float64 torch.autograd on the same computation, with random non-square shapes and random upstream gradients.

Clause -> test:
- Linear forward y = xW + b -> test_linear_forward
- Linear backward: dW = x^T g (non-square), db summed over rows, dx = g W^T -> test_linear_backward_non_square
- gradients accumulate with += until zero_grad -> test_linear_gradients_accumulate
- Embedding lookup; backward returns None -> test_embedding_forward_backward
- Embedding repeated ids each add their gradient -> test_embedding_duplicate_ids
- Tanh derivative from the output, times the upstream gradient -> test_activations_tanh
- Sigmoid without overflow for |x| <= 1000 -> test_activations_sigmoid
- ReLU and its gradient (0 at x <= 0) -> test_activations_relu
- SoftmaxCrossEntropy: mean, a float, stable for logits of size 1000 -> test_softmax_ce_loss_stable
- its gradient (softmax - onehot) * grad_out / B, and None for targets -> test_softmax_ce_gradient
- Sequential forward in order, backward in reverse -> test_sequential_chain
- Graph: gradients of a value used several times are summed, reverse
  topological order -> test_graph_diamond
- Graph: a module applied twice backpropagates each call with its cache -> test_graph_shared_module
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from a2_inputs import check_array, check_dict_keys, distinct_sizes, t64

from autograder.checks import check_float


def linear_problem(rng: np.random.Generator):
    B, d_in, d_out = distinct_sizes(rng, 3)
    return rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out), rng.standard_normal((B, d_in))


def torch_grads(*tensors: torch.Tensor) -> list[np.ndarray]:
    return [t.grad.numpy() for t in tensors]


@pytest.mark.points(2)
def test_linear_forward(student, seed):
    """Linear.forward is x @ W + b for random non-square W and a batch of another size."""
    rng = np.random.default_rng(seed)
    for _ in range(2):
        W, b, x = linear_problem(rng)
        lin = student.new("Linear", W, b)
        check_array(lin.forward(x), x @ W + b, f"Linear.forward for x {x.shape}, W {W.shape}")


@pytest.mark.points(3)
def test_linear_backward_non_square(student, seed):
    """Linear.backward returns dL/dx and accumulates dL/dW and dL/db, for a random upstream gradient."""
    rng = np.random.default_rng(seed)
    for _ in range(2):
        W, b, x = linear_problem(rng)
        u = rng.standard_normal((x.shape[0], W.shape[1]))
        Wt, bt, xt = t64(W, True), t64(b, True), t64(x, True)
        (xt @ Wt + bt).backward(torch.tensor(u))
        lin = student.new("Linear", W, b)
        lin.forward(x)
        check_array(lin.backward(u), xt.grad.numpy(), "Linear.backward (the gradient of x)")
        grads = check_dict_keys(lin.get("grads"), {"W", "b"}, "Linear.grads")
        check_array(grads["W"], Wt.grad.numpy(), f"Linear.grads['W'] for W {W.shape}")
        check_array(grads["b"], bt.grad.numpy(), "Linear.grads['b']")


@pytest.mark.points(2)
def test_linear_gradients_accumulate(student, seed):
    """two forward/backward calls add their parameter gradients; zero_grad clears them."""
    rng = np.random.default_rng(seed)
    W, b, x1 = linear_problem(rng)
    x2 = rng.standard_normal(x1.shape)
    u1, u2 = (rng.standard_normal((x1.shape[0], W.shape[1])) for _ in range(2))
    lin = student.new("Linear", W, b)
    for x, u in ((x1, u1), (x2, u2)):
        lin.forward(x)
        lin.backward(u)
    grads = check_dict_keys(lin.get("grads"), {"W", "b"}, "Linear.grads")
    check_array(grads["W"], x1.T @ u1 + x2.T @ u2, "Linear.grads['W'] after two backward calls (must accumulate)")
    check_array(grads["b"], u1.sum(0) + u2.sum(0), "Linear.grads['b'] after two backward calls (must accumulate)")
    lin.zero_grad()
    check_array(lin.get("grads")["W"], np.zeros_like(W), "Linear.grads['W'] after zero_grad()")


@pytest.mark.points(2)
def test_embedding_forward_backward(student, seed):
    """Embedding on a (B, T) array of distinct ids: rows of E; backward returns None and fills those rows."""
    rng = np.random.default_rng(seed)
    n_rows, dim = distinct_sizes(rng, 2, 10, 20)
    E = rng.standard_normal((n_rows, dim))
    ids = rng.choice(n_rows, 6, replace=False).reshape(2, 3)
    u = rng.standard_normal((2, 3, dim))
    emb = student.new("Embedding", E)
    check_array(emb.forward(ids), E[ids], f"Embedding.forward for ids of shape {ids.shape}")
    if emb.backward(u) is not None:
        raise AssertionError("Embedding.backward must return None (ids are not differentiable)")
    want = np.zeros_like(E)
    want[ids.reshape(-1)] = u.reshape(-1, dim)
    check_array(check_dict_keys(emb.get("grads"), {"E"}, "Embedding.grads")["E"], want, "Embedding.grads['E']")


@pytest.mark.points(2)
def test_embedding_duplicate_ids(student, seed):
    """an id that occurs several times receives the sum of all its upstream gradients."""
    rng = np.random.default_rng(seed)
    n_rows, dim = 7, int(rng.integers(2, 6))
    E = rng.standard_normal((n_rows, dim))
    ids = rng.integers(0, 3, (4, 5))  # 20 ids among 3 values: many repeats
    u = rng.standard_normal((4, 5, dim))
    Et = t64(E, True)
    F.embedding(torch.tensor(ids), Et).backward(torch.tensor(u))
    emb = student.new("Embedding", E)
    emb.forward(ids)
    emb.backward(u)
    check_array(emb.get("grads")["E"], Et.grad.numpy(), "Embedding.grads['E'] with repeated ids")


def _activation(student, seed, name: str, torch_fn, x: np.ndarray) -> None:
    rng = np.random.default_rng(seed + 1)
    u = rng.standard_normal(x.shape)
    xt = t64(x, True)
    y = torch_fn(xt)
    y.backward(torch.tensor(u))
    module = student.new(name)
    check_array(module.forward(x), y.detach().numpy(), f"{name}.forward")
    check_array(module.backward(u), xt.grad.numpy(), f"{name}.backward with a random upstream gradient")


@pytest.mark.points(2)
def test_activations_tanh(student, seed):
    """Tanh forward and backward (1 - y^2 times the upstream gradient) on a (B, D) array."""
    rng = np.random.default_rng(seed)
    _activation(student, seed, "Tanh", torch.tanh, rng.standard_normal(tuple(distinct_sizes(rng, 2))) * 2)


@pytest.mark.points(1)
def test_activations_sigmoid(student, seed):
    """Sigmoid forward and backward, including inputs of +-1000 (no overflow, no nan)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 5)) * 3
    x[0, :2] = [1000.0, -1000.0]
    _activation(student, seed, "Sigmoid", torch.sigmoid, x)


@pytest.mark.points(1)
def test_activations_relu(student, seed):
    """ReLU forward and backward (gradient 0 for negative inputs)."""
    rng = np.random.default_rng(seed)
    _activation(student, seed, "ReLU", torch.relu, rng.standard_normal((4, 6)))


def ce_problem(rng: np.random.Generator):
    B, V = distinct_sizes(rng, 2, 3, 12)
    return rng.standard_normal((B, V)) * 2, rng.integers(0, V, B)


@pytest.mark.points(2)
def test_softmax_ce_loss_stable(student, seed):
    """SoftmaxCrossEntropy.forward: the mean loss as a float, also for logits of size +-1000."""
    rng = np.random.default_rng(seed)
    for scale, shift in ((1.0, 0.0), (500.0, 0.0), (1.0, 1000.0), (1.0, -1000.0)):
        logits, targets = ce_problem(rng)
        logits = logits * scale + shift
        logits[0, 0] += 1000.0 if shift == 0 else 0.0
        want = F.cross_entropy(t64(logits), torch.tensor(targets)).item()
        ce = student.new("SoftmaxCrossEntropy")
        check_float(
            ce.forward(logits, targets), want, f"SoftmaxCrossEntropy.forward (logits up to {abs(logits).max():.0f})"
        )


@pytest.mark.points(2)
def test_softmax_ce_gradient(student, seed):
    """SoftmaxCrossEntropy.backward(grad_out): the gradient of the mean loss times grad_out, and None."""
    rng = np.random.default_rng(seed)
    logits, targets = ce_problem(rng)
    grad_out = float(rng.uniform(0.5, 2.0))
    lt = t64(logits, True)
    (F.cross_entropy(lt, torch.tensor(targets)) * grad_out).backward()
    ce = student.new("SoftmaxCrossEntropy")
    ce.forward(logits, targets)
    result = ce.backward(grad_out)
    if type(result) not in (tuple, list) or len(result) != 2 or result[1] is not None:
        raise AssertionError("SoftmaxCrossEntropy.backward must return (gradient of the logits, None)")
    check_array(result[0], lt.grad.numpy(), f"SoftmaxCrossEntropy.backward({grad_out:.3f}) for B={len(targets)}")


@pytest.mark.points(2)
def test_sequential_chain(student, seed):
    """Sequential(Linear, Tanh, Linear, Sigmoid): output, input gradient and both layers' gradients."""
    rng = np.random.default_rng(seed)
    B, D, H, K = distinct_sizes(rng, 4)
    W1, b1, W2, b2 = (
        rng.standard_normal((D, H)),
        rng.standard_normal(H),
        rng.standard_normal((H, K)),
        rng.standard_normal(K),
    )
    x, u = rng.standard_normal((B, D)), rng.standard_normal((B, K))
    l1, l2 = student.new("Linear", W1, b1), student.new("Linear", W2, b2)
    net = student.new("Sequential", l1, student.new("Tanh"), l2, student.new("Sigmoid"))
    ts = [t64(a, True) for a in (x, W1, b1, W2, b2)]
    y = torch.sigmoid(torch.tanh(ts[0] @ ts[1] + ts[2]) @ ts[3] + ts[4])
    y.backward(torch.tensor(u))
    check_array(net.forward(x), y.detach().numpy(), "Sequential.forward")
    check_array(net.backward(u), ts[0].grad.numpy(), "Sequential.backward (the gradient of x)")
    check_array(l1.get("grads")["W"], ts[1].grad.numpy(), "the first Linear's W gradient inside Sequential")
    check_array(l2.get("grads")["W"], ts[3].grad.numpy(), "the second Linear's W gradient inside Sequential")


@pytest.mark.points(3)
def test_graph_diamond(student, seed):
    """x -> A -> tanh -> h; y = B(h) + C(h) + h: h's gradient sums three uses, in reverse topological order."""
    rng = np.random.default_rng(seed)
    N, D, H = distinct_sizes(rng, 3)
    weights = {"A": (D, H), "B": (H, H), "C": (H, H)}
    arrays = {k: (rng.standard_normal(s) * 0.7, rng.standard_normal(s[1])) for k, s in weights.items()}
    x, u = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    mods = {k: student.new("Linear", W, b) for k, (W, b) in arrays.items()}
    g = student.new("Graph")
    xn = g.input(x)
    h = g.apply(student.new("Tanh"), g.apply(mods["A"], xn))
    y = g.apply(student.new("Add"), g.apply(mods["B"], h), g.apply(mods["C"], h))
    z = g.apply(student.new("Add"), y, h)
    g.backward(z, u)

    xt = t64(x, True)
    ts = {k: (t64(W, True), t64(b, True)) for k, (W, b) in arrays.items()}
    ht = torch.tanh(xt @ ts["A"][0] + ts["A"][1])
    ht.retain_grad()
    zt = (ht @ ts["B"][0] + ts["B"][1]) + (ht @ ts["C"][0] + ts["C"][1]) + ht
    zt.backward(torch.tensor(u))
    check_array(g.value(z), zt.detach().numpy(), "Graph.value of the output")
    check_array(g.grad(h), ht.grad.numpy(), "Graph.grad of a node used three times")
    check_array(g.grad(xn), xt.grad.numpy(), "Graph.grad of the input")
    for k in ("A", "B", "C"):
        check_array(mods[k].get("grads")["W"], ts[k][0].grad.numpy(), f"the W gradient of Linear {k} in the graph")


@pytest.mark.points(3)
def test_graph_shared_module(student, seed):
    """one Linear applied twice (shared weights): each call uses its own inputs and the gradients add up."""
    rng = np.random.default_rng(seed)
    N, D = distinct_sizes(rng, 2)
    W, b = rng.standard_normal((D, D)) * 0.8, rng.standard_normal(D)
    x, u = rng.standard_normal((N, D)), rng.standard_normal((N, D))
    lin = student.new("Linear", W, b)
    g = student.new("Graph")
    xn = g.input(x)
    h1 = g.apply(student.new("Tanh"), g.apply(lin, xn))
    out = g.apply(student.new("Tanh"), g.apply(lin, h1))
    g.backward(out, u)
    xt, Wt, bt = t64(x, True), t64(W, True), t64(b, True)
    torch.tanh(torch.tanh(xt @ Wt + bt) @ Wt + bt).backward(torch.tensor(u))
    check_array(g.grad(xn), xt.grad.numpy(), "Graph.grad of the input through a shared Linear")
    grads = lin.get("grads")
    check_array(grads["W"], Wt.grad.numpy(), "the shared Linear's W gradient (both uses)")
    check_array(grads["b"], bt.grad.numpy(), "the shared Linear's b gradient (both uses)")
