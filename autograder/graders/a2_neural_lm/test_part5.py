"""Hidden tests for A2 part 5: the LSTM cell and layer.

Oracle: torch.nn.LSTMCell / torch.nn.LSTM and course_lib.models.recurrent.LSTM, float64, random normal weights
(different for every gate: constant weights would hide a gate-order bug), random states, D != H.

Clause -> test:
- gates i, f, g, o; c = s(f) c + s(i) tanh(g); h = s(o) tanh(c); nn.LSTMCell names -> test_lstm_cell_matches
- state None means zeros -> test_lstm_cell_zero_state
- one layer, time-major, zero state: outputs, h_n, c_n -> test_lstm_single_layer
- several layers, layer k reads layer k-1, per-layer initial states -> test_lstm_multi_layer
- batch_first and a given state -> test_lstm_batch_first_and_state
- parameter names and shapes exactly those of nn.LSTM (weights load) -> test_lstm_loads_nn_lstm_names
"""

import pytest
import torch
from a2_inputs import check_dict_keys, randomize, state_dict64
from torch import nn

from autograder.checks import check_close, check_tensor
from course_lib.models.recurrent import LSTM


def dims(gen: torch.Generator) -> tuple[int, int, int, int]:
    B, T = int(torch.randint(2, 4, (1,), generator=gen)), int(torch.randint(5, 8, (1,), generator=gen))
    return B, T, int(torch.randint(3, 5, (1,), generator=gen)), int(torch.randint(6, 9, (1,), generator=gen))


def check_hc(got, want, what: str) -> None:
    if type(got) not in (tuple, list) or len(got) != 2:
        raise AssertionError(f"{what} must return a pair (h, c)")
    check_close(got[0], want[0], f"{what}: h", atol=1e-9, rtol=1e-7)
    check_close(got[1], want[1], f"{what}: c", atol=1e-9, rtol=1e-7)


def new_cell(student, gen):
    B, _, D, H = dims(gen)
    ref = randomize(nn.LSTMCell(D, H), gen)
    cell = student.new("LSTMCell", D, H)
    cell.set_weights(state_dict64(ref))
    return cell, ref, B, D, H


@pytest.mark.points(5)
def test_lstm_cell_matches(student, rng):
    """LSTMCell.forward(x, (h, c)) equals nn.LSTMCell for random weights and states."""
    for _ in range(2):
        cell, ref, B, D, H = new_cell(student, rng)
        x = torch.randn(B, D, generator=rng, dtype=torch.float64)
        state = tuple(torch.randn(B, H, generator=rng, dtype=torch.float64) for _ in range(2))
        check_hc(cell.forward(x, state), ref(x, state), f"LSTMCell.forward (D={D}, H={H})")


@pytest.mark.points(1)
def test_lstm_cell_zero_state(student, rng):
    """LSTMCell.forward(x) with no state starts from zeros."""
    cell, ref, B, D, _ = new_cell(student, rng)
    x = torch.randn(B, D, generator=rng, dtype=torch.float64)
    check_hc(cell.forward(x), ref(x), "LSTMCell.forward(x) without a state")


def run_layer(student, gen, n_layers: int, batch_first: bool, with_state: bool) -> None:
    B, T, D, H = dims(gen)
    ref = randomize(nn.LSTM(D, H, n_layers, batch_first=batch_first), gen)
    lstm = student.new("LSTM", D, H, n_layers, batch_first)
    lstm.set_weights(state_dict64(ref))
    x = torch.randn((B, T, D) if batch_first else (T, B, D), generator=gen, dtype=torch.float64)
    args = (x,)
    if with_state:
        args += (tuple(torch.randn(n_layers, B, H, generator=gen, dtype=torch.float64) for _ in range(2)),)
    got = lstm.forward(*args)
    want_out, want_state = ref(*args)
    what = f"LSTM(n_layers={n_layers}, batch_first={batch_first}).forward"
    if type(got) not in (tuple, list) or len(got) != 2:
        raise AssertionError(f"{what} must return (outputs, (h_n, c_n))")
    check_close(got[0], want_out, f"{what} outputs", atol=1e-9, rtol=1e-7)
    check_hc(got[1], want_state, f"{what} final state")


@pytest.mark.points(3)
def test_lstm_single_layer(student, rng):
    """one time-major layer from a zero state equals nn.LSTM."""
    run_layer(student, rng, 1, False, False)


@pytest.mark.points(3)
def test_lstm_multi_layer(student, rng):
    """three layers with a random initial state per layer equal nn.LSTM."""
    run_layer(student, rng, 3, False, True)


@pytest.mark.points(2)
def test_lstm_batch_first_and_state(student, rng):
    """batch_first=True with two layers and a given state equals nn.LSTM."""
    run_layer(student, rng, 2, True, True)


@pytest.mark.points(2)
def test_lstm_loads_nn_lstm_names(student, rng):
    """the state_dict has exactly nn.LSTM's names and shapes, and the course's LSTM agrees after loading them."""
    B, T, D, H = dims(rng)
    ref = LSTM(D, H, 2).double()
    randomize(ref, rng)
    lstm = student.new("LSTM", D, H, 2, False)
    names = check_dict_keys(lstm.weights(), set(nn.LSTM(D, H, 2).state_dict()), "LSTM.weights() (the state_dict)")
    for name, value in nn.LSTM(D, H, 2).state_dict().items():
        check_tensor(names[name], f"LSTM parameter {name!r}", shape=tuple(value.shape))
    lstm.set_weights(state_dict64(ref))
    x = torch.randn(T, B, D, generator=rng, dtype=torch.float64)
    check_close(lstm.forward(x)[0], ref(x)[0], "LSTM outputs after loading the weights", atol=1e-9, rtol=1e-7)
