"""The trusted side of one submission's worker: start it, time it, talk to it, restart or give up on it.

:class:`WorkerSession` owns the worker for the whole grading of a submission. It starts a worker from the
fork server, watches the notebook's cells run (a cell that overruns ``cell_seconds`` or ends the process is
skipped on the next start), then carries requests and checks every reply. A call that times out, crashes
the worker or answers garbage fails with :class:`StudentCodeError`; the next call gets a fresh worker that
re-runs the notebook, never past the submission's time budget.

A failure costs only the tests of the graded name that caused it: a name whose call ended the process or
answered garbage is *broken* and not called again (its remaining tests fail, saying why), and so is a name
that timed out twice. Restarts after such a call are charged to that name, at most twice per name, so one
broken function cannot use up the restarts the other names need; ``max_restarts`` bounds the others
(cells that crash or hang while the notebook runs).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..sandbox import protocol
from ..sandbox.forkserver import ForkServer, describe_exit
from .manifest import Limits

REPLY_KEYS_OK = {"id", "ok", "value", "grads", "n_arrays"}
REPLY_KEYS_ERROR = {"id", "ok", "kind", "message", "n_arrays"}
ERROR_KINDS = {"missing", "raised", "bad_return", "bad_request"}
STRIKES = {"crashed": 1, "garbage": 1, "timeout": 2}  # failures of a kind before a name is not called again


class StudentCodeError(Exception):
    """A call into student code did not produce a value. ``kind``: missing, raised, bad_return, timeout,
    crashed, garbage, not_run. The message is written for the student."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def readable(text: str) -> str:
    """``text`` from a worker made safe to write as UTF-8: lone surrogates (``"\\udcff"``, from undecodable
    bytes) become backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _Timeout(Exception):
    pass


class _Gone(Exception):
    pass


class OutputCapture:
    """Drains a worker's stdout/stderr pipe on a thread, keeping the first ``limit`` bytes."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd, self.limit = fd, limit
        self.kept = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            room = self.limit - len(self.kept)
            self.kept += chunk[: max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        os.close(self.fd)

    def text(self) -> str:
        self.thread.join(timeout=2.0)
        text = self.kept.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output not kept]"
        return text


@dataclass
class _Worker:
    pid: int
    sock: socket.socket
    output: OutputCapture


@dataclass
class WorkerSession:
    server: ForkServer
    limits: Limits
    deadline: float  # time.monotonic() when the submission's time budget ends
    skip: set[int] = field(default_factory=set)
    cell_errors: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what went wrong with the process, for the feedback
    isolation: dict[str, bool] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    starts: int = 0
    events: set[str] = field(default_factory=set)  # timeout, crashed, garbage (flags)
    failures: dict[str, list[str]] = field(default_factory=dict)  # name -> kinds of its failed calls so far
    broken: dict[str, str] = field(default_factory=dict)  # name -> why it is not called again
    _worker: _Worker | None = None
    _given_up: str | None = None
    _next_id: int = 0

    # ----------------------------------------------------------------- lifecycle

    def ensure_started(self) -> None:
        while self._worker is None:
            if self._given_up:
                raise StudentCodeError("not_run", f"not run: {self._given_up}")
            if time.monotonic() >= self.deadline:
                self._give_up(
                    f"the submission used up its time budget ({self.limits.submission_seconds:.0f} s)",
                    "timeout",
                )
                continue
            charged_to_names = sum(len(kinds) for kinds in self.failures.values())
            if self.starts - charged_to_names > self.limits.max_restarts:
                self._give_up("your code's process was stopped too many times", None)
                continue
            self._start()

    def _start(self) -> None:
        self.starts += 1
        pid, sock, out_fd, isolation = self.server.spawn()
        self.isolation = isolation  # established by the sandbox before student code ran, not the worker's word
        worker = _Worker(pid, sock, OutputCapture(out_fd, self.limits.output_kb * 1024))
        self._worker = worker
        protocol.send(sock.fileno(), {"skip": sorted(self.skip)})
        current: int | None = None
        cell_deadline = self.deadline
        try:
            while True:
                header, _ = self._read(worker, min(cell_deadline, self.deadline))
                event = header.get("event")
                if event == "cell" and type(header.get("cell")) is int:
                    current = header["cell"]
                    cell_deadline = time.monotonic() + self.limits.cell_seconds
                elif event == "cell_done" and header.get("cell") == current:
                    error = header.get("error")
                    if isinstance(error, dict) and current is not None:
                        self.cell_errors[current] = readable(
                            f"{str(error.get('message'))[:500]}{str(error.get('where', ''))[:100]}"
                        )
                    current, cell_deadline = None, self.deadline
                elif event == "ready":
                    return
                else:
                    raise protocol.ProtocolError(f"unexpected message while the notebook ran: {str(header)[:80]}")
        except _Timeout:
            self._stop()
            if current is None:
                self._give_up("your notebook did not finish within the time budget", "timeout")
            else:
                self.events.add("timeout")
                self.notes.append(
                    f"cell {current + 1} did not finish within {self.limits.cell_seconds:.0f} s; "
                    "it was stopped and skipped"
                )
                self.skip.add(current)
        except (_Gone, protocol.ProtocolError) as err:
            status = self._stop()
            what = (
                f"ended the process running your notebook ({describe_exit(status)})"
                if isinstance(err, _Gone)
                else f"sent garbage to the grader ({err})"
            )
            self.events.add("crashed" if isinstance(err, _Gone) else "garbage")
            if current is None:
                self._give_up(f"your notebook {what} outside any cell", None)
            else:
                self.notes.append(f"cell {current + 1} {what}; it was skipped")
                self.skip.add(current)

    def _give_up(self, reason: str, event: str | None) -> None:
        if event:
            self.events.add(event)
        if not self._given_up:
            self._given_up = reason
            self.notes.append(reason)

    def _stop(self) -> int | None:
        """Kill the worker and everything it started; keep its output; return its wait status."""
        worker, self._worker = self._worker, None
        if worker is None:
            return None
        worker.sock.close()
        status = self.server.stop(worker.pid)
        self.outputs.append(worker.output.text())
        return status

    def close(self) -> None:
        self._stop()

    # ----------------------------------------------------------------- requests

    def request(
        self, header: dict, args: Any, kwargs: dict, grad: dict | None, what: str, make_object: Any, name: str
    ) -> tuple[Any, Any]:
        """Send one request about ``name``; return (value, grads) from a validated reply or raise
        StudentCodeError. A broken name (see the module docstring) is not called again."""
        if name in self.broken:
            raise StudentCodeError(
                "not_run",
                f"not run: `{name}` was not called again after an earlier test, where {self.broken[name]}; "
                "your other functions were still graded",
            )
        self.ensure_started()
        worker = self._worker
        assert worker is not None
        self._next_id += 1
        request_id = self._next_id
        message, arrays = self._encode_request(header, request_id, args, kwargs, grad)
        try:
            protocol.send(worker.sock.fileno(), message, arrays)
            deadline = min(time.monotonic() + self.limits.call_seconds, self.deadline)
            reply, reply_arrays = self._read(worker, deadline)
            return self._check_reply(reply, reply_arrays, request_id, what, make_object, header.get("op"))
        except _Timeout:
            self._stop()
            failure = StudentCodeError(
                "timeout", f"{what} did not return within {self.limits.call_seconds:.0f} s; it was stopped"
            )
        except (_Gone, BrokenPipeError, ConnectionError):
            status = self._stop()
            failure = StudentCodeError(
                "crashed", f"the process running your code {describe_exit(status)} while running {what}"
            )
        except protocol.ProtocolError as err:
            self._stop()
            failure = StudentCodeError("garbage", f"the reply to {what} was not valid ({err})")
        self.events.add(failure.kind)
        kinds = self.failures.setdefault(name, [])
        kinds.append(failure.kind)
        if kinds.count(failure.kind) >= STRIKES[failure.kind]:
            self.broken[name] = str(failure)
        raise failure

    @staticmethod
    def _encode_request(header: dict, request_id: int, args: Any, kwargs: dict, grad: dict | None) -> tuple:
        """One frame's header and arrays: args, kwargs and the gradient request share the array list."""
        arrays: list = []
        tree_args, a = protocol.encode(list(args))
        arrays += a
        tree_kwargs, k = protocol.encode(kwargs)
        tree_kwargs = protocol.shift_arrays(tree_kwargs, len(arrays))
        arrays += k
        grad_tree = None
        if grad is not None:
            g_tree, g = protocol.encode(grad["grad_output"])
            grad_tree = {"wrt": list(grad["wrt"]), "grad_output": protocol.shift_arrays(g_tree, len(arrays))}
            arrays += g
        return {**header, "id": request_id, "args": tree_args, "kwargs": tree_kwargs, "grad": grad_tree}, arrays

    def _check_reply(
        self, reply: dict, arrays: list, request_id: int, what: str, make_object: Any, op: str | None
    ) -> tuple:
        """The value and gradients of a valid reply (see :func:`protocol.decode`); only the answer to a
        ``new`` request is an object reference, and it is nothing else."""
        if reply.get("id") != request_id or type(reply.get("ok")) is not bool:
            raise protocol.ProtocolError("reply does not answer the request")
        if reply["ok"]:
            if set(reply) != REPLY_KEYS_OK:
                raise protocol.ProtocolError("reply has unexpected fields")
            is_reference = type(reply["value"]) is dict and set(reply["value"]) == {"$object", "type"}
            if (op == "new") != is_reference:
                raise protocol.ProtocolError(
                    f"the answer to a {op!r} request {'is' if is_reference else 'is not'} an object reference"
                )
            value = protocol.decode(reply["value"], arrays, make_object=make_object if op == "new" else None)
            grads = protocol.decode(reply["grads"], arrays)
            return value, grads
        if set(reply) != REPLY_KEYS_ERROR or reply["kind"] not in ERROR_KINDS or type(reply["message"]) is not str:
            raise protocol.ProtocolError("error reply is malformed")
        raise StudentCodeError(reply["kind"], readable(reply["message"][:2000]))

    def _read(self, worker: _Worker, deadline: float) -> tuple[dict, list]:
        sock = worker.sock

        def read_exact(n: int) -> bytes:
            buffer = bytearray()
            while len(buffer) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Timeout
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(min(n - len(buffer), 1 << 20))
                except TimeoutError:
                    raise _Timeout from None
                except OSError:
                    raise _Gone from None
                if not chunk:
                    raise _Gone
                buffer += chunk
            return bytes(buffer)

        return protocol.unpack(read_exact, self.limits.reply_mb * 2**20)
