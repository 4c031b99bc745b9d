"""The readable recurrent layers against torch.nn's fused ones, with random weights loaded both ways."""

import pytest
import torch
from torch import nn

from course_lib.errors import CourseError
from course_lib.models.recurrent import LSTM, RNN, LSTMCell, RNNCell


def randomize(module: nn.Module, seed: int) -> None:
    """Random (never constant) weights, different per gate, so a gate-order bug cannot hide."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("n_layers", [1, 3])
def test_lstm_equals_nn_lstm(batch_first, n_layers):
    torch.manual_seed(0)
    ref = nn.LSTM(5, 7, n_layers, batch_first=batch_first)
    randomize(ref, 1)
    ours = LSTM(5, 7, n_layers, batch_first=batch_first)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    ours.load_state_dict(ref.state_dict())
    x = torch.randn((3, 11, 5) if batch_first else (11, 3, 5))
    h0, c0 = torch.randn(n_layers, 3, 7), torch.randn(n_layers, 3, 7)
    out, (h, c) = ours(x, (h0, c0))
    out_ref, (h_ref, c_ref) = ref(x, (h0, c0))
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=1e-6, rtol=0)
    # and the gradients, in float64
    ours.double(), ref.double()
    x = x.double().requires_grad_(True)
    (ours(x)[0] ** 2).sum().backward()
    gx = x.grad.clone()
    x.grad = None
    (ref(x)[0] ** 2).sum().backward()
    torch.testing.assert_close(gx, x.grad)
    for (name, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_nn_lstm_loads_our_weights():
    ours = LSTM(4, 6, 2, batch_first=True)
    ref = nn.LSTM(4, 6, 2, batch_first=True)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_rnn_equals_nn_rnn(n_layers):
    ref = nn.RNN(6, 4, n_layers, batch_first=True)
    randomize(ref, 2)
    ours = RNN(6, 4, n_layers, batch_first=True)
    ours.load_state_dict(ref.state_dict())
    x, h0 = torch.randn(2, 9, 6), torch.randn(n_layers, 2, 4)
    out, h = ours(x, h0)
    out_ref, h_ref = ref(x, h0)
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)


def test_cells_equal_torch_cells():
    ref = nn.LSTMCell(3, 5)
    randomize(ref, 3)
    ours = LSTMCell(3, 5)
    ours.load_state_dict(ref.state_dict())
    x, h, c = torch.randn(4, 3), torch.randn(4, 5), torch.randn(4, 5)
    for a, b in zip(ours(x, (h, c)), ref(x, (h, c))):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    for a, b in zip(ours(x), ref(x)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    rref = nn.RNNCell(3, 5)
    randomize(rref, 4)
    rours = RNNCell(3, 5)
    rours.load_state_dict(rref.state_dict())
    torch.testing.assert_close(rours(x, h), rref(x, h), atol=1e-6, rtol=0)


def test_bad_input_shape_is_a_course_error():
    with pytest.raises(CourseError, match=r"\(B, T, D\) with D=4"):
        LSTM(4, 3, batch_first=True)(torch.randn(2, 5, 3))
    with pytest.raises(CourseError, match="positive"):
        RNN(0, 3)
