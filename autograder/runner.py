"""Grade submissions: one supervisor process per submission, forked from a warm runner, ``jobs`` at a time.

Python API (used by ``llmcourse grade`` and by the nbgrader / Gradescope bridges)::

    from autograder.runner import grade_batch, grade_submission

    result = grade_submission("a0_warmup", "path/to/a0_warmup.ipynb")      # or the folder holding it
    result.score, result.max_score, result.status, result.flags
    for test in result.tests:                                             # autograder.plugin.TestResult
        test.name, test.description, test.score, test.max_score, test.outcome, test.message

    batch = grade_batch("a0_warmup", "submitted/", "grades/a0_warmup/", jobs=8, resume=True)
    batch.results            # list[SubmissionResult], one per student graded in this run or earlier (resume)

``grade_batch`` expects nbgrader's layout ``submitted/<student>/<assignment>/*.ipynb`` and writes, atomically,
``<out>/<student>/results.json`` (Gradescope's schema), ``feedback.md``, ``feedback.html`` and
``grading.json`` (the full :class:`SubmissionResult`, written last: its presence means "graded"), then
``<out>/grades.csv``. See :mod:`autograder.report`. On Gradescope (``/autograder/submission/`` holds the
notebook)::

    from autograder.report import gradescope_results, write_atomic
    result = grade_submission("a0_warmup", "/autograder/submission")
    write_atomic(Path("/autograder/results/results.json"), json.dumps(gradescope_results(result)))

Both functions ``fork``: call them from a process without other threads running (a CLI, a script).

Statuses: ``graded`` (the hidden tests ran; individual tests may have failed for any reason), ``missing``,
``wrong_file_name``, ``symlink``, ``too_large``, ``invalid_notebook``, ``unsupported_format``, ``unreadable``
(the submission could not be graded and scores 0), ``grader_error`` (the grading itself failed; a TA should
look; a test whose own code failed makes the whole submission ``grader_error``, keeping the scores of the
tests that ran, and its traceback is in ``grading.json``'s ``grader_errors``, never in the student's
files). The runner imports torch, numpy, pytest and nbformat once; every supervisor is a ``fork`` of it, and
forks its workers from a fork server (see :mod:`autograder.sandbox`), so no interpreter or Jupyter kernel
starts per student.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError

from .manifest import GRADERS_DIR, Manifest, load_manifest
from .plugin import GRADER_ERROR, TestResult, test_name

GRADED = "graded"
SUPERVISOR_GRACE_SECONDS = 60.0
# pytest plugins a grading session does not need (unraisableexception alone costs two full gc.collect()s)
NO_PLUGINS = [
    arg
    for name in (
        "cacheprovider",
        "unraisableexception",
        "threadexception",
        "faulthandler",
        "junitxml",
        "pastebin",
        "doctest",
        "legacypath",
        "tmpdir",
        "monkeypatch",
    )
    for arg in ("-p", f"no:{name}")
]


@dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    status: str
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scan_findings: list[str] = field(default_factory=list)
    grader_errors: list[str] = field(default_factory=list)  # tracebacks of failed hidden tests: TA only
    output: str = ""
    seed: int | None = None
    notebook_sha256: str | None = None
    isolation: dict[str, bool] = field(default_factory=dict)
    execution_time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        data = dict(data)
        data["tests"] = [TestResult(**t) for t in data.get("tests", [])]
        return cls(**data)


@dataclass
class BatchResult:
    assignment: str
    out_dir: Path
    results: list[SubmissionResult]  # every student in the gradebook (this run and, with resume, earlier)
    graded_now: list[str]  # students graded in this run
    skipped: list[str]  # students skipped because --resume found them graded


@dataclass(frozen=True)
class _Task:
    student_id: str
    path: Path  # the student's assignment folder, or a notebook file
    hide: tuple[str, ...]
    folder: bool = True  # path names the folder (it may be missing), not the notebook
    out_dir: Path | None = None  # where the supervisor writes this student's outputs (batch grading)


# --------------------------------------------------------------------------- public API


def grade_submission(
    assignment: str,
    path: str | Path,
    *,
    student_id: str = "student",
    seed: int = 0,
    graders_root: Path | None = None,
) -> SubmissionResult:
    """Grade one notebook (a file, or a folder holding ``<manifest notebook name>``)."""
    manifest = load_manifest(assignment, graders_root)
    path = Path(path)
    hide = (str(path.parent.resolve()),) if path.is_file() or path.is_symlink() else (str(path.resolve()),)
    results = _run_all(manifest, [_Task(student_id, path, hide, folder=path.is_dir())], jobs=1, seed=seed)
    return results[0]


def grade_batch(
    assignment: str,
    submitted_dir: str | Path,
    out_dir: str | Path,
    *,
    jobs: int | None = None,
    resume: bool = False,
    students: Iterable[str] | None = None,
    seed: int = 0,
    graders_root: Path | None = None,
    on_result: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> BatchResult:
    """Grade every ``submitted_dir/<student>/<assignment>/``; write per-student outputs and ``grades.csv``.

    ``on_start(n)`` is called with the number of submissions to grade, ``on_result(student_id)`` as each
    one is written. While grading, this process holds no student's results: each supervisor writes its own
    student's files, so no worker (a fork of this process) can find another student's grades in memory.
    """
    from .report import RECORD, read_graded, write_grades_csv

    manifest = load_manifest(assignment, graders_root)
    submitted, out = Path(submitted_dir), Path(out_dir)
    if not submitted.is_dir():
        raise CourseError(f"submitted folder {submitted} does not exist")
    all_students = sorted(p.name for p in submitted.iterdir() if p.is_dir() and not p.name.startswith("."))
    wanted = list(students) if students else all_students
    unknown = sorted(set(wanted) - set(all_students))
    if unknown:
        raise CourseError(f"no submission folder for student(s) {', '.join(unknown)} in {submitted}")
    out.mkdir(parents=True, exist_ok=True)
    skipped = [s for s in wanted if resume and (out / s / RECORD).is_file()]  # written last: complete
    hide = tuple(str(p.resolve()) for p in (submitted, out))
    tasks = [_Task(s, submitted / s / assignment, hide, out_dir=out) for s in wanted if s not in skipped]
    if on_start:
        on_start(len(tasks))
    _run_all(manifest, tasks, jobs=jobs or os.cpu_count() or 1, seed=seed, on_result=on_result)
    everyone = read_graded(out, assignment)
    results = [everyone[s] for s in sorted(everyone)]
    write_grades_csv(out, results)
    return BatchResult(assignment, out, results, [t.student_id for t in tasks], skipped)


# --------------------------------------------------------------------------- the warm runner


def _warm_up() -> None:
    """Import what every supervisor and worker needs, once, before forking them."""
    import importlib

    import IPython.core.inputtransformer2  # noqa: F401
    import nbformat  # noqa: F401
    import numpy.random  # noqa: F401
    import pytest  # noqa: F401
    import torch  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401  # autograd's backward imports it (and sympy)
    from _pytest.config import default_plugins

    from . import checks, notebook, plugin, report, sandbox, session, worker  # noqa: F401

    for name in default_plugins:
        importlib.import_module(f"_pytest.{name}")
    gc.freeze()  # forked children neither copy nor rescan what the warm parent already holds


def _run_all(
    manifest: Manifest,
    tasks: list[_Task],
    *,
    jobs: int,
    seed: int,
    on_result: Callable[[str], None] | None = None,
) -> list[SubmissionResult]:
    """Grade ``tasks``, ``jobs`` at a time. Tasks with an ``out_dir`` are written there by their supervisor
    (or here, as a grader error, when it died) and not returned; the others' results are returned."""
    from . import zygote
    from .report import write_student_outputs
    from .sandbox import describe_exit, kill_uid, pick_uid

    _warm_up()
    zygote.shared()  # workers come from this clean process, never from the runner or a supervisor
    backstop = manifest.limits.submission_seconds + SUPERVISOR_GRACE_SECONDS
    pending = list(reversed(tasks))
    running: dict[int, tuple[_Task, float, int | None, Path]] = {}
    results: list[SubmissionResult] = []
    with tempfile.TemporaryDirectory(prefix="llmcourse-grade-") as scratch:
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    task = pending.pop()
                    uid = pick_uid(exclude={r[2] for r in running.values()})
                    result_path = Path(scratch) / f"{len(pending)}.json"
                    pid = os.fork()
                    if pid == 0:  # pragma: no cover - the supervisor's whole life
                        _supervise_and_exit(manifest, task, uid, seed, result_path)
                    running[pid] = (task, time.monotonic(), uid, result_path)
                finished = _reap(running, backstop)
                for pid, status in finished:
                    task, started, uid, result_path = running.pop(pid)
                    if uid is not None:
                        kill_uid(uid)  # whatever the supervisor could not clean up
                    if task.out_dir is None:
                        results.append(_read_result(result_path, task, manifest, describe_exit(status), started))
                    elif not result_path.exists():  # the supervisor died before writing this student's files
                        failed = _read_result(result_path, task, manifest, describe_exit(status), started)
                        write_student_outputs(task.out_dir, failed)
                    if on_result:
                        on_result(task.student_id)
                if not finished:
                    time.sleep(0.005)
        finally:
            for pid, (_, _, uid, _) in running.items():
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                if uid is not None:
                    kill_uid(uid)
    order = {t.student_id: i for i, t in enumerate(tasks)}
    return sorted(results, key=lambda r: order[r.student_id])


def _reap(running: dict, backstop: float) -> list[tuple[int, int]]:
    done = []
    for pid, (_, started, _, _) in running.items():
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited:
            done.append((pid, status))
        elif time.monotonic() - started > backstop:
            os.kill(pid, signal.SIGKILL)
            done.append((pid, os.waitpid(pid, 0)[1]))
    return done


def _read_result(path: Path, task: _Task, manifest: Manifest, exit_text: str, started: float) -> SubmissionResult:
    try:
        return SubmissionResult.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return SubmissionResult(
            task.student_id,
            manifest.assignment,
            GRADER_ERROR,
            message=f"the grading process {exit_text} before finishing",
            max_score=manifest.total_points,
            execution_time=time.monotonic() - started,
        )


# --------------------------------------------------------------------------- the supervisor (one submission)


def _supervise_and_exit(manifest: Manifest, task: _Task, uid: int | None, seed: int, result_path: Path) -> None:
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        # fresh stream objects: the inherited ones may belong to a capture system or be locked by a thread
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        result = supervise(manifest, task, uid, seed)
        if task.out_dir is not None:
            from .report import write_student_outputs

            write_student_outputs(task.out_dir, result)
        tmp = result_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result.to_dict()) if task.out_dir is None else "written")
        os.replace(tmp, result_path)
    except BaseException:  # noqa: BLE001 - the runner reports a missing result as grader_error
        code = 1
    os._exit(code)


def supervise(manifest: Manifest, task: _Task, uid: int | None, seed: int) -> SubmissionResult:
    """Grade one submission in this (trusted) process. Forks the fork server first, then imports graders."""
    import pytest
    import torch

    from .notebook import SubmissionProblem, find_notebook, read_notebook
    from .plugin import GradingPlugin
    from .sandbox import ForkServer, SandboxSpec
    from .scan import scan_cells
    from .session import WorkerSession

    torch.set_num_threads(1)  # --jobs supervisors share the cores
    started = time.monotonic()
    base = SubmissionResult(task.student_id, manifest.assignment, GRADED, max_score=manifest.total_points)
    try:
        if task.folder:
            path, flags = find_notebook(task.path, manifest)
        else:
            path, flags = task.path, []
        loaded = read_notebook(path, manifest, flags)
    except SubmissionProblem as problem:
        return dataclasses.replace(
            base, status=problem.status, message=str(problem), execution_time=time.monotonic() - started
        )
    cells = loaded.cells
    scan = scan_cells([(c.index, c.source) for c in cells], manifest.graded_names, manifest.forbidden)
    spec = SandboxSpec(
        uid=uid,
        files={manifest.notebook: loaded.data},
        hide=_hidden_dirs(manifest, task),
        limits=manifest.limits,
        forbidden=tuple(sorted(manifest.forbidden.modules)),
    )
    server = ForkServer(spec, cells)  # forked from the clean zygote, not from us: we hold the secrets
    deadline = started + manifest.limits.submission_seconds
    session = WorkerSession(server, manifest.limits, deadline)
    base_seed = int(hashlib.sha256(f"{seed}:{manifest.assignment}:{loaded.sha256}".encode()).hexdigest()[:12], 16)
    plugin = GradingPlugin(session, scan, base_seed)
    try:
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        with tempfile.NamedTemporaryFile("w", suffix=".ini") as ini:
            ini.write("[pytest]\n")
            ini.flush()
            pytest.main(
                [
                    str(manifest.grader_dir),
                    "-c",
                    ini.name,
                    "--rootdir",
                    str(manifest.grader_dir),
                    "--confcutdir",
                    str(manifest.grader_dir),
                    "--assert=plain",
                    *NO_PLUGINS,
                    "-q",
                    "--no-header",
                    "-W",
                    "ignore",
                ],
                plugins=[plugin],
            )
    finally:
        session.close()
        server.close()
    return _assemble(base, manifest, plugin, session, scan, loaded, base_seed, started)


def _broken_suite(plugin: Any, manifest: Manifest) -> str | None:
    """Why the hidden tests as a whole cannot grade anyone (for the TA), or None."""
    if plugin.collection_errors or not plugin.collected:
        return "the hidden tests could not be collected: " + "; ".join(plugin.collection_errors)[:4000]
    total = sum(points for _, points in plugin.collected)
    if abs(total - manifest.total_points) > 1e-9:
        return f"the hidden tests are worth {total} points but the manifest says {manifest.total_points}"
    return None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit + 100 else text[:limit] + "\n[... output truncated]"


def _hidden_dirs(manifest: Manifest, task: _Task) -> tuple[str, ...]:
    """What a worker must not see: every assignment's graders, the course's sources and answer keys,
    the other submissions and the outputs."""
    hide = [str(GRADERS_DIR), str(manifest.grader_dir.parent), *task.hide]
    if manifest.source_notebook is not None:
        course = manifest.source_notebook.parents[2]
        hide += [str(course / "source"), str(course.parent / "solutions")]
    # never hide what the worker's interpreter is made of (e.g. a submission inside the checkout with .venv)
    needed = [Path(sys.prefix).resolve(), Path(__file__).resolve().parent, Path(torch_dir()).resolve()]
    return tuple(d for d in dict.fromkeys(hide) if not any(_within(n, Path(d)) for n in needed))


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def torch_dir() -> str:
    import torch

    return os.path.dirname(torch.__file__)


def _assemble(
    base: SubmissionResult,
    manifest: Manifest,
    plugin: Any,
    session: Any,
    scan: Any,
    loaded: Any,
    base_seed: int,
    started: float,
) -> SubmissionResult:
    by_node = {r.name: r for r in plugin.results}
    tests = []
    for nodeid, points in plugin.collected:
        name = test_name(nodeid)
        tests.append(
            by_node.get(name) or TestResult(name, name, points, 0.0, "error", "the test did not run", "not_run")
        )
    broken_suite = _broken_suite(plugin, manifest)  # the hidden tests as a whole cannot be trusted
    grader_errors = [broken_suite] if broken_suite else list(plugin.grader_errors)
    status, message = base.status, ""
    if grader_errors:  # the detail is for the TA (grading.json); the student reads that it was not them
        status = GRADER_ERROR
        message = "the grader itself failed, not because of your code; the course staff are told and will grade " + (
            "your submission by hand" if broken_suite else f"the {len(grader_errors)} affected test(s) by hand"
        )
    flags = list(loaded.flags)
    if scan.flagged:
        flags.append("forbidden_api")
    if session.cell_errors:
        flags.append("cell_errors")
    flags += sorted(session.events)
    cell_errors = [f"cell {i + 1}: {text}" for i, text in sorted(session.cell_errors.items())]
    return dataclasses.replace(
        base,
        status=status,
        message=message,
        score=0.0 if broken_suite else sum(t.score for t in tests),
        tests=tests,
        flags=flags,
        cell_errors=cell_errors,
        notes=list(session.notes),
        scan_findings=[f.describe() for f in scan.findings] + scan.syntax_errors,
        grader_errors=grader_errors,
        output=_cap("\n".join(session.outputs), manifest.limits.output_kb * 1024),
        seed=base_seed,
        notebook_sha256=loaded.sha256,
        isolation=session.isolation,
        execution_time=time.monotonic() - started,
    )
