"""A tiny graph tape: record module calls, then run backward in reverse topological order.

``Sequential`` covers chains. Real networks are graphs: a value feeds two modules (a *diamond*: ``h`` goes to
two heads whose outputs are added), or one module is applied twice (shared weights). Backward must then

1. **sum** the gradients arriving at a value from each of its uses before passing it on, and
2. visit a node only after **every** node that uses it is done: reverse topological order. A naive recursive
   backward that follows each edge as soon as it is reached would pass on a partial gradient.

Example (a diamond)::

    g = Graph()
    x = g.input(np.ones((2, 3)))
    h = g.apply(tanh, g.apply(lin, x))
    y = g.apply(add, g.apply(head_a, h), g.apply(head_b, h))
    g.backward(y, np.ones((2, 4)))     # parameter gradients accumulated; x.grad holds dL/dx
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.autodiff.modules import Module
from course_lib.errors import CourseError


@dataclass(eq=False)
class Node:
    """A value in the graph: an input (``module is None``) or the output of one module call."""

    value: Any
    module: Module | None = None
    parents: tuple[Node, ...] = ()
    caches: list[tuple[Module, Any]] = field(default_factory=list)  # each (sub)module's cache for this call
    grad: np.ndarray | None = None


class Graph:
    """Records the calls made through :meth:`apply`; :meth:`backward` differentiates them."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []

    def input(self, value: Any) -> Node:
        node = Node(value)
        self.nodes.append(node)
        return node

    def apply(self, module: Module, *parents: Node) -> Node:
        """Run ``module.forward`` on the parents' values and record the call."""
        out = module.forward(*(p.value for p in parents))
        # A module keeps only its latest cache; keep this call's, so a module used twice backpropagates each
        # call with its own inputs.
        caches = [(m, m.cache) for m in module.walk()]
        node = Node(out, module, tuple(parents), caches)
        self.nodes.append(node)
        return node

    def backward(self, output: Node, grad_out: np.ndarray | float = 1.0) -> None:
        """Backpropagate ``grad_out = dL/d(output)``; afterwards every node's ``.grad`` holds ``dL/d(value)``
        (``None`` where not differentiable) and every module's parameter gradients are accumulated."""
        for node in self.nodes:
            node.grad = None
        output.grad = np.asarray(grad_out, dtype=np.result_type(output.value, np.float64))
        for node in topological_order(output)[::-1]:  # outputs first, inputs last
            if node.module is None or node.grad is None:
                continue
            for module, cache in node.caches:
                module.cache = cache
            grads = node.module.backward(node.grad)
            if len(node.parents) == 1:
                grads = (grads,)
            if len(grads) != len(node.parents):
                raise CourseError(
                    f"{type(node.module).__name__}.backward returned {len(grads)} gradients for "
                    f"{len(node.parents)} inputs"
                )
            for parent, grad in zip(node.parents, grads):
                if grad is not None:
                    parent.grad = grad if parent.grad is None else parent.grad + grad


def topological_order(output: Node) -> list[Node]:
    """Every node ``output`` depends on, each after all of its parents (depth-first post-order)."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(output, False)]
    while stack:  # iterative, so long chains (an RNN unrolled over many steps) do not hit the recursion limit
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order
