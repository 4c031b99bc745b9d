"""Process isolation for student code: a fork server, the sandbox a worker enters, and killing everything.

Process tree for one submission::

    runner (trusted, warm: torch/numpy/pytest imported)                  autograder.engine.runner
      ├─ supervisor (trusted; runs the hidden pytest graders; holds the seed)  autograder.engine.supervisor
      └─ zygote (a fresh interpreter started once per runner: no secret)  autograder.sandbox.zygote
           └─ fork server (this submission's cells and sandbox only; child subreaper)   ForkServer
                └─ guard (trusted, tiny: waits for the worker and mirrors its exit status)
                     └─ worker (untrusted: runs the notebook, answers calls)    autograder.sandbox.worker

The supervisor talks to its fork server over a socket pair it handed to the zygote. Workers therefore descend
from a process that never held the hidden tests, the oracle's inputs, the seed or any other student's data,
and a fresh one can be started after a crash or timeout. A worker, right after ``fork``:

- when root: is init of a new PID namespace (the guard calls ``unshare(CLONE_NEWPID)`` before forking it).
  When it exits, the kernel kills every process left in that namespace, however detached; and each link of
  the chain above dies with its parent (``PR_SET_PDEATHSIG``), so even a grader killed with SIGKILL leaves
  nothing behind. It also enters new network (no network, only a down loopback; no abstract Unix socket of
  the host), IPC (System V objects and POSIX message queues die with it) and mount namespaces, and gets a
  private root (:mod:`.view`): the Python environment, the ``course_lib`` modules it may use, private tmpfs on
  ``/tmp``, ``/var/tmp``, ``/dev/shm`` and ``/run``, a ``/proc`` showing only its own processes; nothing of the
  repository, the graders, the other submissions or the outputs; the forbidden modules and the engine absent.
  Then it switches to an unprivileged uid of its own: RLIMIT_NPROC is ignored for root, and a uid nobody else
  uses makes "kill everything this submission started" exact: ``kill(-1, SIGKILL)`` issued as that uid reaches
  every process it owns;
- starts a new session (``setsid``), closes every inherited file descriptor, reads stdin from /dev/null;
- sets ``RLIMIT_AS`` (memory), ``RLIMIT_CPU``, ``RLIMIT_FSIZE``, ``RLIMIT_NOFILE``, ``RLIMIT_NPROC``
  (processes *and threads* of its uid), ``RLIMIT_CORE = 0``, ``PR_SET_NO_NEW_PRIVS``, not dumpable;
- forgets the forbidden modules and the engine (:func:`make_absent`: out of ``sys.modules``, refused on import);
- gets a scrubbed environment and a working directory holding only a copy of the submission;
- reports which of these took effect to the fork server on a pipe it closes before any student code runs:
  that report, not anything the worker says later, is ``SubmissionResult.isolation``.

Not root (e.g. a TA's laptop): no namespaces and no uid switch, so no network isolation and no private root
(files stay readable; the forbidden modules are only forgotten and refused by an import hook the student's
code could remove); RLIMIT_NPROC then counts all of the TA's processes and threads, so it is set to (current
count + limit); leftover processes are found as descendants of the fork server (a child subreaper) and
killed, which covers everything unless the grader itself is SIGKILLed. The isolation record says so.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import importlib
import json
import os
import random
import resource
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..engine.manifest import Limits
from .view import ALWAYS_ABSENT, View, enter_view, plan_view

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 1 << 12, 1 << 14, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
UID_RANGE = (1_000_000, 2_000_000_000)
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
# what a worker's sandbox can establish, in the order of the bits of the fork server's report
ISOLATION = ("pid_namespace", "network_namespace", "ipc_namespace", "mount_namespace", "private_root", "own_uid")
REPORT_SECONDS = 60.0

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def is_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class SandboxSpec:
    """What a worker's sandbox holds and hides; built by the supervisor, applied in the worker."""

    uid: int | None  # unprivileged uid to run as (None: stay as the current user)
    files: dict[str, bytes]  # file name -> content, written into the working directory
    hide: tuple[str, ...]  # without a private root: directories to cover with an empty read-only tmpfs
    limits: Limits
    forbidden: tuple[str, ...] = ()  # modules absent from the worker (with the engine itself)
    view: View | None = None  # the private root, planned by the fork server


def pick_uid(exclude: set[int | None] | None = None) -> int | None:
    """A uid no process uses (nor ``exclude``), for one submission's workers; None when not root."""
    if not is_root():
        return None
    used = {_uid_of(pid) for pid in _pids()} | set(exclude or ())
    rng = random.SystemRandom()
    while True:
        uid = rng.randrange(*UID_RANGE)
        if uid not in used:
            return uid


def enter_sandbox(spec: SandboxSpec, keep_fds: tuple[int, ...]) -> dict[str, bool]:
    """Apply the sandbox to the current (just forked) process; returns which isolation took effect."""
    os.setsid()
    _close_fds_except(keep_fds)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # input() must not read the TA's terminal
    os.close(devnull)
    got = dict.fromkeys(ISOLATION, False)
    got["pid_namespace"] = os.getpid() == 1
    workdir = None
    if spec.uid is not None:
        got["network_namespace"] = _try_unshare(CLONE_NEWNET)  # abstract Unix sockets are per network too
        got["ipc_namespace"] = _try_unshare(CLONE_NEWIPC)  # System V and POSIX message queues die with it
        if _try_unshare(CLONE_NEWNS):
            got["mount_namespace"], got["private_root"] = _private_root(spec)
        if got["mount_namespace"]:
            workdir = "/tmp/submission"
            os.makedirs(workdir, mode=0o700)
    if workdir is None:
        import tempfile

        workdir = tempfile.mkdtemp(prefix="llmcourse-worker-")
    for name, data in spec.files.items():
        with open(os.path.join(workdir, os.path.basename(name)), "wb") as handle:
            handle.write(data)
    _set_limits(spec.limits, own_uid=spec.uid is not None)
    _scrub_environment(workdir)
    if spec.uid is not None:
        for path in [workdir, *(os.path.join(workdir, n) for n in spec.files)]:
            os.chown(path, spec.uid, spec.uid)
        os.setgroups([])
        os.setresgid(spec.uid, spec.uid, spec.uid)
        os.setresuid(spec.uid, spec.uid, spec.uid)
        got["own_uid"] = True
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid: changing credentials clears it
    prctl(PR_SET_DUMPABLE, 0)
    os.chdir(workdir)
    return got


def _try_unshare(flags: int) -> bool:
    return _libc.unshare(flags) == 0


def _private_root(spec: SandboxSpec) -> tuple[bool, bool]:
    """The worker's own root (see :mod:`.view`); if it cannot be built, the older cover-up:
    private scratch dirs and the hidden folders covered. Returns (mounts are private, own root)."""
    if spec.view is not None:
        try:
            enter_view(spec.view)
            return True, True
        except (OSError, StopIteration):
            pass
    return _private_mounts(spec.hide)[0], False


def _private_mounts(hide: tuple[str, ...]) -> tuple[bool, bool]:
    """Make our mounts private, give scratch dirs a fresh tmpfs and cover hidden dirs with an empty one.
    Returns (scratch dirs are private, every hidden dir is covered)."""

    def mount(source: bytes, target: str, fstype: bytes | None, flags: int, data: bytes | None) -> int:
        return _libc.mount(source, target.encode(), fstype, ctypes.c_ulong(flags), data)

    if mount(b"none", "/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False, False
    scratch = all(
        mount(b"tmpfs", path, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64m,mode=1777") == 0
        for path in SCRATCH_DIRS
        if os.path.isdir(path)
    )
    for path in _interpreter_paths():
        _make_reachable(path, mount)
    if os.getpid() == 1:  # init of our own PID namespace: a /proc that shows only our processes
        mount(b"proc", "/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    hidden = all(
        mount(b"tmpfs", path, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, b"size=4k,mode=0555") == 0
        for path in hide
        if os.path.isdir(path)
    )
    return scratch, hidden


def _interpreter_paths() -> list[str]:
    """Folders the worker must read to import modules not yet loaded (the stdlib, site-packages)."""
    return sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, *sys.path) if p and os.path.isdir(p)})


def _make_reachable(path: str, mount: Callable) -> None:
    """If an ancestor of ``path`` is closed to other users (e.g. Python under /root, mode 700), replace that
    ancestor, in our mount namespace only, by an open tmpfs holding just the way down to ``path``."""
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:depth])
        if os.stat(ancestor).st_mode & 0o001:
            continue
        child = ancestor + "/" + parts[depth]
        stage = f"/tmp/.reach-{depth}-{abs(hash(child))}"
        os.makedirs(stage, exist_ok=True)
        if mount(child.encode(), stage, None, MS_BIND | MS_REC, None) != 0:
            return
        if mount(b"tmpfs", ancestor, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=4k,mode=0755") != 0:
            return
        os.makedirs(child, exist_ok=True)
        mount(stage.encode(), child, None, MS_BIND | MS_REC, None)
        return


def _close_fds_except(keep: tuple[int, ...]) -> None:
    start = 3
    for fd in sorted(keep):
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1
    os.closerange(start, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _vm_size() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _set_limits(limits: Limits, *, own_uid: bool) -> None:
    mib = 2**20
    memory = _vm_size() + limits.memory_mb * mib  # torch's warm interpreter already maps a lot
    processes = limits.processes if own_uid else _count_own_processes() + limits.processes
    cpu = int(limits.submission_seconds) + 5
    for which, value in [
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * mib),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_NPROC, processes),
        (resource.RLIMIT_CORE, 0),
    ]:
        hard = resource.getrlimit(which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _count_own_processes() -> int:
    """Processes and threads of our uid (what RLIMIT_NPROC counts)."""
    uid, count = os.getuid(), 0
    for pid in _pids():
        if _uid_of(pid) == uid:
            try:
                count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return count


def _scrub_environment(workdir: str) -> None:
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/bin:/bin",
            "HOME": workdir,
            "LANG": "C.UTF-8",
            "TMPDIR": workdir,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )


# --------------------------------------------------------------------------- finding and killing processes


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _uid_of(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _parent_of(pid: int) -> int | None:
    """Parent pid of a live process (None for zombies and processes that are gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        state, parent = data[data.rindex(b")") + 2 :].split()[:2]
        return None if state in (b"Z", b"X") else int(parent)
    except (OSError, ValueError, IndexError):
        return None


def descendants(root: int) -> list[int]:
    """Live descendants of ``root``, found through /proc (works for any user)."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        parent = _parent_of(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def kill_uid(uid: int) -> None:
    """SIGKILL every process owned by ``uid``: a child drops to that uid and calls ``kill(-1, SIGKILL)``
    until nothing is left (it can signal exactly the processes of its own uid). Needs root."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(1000):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    os._exit(0)
            os._exit(1)
        except BaseException:
            os._exit(2)
    os.waitpid(pid, 0)


def kill_descendants(root: int) -> None:
    """SIGKILL every descendant of ``root`` (repeated, since a fork bomb keeps adding some)."""
    for _ in range(50):
        pids = descendants(root)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


def reap_children() -> None:
    """Collect every child that has exited (without waiting for the others)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def describe_exit(status: int | None) -> str:
    if status is None:
        return "ended"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = {
            "SIGKILL": " (stopped: time or memory limit)",
            "SIGXCPU": " (CPU time limit)",
            "SIGXFSZ": " (file size limit)",
            "SIGSEGV": " (crashed)",
        }.get(name, "")
        return f"was killed by {name}{hint}"
    return f"exited with code {os.WEXITSTATUS(status)}"


# --------------------------------------------------------------------------- fork server


class ForkServer:
    """A trusted process, forked from the clean zygote (:mod:`.zygote`), that forks fresh workers
    for one submission on request. It knows that submission's cells and sandbox, and nothing else.

    ``spawn()`` returns (pid, socket for the protocol, read end of the worker's stdout/stderr pipe, the
    isolation the worker's sandbox established, as reported by our own code before any student code ran).
    ``stop(pid)`` kills that worker and everything its submission started, and returns its wait status.
    """

    def __init__(self, spec: SandboxSpec, cells: list) -> None:
        from . import zygote

        self.spec = spec
        self._control, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        zygote.current().start_fork_server(child_end)
        child_end.close()
        setup = {
            "uid": spec.uid,
            "hide": list(spec.hide),
            "limits": dataclasses.asdict(spec.limits),
            "forbidden": list(spec.forbidden),
            "files": list(spec.files),
        }
        cells_json = [[c.index, c.source] for c in cells]
        blobs = [json.dumps(setup).encode(), *spec.files.values(), json.dumps(cells_json).encode()]
        for blob in blobs:
            self._control.sendall(struct.pack("!Q", len(blob)) + blob)

    def spawn(self) -> tuple[int, socket.socket, int, dict[str, bool]]:
        self._control.sendall(b"S")
        message, fds, _, _ = socket.recv_fds(self._control, 16, 2)
        if len(message) != 16 or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise RuntimeError("fork server failed to start a worker")
        pid, bits = struct.unpack("!qQ", message)
        isolation = {name: bool(bits >> i & 1) for i, name in enumerate(ISOLATION)}
        return pid, socket.socket(fileno=fds[0]), fds[1], isolation

    def stop(self, pid: int) -> int | None:
        self._control.sendall(b"K" + struct.pack("!q", pid))
        data = _recv_all(self._control, 8)
        (status,) = struct.unpack("!q", data)
        return None if status < 0 else status

    def close(self) -> None:
        try:
            self._control.sendall(b"Q")
            _recv_all(self._control, 1)
        except OSError:
            pass
        self._control.close()


def fork_server_main(fd: int) -> None:  # pragma: no cover - a fork server's whole life, in a zygote's child
    """Read one submission's sandbox and cells from the supervisor on ``fd``, then serve it."""
    code = 0
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote, which dies with the runner
        control = socket.socket(fileno=fd)
        setup = json.loads(_recv_blob(control))
        files = {name: _recv_blob(control) for name in setup["files"]}
        from ..engine.notebook import Cell
        from .worker import run

        cells = [Cell(index, source) for index, source in json.loads(_recv_blob(control))]
        forbidden = tuple(setup["forbidden"])
        spec = SandboxSpec(
            uid=setup["uid"],
            files=files,
            hide=tuple(setup["hide"]),
            limits=Limits(**setup["limits"]),
            forbidden=forbidden,
            view=plan_view(forbidden) if setup["uid"] is not None else None,
        )
        _serve(control, spec, functools.partial(run, cells=cells))
    except BaseException:
        code = 1
    os._exit(code)


def _serve(control: socket.socket, spec: SandboxSpec, worker_main: Callable) -> None:  # pragma: no cover
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # detached grandchildren of workers become our children
    me = os.getpid()
    while True:
        command = control.recv(1)
        if command == b"S":
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            out_read, out_write = os.pipe()
            report_read, report_write = os.pipe()
            pid = os.fork()
            if pid == 0:
                control.close()
                ours.close()
                os.close(out_read)
                os.close(report_read)
                start = functools.partial(_become_worker, spec, worker_main, theirs, out_write, report_write)
                _guard(spec, start, worker_fds=(theirs.fileno(), out_write, report_write))
            theirs.close()
            os.close(out_write)
            os.close(report_write)
            bits = _read_report(report_read)
            socket.send_fds(control, [struct.pack("!qQ", pid, bits)], [ours.fileno(), out_read])
            ours.close()
            os.close(out_read)
        elif command == b"K":
            (pid,) = struct.unpack("!q", _recv_all(control, 8))
            if spec.uid is not None:
                kill_uid(spec.uid)  # the worker dies first, so its guard can report how
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = -1
            kill_descendants(me)
            reap_children()
            control.sendall(struct.pack("!q", status))
        else:  # b"Q" or the supervisor went away
            _kill_all(spec, me)
            if command == b"Q":
                control.sendall(b"Q")
            return


def _read_report(fd: int) -> int:
    """The isolation bits a worker wrote before running any student code (0 if it died first)."""
    data = b""
    deadline = time.monotonic() + REPORT_SECONDS
    while len(data) < 8 and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(fd, 8 - len(data)) if ready else b""
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return struct.unpack("!Q", data)[0] if len(data) == 8 else 0


def _guard(
    spec: SandboxSpec, become_worker: Callable[[], None], worker_fds: tuple[int, ...]
) -> None:  # pragma: no cover
    """Run the worker as init of a new PID namespace (when root), from this small trusted parent.

    When a namespace's init exits, the kernel kills every process left in the namespace, detached or not;
    and the guard dies with the fork server (parent-death signal), the worker with the guard. So nothing a
    submission started outlives its worker, even if the whole grader is killed. The guard mirrors the
    worker's exit status, so the supervisor can say how the worker ended.
    """
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if spec.uid is None or _libc.unshare(CLONE_NEWPID) != 0:
        become_worker()  # no PID namespace: this process is the worker
    worker = os.fork()
    if worker == 0:
        become_worker()
    for fd in worker_fds:  # only the worker holds its socket and pipes: EOF means it is gone
        os.close(fd)
    _, status = os.waitpid(worker, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _become_worker(
    spec: SandboxSpec, worker_main: Callable, sock: socket.socket, out_write: int, report_write: int
) -> None:
    code = 0
    try:
        os.dup2(out_write, 1)
        os.dup2(out_write, 2)
        os.close(out_write)
        isolation = enter_sandbox(spec, keep_fds=(0, 1, 2, sock.fileno(), report_write))
        make_absent((*ALWAYS_ABSENT, *spec.forbidden))
        bits = sum(1 << i for i, name in enumerate(ISOLATION) if isolation.get(name))
        os.write(report_write, struct.pack("!Q", bits))  # our code still: no student code has run
        os.close(report_write)
        worker_main(sock)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        os.write(2, traceback.format_exc().encode(errors="replace"))
        code = 70
    os._exit(code)


def make_absent(names: tuple[str, ...]) -> None:
    """Forget the modules ``names`` (and their submodules) in this process, and refuse to import them again.
    Their files are not in a private root's view anyway; without one (not root) this is what is left."""
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in names):
            module = sys.modules.pop(name)
            parent, _, leaf = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], leaf, None) is module:
                delattr(sys.modules[parent], leaf)
    sys.meta_path.insert(0, _Absent(names))
    importlib.invalidate_caches()


class _Absent:
    """A meta-path finder that says the forbidden modules do not exist."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if any(name == m or name.startswith(m + ".") for m in self.names):
            raise ModuleNotFoundError(f"No module named {name!r} (not available while grading)", name=name)
        return None


def _kill_all(spec: SandboxSpec, me: int) -> None:
    if spec.uid is not None:
        kill_uid(spec.uid)
    kill_descendants(me)


def _recv_blob(sock: socket.socket) -> bytes:
    (length,) = struct.unpack("!Q", _recv_all(sock, 8))
    return _recv_all(sock, length)


def _recv_all(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data
