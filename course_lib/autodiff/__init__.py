"""A small module-based reverse-mode autodiff in NumPy, with a finite-difference gradient checker.

- :mod:`.modules`: ``Linear``, ``Embedding``, ``Tanh``, ``Sigmoid``, ``ReLU``, ``Flatten``, ``Add``,
  ``SoftmaxCrossEntropy`` (fused and stable) and ``Sequential``; ``forward`` caches, ``backward`` accumulates.
- :mod:`.graph`: a tape that runs backward in reverse topological order (reused values, shared modules).
- :mod:`.gradcheck`: central differences along a random upstream direction, symmetric relative error.

Lecture 03 builds on it; assignment A2 asks students to write their own.
"""

from course_lib.autodiff.gradcheck import GradCheck, check_module, grad_check, relative_error
from course_lib.autodiff.graph import Graph, Node, topological_order
from course_lib.autodiff.modules import (
    Add,
    Embedding,
    Flatten,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    log_softmax,
)

__all__ = [
    "Add",
    "Embedding",
    "Flatten",
    "GradCheck",
    "Graph",
    "Linear",
    "Module",
    "Node",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "check_module",
    "grad_check",
    "log_softmax",
    "relative_error",
    "topological_order",
]
