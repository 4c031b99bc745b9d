"""Training recurrent LMs: truncated backpropagation through time, gradient clipping, vanishing gradients.

Truncated BPTT (Williams & Peng 1990; as in Zaremba et al. 2014): the text is cut into ``B`` parallel streams
and read in consecutive chunks of ``bptt`` tokens. The hidden state at the end of one chunk is the start of the
next (so the model still conditions on everything before), but it is **detached**: gradients stop at the chunk
boundary, so memory and time per step stay fixed however long the text is.

Global-norm clipping (Pascanu et al. 2013) rescales all gradients together when their joint norm exceeds a
threshold, keeping the update's direction; :func:`hidden_gradient_norms` measures ``||dh_T/dh_t||``, the
quantity whose exponential decay (RNN) or not (LSTM) the lecture plots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from course_lib.errors import CourseError


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """Cut ids (N,) into ``batch_size`` contiguous streams (B, N // B); the remainder is dropped."""
    n = len(ids) // batch_size
    if n < 2:
        raise CourseError(f"{len(ids)} tokens are too few for {batch_size} streams")
    return ids[: n * batch_size].view(batch_size, n)


def tbptt_chunks(streams: Tensor, bptt: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Consecutive (inputs, targets) chunks of streams (B, L), each (B, <= bptt); targets are shifted by one."""
    for start in range(0, streams.shape[1] - 1, bptt):
        end = min(start + bptt, streams.shape[1] - 1)
        yield streams[:, start:end], streams[:, start + 1 : end + 1]


def detach_state(state: Any) -> Any:
    """The same state, cut from the graph of the chunk that produced it (a tensor or a tuple of tensors)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def clip_grad_norm(parameters: Iterable[Tensor], max_norm: float, eps: float = 1e-6) -> Tensor:
    """Scale all gradients by ``min(1, max_norm / (norm + eps))`` where ``norm`` is their joint L2 norm.

    Returns the norm before clipping; parameters whose ``grad`` is None are skipped. Equal to
    :func:`torch.nn.utils.clip_grad_norm_` (tested): gradients are only ever scaled down, never up.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = torch.clamp(max_norm / (norm + eps), max=1.0)
    for g in grads:
        g.mul_(scale.to(g.dtype))
    return norm


def train_tbptt(
    model: nn.Module,
    ids: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    bptt: int,
    clip: float | None = 1.0,
    epochs: int = 1,
    max_chunks: int | None = None,
    on_chunk: Callable[[int, float], bool] | None = None,
) -> list[float]:
    """Train a recurrent LM (``model.run(idx, state) -> (logits, state)``) with truncated BPTT.

    Returns the loss of each chunk. The state is carried across chunks (detached) and reset once per epoch.
    Training stops after ``max_chunks`` chunks, or when ``on_chunk(chunks_done, loss)`` returns True (a hook
    for evaluating or timing on the way; it may switch the model to eval mode, training switches it back).
    """
    streams = batchify(ids, batch_size)
    losses: list[float] = []
    model.train()
    for _ in range(epochs):
        state = None
        for x, y in tbptt_chunks(streams, bptt):
            logits, state = model.run(x, state)
            state = detach_state(state)  # keep the values, drop the graph of the previous chunk
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                clip_grad_norm(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
            if on_chunk is not None and on_chunk(len(losses), losses[-1]):
                return losses
            model.train()
            if max_chunks is not None and len(losses) >= max_chunks:
                return losses
    return losses


@torch.no_grad()
def stream_perplexity(model: nn.Module, ids: Tensor, bptt: int = 256) -> float:
    """Perplexity of ids (N,) read as one stream, every token predicted from everything before it
    (the state carried across chunks); the first token is only context."""
    model.eval()
    streams, state = ids[None], None
    total, count = 0.0, 0
    for x, y in tbptt_chunks(streams, bptt):
        logits, state = model.run(x, state)
        total += nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
        count += y.numel()
    return math.exp(total / count)


def hidden_gradient_norms(cell: nn.Module, inputs: Tensor, direction: Tensor | None = None) -> Tensor:
    """How much the last state depends on earlier ones: for each distance k = T - t, the norm of dh_T/dh_t.

    ``inputs`` (T, D) are fed one step at a time to ``cell`` (an :class:`RNNCell`, :class:`LSTMCell` or anything
    called as ``cell(x (1, D), state) -> h`` or ``(h, c)``), starting from a zero state. Without ``direction`` the
    norm is the spectral norm of the Jacobian (H backward passes); with a ``direction`` u (H,) it is
    ``||d(u . h_T)/dh_t||_2`` (one backward pass). Returns norms (T,) indexed by distance: ``norms[0]`` is 1
    (the Jacobian of h_T by itself is the identity), or ``||u||``.
    """
    state, hs = None, []
    for x_t in inputs:
        state = cell(x_t[None], state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    h_T = hs[-1][0]
    projections = [h_T @ direction] if direction is not None else list(h_T)
    rows = []  # one row of the Jacobian dh_T/dh_t (or the projected gradient) per backward pass
    for scalar in projections:
        grads = torch.autograd.grad(scalar, hs, retain_graph=True, allow_unused=True)
        rows.append(torch.stack([g[0] if g is not None else torch.zeros_like(h_T) for g in grads]))
    jacobians = torch.stack(rows, dim=1)  # (T, H, H), or (T, 1, H) along the direction
    norms = torch.linalg.matrix_norm(jacobians, ord=2)
    return norms.flip(0).detach()
