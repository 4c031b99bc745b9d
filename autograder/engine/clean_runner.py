"""Grading on behalf of a process whose environment is not clean (see :mod:`autograder.engine.environment`).

The first time such a process grades, it starts a *clean runner*: a new Python process holding only the kept
environment variables, which imports what grading needs once and then waits for requests on its stdin. Each
request (a ``grade_batch`` or ``grade_submission`` call, as JSON) is served by a fork of the clean runner, so
the runner itself never holds a student's data and each request starts warm. Progress and the final report
come back as JSON lines on a pipe; the caller's callbacks run in the caller. The runner exits when its caller
closes its stdin (at exit, or when the caller dies).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from course_lib.errors import CourseError

from ..paths import PACKAGE_DIR
from .environment import clean_environment

_lock = threading.Lock()
_runner: tuple[subprocess.Popen, object] | None = None  # the process and the file its reports come on


def _clean_runner() -> tuple[subprocess.Popen, object]:
    global _runner
    if _runner is not None and _runner[0].poll() is None:
        return _runner
    read_fd, write_fd = os.pipe()
    env = clean_environment()
    # the same autograder and course_lib as this process, whatever its sys.path was made of
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_DIR.parent), env.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.engine.clean_runner", str(write_fd)],
        stdin=subprocess.PIPE,
        env=env,
        pass_fds=(write_fd,),
        text=True,
    )
    os.close(write_fd)
    _runner = (process, os.fdopen(read_fd, encoding="utf-8"))
    atexit.register(_stop, process)
    return _runner


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.stdin.close()  # the runner sees the end of its input and exits
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def in_clean_process(
    kind: str,
    spec: dict,
    graders_root: Path | None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[str], None] | None = None,
) -> dict:
    """Serve one grading request (``kind``: ``"batch"`` or ``"submission"``) in the clean runner; relay its
    progress to the callbacks; return its final report (or raise what it raised)."""
    from .runner import GradingInterrupted

    with _lock:
        process, events = _clean_runner()
        request = {**spec, "kind": kind, "graders_root": str(graders_root) if graders_root else None}
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        final: dict = {}
        interrupted = False
        while True:
            try:
                line = events.readline()
            except KeyboardInterrupt:  # the request got it too: it stops, writes what is done and reports
                interrupted = True
                continue
            if not line:  # the runner died
                break
            event = json.loads(line)
            if event["event"] == "start" and on_start:
                on_start(event["total"])
            elif event["event"] == "result" and on_result:
                on_result(event["student"])
            elif event["event"] in ("done", "error", "interrupted"):
                final = event
            elif event["event"] == "end":  # the request's process has exited
                break
    if final.get("event") == "interrupted":
        raise GradingInterrupted(final["done"], final["total"], Path(final["out"]))
    if final.get("event") == "error":
        raise CourseError(final["message"])
    if interrupted:
        raise KeyboardInterrupt
    if not final:
        raise CourseError("the grading process ended without a result (its error is printed above)")
    return final


# ------------------------------------------------------------------------------------- the runner's side


def serve(report_fd: int) -> None:
    """The clean runner: warm up once, then serve each request on stdin in a fork of this process."""
    from .runner import _warm_up

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the request being served, not for us
    report = os.fdopen(report_fd, "w", encoding="utf-8", buffering=1)
    _warm_up()
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the request's whole life
            signal.signal(signal.SIGINT, signal.default_int_handler)
            code = 0
            try:
                _serve_one(json.loads(line), report)
            except BaseException:  # noqa: BLE001 - the caller reports a missing result
                traceback.print_exc()
                code = 1
            finally:
                report.flush()
            os._exit(code)
        os.waitpid(pid, 0)
        report.write(json.dumps({"event": "end"}) + "\n")


def _serve_one(request: dict, report) -> None:
    from .runner import GradingInterrupted, grade_batch, grade_submission

    def send(**event) -> None:
        report.write(json.dumps(event) + "\n")

    kind = request.pop("kind")
    root = request.pop("graders_root")
    root = Path(root) if root else None
    try:
        if kind == "submission":
            result = grade_submission(**request, graders_root=root)
            send(event="done", result=result.to_dict())
        else:
            batch = grade_batch(
                **request,
                graders_root=root,
                on_start=lambda total: send(event="start", total=total),
                on_result=lambda student: send(event="result", student=student),
            )
            send(event="done", graded_now=batch.graded_now, skipped=batch.skipped, regraded=batch.regraded)
    except GradingInterrupted as stop:
        send(event="interrupted", done=stop.done, total=stop.total, out=request["out_dir"])
    except CourseError as err:
        send(event="error", message=str(err))


if __name__ == "__main__":
    serve(int(sys.argv[1]))
