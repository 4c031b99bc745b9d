"""The wire format between the trusted grader and the untrusted worker: JSON plus raw numeric arrays.

A message is one frame::

    b"AGv1" | uint32 header length | header (UTF-8 JSON) | for each array: uint64 length | .npy bytes

Values inside the header are tagged so nothing is ambiguous::

    None, bool, int, float, str       as themselves
    list                              JSON list
    tuple                             {"$tuple": [...]}
    dict (str keys only)              {"$dict": {...}}
    numpy.ndarray                     {"$array": i}                 (i indexes the arrays after the header)
    torch.Tensor                      {"$tensor": i, "dtype": "float32", "requires_grad": false}
    object living in the worker       {"$object": id, "type": "ClassName"}

Arrays are written with ``np.save`` and read with ``np.load(..., allow_pickle=False)``. Nothing is ever
pickled or evaluated. :func:`decode` is the trusted side's gate: it checks exact container types, tag key
sets, array dtypes and shapes, nesting depth and sizes, and raises :class:`ProtocolError` on anything else.
:func:`encode` refuses subclasses and objects with behaviour, so an honest worker explains such a return
value to the student instead of sending it; a dishonest worker can only send plain data anyway.
"""

from __future__ import annotations

import io
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"AGv1"
MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_ARRAYS = 256
INT_RANGE = (-(2**63), 2**64)  # ints outside it (thousands of digits) are refused: they cross as int64/uint64

# numpy dtype name -> allowed; torch dtypes cross as the same name (bfloat16 travels as float32).
ARRAY_DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    }
)
TENSOR_DTYPES = frozenset(ARRAY_DTYPES - {"uint16", "uint32", "uint64"} | {"bfloat16"})


class ProtocolError(Exception):
    """A frame or value that does not follow the protocol (garbage, wrong types, too large)."""


class EncodeError(Exception):
    """A value that cannot cross the boundary; the message is written for the student."""


@dataclass(frozen=True)
class ObjectRef:
    """An object that lives in the worker (an instance of a student's class), named by an id."""

    id: int
    type_name: str


# --------------------------------------------------------------------------- encoding (either side)


def encode(value: Any) -> tuple[dict | list | Any, list[np.ndarray]]:
    """Turn ``value`` into (JSON-able tree, arrays); objects with behaviour raise :class:`EncodeError`.
    (Objects cross only by reference, as the result of a worker's ``new`` request.)"""
    arrays: list[np.ndarray] = []
    tree = _encode(value, arrays, 0, "the result")
    return tree, arrays


def _encode(value: Any, arrays: list[np.ndarray], depth: int, where: str) -> Any:
    if depth > MAX_DEPTH:
        raise EncodeError(f"{where} is nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if kind is int and not INT_RANGE[0] <= value < INT_RANGE[1]:
        raise EncodeError(f"{where} is an integer of {value.bit_length()} bits; integers must fit in 64 bits")
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [_encode(v, arrays, depth + 1, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind is tuple:
        return {"$tuple": [_encode(v, arrays, depth + 1, f"{where}[{i}]") for i, v in enumerate(value)]}
    if kind is dict:
        out = {}
        for key, v in value.items():
            if type(key) is not str:
                raise EncodeError(f"{where} is a dict with a non-string key {type(key).__name__}")
            out[key] = _encode(v, arrays, depth + 1, f"{where}[{key!r}]")
        return {"$dict": out}
    if kind is np.ndarray:
        if value.dtype.name not in ARRAY_DTYPES:
            raise EncodeError(f"{where} is a numpy array of dtype {value.dtype}, which cannot be graded")
        arrays.append(value.copy(order="C"))
        return {"$array": len(arrays) - 1}
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.name in ARRAY_DTYPES:
        arrays.append(np.asarray(value))
        return {"$array": len(arrays) - 1}
    torch = _torch()
    if torch is not None and kind is torch.Tensor:
        return _encode_tensor(value, arrays, torch, where)
    if torch is not None and isinstance(value, torch.Tensor):
        raise EncodeError(
            f"{where} is a {kind.__module__}.{kind.__qualname__}, a subclass of torch.Tensor; "
            "return a plain torch.Tensor"
        )
    if kind is ObjectRef:  # a worker object passed back to the worker by the trusted side
        return {"$object": value.id, "type": value.type_name}
    if isinstance(value, (bool, int, float, str, list, tuple, dict, np.ndarray)):
        raise EncodeError(
            f"{where} is a {kind.__qualname__}, a subclass of {kind.__mro__[1].__name__}; return plain values"
        )
    raise EncodeError(
        f"{where} is a {kind.__qualname__} object; return a tensor, number, string, list, tuple or dict instead"
    )


def _encode_tensor(t: Any, arrays: list[np.ndarray], torch: Any, where: str) -> dict:
    name = str(t.dtype).removeprefix("torch.")
    if name not in TENSOR_DTYPES:
        raise EncodeError(f"{where} is a tensor of dtype {t.dtype}, which cannot be graded")
    if t.layout != torch.strided:
        raise EncodeError(f"{where} is a {t.layout} tensor; return a dense tensor")
    plain = t.detach().cpu().resolve_conj().resolve_neg()
    if name == "bfloat16":
        plain = plain.float()
    arrays.append(plain.numpy().copy(order="C"))
    return {"$tensor": len(arrays) - 1, "dtype": name, "requires_grad": bool(t.requires_grad)}


def _torch() -> Any:
    import sys

    return sys.modules.get("torch")


# --------------------------------------------------------------------------- decoding (the trusted gate)


def decode(tree: Any, arrays: list[np.ndarray], *, make_object: Any = None) -> Any:
    """Rebuild a value from (tree, arrays), validating every node. Tensors come back as plain tensors.

    Normalised on the way, so that a hidden test comparing or hashing the value cannot trip over it: a NumPy
    scalar inside a list, tuple or dict (it crosses as a 0-d array) becomes the Python number it holds.
    Refused (:class:`ProtocolError`): ints outside 64 bits, and object references where ``make_object``
    is None (only the answer to a ``new`` request may be one)."""
    counter = [0]
    return _decode(tree, arrays, make_object, 0, counter)


def _decode(node: Any, arrays: list[np.ndarray], make_object: Any, depth: int, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise ProtocolError(f"value has more than {MAX_NODES} parts")
    if depth > MAX_DEPTH:
        raise ProtocolError(f"value is nested more than {MAX_DEPTH} levels deep")
    kind = type(node)
    if kind is int and not INT_RANGE[0] <= node < INT_RANGE[1]:
        raise ProtocolError("an integer does not fit in 64 bits")
    if node is None or kind in (bool, int, float, str):
        return node
    if kind is list:
        return [_decode(v, arrays, make_object, depth + 1, counter) for v in node]
    if kind is not dict:
        raise ProtocolError(f"unexpected JSON node of type {kind.__name__}")
    keys = set(node)
    if keys == {"$tuple"} and type(node["$tuple"]) is list:
        return tuple(_decode(v, arrays, make_object, depth + 1, counter) for v in node["$tuple"])
    if keys == {"$dict"} and type(node["$dict"]) is dict:
        return {k: _decode(v, arrays, make_object, depth + 1, counter) for k, v in node["$dict"].items()}
    if keys == {"$array"}:
        array = _array_at(node["$array"], arrays)
        return array.item() if depth > 0 and array.ndim == 0 else array.copy()
    if keys == {"$tensor", "dtype", "requires_grad"}:
        return _decode_tensor(node, arrays)
    if keys == {"$object", "type"} and type(node["$object"]) is int and type(node["type"]) is str:
        if make_object is None:
            raise ProtocolError("an object reference is not allowed here")
        return make_object(ObjectRef(node["$object"], node["type"][:200]))
    raise ProtocolError(f"unknown value tag {sorted(keys)[:4]}")


def _array_at(index: Any, arrays: list[np.ndarray]) -> np.ndarray:
    if type(index) is not int or not 0 <= index < len(arrays):
        raise ProtocolError(f"array reference {index!r} is out of range")
    return arrays[index]


def _decode_tensor(node: dict, arrays: list[np.ndarray]) -> Any:
    import torch

    dtype_name, requires_grad = node["dtype"], node["requires_grad"]
    if type(dtype_name) is not str or dtype_name not in TENSOR_DTYPES or type(requires_grad) is not bool:
        raise ProtocolError(f"bad tensor description {dtype_name!r}")
    array = _array_at(node["$tensor"], arrays)
    wire_dtype = "float32" if dtype_name == "bfloat16" else dtype_name
    if array.dtype.name != wire_dtype:
        raise ProtocolError(f"tensor says dtype {dtype_name} but carries {array.dtype.name} data")
    tensor = torch.from_numpy(array.copy()).to(getattr(torch, dtype_name))
    if requires_grad and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


def shift_arrays(tree: Any, offset: int) -> Any:
    """Renumber the array references of an encoded value by ``offset`` (several values share one frame)."""
    if offset == 0:
        return tree
    if isinstance(tree, list):
        return [shift_arrays(v, offset) for v in tree]
    if isinstance(tree, dict):
        if set(tree) == {"$array"}:
            return {"$array": tree["$array"] + offset}
        if "$tensor" in tree and set(tree) == {"$tensor", "dtype", "requires_grad"}:
            return {**tree, "$tensor": tree["$tensor"] + offset}
        if set(tree) == {"$dict"}:
            return {"$dict": {k: shift_arrays(v, offset) for k, v in tree["$dict"].items()}}
        return {k: shift_arrays(v, offset) for k, v in tree.items()}
    return tree


# --------------------------------------------------------------------------- framing


def pack(header: dict, arrays: list[np.ndarray]) -> bytes:
    """One frame: magic, JSON header (with the array count), then each array as length + .npy bytes."""
    header = {**header, "n_arrays": len(arrays)}
    body = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    parts = [MAGIC, struct.pack("!I", len(body)), body]
    for array in arrays:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        data = buffer.getvalue()
        parts += [struct.pack("!Q", len(data)), data]
    return b"".join(parts)


def send(fd: int, header: dict, arrays: list[np.ndarray] | None = None) -> None:
    data = memoryview(pack(header, arrays or []))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def unpack(read_exact: Any, max_array_bytes: int) -> tuple[dict, list[np.ndarray]]:
    """Read one frame with ``read_exact(n) -> bytes``; validate sizes, dtypes and the array count."""
    if read_exact(4) != MAGIC:
        raise ProtocolError("reply does not start with the protocol's magic bytes")
    (length,) = struct.unpack("!I", read_exact(4))
    if length > MAX_HEADER_BYTES:
        raise ProtocolError(f"reply header of {length} bytes is too large")
    try:
        header = json.loads(read_exact(length).decode("utf-8"))
    except (ValueError, RecursionError) as err:  # ValueError: bad UTF-8 or JSON, an int of 5000 digits
        raise ProtocolError(f"reply header is not valid JSON ({err.__class__.__name__})") from None
    if type(header) is not dict:
        raise ProtocolError("reply header is not a JSON object")
    n_arrays = header.get("n_arrays")
    if type(n_arrays) is not int or not 0 <= n_arrays <= MAX_ARRAYS:
        raise ProtocolError(f"reply declares {n_arrays!r} arrays")
    arrays, total = [], 0
    for _ in range(n_arrays):
        (size,) = struct.unpack("!Q", read_exact(8))
        total += size
        if total > max_array_bytes:
            raise ProtocolError(f"reply arrays exceed {max_array_bytes // 2**20} MiB")
        arrays.append(_load_array(read_exact(size)))
    return header, arrays


def _load_array(data: bytes) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as err:  # any malformed .npy is the same protocol error
        raise ProtocolError(f"malformed array in reply ({err.__class__.__name__})") from None
    if type(array) is not np.ndarray or array.dtype.name not in ARRAY_DTYPES or array.dtype.hasobject:
        raise ProtocolError(f"array of dtype {getattr(array, 'dtype', '?')} is not allowed")
    return array
