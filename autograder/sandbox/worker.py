"""The untrusted side: runs a notebook's cells inside the sandbox, then answers calls from the graders.

Everything here runs in the worker process, after :func:`autograder.sandbox.enter_sandbox`. It is our code,
but it shares the process with student code, so the trusted side believes nothing it says: it only
reads plain values (see :mod:`autograder.sandbox.protocol`) and compares them itself.

Events sent while the notebook runs::

    {"event": "cell", "cell": i}                              about to run cell i (the trusted side times it)
    {"event": "cell_done", "cell": i, "error": null | {...}}  it finished, or raised (execution continues)
    {"event": "ready"}                                        all cells done; requests may come

Requests and replies afterwards (``id`` is echoed)::

    {"op": "call", "name": "softmax", "args": ..., "kwargs": ...,
     "grad": null | {"wrt": [0], "grad_output": ...}}
    {"op": "new", "name": "Cls", "args": ..., "kwargs": ...}          -> an object reference
    {"op": "method", "object": id, "name": "forward", "args": ..., "kwargs": ...}
    {"op": "getattr", "object": id, "name": "weight"}
    -> {"id": k, "ok": true, "value": ..., "grads": ...}
    -> {"id": k, "ok": false, "kind": "missing" | "raised" | "bad_return" | "bad_request", "message": "..."}
"""

from __future__ import annotations

import os
import random
import socket
import sys
import traceback
from typing import Any

import numpy as np

from ..engine.notebook import Cell
from . import protocol

MAX_MESSAGE = 2000


class _GradingIPython:
    """Stands in for ``get_ipython()``: magics and shell commands do nothing while grading."""

    def run_line_magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    run_cell_magic = system = magic = run_line_magic

    def getoutput(self, *args: Any, **kwargs: Any) -> list:
        return []


def run(sock: socket.socket, cells: list[Cell]) -> None:
    """Worker entry point: run the cells, then serve requests until the trusted side hangs up."""
    import torch

    # Our fds 0-2 are /dev/null and the capture pipe; the inherited sys.std* may be someone else's objects.
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the same submission must behave the same way every time it is graded
    np.random.seed(0)
    random.seed(0)
    _WORKER_PID[:] = [os.getpid()]
    fd = sock.fileno()
    start, _ = protocol.unpack(_Reader(fd).read_exact, 0)
    skip = set(start.get("skip", []))  # cells that hung or ended the process in an earlier attempt
    ipython = _GradingIPython()
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__builtins__": __builtins__,
        "get_ipython": lambda: ipython,
    }
    for cell in cells:
        if cell.index in skip:
            continue
        protocol.send(fd, {"event": "cell", "cell": cell.index})
        error = None
        try:
            exec(compile(cell.source, f"<cell {cell.index + 1}>", "exec"), namespace)  # noqa: S102 - the point
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            error = _describe(exc)
        _only_the_worker_goes_on()
        sys.stdout.flush()
        sys.stderr.flush()
        protocol.send(fd, {"event": "cell_done", "cell": cell.index, "error": error})
    protocol.send(fd, {"event": "ready"})
    Server(fd, namespace).serve()


class Server:
    def __init__(self, fd: int, namespace: dict[str, Any]) -> None:
        self.fd = fd
        self.namespace = namespace
        self.objects: dict[int, Any] = {}

    def serve(self) -> None:
        reader = _Reader(self.fd)
        while True:
            try:
                header, arrays = protocol.unpack(reader.read_exact, 2**31)
            except EOFError:
                return
            request_id = header.get("id")
            try:
                reply = self.handle(header, arrays)
            except _Failure as failure:
                reply = ({"ok": False, "kind": failure.kind, "message": failure.message[:MAX_MESSAGE]}, [])
            body, out_arrays = reply
            protocol.send(self.fd, {"id": request_id, **body}, out_arrays)

    def handle(self, header: dict, arrays: list) -> tuple[dict, list]:
        op, name = header.get("op"), header.get("name")
        args = self._decode(header.get("args", []), arrays)
        kwargs = self._decode(header.get("kwargs", {"$dict": {}}), arrays)
        if op in ("call", "new"):
            target = self.namespace.get(name)
            if target is None:
                raise _Failure("missing", f"your notebook does not define `{name}`")
            if not callable(target):
                raise _Failure(
                    "missing",
                    f"`{name}` in your notebook is a {type(target).__name__}, not "
                    f"{'a class' if op == 'new' else 'a function'}",
                )
        elif op in ("method", "getattr"):
            obj = self.objects.get(header.get("object"))
            if obj is None:
                raise _Failure(
                    "bad_request",
                    "this object no longer exists (your code's process was restarted after an earlier failure)",
                )
            try:
                target = getattr(obj, name)
            except BaseException as exc:  # noqa: BLE001
                raise _Failure("raised", _describe(exc)["message"]) from None
            if op == "getattr":
                return self._reply(target, None, name)
        else:
            raise _Failure("bad_request", f"unknown request {op!r}")
        grad = header.get("grad")
        if grad is not None:
            return self._call_with_grad(target, name, args, kwargs, grad, arrays)
        result = self._invoke(target, name, args, kwargs)
        if op == "new":
            self.objects[id(result)] = result
            return {
                "ok": True,
                "value": {"$object": id(result), "type": type(result).__qualname__},
                "grads": None,
            }, []
        return self._reply(result, None, name)

    def _call_with_grad(
        self, target: Any, name: str, args: list, kwargs: dict, grad: dict, arrays: list
    ) -> tuple[dict, list]:
        import torch

        args = list(args)
        wrt = grad["wrt"]
        for i in wrt:
            args[i] = args[i].detach().clone().requires_grad_(True)
        out = self._invoke(target, name, args, kwargs)
        if type(out) is not torch.Tensor:
            raise _Failure("bad_return", f"{name} returned a {type(out).__name__}, expected a torch.Tensor")
        if not out.requires_grad:
            raise _Failure(
                "bad_return",
                f"the result of {name} does not depend on its input through autograd "
                "(was it detached, or computed with numpy or .item()?)",
            )
        grad_output = self._decode(grad["grad_output"], arrays)
        try:
            out.backward(grad_output)
        except BaseException as exc:  # noqa: BLE001
            raise _Failure("raised", f"backpropagating through {name} failed: {_describe(exc)['message']}") from None
        return self._reply(out, [args[i].grad for i in wrt], name)

    def _invoke(self, target: Any, name: str, args: list, kwargs: dict) -> Any:
        try:
            return target(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - anything the student's code raises is their result
            info = _describe(exc)
            raise _Failure("raised", f"{name} raised {info['message']}{info['where']}") from None
        finally:
            _only_the_worker_goes_on()

    def _reply(self, value: Any, grads: Any, name: str) -> tuple[dict, list]:
        try:
            tree, arrays = protocol.encode(value)  # objects cross only as the result of "new"
            grads_tree, grad_arrays = protocol.encode(grads)
        except protocol.EncodeError as err:
            raise _Failure("bad_return", f"{name}: {str(err).replace('the result', 'the returned value')}") from None
        grads_tree = protocol.shift_arrays(grads_tree, len(arrays))
        return {"ok": True, "value": tree, "grads": grads_tree}, arrays + grad_arrays

    def _decode(self, tree: Any, arrays: list) -> Any:
        return protocol.decode(tree, arrays, make_object=lambda ref: self.objects[ref.id])


_WORKER_PID: list[int] = []


def _only_the_worker_goes_on() -> None:
    """A process the student's code forked that returns into our code exits here, so it cannot talk on
    the worker's socket (fork bombs, background jobs that finish)."""
    if _WORKER_PID and os.getpid() != _WORKER_PID[0]:
        os._exit(0)


class _Failure(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def _describe(exc: BaseException) -> dict:
    """Exception type, message and the innermost notebook line, for the student's feedback."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<cell "):
            where = f" ({frame.filename[1:-1]}, line {frame.lineno})"
            break
    return {"type": type(exc).__name__, "message": text[:MAX_MESSAGE], "where": where}


class _Reader:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read_exact(self, n: int) -> bytes:
        chunks, remaining = [], n
        while remaining:
            chunk = os.read(self.fd, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
