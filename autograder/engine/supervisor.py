"""The supervisor: the trusted process that grades one submission.

It is a ``fork`` of the warm runner (:mod:`autograder.engine.runner`). It reads and checks the notebook, scans
it for forbidden APIs, starts the sandbox's fork server (:mod:`autograder.sandbox`), runs the hidden pytest
graders against the student's worker through :mod:`autograder.engine.plugin`, and assembles the
:class:`~autograder.results.SubmissionResult`. The runner never holds a student's results: each supervisor
writes its own student's files.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..paths import GRADERS_DIR, PACKAGE_DIR
from ..results import GRADED, GRADER_ERROR, Outcome, Status, SubmissionResult, TestResult
from .layout import symlink_in
from .manifest import Manifest
from .notebook import LoadedNotebook
from .plugin import GradingPlugin, test_name
from .scan import ScanResult
from .session import WorkerSession

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


@dataclass(frozen=True)
class Task:
    student_id: str
    path: Path  # the student's assignment folder, or a notebook file
    hide: tuple[str, ...]
    folder: bool = True  # path names the folder (it may be missing), not the notebook
    out_dir: Path | None = None  # where the supervisor writes this student's outputs (batch grading)
    student_root: Path | None = None  # the student's own folder: no symbolic link may be in it
    key: dict | None = None  # what the result is graded from, saved with it for --resume (batch grading)


def supervise_and_exit(manifest: Manifest, task: Task, uid: int | None, seed: int, result_path: Path) -> None:
    code = 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's: it stops us and writes what is done
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        # fresh stream objects: the inherited ones may belong to a capture system or be locked by a thread
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        result = supervise(manifest, task, uid, seed)
        if task.out_dir is not None:
            from .report import write_student_outputs

            write_student_outputs(task.out_dir, result, task.key)
        tmp = result_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result.to_dict()) if task.out_dir is None else "written")
        os.replace(tmp, result_path)
    except BaseException:  # the runner reports a missing result as grader_error
        code = 1
    os._exit(code)


def supervise(manifest: Manifest, task: Task, uid: int | None, seed: int) -> SubmissionResult:
    """Grade one submission in this (trusted) process. Forks the fork server first, then imports graders."""
    import pytest
    import torch

    from ..sandbox.forkserver import ForkServer, SandboxSpec
    from .notebook import SubmissionProblem, find_notebook, read_notebook
    from .scan import scan_cells

    torch.set_num_threads(1)  # --jobs supervisors share the cores
    started = time.monotonic()
    base = SubmissionResult(
        task.student_id,
        manifest.assignment,
        GRADED,
        max_score=manifest.total_points,
        hand_graded_points=manifest.hand_graded_points,
    )
    try:
        link = symlink_in(task.path, task.student_root) if task.student_root is not None else None
        if link is not None:
            raise SubmissionProblem(
                Status.SYMLINK,
                f"your submission contains a symbolic link ({link}); it was not graded. Submit the files "
                "themselves, not links to them",
            )
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
        # pytest imports each grader file by its basename: a module of that name already imported here (a test
        # file of the course's own suite that shares it, when grading runs inside pytest) must not stand in for it
        for path in manifest.grader_dir.glob("*.py"):
            sys.modules.pop(path.stem, None)
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


def _broken_suite(plugin: GradingPlugin, manifest: Manifest) -> str | None:
    """Why the hidden tests as a whole cannot grade anyone (for the TA), or None."""
    if plugin.collection_errors or not plugin.collected:
        return "the hidden tests could not be collected: " + "; ".join(plugin.collection_errors)[:4000]
    total = sum(points for _, points in plugin.collected)
    if abs(total - manifest.total_points) > 1e-9:
        return f"the hidden tests are worth {total} points but the manifest says {manifest.total_points}"
    return None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit + 100 else text[:limit] + "\n[... output truncated]"


def _hidden_dirs(manifest: Manifest, task: Task) -> tuple[str, ...]:
    """What a worker must not see: every assignment's graders, the course's sources and answer keys,
    the other submissions and the outputs."""
    hide = [str(GRADERS_DIR), str(manifest.grader_dir.parent), *task.hide]
    if manifest.source_notebook is not None:
        course = manifest.source_notebook.parents[2]
        hide += [str(course / "source"), str(course.parent / "solutions")]
    # never hide what the worker's interpreter is made of (e.g. a submission inside the checkout with .venv)
    needed = [Path(sys.prefix).resolve(), PACKAGE_DIR, Path(torch_dir()).resolve()]
    return tuple(d for d in dict.fromkeys(hide) if not any(_within(n, Path(d)) for n in needed))


_CELL_LINE = re.compile(r"\(cell (\d+), line (\d+)\)")
_CELL = re.compile(r"\bcell (\d+)\b")


def _cell_error(labels: dict[int, str], index: int, text: str) -> str:
    """``the cell starting "...": ValueError: oops (line 3)``: the label already says which cell."""
    label = labels.get(index, f"cell {index + 1}")
    return f"{label}: {_CELL_LINE.sub(lambda m: f'(line {m[2]})', text)}"


def _name_cells(text: str, labels: dict[int, str]) -> str:
    """``cell 8`` (counted from 1 over all cells, which JupyterLab does not show) -> the cell's label."""
    return _CELL.sub(lambda m: labels.get(int(m[1]) - 1, m[0]), text)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def torch_dir() -> str:
    import torch

    return os.path.dirname(torch.__file__)


def _assemble(
    base: SubmissionResult,
    manifest: Manifest,
    plugin: GradingPlugin,
    session: WorkerSession,
    scan: ScanResult,
    loaded: LoadedNotebook,
    base_seed: int,
    started: float,
) -> SubmissionResult:
    by_node = {r.name: r for r in plugin.results}
    tests = []
    for nodeid, points in plugin.collected:
        name = test_name(nodeid)
        tests.append(
            by_node.get(name) or TestResult(name, name, points, 0.0, Outcome.ERROR, "the test did not run", "not_run")
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
    name_cells = functools.partial(_name_cells, labels=loaded.labels)
    cell_errors = [_cell_error(loaded.labels, i, text) for i, text in sorted(session.cell_errors.items())]
    return dataclasses.replace(
        base,
        status=status,
        message=message,
        score=0.0 if broken_suite else sum(t.score for t in tests),
        tests=[dataclasses.replace(t, message=name_cells(t.message)) for t in tests],
        flags=flags,
        cell_errors=cell_errors,
        notes=[name_cells(note) for note in session.notes],
        scan_findings=[f.describe() for f in scan.findings] + scan.syntax_errors,
        grader_errors=grader_errors,
        output=_cap("\n".join(session.outputs), manifest.limits.output_kb * 1024),
        seed=base_seed,
        notebook_sha256=loaded.sha256,
        isolation=session.isolation,
        execution_time=time.monotonic() - started,
    )
