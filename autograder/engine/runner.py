"""Grade submissions: one supervisor process per submission, forked from a warm runner, ``jobs`` at a time.

Python API (used by ``llmcourse grade`` and by the nbgrader / Gradescope bridges)::

    from autograder.engine.runner import grade_batch, grade_submission

    result = grade_submission("a0_warmup", "path/to/a0_warmup.ipynb")      # or the folder holding it
    result.score, result.max_score, result.status, result.flags
    for test in result.tests:                                             # autograder.results.TestResult
        test.name, test.description, test.score, test.max_score, test.outcome, test.message

    batch = grade_batch("a0_warmup", "submitted/", "grades/a0_warmup/", jobs=8, resume=True)
    batch.results            # list[SubmissionResult], one per student graded in this run or earlier (resume)

``grade_batch`` expects nbgrader's layout ``submitted/<student>/<assignment>/*.ipynb`` and writes, atomically,
``<out>/<student>/results.json`` (Gradescope's schema), ``feedback.md``, ``feedback.html`` and
``grading.json`` (the full :class:`SubmissionResult`, written last: its presence means "graded"), then
``<out>/grades.csv``. See :mod:`autograder.engine.report`. On Gradescope (``/autograder/submission/`` holds the
notebook)::

    from autograder.engine.report import gradescope_results, write_atomic
    result = grade_submission("a0_warmup", "/autograder/submission")
    write_atomic(Path("/autograder/results/results.json"), json.dumps(gradescope_results(result)))

Both functions ``fork``: call them from a process without other threads running (a CLI, a script).

Statuses are :class:`autograder.results.Status`; a test whose own code failed makes the whole submission
``grader_error``, keeping the scores of the tests that ran, and its traceback is in ``grading.json``'s
``grader_errors``, never in the student's files. The runner imports torch, numpy, pytest and nbformat once;
every supervisor (:mod:`autograder.engine.supervisor`) is a ``fork`` of it, and forks its workers from a fork
server (see :mod:`autograder.sandbox`), so no interpreter or Jupyter kernel starts per student.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from course_lib.errors import CourseError

from ..results import GRADER_ERROR, BatchResult, SubmissionResult
from .layout import check_output_folder, find_students, require_some_submission, submission_sha256, tree_sha256
from .manifest import Manifest, load_manifest
from .supervisor import Task, supervise_and_exit

SUPERVISOR_GRACE_SECONDS = 60.0


class GradingInterrupted(CourseError):
    """The batch was interrupted (Ctrl-C); what was finished is written, ``grades.csv`` included."""

    def __init__(self, done: int, total: int, out: Path) -> None:
        super().__init__(
            f"interrupted after grading {done} of {total} submission(s); {out / 'grades.csv'} lists the students "
            "graded so far. Run the same command with --resume to grade the rest."
        )
        self.done, self.total = done, total


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
    task = Task(student_id, path, hide, folder=path.is_dir(), student_root=path if path.is_dir() else None)
    return _run_all(manifest, [task], jobs=1, seed=seed)[0]


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
    With ``resume``, a student whose saved result is for this assignment, these graders, this seed and the
    very same submission is not graded again; one whose submission changed is (``BatchResult.regraded``).
    Ctrl-C raises :class:`GradingInterrupted` after writing ``grades.csv`` for the students done.
    """
    from .report import read_key, write_grades_csv

    manifest = load_manifest(assignment, graders_root)
    submitted, out = Path(submitted_dir), Path(out_dir)
    found = {s.student_id: s for s in find_students(submitted, assignment, manifest.notebook)}
    check_output_folder(submitted, out)
    wanted = list(dict.fromkeys(students)) if students else list(found)
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        raise CourseError(f"no submission folder for student(s) {', '.join(unknown)} in {submitted}")
    require_some_submission(list(found.values()), submitted, assignment, manifest.notebook)
    grader = tree_sha256(manifest.grader_dir)
    keys = {s: submission_key(assignment, submission_sha256(found[s].folder), seed, grader) for s in wanted}
    saved = {s: read_key(out / s) for s in wanted}
    others = sorted({k["assignment"] for k in saved.values() if k and k.get("assignment") != assignment})
    if others:
        raise CourseError(
            f"{out} holds results of another assignment ({', '.join(others)}); use one --out folder per assignment"
        )
    skipped = [s for s in wanted if resume and saved[s] == keys[s]]
    regraded = [s for s in wanted if resume and saved[s] is not None and saved[s] != keys[s]]
    out.mkdir(parents=True, exist_ok=True)
    hide = tuple(str(p.resolve()) for p in (submitted, out))
    tasks = [
        Task(s, found[s].folder, hide, out_dir=out, student_root=submitted / s, key=keys[s])
        for s in wanted
        if s not in skipped
    ]
    if on_start:
        on_start(len(tasks))
    try:
        _run_all(manifest, tasks, jobs=jobs or os.cpu_count() or 1, seed=seed, on_result=on_result)
    except KeyboardInterrupt:  # the supervisors are stopped; those that wrote their student's files count
        finished_now = [t.student_id for t in tasks if read_key(out / t.student_id) == t.key]
        write_grades_csv(out, _batch_result(assignment, out, [], [], []).results)
        raise GradingInterrupted(len(finished_now), len(tasks), out) from None
    batch = _batch_result(assignment, out, [t.student_id for t in tasks], skipped, regraded)
    write_grades_csv(out, batch.results)
    return batch


def submission_key(assignment: str, submission: str, seed: int, grader: str) -> dict:
    """What a saved result was graded from: another key means grade again (``--resume``)."""
    return {"assignment": assignment, "submission_sha256": submission, "seed": seed, "graders_sha256": grader}


def _batch_result(
    assignment: str, out: Path, graded_now: list[str], skipped: list[str], regraded: list[str]
) -> BatchResult:
    from .report import read_graded

    everyone = read_graded(out, assignment)
    return BatchResult(assignment, out, [everyone[s] for s in sorted(everyone)], graded_now, skipped, regraded)


# --------------------------------------------------------------------------- the warm runner


def _warm_up() -> None:
    """Import what every supervisor needs, once, before forking them (workers come from the zygote)."""
    import importlib

    import IPython.core.inputtransformer2  # noqa: F401
    import nbformat  # noqa: F401
    import numpy.random  # noqa: F401
    import pytest  # noqa: F401
    import torch  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401  # autograd's backward imports it (and sympy)
    from _pytest.config import default_plugins

    from .. import checks  # noqa: F401
    from ..sandbox import forkserver, worker  # noqa: F401
    from . import notebook, plugin, report, session  # noqa: F401

    for name in default_plugins:
        importlib.import_module(f"_pytest.{name}")
    gc.freeze()  # forked children neither copy nor rescan what the warm parent already holds


def _run_all(
    manifest: Manifest,
    tasks: list[Task],
    *,
    jobs: int,
    seed: int,
    on_result: Callable[[str], None] | None = None,
) -> list[SubmissionResult]:
    """Grade ``tasks``, ``jobs`` at a time. Tasks with an ``out_dir`` are written there by their supervisor
    (or here, as a grader error, when it died) and not returned; the others' results are returned."""
    from ..sandbox import zygote
    from ..sandbox.forkserver import describe_exit, kill_uid, pick_uid
    from .report import write_student_outputs

    _warm_up()
    zygote.shared()  # workers come from this clean process, never from the runner or a supervisor
    backstop = manifest.limits.submission_seconds + SUPERVISOR_GRACE_SECONDS
    pending = list(reversed(tasks))
    running: dict[int, tuple[Task, float, int | None, Path]] = {}
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
                        supervise_and_exit(manifest, task, uid, seed, result_path)
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


def _read_result(path: Path, task: Task, manifest: Manifest, exit_text: str, started: float) -> SubmissionResult:
    try:
        return SubmissionResult.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return SubmissionResult(
            task.student_id,
            manifest.assignment,
            GRADER_ERROR,
            message=f"the grading process {exit_text} before finishing",
            max_score=manifest.total_points,
            hand_graded_points=manifest.hand_graded_points,
            execution_time=time.monotonic() - started,
        )
