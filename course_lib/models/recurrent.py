"""Recurrent layers written out step by step, with the parameter names and layouts of ``torch.nn``.

- :class:`RNNCell` / :class:`RNN`: the Elman network, ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.
- :class:`LSTMCell` / :class:`LSTM` (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)::

      i, f, g, o = chunk(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, 4)      # gate order i, f, g, o as in PyTorch
      i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);   g = tanh(g)
      c_t = f * c_{t-1} + i * g                                          # the additive cell path
      h_t = o * tanh(c_t)

The layers name their parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` with
``weight_ih_l0`` of shape (G*H, input_size) (G = 4 gates for the LSTM, 1 for the RNN), exactly like
:class:`torch.nn.LSTM` / :class:`torch.nn.RNN`, so ``load_state_dict`` works both ways and outputs agree
(``tests/models/test_recurrent.py``). The cells use ``weight_ih``... like :class:`torch.nn.LSTMCell`.
These loops are what students read; the cuDNN/oneDNN kernels behind ``nn.LSTM`` are many times faster
(``bench/bench_lstm.py``), so the language models train on those (``fast=True``) with the same weights.

Shapes: ``x`` is (B, T, input_size) with ``batch_first=True``, else (T, B, input_size); states are
(n_layers, B, H), the LSTM's a pair ``(h, c)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from course_lib.errors import CourseError

LSTMState = tuple[Tensor, Tensor]


def rnn_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
    """One Elman step: x (B, D), h (B, H) -> h' (B, H)."""
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def lstm_step(x: Tensor, state: LSTMState, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> LSTMState:
    """One LSTM step: x (B, D), (h, c) each (B, H) -> (h', c')."""
    h, c = state
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def _uniform_(params: list[Tensor], hidden_size: int) -> None:
    """PyTorch's initialisation for recurrent layers: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in params:
            p.uniform_(-bound, bound)


class _Cell(nn.Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        G = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(G))
        self.bias_hh = nn.Parameter(torch.empty(G))
        _uniform_(list(self.parameters()), hidden_size)

    def _weights(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(_Cell):
    """``forward(x (B, D), h (B, H) | None) -> h' (B, H)``, like :class:`torch.nn.RNNCell` (tanh)."""

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        return rnn_step(x, h, *self._weights())


class LSTMCell(_Cell):
    """``forward(x (B, D), (h, c) | None) -> (h', c')``, like :class:`torch.nn.LSTMCell`."""

    gates = 4

    def forward(self, x: Tensor, state: LSTMState | None = None) -> LSTMState:
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        return lstm_step(x, state, *self._weights())


class _Recurrent(nn.Module):
    """A stack of ``n_layers`` recurrent layers; layer k reads layer k-1's outputs."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, n_layers: int = 1, batch_first: bool = False) -> None:
        super().__init__()
        if min(input_size, hidden_size, n_layers) < 1:
            raise CourseError(f"sizes must be positive, got {input_size=}, {hidden_size=}, {n_layers=}")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.n_layers, self.batch_first = n_layers, batch_first
        G = self.gates * hidden_size
        for k in range(n_layers):
            d_in = input_size if k == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(G, d_in)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(G, hidden_size)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(G)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(G)))
        _uniform_(list(self.parameters()), hidden_size)

    def layer_weights(self, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return tuple(getattr(self, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _time_major(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            order = "(B, T, D)" if self.batch_first else "(T, B, D)"
            raise CourseError(f"expected input {order} with D={self.input_size}, got shape {tuple(x.shape)}")
        return x.transpose(0, 1) if self.batch_first else x

    def _zeros(self, x: Tensor) -> Tensor:  # x is time-major
        return x.new_zeros(self.n_layers, x.shape[1], self.hidden_size)


class RNN(_Recurrent):
    """Elman RNN like :class:`torch.nn.RNN` (tanh): ``forward(x, h0) -> (outputs, h_n)``."""

    def forward(self, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        seq = self._time_major(x)
        h0 = self._zeros(seq) if h0 is None else h0
        finals = []
        for k in range(self.n_layers):
            h, outputs = h0[k], []
            for x_t in seq:  # the same weights at every time step
                h = rnn_step(x_t, h, *self.layer_weights(k))
                outputs.append(h)
            seq = torch.stack(outputs)
            finals.append(h)
        out = seq.transpose(0, 1) if self.batch_first else seq
        return out, torch.stack(finals)


class LSTM(_Recurrent):
    """LSTM like :class:`torch.nn.LSTM`: ``forward(x, (h0, c0)) -> (outputs, (h_n, c_n))``."""

    gates = 4

    def forward(self, x: Tensor, state: LSTMState | None = None) -> tuple[Tensor, LSTMState]:
        seq = self._time_major(x)
        h0, c0 = (self._zeros(seq), self._zeros(seq)) if state is None else state
        h_n, c_n = [], []
        for k in range(self.n_layers):
            hc, outputs = (h0[k], c0[k]), []
            for x_t in seq:
                hc = lstm_step(x_t, hc, *self.layer_weights(k))
                outputs.append(hc[0])
            seq = torch.stack(outputs)
            h_n.append(hc[0])
            c_n.append(hc[1])
        out = seq.transpose(0, 1) if self.batch_first else seq
        return out, (torch.stack(h_n), torch.stack(c_n))
