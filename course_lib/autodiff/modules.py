"""Modules of a small reverse-mode autodiff in NumPy (the "module-based AutoDiff" of CMU 10-601).

Every module has

- ``forward(*inputs) -> output``: computes the output and keeps in ``self.cache`` what backward needs;
- ``backward(grad_out) -> grad_in``: given ``dL/d(output)``, returns ``dL/d(input)`` (a tuple for several
  inputs, ``None`` for inputs that are not differentiable, such as token ids) and **adds** ``dL/d(param)``
  into ``self.grads`` (``+=``, never ``=``: a parameter used twice must receive both contributions);
- ``zero_grad()``, which sets every gradient back to zero before the next step.

A module remembers only its latest forward call. :class:`course_lib.autodiff.graph.Graph` records one cache per
call, so the same module can appear several times in a graph (shared weights).

Shapes: ``B`` batch, ``D``/``H`` feature sizes, ``V`` vocabulary size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from course_lib.errors import CourseError


class Module:
    """Base class: parameters and their gradients live in two dicts with the same keys."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache: Any = None

    def __call__(self, *inputs: Any) -> np.ndarray:
        return self.forward(*inputs)

    def forward(self, *inputs: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> Any:
        raise NotImplementedError

    def children(self) -> list[Module]:
        """Sub-modules (containers override this)."""
        return []

    def walk(self) -> Iterator[Module]:
        """This module and every module inside it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, value, grad)`` for every parameter, names like ``"0.W"`` inside a :class:`Sequential`."""
        for name, value in self.params.items():
            yield prefix + name, value, self.grads[name]
        for i, child in enumerate(self.children()):
            yield from child.named_parameters(f"{prefix}{i}.")

    def zero_grad(self) -> None:
        for _, _, grad in self.named_parameters():
            grad[...] = 0.0

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def _cached(self) -> Any:
        if self.cache is None:
            raise CourseError(f"{type(self).__name__}.backward called before forward")
        return self.cache


class Linear(Module):
    """``y = x W + b`` with ``W`` of shape (D_in, D_out): x (..., D_in) -> y (..., D_out).

    Initialised uniformly in ``±1/sqrt(D_in)`` like :class:`torch.nn.Linear` (whose ``weight`` is ``W.T``).
    """

    def __init__(self, d_in: int, d_out: int, rng: np.random.Generator | None = None, dtype: Any = np.float64):
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / np.sqrt(d_in)
        self._add_param("W", rng.uniform(-bound, bound, (d_in, d_out)).astype(dtype))
        self._add_param("b", rng.uniform(-bound, bound, d_out).astype(dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self._cached()
        d_in = x.shape[-1]
        # Flatten leading axes: every row of x contributed x_row^T grad_row to dW, and grad_row to db.
        self.grads["W"] += x.reshape(-1, d_in).T @ grad_out.reshape(-1, grad_out.shape[-1])
        self.grads["b"] += grad_out.reshape(-1, grad_out.shape[-1]).sum(axis=0)
        return grad_out @ self.params["W"].T


class Embedding(Module):
    """Row lookup ``E[ids]``: ids (...) of integers -> (..., D). Not differentiable in ``ids``."""

    def __init__(self, n_rows: int, dim: int, rng: np.random.Generator | None = None, dtype: Any = np.float64):
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng()
        self._add_param("E", rng.standard_normal((n_rows, dim)).astype(dtype))

    def forward(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise CourseError(f"Embedding expects integer ids, got dtype {ids.dtype}")
        n_rows = self.params["E"].shape[0]
        if ids.size and (ids.min() < 0 or ids.max() >= n_rows):
            raise CourseError(f"Embedding ids must lie in [0, {n_rows}), got values in [{ids.min()}, {ids.max()}]")
        self.cache = ids
        return self.params["E"][ids]

    def backward(self, grad_out: np.ndarray) -> None:
        ids = self._cached()
        # np.add.at adds once per occurrence; `E_grad[ids] += g` would keep only one of repeated ids.
        np.add.at(self.grads["E"], ids.reshape(-1), grad_out.reshape(-1, grad_out.shape[-1]))
        return None


class Tanh(Module):
    """Elementwise tanh; its derivative is ``1 - y**2`` in terms of the output ``y``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        self.cache = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._cached()
        return grad_out * (1.0 - y * y)


class Sigmoid(Module):
    """Elementwise logistic ``1 / (1 + e^-x)``, computed without overflow; derivative ``y (1 - y)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        # e^{-|x|} never overflows; pick the algebraically equal form for each sign.
        z = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
        self.cache = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._cached()
        return grad_out * y * (1.0 - y)


class ReLU(Module):
    """Elementwise ``max(x, 0)``; the gradient at exactly 0 is taken as 0 (as in PyTorch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = x > 0
        return np.where(self.cache, x, 0.0).astype(x.dtype)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._cached()


class Flatten(Module):
    """(B, d1, d2, ...) -> (B, d1 * d2 * ...): the concatenation of a window's embeddings."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self._cached())


class Add(Module):
    """``a + b`` for two inputs of the same shape; both receive the upstream gradient unchanged."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.shape != b.shape:
            raise CourseError(f"Add needs equal shapes, got {a.shape} and {b.shape}")
        self.cache = True
        return a + b

    def backward(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._cached()
        return grad_out, grad_out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log softmax`` over the last axis, stable: subtracting the row maximum keeps every ``exp`` <= 1."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class SoftmaxCrossEntropy(Module):
    """Mean cross-entropy of softmax(logits) against integer targets, fused so that the gradient is simply
    ``(softmax(logits) - onehot(targets)) / B``.

    forward(logits (B, V), targets (B,)) -> scalar loss (a 0-d array); backward(grad_out scalar) ->
    (dL/dlogits (B, V), None).
    """

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
        targets = np.asarray(targets)
        if logits.ndim != 2 or targets.shape != logits.shape[:1]:
            raise CourseError(
                f"SoftmaxCrossEntropy needs logits (B, V) and targets (B,), got {logits.shape} and {targets.shape}"
            )
        log_probs = log_softmax(logits)
        batch = np.arange(len(targets))
        self.cache = (np.exp(log_probs), targets)
        return np.asarray(-log_probs[batch, targets].mean())

    def backward(self, grad_out: np.ndarray | float = 1.0) -> tuple[np.ndarray, None]:
        probs, targets = self._cached()
        grad = probs.copy()
        grad[np.arange(len(targets)), targets] -= 1.0
        return grad * (np.asarray(grad_out) / len(targets)), None


class Sequential(Module):
    """Modules applied one after another; backward visits them in reverse order."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        self.layers = list(layers)

    def children(self) -> list[Module]:
        return self.layers

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> Any:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out
