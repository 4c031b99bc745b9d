"""The wire format: plain values round-trip; everything else is refused on the way out or on the way in."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import torch

from autograder.sandbox import protocol


def roundtrip(value):
    tree, arrays = protocol.encode(value)
    data = protocol.pack({"value": tree}, arrays)
    stream = io.BytesIO(data)
    header, got = protocol.unpack(stream.read, 2**30)
    assert stream.read() == b""
    return protocol.decode(header["value"], got)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("inf"),
        "text",
        [1, "a", None],
        (1, (2.0, [3])),
        {"a": 1, "b": (2, 3)},
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.float64(1.5),
        np.array(True),
    ],
)
def test_plain_values_roundtrip(value):
    got = roundtrip(value)
    if isinstance(value, (np.ndarray, np.generic)):
        assert type(got) is np.ndarray and got.dtype == np.asarray(value).dtype
        np.testing.assert_array_equal(got, value)
    else:
        assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    "dtype",
    [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.bool, torch.uint8],
)
def test_tensors_come_back_as_plain_tensors_with_their_dtype(dtype):
    t = (torch.randn(3, 4) * 10).to(dtype)
    got = roundtrip(t)
    assert type(got) is torch.Tensor and got.dtype == dtype and got.shape == t.shape
    assert torch.equal(got, t)
    scalar = roundtrip(torch.tensor(2.5, dtype=torch.float64))
    assert scalar.shape == () and scalar.item() == 2.5


def test_requires_grad_flag_and_views_survive():
    x = torch.randn(4, 4, requires_grad=True) * 2
    got = roundtrip(x.t())
    assert got.requires_grad and torch.equal(got.detach(), x.detach().t())


class TensorSub(torch.Tensor):
    pass


class ArraySub(np.ndarray):
    pass


class IntSub(int):
    pass


class Behaviour:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (torch.zeros(2).as_subclass(TensorSub), "subclass of torch.Tensor"),
        (np.zeros(2).view(ArraySub), "subclass of ndarray"),
        (IntSub(3), "subclass of int"),
        (Behaviour(), "Behaviour object"),
        ({1: 2}, "non-string key"),
        (np.array(["a"]), "dtype <U1"),
        (np.array([object()], dtype=object), "dtype object"),
        (torch.zeros(2, dtype=torch.complex64), "complex64"),
        ([[[[]]]] * 1, None),
    ],
)
def test_encode_refuses_what_cannot_cross(value, words):
    if words is None:  # nesting is fine up to the limit
        protocol.encode(value)
        return
    with pytest.raises(protocol.EncodeError, match=words):
        protocol.encode(value)


def test_encode_refuses_deep_nesting():
    deep = []
    for _ in range(protocol.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(protocol.EncodeError, match="nested"):
        protocol.encode(deep)


def frame(header: dict, arrays: list[bytes] = ()) -> bytes:
    body = json.dumps({**header, "n_arrays": len(arrays)}).encode()
    parts = [protocol.MAGIC, struct.pack("!I", len(body)), body]
    for data in arrays:
        parts += [struct.pack("!Q", len(data)), data]
    return b"".join(parts)


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"XXXX" + b"\0" * 20, "magic"),
        (protocol.MAGIC + struct.pack("!I", 2**31), "too large"),
        (protocol.MAGIC + struct.pack("!I", 5) + b"{oops", "not valid JSON"),
        (protocol.MAGIC + struct.pack("!I", 2) + b"[]", "not a JSON object"),
        (protocol.MAGIC + struct.pack("!I", 16) + b'{"n_arrays": -1}', "declares"),
        (frame({}, [npy(np.array([object()], dtype=object), allow_pickle=True)]), "malformed array"),
        (frame({}, [b"\x93NUMPY garbage"]), "malformed array"),
        (frame({}, [npy(np.zeros(2, dtype=[("a", "i4")]))]), "not allowed"),
    ],
)
def test_unpack_rejects_garbage(data, words):
    stream = io.BytesIO(data + b"\0" * 64)
    with pytest.raises(protocol.ProtocolError, match=words):
        protocol.unpack(stream.read, 2**20)


def test_unpack_caps_array_bytes():
    data = frame({}, [npy(np.zeros(1000))])
    with pytest.raises(protocol.ProtocolError, match="exceed"):
        protocol.unpack(io.BytesIO(data).read, 100)


@pytest.mark.parametrize(
    ("tree", "words"),
    [
        ({"$array": 5}, "out of range"),
        ({"$tensor": 0, "dtype": "float64", "requires_grad": False}, "carries float32"),
        ({"$tensor": 0, "dtype": "object", "requires_grad": False}, "bad tensor"),
        ({"$tensor": 0, "dtype": "float32", "requires_grad": "yes"}, "bad tensor"),
        ({"$array": 0, "extra": 1}, "unknown value tag"),
        ({"__class__": "os.system"}, "unknown value tag"),
        ({"$object": 1, "type": "X"}, "not allowed"),
    ],
)
def test_decode_validates_every_node(tree, words):
    with pytest.raises(protocol.ProtocolError, match=words):
        protocol.decode(tree, [np.zeros(2, dtype=np.float32)])


def test_decode_caps_size():
    with pytest.raises(protocol.ProtocolError, match="parts"):
        protocol.decode(list(range(protocol.MAX_NODES + 1)), [])
