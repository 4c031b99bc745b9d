"""Runtime isolation of the worker: what a submission can import, open, find in memory and reach.

The static scan gives the clear message; these probes check that the worker cannot get at the reference
implementations, the repository, the grading secrets or other students even with code the scan does not
see through. One batch (one job, so the IPC probes run one after another) grades the probe submissions with
A0's graders under A1-style rules (``course_lib.data`` allowed, ``course_lib.ngram`` forbidden); each probe
prints a JSON report that the tests read. Markers (the seed, another student's id, hidden test text) are only
ever joined from halves, so a probe finds one only if the grader leaked it whole.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import ag_notebooks as nbs
import pytest

from autograder.engine.runner import grade_batch
from autograder.results import GRADED
from autograder.sandbox.view import plan_view

# halves of the secrets; a probe gets them hex-encoded and looks for the two halves side by side in memory
SEED_HALVES = ("7351", "904618")
OTHER_HALVES = ("zq_other", "_student_k9")  # another student's id (a folder in the same batch)
TEST_CELL_HALVES = ("hidden-test-cell-", "marker-4k2j")  # in an autograder-test cell of the source notebook
GRADER_HALVES = ("hidden-grader-", "marker-8w1x")  # in a hidden grader module
IPC_KEY = 0x5B0E17 + os.getpid() % 1000
FORBIDDEN = "course_lib.ngram"

PROBE_HEADER = """
import json, os, sys
report = {}
def attempt(name, action):
    try:
        value = action()
        report[name] = "GOT " + repr(value)[:80]
    except BaseException as exc:
        report[name] = "blocked " + type(exc).__name__
"""

IMPORT_ROUTES = (
    PROBE_HEADER
    + """
T = "course_lib." + "ngram"
def via_alias():
    imp = __import__
    return imp(T, fromlist=["x"])
def via_builtins_subscript():
    import builtins
    return builtins.__dict__["__imp" + "ort__"](T, fromlist=["x"])
def via_pkgutil():
    import pkgutil
    return pkgutil.resolve_name(T)
def via_pickle():
    import pickle
    return pickle.loads(b"c" + T.encode() + b"\\n__name__\\n.")
def via_runpy():
    import runpy
    return sorted(runpy.run_module(T))[:3]
def via_metaclass():
    class Meta(type):
        def __new__(mcs, name, bases, ns):
            ns["mod"] = __import__(T, fromlist=["x"])
            return super().__new__(mcs, name, bases, ns)
    class C(metaclass=Meta):
        pass
    return C.mod
def via_ctypes():
    import ctypes
    f = ctypes.pythonapi.PyImport_ImportModule
    f.restype, f.argtypes = ctypes.py_object, [ctypes.c_char_p]
    return f(T.encode())
def via_sys_modules():
    return sys.modules[T]
def via_gc():
    import gc, types
    return [o for o in gc.get_objects() if isinstance(o, types.ModuleType) and o.__name__ == T][0]
def via_source_file():
    import course_lib
    return open(os.path.join(course_lib.__path__[0], "ngram.py")).read(50)
def via_cached_bytecode():
    import course_lib
    cache = os.path.join(course_lib.__path__[0], "__pycache__")
    return [n for n in os.listdir(cache) if n.startswith("ngram.")][0]
for route in [via_alias, via_builtins_subscript, via_pkgutil, via_pickle, via_runpy, via_metaclass, via_ctypes,
              via_sys_modules, via_gc, via_source_file, via_cached_bytecode]:
    attempt(route.__name__, route)
attempt("allowed_course_lib_data", lambda: __import__("course_lib.data", fromlist=["x"]).load_corpus.__name__)
attempt("import_autograder", lambda: __import__("autograder.runner", fromlist=["x"]).__name__)
report["modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("autograder", "course_lib", "_pytest",
                                                                          "pytest", "conftest"))
print("PROBE-JSON", json.dumps(report))
"""
)

OPEN_PATHS = (
    PROBE_HEADER
    + """
def peek(path):
    return sorted(os.listdir(path))[:5] if os.path.isdir(path) else open(path, "rb").read(20)
for path in PATHS:
    attempt(path, lambda path=path: peek(path))
report["root"] = sorted(os.listdir("/"))
report["cwd"] = sorted(os.listdir("."))
print("PROBE-JSON", json.dumps(report))
"""
)

MEMORY = (
    PROBE_HEADER
    + """
import ctypes, gc, hashlib
pairs = {name: (bytes.fromhex(a), bytes.fromhex(b)) for name, (a, b) in HALVES.items()}
def scan_memory():
    found = {name: 0 for name in pairs}
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if not fields[1].startswith("rw") or (len(fields) > 5 and fields[5].startswith("[v")):
            continue
        for offset in range(start, end, 1 << 24):
            chunk = ctypes.string_at(offset, min(1 << 24, end - offset) + 0)
            for name, (a, b) in pairs.items():
                at = chunk.find(a)
                while at >= 0:
                    if chunk[at + len(a): at + len(a) + len(b)] == b:
                        found[name] += 1
                    at = chunk.find(a, at + 1)
    return found
report["memory"] = scan_memory()
seed = int(bytes.fromhex(HALVES["seed"][0]) + bytes.fromhex(HALVES["seed"][1]))
sha = hashlib.sha256(open("a0_warmup.ipynb", "rb").read()).hexdigest()
base_seed = int(hashlib.sha256(f"{seed}:a0_warmup:{sha}".encode()).hexdigest()[:12], 16)
seen = []
frame = sys._getframe()
while frame is not None:
    for value in list(frame.f_locals.values()):
        if type(value) is int and value in (seed, base_seed) and value is not seed and value is not base_seed:
            seen.append(frame.f_code.co_name)
    frame = frame.f_back
report["seed_on_stack"] = seen
print("PROBE-JSON", json.dumps(report))
"""
)

IPC_WRITE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
made = [libc.shmget(KEY, 4096, 0o1666), libc.msgget(KEY, 0o1666), libc.semget(KEY, 1, 0o1666)]
for path in ["/dev/shm/agprobe", "/run/lock/agprobe", "/run/agprobe", "/tmp/agprobe", "/var/tmp/agprobe"]:
    try:
        with open(path, "w") as handle:
            handle.write("left behind")
        made.append(path)
    except OSError as exc:
        made.append(type(exc).__name__)
print("MADE", made)
"""

IPC_READ = (
    PROBE_HEADER
    + """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def sysv(kind):
    ident = {"shm": lambda: libc.shmget(KEY, 0, 0), "msg": lambda: libc.msgget(KEY, 0),
             "sem": lambda: libc.semget(KEY, 0, 0)}[kind]()
    if ident < 0:
        raise FileNotFoundError(kind)
    return ident
for kind in ("shm", "msg", "sem"):
    attempt("sysv_" + kind, lambda kind=kind: sysv(kind))
for path in ["/dev/shm/agprobe", "/run/lock/agprobe", "/run/agprobe", "/tmp/agprobe", "/var/tmp/agprobe"]:
    attempt(path, lambda path=path: open(path).read())
import socket
def connect(address):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        s.connect(address)
        s.sendall(b"hello from a worker")
        return "connected"
for address in SOCKETS:
    attempt("socket " + repr(address), lambda address=address: connect(address))
print("PROBE-JSON", json.dumps(report))
"""
)

LIE_ABOUT_ISOLATION = """
import sys
frame = sys._getframe()
while frame is not None:
    claimed = frame.f_locals.get("isolation")
    if isinstance(claimed, dict):
        claimed.update({f"key{i}": True for i in range(40000)})
        claimed.update(dict.fromkeys(list(claimed), True))
    frame = frame.f_back
"""

SURROGATE = 'print("bad byte \\udcff in output")\nraise ValueError("bad byte \\udcff in an error")\n'
LONG_EXPRESSION = "total = " + " + ".join(["1"] * 1500) + "\n"
SHELL_LINES = "".join(f"!echo line {i} of a long shell script\n" for i in range(6000))  # ~230 KB


def _hexed(halves: dict) -> dict:
    return {name: (a.encode().hex(), b.encode().hex()) for name, (a, b) in halves.items()}


def _git_dirs() -> list[Path]:
    found = [nbs.ROOT / ".git"]
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--git-common-dir"], cwd=nbs.ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        found.append((nbs.ROOT / common).resolve() / "HEAD")
    except (OSError, subprocess.CalledProcessError):
        pass
    return found


def _graders_with_markers(root: Path) -> Path:
    """A0's graders (short limits) under A1-style rules, a hidden grader and a hidden test cell that hold a
    marker, and a source notebook that the manifest points to."""
    graders = nbs.fast_graders(root, cell_seconds=30, submission_seconds=60)
    folder = graders / "a0_warmup"
    manifest = (folder / "manifest.toml").read_text()
    source = nbs.source_notebook()
    hidden = nbs.new_code_cell(f"assert True, {TEST_CELL_HALVES[0]!r} + {TEST_CELL_HALVES[1]!r}")
    hidden.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "hidden", "points": 0}
    source.cells.append(hidden)
    # the text as it is in the file: joined here, in the test process only
    hidden.source = f'assert True, "{TEST_CELL_HALVES[0] + TEST_CELL_HALVES[1]}"'
    source_path = nbs.write(source, root / "source")
    manifest = manifest.replace(f'source_notebook = "{nbs.SOURCE}"', f'source_notebook = "{source_path}"')
    manifest = manifest.replace('modules = ["course_lib"]', f'modules = ["{FORBIDDEN}", "course_lib.tokenizers"]')
    (folder / "manifest.toml").write_text(manifest)
    with (folder / "test_softmax.py").open("a") as handle:
        handle.write(f"\n# {GRADER_HALVES[0] + GRADER_HALVES[1]}\n")
    return graders


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("isolation")
    graders = _graders_with_markers(tmp / "graders")
    submitted, out = tmp / "submitted", tmp / "out"
    outside = Path(tempfile.mkdtemp(prefix="agsock-", dir="/run" if os.access("/run", os.W_OK) else None))
    outside.chmod(0o755)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(outside / "listener.sock"))
    (outside / "listener.sock").chmod(0o777)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(f"\0agprobe-{os.getpid()}")
    for s in (listener, abstract):
        s.listen(4)
        s.setblocking(False)
    paths = [
        *map(str, _git_dirs()),
        str(nbs.ROOT),
        str(nbs.ROOT / "solutions"),
        str(nbs.ROOT / "assignments" / "source"),
        str(nbs.GRADERS),
        str(graders),
        str(submitted),
        str(out),
        str(nbs.ROOT / "course_lib" / "ngram.py"),
    ]
    halves = {"seed": SEED_HALVES, "other": OTHER_HALVES, "test_cell": TEST_CELL_HALVES, "grader": GRADER_HALVES}
    probes = {
        "a_honest": nbs.solution(),
        "b_imports": nbs.submission(extra=[IMPORT_ROUTES]),
        "c_opens": nbs.submission(extra=[f"PATHS = {paths!r}\n" + OPEN_PATHS]),
        "d_memory": nbs.submission(extra=[f"HALVES = {_hexed(halves)!r}\n" + MEMORY]),
        "e_ipc_writer": nbs.submission(extra=[f"KEY = {IPC_KEY}\n" + IPC_WRITE]),
        "f_ipc_reader": nbs.submission(
            extra=[
                f"KEY = {IPC_KEY}\nSOCKETS = {[str(outside / 'listener.sock'), abstract.getsockname()]!r}\n" + IPC_READ
            ]
        ),
        "g_lies_about_isolation": nbs.submission(extra=[LIE_ABOUT_ISOLATION]),
        "h_surrogate_in_messages": nbs.submission(extra=[SURROGATE]),
        "i_long_expression": nbs.submission(extra=[LONG_EXPRESSION]),
        "j_many_shell_lines": nbs.submission(extra=[SHELL_LINES]),
        OTHER_HALVES[0] + OTHER_HALVES[1]: nbs.solution(),
    }
    for name, nb in probes.items():
        nbs.write(nb, submitted / name / "a0_warmup")
    seed = int(SEED_HALVES[0] + SEED_HALVES[1])
    try:
        batch = grade_batch("a0_warmup", submitted, out, jobs=1, graders_root=graders, seed=seed)
        accepted = []
        for s in (listener, abstract):
            try:
                accepted.append(s.accept())
            except BlockingIOError:
                pass
    finally:
        listener.close()
        abstract.close()
        (outside / "listener.sock").unlink()
        outside.rmdir()
    left_behind = {p: os.path.exists(p) for p in ("/dev/shm/agprobe", "/run/lock/agprobe", "/run/agprobe")}
    for path, exists in left_behind.items():
        if exists:
            os.unlink(path)
    libc = ctypes.CDLL(None, use_errno=True)
    host_ipc = {"shm": libc.shmget(IPC_KEY, 0, 0), "msg": libc.msgget(IPC_KEY, 0), "sem": libc.semget(IPC_KEY, 0, 0)}
    for kind, ident in host_ipc.items():  # clean up after the old sandbox, which let these reach the host
        if ident >= 0:
            {"shm": lambda i: libc.shmctl(i, 0, None), "msg": lambda i: libc.msgctl(i, 0, None)}.get(
                kind, lambda i: libc.semctl(i, 0, 0)
            )(ident)
    results = {r.student_id: r for r in batch.results}
    return {
        "results": results,
        "reports": {name: _report(r.output) for name, r in results.items()},
        "accepted": accepted,
        "left_behind": left_behind,
        "host_ipc": host_ipc,
        "paths": paths,
        "out": out,
    }


def _report(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith("PROBE-JSON "):
            return json.loads(line.removeprefix("PROBE-JSON "))
    return {}


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and a private root need root")


@pytest.mark.slow
def test_honest_submissions_keep_full_marks_under_the_tightened_sandbox(probed):
    for name in ("a_honest", OTHER_HALVES[0] + OTHER_HALVES[1]):
        result = probed["results"][name]
        assert (result.status, result.score) == (GRADED, 20), [t.message for t in result.tests]


@pytest.mark.slow
@needs_root
def test_forbidden_modules_are_absent_whatever_the_route(probed):
    report = probed["reports"]["b_imports"]
    routes = [k for k in report if k.startswith("via_")]
    assert len(routes) == 11, report
    assert all(report[k].startswith("blocked") for k in routes), report
    assert report["allowed_course_lib_data"] == "GOT 'load_corpus'", report
    assert report["import_autograder"].startswith("blocked"), report
    assert FORBIDDEN not in report["modules"] and not [m for m in report["modules"] if "pytest" in m], report


@pytest.mark.slow
@needs_root
def test_the_worker_sees_nothing_of_the_repository(probed):
    report = probed["reports"]["c_opens"]
    assert report, probed["results"]["c_opens"].output
    opened = {p: report[p] for p in probed["paths"] if not report[p].startswith("blocked")}
    # of the checkout, only the package (and the Python environment, when the venv lives in the checkout)
    venv = Path(sys.prefix).resolve()
    shown = ["course_lib", *([venv.relative_to(nbs.ROOT).parts[0]] if venv.is_relative_to(nbs.ROOT) else [])]
    assert opened.pop(str(nbs.ROOT), f"GOT {sorted(shown)}") == f"GOT {sorted(shown)}"
    assert not opened, opened
    assert report["cwd"] == ["a0_warmup.ipynb"], report["cwd"]
    assert not {"home", "old_root", "mnt", "srv", "work" if "/work" not in str(nbs.ROOT) else ""} & set(report["root"])


@pytest.mark.slow
@needs_root
def test_no_grading_secret_is_in_the_workers_memory(probed):
    report = probed["reports"]["d_memory"]
    assert report.get("memory") == {"seed": 0, "other": 0, "test_cell": 0, "grader": 0}, report
    assert report["seed_on_stack"] == [], report


@pytest.mark.slow
@needs_root
def test_ipc_and_scratch_files_do_not_outlive_a_worker_or_reach_another(probed):
    report = probed["reports"]["f_ipc_reader"]
    assert report, probed["results"]["f_ipc_reader"].output
    reached = {k: v for k, v in report.items() if not v.startswith("blocked")}
    assert not reached, reached
    assert not any(probed["left_behind"].values()), probed["left_behind"]
    assert all(ident < 0 for ident in probed["host_ipc"].values()), probed["host_ipc"]
    assert probed["accepted"] == []


@pytest.mark.slow
def test_isolation_recorded_is_what_the_supervisor_established(probed):
    honest = probed["results"]["a_honest"].isolation
    liar = probed["results"]["g_lies_about_isolation"].isolation
    assert set(liar) == set(honest) and len(honest) <= 12, len(liar)
    assert liar == honest


@pytest.mark.slow
@pytest.mark.parametrize("name", ["h_surrogate_in_messages", "i_long_expression", "j_many_shell_lines"])
def test_correct_submissions_with_awkward_text_grade_normally(probed, name):
    result = probed["results"][name]
    assert (result.status, result.score) == (GRADED, 20), (result.message, result.grader_errors[:1])
    feedback = (probed["out"] / name / "feedback.md").read_text(encoding="utf-8")
    assert "Score" in feedback or "score" in feedback


def test_the_planned_view_leaves_out_forbidden_modules_the_engine_and_the_checkout():
    course = os.path.realpath(nbs.ROOT / "course_lib")
    view = plan_view((FORBIDDEN,))
    assert (course, "ngram") in view.absent and (os.path.realpath(nbs.ROOT), "autograder") in view.absent
    assert any(course == t or course.startswith(t + "/") for t in view.trees)
    assert not any(os.path.realpath(nbs.ROOT).startswith(t.rstrip("/") + "/") or t == str(nbs.ROOT) for t in view.trees)
    assert not any(course == t or course.startswith(t + "/") for t in plan_view(("course_lib",)).trees)
