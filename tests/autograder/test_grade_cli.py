"""``llmcourse grade`` as a TA runs it, including a batch killed with SIGKILL and resumed."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ag_notebooks as nbs
import pytest

LLMCOURSE = [sys.executable, "-m", "course_lib.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*LLMCOURSE, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, **kwargs)


def test_grade_help():
    result = run("grade", "--help")
    assert result.returncode == 0 and "--resume" in result.stdout and "--jobs" in result.stdout


def test_unknown_assignment_is_one_clear_line(tmp_path):
    result = run("grade", "no_such_assignment", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no grader for assignment 'no_such_assignment'" in result.stderr


def test_unknown_student_is_one_clear_line(tmp_path):
    submitted = tmp_path / "submitted"
    (submitted / "alice").mkdir(parents=True)
    result = run("grade", "a0_warmup", str(submitted), "--out", str(tmp_path / "out"), "--student", "bob")
    assert result.returncode == 2
    assert result.stderr == f"llmcourse grade: error: no submission folder for student(s) bob in {submitted}\n"


def grader_parser():
    from autograder.cli import register
    from course_lib.cli import build_parser

    return build_parser([register])


def test_student_takes_one_id_and_repeats_without_swallowing_positionals():
    args = grader_parser().parse_args(
        ["grade", "--student", "bob", "a0_warmup", "submitted", "--out", "o", "--student", "amy"]
    )
    assert (args.assignment, args.submitted_dir, args.student) == ("a0_warmup", Path("submitted"), ["bob", "amy"])


@pytest.mark.parametrize("flag", ["--out", "-o"])
def test_gradescope_zip_writes_to_out(flag):
    args = grader_parser().parse_args(["gradescope-zip", "a0_warmup", flag, "a0.zip"])
    assert args.out == Path("a0.zip")


def test_the_grader_declares_its_commands_as_an_entry_point():
    # course_lib's llmcourse finds the grader only through this declaration (pyproject, installed metadata)
    import importlib
    import tomllib

    from course_lib.cli import ENTRY_POINT_GROUP

    grader = tomllib.loads((ROOT / "grader" / "pyproject.toml").read_text())
    declared = grader["project"]["entry-points"][ENTRY_POINT_GROUP]
    targets = [importlib.import_module(v.split(":")[0]) for v in declared.values()]
    registered = [getattr(m, v.split(":")[1]) for m, v in zip(targets, declared.values())]
    from course_lib.cli import build_parser

    action = next(a for a in build_parser(registered)._actions if a.dest == "command")
    assert {"grade", "release", "gradebook-sync", "gradescope-zip", "answer-key"} <= set(action.choices)


def test_missing_submitted_folder_is_one_clear_line(tmp_path):
    result = run("grade", "a0_warmup", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.slow
def test_sigkilled_batch_resumes_without_losing_anything(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    students = [f"s{i:02d}" for i in range(6)]
    for i, student in enumerate(students):
        nb = nbs.solution() if i % 2 == 0 else nbs.submission(softmax=nbs.SOFTMAX_WRONG)
        nbs.write(nb, submitted / student / "a0_warmup")
    args = ["grade", "a0_warmup", str(submitted), "--out", str(out), "--jobs", "1"]
    process = subprocess.Popen(
        [*LLMCOURSE, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not list(out.glob("*/grading.json")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = {p.parent.name: p.read_bytes() for p in out.glob("*/grading.json")}
    assert 1 <= len(before) < len(students), "the kill should land mid-batch"
    assert not (out / "grades.csv").exists()

    resumed = run(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "skipped (--resume" in resumed.stdout
    after = {p.parent.name: p.read_bytes() for p in out.glob("*/grading.json")}
    assert sorted(after) == students
    assert all(after[s] == data for s, data in before.items())  # graded ones were not redone
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert sorted(rows) == students
    for i, student in enumerate(students):
        assert float(rows[student]["score"]) == (20 if i % 2 == 0 else 10), rows[student]
    assert not list(out.rglob(".*.json.*")), "no temporary files left behind"


ENV_SNOOP = """
import ctypes, os
# The environment a process started with lies in the top pages of its stack, and forks copy it. Read those
# pages (write() into a pipe fails cleanly where nothing is mapped) and look for the token.
libc = ctypes.CDLL(None, use_errno=True)
page = ctypes.c_void_p.in_dll(libc, "__libc_stack_end").value & ~4095
r, w = os.pipe()
memory = b""
for address in range(page, page + 256 * 4096, 4096):
    if libc.write(w, ctypes.c_void_p(address), 4096) != 4096:
        break
    memory += os.read(r, 4096)
print("FOUND" if ("tok-" + str(6 * 7 * 1001)).encode() in memory else "CLEAN", len(memory))
"""


@pytest.mark.slow
@pytest.mark.parametrize("restart", [True, False])
def test_secrets_in_the_graders_environment_do_not_reach_workers(tmp_path, restart):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    nbs.write(nbs.submission(extra=[ENV_SNOOP]), submitted / "s1" / "a0_warmup")
    env = {**os.environ, "GRADER_API_TOKEN": "tok-" + str(6 * 7 * 1001)}
    if not restart:  # as if the grader had not restarted itself: workers still descend from the clean zygote
        env["LLMCOURSE_GRADE_CLEAN_ENV"] = "1"
    result = run("grade", "a0_warmup", str(submitted), "--out", str(out), "--jobs", "1", env=env)
    assert result.returncode == 0, result.stderr
    output = json.loads((out / "s1" / "grading.json").read_text())["output"]
    assert "CLEAN" in output, output
    if not restart:  # the probe does find the token in the environment a process started with
        probe = subprocess.run([sys.executable, "-c", ENV_SNOOP], env=env, capture_output=True, text=True)
        assert "FOUND" in probe.stdout, probe.stdout + probe.stderr
