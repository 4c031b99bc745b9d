"""``llmcourse grade`` as a TA runs it, including a batch killed with SIGKILL and resumed."""

from __future__ import annotations

import csv
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
    return subprocess.run(
        [*LLMCOURSE, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, **kwargs
    )


def test_grade_help():
    result = run("grade", "--help")
    assert result.returncode == 0 and "--resume" in result.stdout and "--jobs" in result.stdout


def test_unknown_assignment_is_one_clear_line(tmp_path):
    result = run("grade", "no_such_assignment", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no grader for assignment 'no_such_assignment'" in result.stderr


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
    assert "skipped (--resume)" in resumed.stdout
    after = {p.parent.name: p.read_bytes() for p in out.glob("*/grading.json")}
    assert sorted(after) == students
    assert all(after[s] == data for s, data in before.items())  # graded ones were not redone
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert sorted(rows) == students
    for i, student in enumerate(students):
        assert float(rows[student]["score"]) == (20 if i % 2 == 0 else 10), rows[student]
    assert not list(out.rglob(".*.json.*")), "no temporary files left behind"
