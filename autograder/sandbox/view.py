"""The worker's filesystem view: a private root holding only what a submission needs.

The fork server plans the view once per submission (:func:`plan_view`, trusted, no student code yet); each
worker builds it right after entering its own mount namespace (:func:`enter_view`), as root, before it drops
to its own uid. The new root is an empty tmpfs into which, at their usual paths and read-only:

- the system (``/usr`` and the ``/bin``, ``/lib*`` links), a few files of ``/etc`` (the dynamic loader's
  cache, ``passwd``, ``localtime``...) and the device nodes ``null``, ``zero``, ``full``, ``random``,
  ``urandom``;
- the Python environment (``sys.base_prefix``, ``sys.prefix`` and every ``sys.path`` entry under them);
- the ``course_lib`` package, wherever it lives (in the checkout it is the only thing of the checkout there);

then fresh, private tmpfs on ``/tmp``, ``/var/tmp``, ``/dev/shm`` and ``/run`` (``/run/lock`` inside), and a
``/proc`` of the worker's own PID namespace. The forbidden modules of the assignment (e.g. ``course_lib.ngram``)
and the grading engine itself (``autograder``, with the hidden graders) are left out wherever they are: their
source, their compiled ``__pycache__`` files and their package folders do not exist in the view. Then
``pivot_root`` makes the tmpfs the root and the old root is detached: nothing of the repository (``.git``,
``solutions/``, ``assignments/source/``, ``gradebook.db``), of the other submissions or of the grader's outputs
is reachable by any path, and no Unix socket file of the host can be connected to.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import stat
import sys
from dataclasses import dataclass

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 1 << 12, 1 << 14, 1 << 18
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}.get(platform.machine())
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "hosts",
    "mime.types",
)
DEVICES = ("null", "zero", "full", "random", "urandom")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
STAGING = ("/mnt", "/media", "/srv", "/opt", "/var/tmp", "/tmp", "/dev/shm")
ALWAYS_ABSENT = ("autograder",)  # the grading engine and its hidden graders

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class View:
    """What the worker's root holds: ``trees`` are grafted at their own paths minus ``absent``, a set of
    (folder, leaf) pairs: ``leaf`` and anything named ``leaf.*`` in ``folder`` (and its ``__pycache__``)."""

    trees: tuple[str, ...]
    absent: frozenset[tuple[str, str]]


def plan_view(forbidden_modules: tuple[str, ...] | frozenset[str]) -> View:
    """The view for a submission whose assignment forbids ``forbidden_modules`` (dotted names)."""
    env = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix)}
    entries = {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    trees = {p for p in SYSTEM if os.path.lexists(p)} | env
    trees |= {p for p in entries if any(_within(p, e) for e in env)}
    course = _package_dir("course_lib")
    if course:
        trees.add(course)
    absent = set()
    for name in (*ALWAYS_ABSENT, *forbidden_modules):
        absent |= _module_locations(name, entries)
    trees = {t for t in trees if not _is_absent(os.path.basename(t), _leaves(absent, os.path.dirname(t)))}
    return View(_outermost(trees), frozenset(absent))


def _leaves(absent: set[tuple[str, str]] | frozenset[tuple[str, str]], folder: str) -> frozenset[str]:
    return frozenset(leaf for where, leaf in absent if where == folder)


def _package_dir(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return os.path.realpath(locations[0]) if locations else None


def _module_locations(name: str, entries: set[str]) -> set[tuple[str, str]]:
    """(folder, leaf) pairs where module ``name`` could be found, without importing it."""
    top, *rest = name.split(".")
    folders = set(entries)
    top_dir = _package_dir(top)
    if top_dir:
        folders.add(os.path.dirname(top_dir))
    found = set()
    for folder in folders:
        parent = os.path.join(folder, top, *rest[:-1]) if rest else folder
        leaf = rest[-1] if rest else top
        if os.path.isdir(parent) and any(_is_absent(n, (leaf,)) for n in _listing(parent)):
            found.add((os.path.realpath(parent), leaf))
    return found


def _listing(folder: str) -> list[str]:
    names = os.listdir(folder)
    cache = os.path.join(folder, "__pycache__")
    return names + (os.listdir(cache) if os.path.isdir(cache) else [])


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(paths: set[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(_within(path, k) for k in kept):
            kept.append(path)
    return tuple(sorted(kept))


# --------------------------------------------------------------------------- building it (in the worker)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def enter_view(view: View) -> None:
    """Make a private root as described in the module docstring (needs root and a fresh mount namespace:
    call after ``unshare(CLONE_NEWNS)``). Raises OSError when any step fails."""
    if SYS_PIVOT_ROOT is None:
        raise OSError(f"pivot_root is not known on {platform.machine()}")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    stage = next(s for s in STAGING if os.path.isdir(s) and not any(_within(t, s) for t in view.trees))
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    # the private scratch folders first, then the trees: a checkout or venv under /tmp is grafted inside the
    # fresh /tmp, not hidden by it
    for path, mode in (("/tmp", "1777"), ("/var/tmp", "1777"), ("/dev/shm", "1777"), ("/run", "0755")):
        os.makedirs(stage + path, exist_ok=True)
        _mount("tmpfs", stage + path, "tmpfs", MS_NOSUID | MS_NODEV, f"size=64m,mode={mode}")
    os.makedirs(f"{stage}/run/lock", exist_ok=True)
    os.chmod(f"{stage}/run/lock", 0o1777)
    for tree in view.trees:
        _graft(tree, stage, view.absent)
    for name in ETC_FILES:
        if os.path.lexists(f"/etc/{name}"):
            _graft(f"/etc/{name}", stage, view.absent)
    os.makedirs(f"{stage}/dev", mode=0o755, exist_ok=True)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _place_file(f"/dev/{name}", f"{stage}/dev/{name}", read_only=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1")):
        os.symlink(target, f"{stage}/dev/{name}")
    os.symlink("/proc/self/fd/2", f"{stage}/dev/stderr")
    os.makedirs(f"{stage}/proc", exist_ok=True)
    if os.getpid() == 1:  # init of our own PID namespace: a /proc that shows only our processes
        _mount("proc", f"{stage}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(f"{stage}/.old", exist_ok=True)
    if _libc.syscall(SYS_PIVOT_ROOT, stage.encode(), f"{stage}/.old".encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"pivot_root: {os.strerror(err)}")
    try:  # past this point there is no going back to the old root: a failure ends the worker
        os.chdir("/")
        if _libc.umount2(b"/.old", MNT_DETACH) != 0:
            raise OSError(ctypes.get_errno(), "detaching the old root")
        os.rmdir("/.old")
        _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    except OSError:
        os._exit(71)


def _graft(path: str, stage: str, absent: frozenset[tuple[str, str]], drop: frozenset[str] = frozenset()) -> None:
    """Put ``path`` (file, folder or link) into the new root at ``stage + path``, without what is absent;
    ``drop``: more leaves to leave out of this folder (the compiled files of absent modules)."""
    target = stage + path
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if os.path.islink(path):
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        return
    if not os.path.isdir(path):
        _place_file(path, target, read_only=True)
        return
    os.makedirs(target, exist_ok=True)
    if not drop and not any(_within(folder, path) for folder, _ in absent):
        _bind_read_only(path, target)
        return
    # a folder that holds something absent: rebuild it entry by entry
    os.chmod(target, stat.S_IMODE(os.stat(path).st_mode) | 0o555)
    leaves = _leaves(absent, path) | drop
    for name in sorted(os.listdir(path)):
        if not _is_absent(name, leaves):
            _graft(os.path.join(path, name), stage, absent, leaves if name == "__pycache__" else frozenset())


def _is_absent(name: str, leaves) -> bool:
    return any(name == leaf or name.startswith(leaf + ".") for leaf in leaves)


def _place_file(source: str, target: str, *, read_only: bool) -> None:
    if not os.path.exists(target):
        with open(target, "w"):
            pass
    if read_only:
        _bind_read_only(source, target)
    else:
        _mount(source, target, None, MS_BIND)
