"""A clean process to fork every submission's fork server from: it never held a secret.

The runner's own memory holds everything a worker must not see: the list of students and their paths, the
TA's seed, and whatever the caller (a CLI, a test session, a Gradescope script) imported or computed. A worker
forked from it, however late, inherits all of that. So the runner starts, once, a fresh interpreter (the
zygote) that imports what workers need (NumPy, PyTorch, the worker's side of the engine) and nothing else:
no grader, no oracle, no manifest of seeds, no student. For each submission its supervisor hands the zygote one
end of a socket pair; the zygote forks a fork server that reads its one student's cells and sandbox over that
socket (the zygote itself never reads them, so no student's data is ever in its memory) and starts that
student's workers (see :mod:`.forkserver`)::

    runner ── supervisor (trusted: hidden tests, seed)          one per submission
      └── zygote (fresh interpreter, started once) ── fork server ── guard ── worker

The zygote dies with the runner (parent-death signal) and exits when the runner's end of its socket closes;
a fork server exits when its supervisor's end closes.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile

PR_SET_PDEATHSIG = 1
BOOT = f"import sys, json; sys.path[:] = json.loads(sys.argv[1]); from {__name__} import main; main(int(sys.argv[2]))"
START_SECONDS = 600.0


class ZygoteError(RuntimeError):
    pass


class Zygote:
    """Handle on the zygote process, held by the runner and inherited by its supervisors."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # the runner's import path, made absolute (the zygote runs in /); path-hook entries stay as they are
        paths = [os.path.abspath(p) if not p or os.path.isdir(p) else p for p in sys.path if isinstance(p, str)]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self._errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT, json.dumps(paths), str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
            preexec_fn=_die_with_parent,  # called before any thread of ours exists
        )
        theirs.close()
        self.sock = ours
        self.owner = os.getpid()
        ready, _, _ = select.select([ours], [], [], START_SECONDS)
        answer = ours.recv(65536) if ready else b""
        if answer != b"R":
            self.process.kill()
            self.process.wait()
            self._errors.seek(0)
            detail = (answer[1:] or self._errors.read()).decode(errors="replace")[-2000:]
            raise ZygoteError(f"the clean worker process did not start: {detail or 'no answer'}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def start_fork_server(self, control: socket.socket) -> None:
        """Ask for a fork server that talks on ``control`` (the other end stays with the caller)."""
        socket.send_fds(self.sock, [b"F"], [control.fileno()])

    def close(self) -> None:
        self.sock.close()
        if os.getpid() == self.owner:
            self.process.kill()
            self.process.wait()


_shared: Zygote | None = None


def shared() -> Zygote:
    """The runner's zygote, started on first use (or again when it died); call before forking supervisors."""
    global _shared
    if _shared is None or _shared.owner != os.getpid() or not _shared.alive():
        if _shared is not None and _shared.owner == os.getpid():
            _shared.close()
        _shared = Zygote()
    return _shared


def current() -> Zygote:
    """The zygote of the runner this process was forked from (a supervisor's view)."""
    if _shared is None:
        raise ZygoteError("no zygote: the runner did not start one before forking")
    return _shared


def _die_with_parent() -> None:  # pragma: no cover - runs between fork and exec
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)


# --------------------------------------------------------------------------- the zygote's side


def _warm_up() -> None:
    """What every worker needs, imported once (and nothing the hidden tests use)."""
    import numpy.random  # noqa: F401
    import torch
    import torch.fx.experimental.symbolic_shapes  # noqa: F401  # autograd's backward imports it (and sympy)

    from . import forkserver, protocol, worker  # noqa: F401


def main(fd: int) -> None:  # pragma: no cover - the zygote's whole life
    import gc
    import traceback

    sock = socket.socket(fileno=fd)
    try:
        _warm_up()
    except BaseException:
        sock.send(b"E" + traceback.format_exc()[-4000:].encode(errors="replace"))
        os._exit(1)
    from .forkserver import fork_server_main, reap_children

    gc.collect()
    gc.freeze()  # forked children neither copy nor rescan what we hold
    sock.send(b"R")
    while True:
        reap_children()
        ready, _, _ = select.select([sock], [], [], 1.0)
        if not ready:
            continue
        try:
            message, fds, _, _ = socket.recv_fds(sock, 16, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)  # the runner went away
        if message == b"F" and len(fds) == 1 and os.fork() == 0:
            sock.close()
            fork_server_main(fds[0])
        for received in fds:
            os.close(received)
