"""A batch grades exactly the students in front of it: the layout is checked before anything runs, symbolic
links cannot borrow another student's work, manifests are strict, ``--resume`` notices a resubmission, and an
interrupted batch says what it did."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import ag_notebooks as nbs
import pytest

from autograder.engine.manifest import load_manifest
from autograder.engine.report import feedback_markdown
from autograder.engine.runner import grade_batch
from autograder.results import GRADED, Status, SubmissionResult
from course_lib.errors import CourseError

ROOT = Path(__file__).resolve().parents[2]
LLMCOURSE = [sys.executable, "-m", "autograder.cli"]


def llmcourse(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*LLMCOURSE, *args], capture_output=True, text=True, cwd=ROOT, timeout=600, **kwargs)


def one_line_error(tmp_path: Path, submitted: Path, out: Path | None = None) -> str:
    with pytest.raises(CourseError) as error:
        grade_batch("a0_warmup", submitted, out or tmp_path / "out")
    assert "\n" not in str(error.value)
    return str(error.value)


# ----------------------------------------------------------------------------------- the layout, up front


def test_an_empty_submissions_folder_is_an_error(tmp_path):
    (tmp_path / "submitted").mkdir()
    assert "no student folders in" in one_line_error(tmp_path, tmp_path / "submitted")


def test_a_folder_one_level_too_high_is_an_error_that_names_the_right_one(tmp_path):
    course = tmp_path / "course"  # the course root: submitted/ and grades/ would become two students scoring 0
    nbs.write(nbs.solution(), course / "submitted" / "alice" / "a0_warmup")
    (course / "grades").mkdir()
    message = one_line_error(tmp_path, course)
    assert "holds a0_warmup/ or a notebook" in message and f"did you mean {course / 'submitted'}?" in message


@pytest.mark.parametrize("name", ["grades.csv", "summary.html"])
def test_a_student_folder_named_like_an_output_is_an_error(tmp_path, name):
    nbs.write(nbs.solution(), tmp_path / "submitted" / name / "a0_warmup")
    assert f"student folder {name!r}" in one_line_error(tmp_path, tmp_path / "submitted")


def test_a_student_folder_name_that_is_not_utf8_is_an_error(tmp_path):
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    os.mkdir(os.fsencode(submitted) + b"/caf\xe9")  # Latin-1, as an old zip tool would write it
    assert "b'caf\\xe9'" in one_line_error(tmp_path, submitted) and "not a UTF-8 name" in one_line_error(
        tmp_path, submitted
    )


def test_outputs_cannot_be_inside_the_submissions_nor_around_them(tmp_path):
    submitted = tmp_path / "submitted"
    nbs.write(nbs.solution(), submitted / "alice" / "a0_warmup")
    assert "is inside the submitted folder" in one_line_error(tmp_path, submitted, submitted / "grades")
    assert "is inside the output folder" in one_line_error(tmp_path, submitted, tmp_path)


# ------------------------------------------------------------------------------------------- manifests


@pytest.mark.parametrize(
    ("table", "typo", "valid"),
    [
        ("[forbidden]", "module = ['course_lib']", "apis, modules, names, roots"),
        ("the top level", "total_point = 3", "assignment, forbidden, graded_names"),
        ("[limits]", "cell_second = 3", "call_seconds, cell_seconds"),
    ],
)
def test_unknown_manifest_keys_are_errors_naming_the_key_and_the_valid_ones(tmp_path, table, typo, valid):
    grader = tmp_path / "graders" / "a0_warmup"
    shutil.copytree(nbs.GRADERS / "a0_warmup", grader, ignore=shutil.ignore_patterns("__pycache__"))
    text = (grader / "manifest.toml").read_text()
    section = {"[forbidden]": "[forbidden]\n", "[limits]": "[limits]\n", "the top level": ""}[table]
    text = text.replace(section, section + typo + "\n", 1) if section else typo + "\n" + text
    (grader / "manifest.toml").write_text(text)
    with pytest.raises(CourseError) as error:
        load_manifest("a0_warmup", tmp_path / "graders")
    key = typo.split(" =")[0]
    assert f"unknown key(s) {key} in {table}; valid keys: " in str(error.value) and valid in str(error.value)


def test_hand_graded_points_match_the_written_answers_of_the_source():
    # one points scheme: what the manifest says is graded by hand is what the nbgrader source grades by hand
    for manifest_path in sorted(nbs.GRADERS.glob("*/manifest.toml")):
        manifest = load_manifest(manifest_path.parent.name)
        source = json.loads(manifest.source_notebook.read_text())
        written = sum(
            cell["metadata"]["nbgrader"].get("points", 0)
            for cell in source["cells"]
            if cell["metadata"].get("nbgrader", {}).get("grade") and cell["metadata"]["nbgrader"].get("solution")
        )
        assert manifest.hand_graded_points == written, manifest.assignment


def test_feedback_says_hand_graded_points_are_still_to_come():
    result = SubmissionResult("s", "a1_ngrams", GRADED, score=94, max_score=94, hand_graded_points=6)
    text = feedback_markdown(result)
    assert "94 / 94 autograded points" in text and "6 more points" in text and "100 in all" in text
    plain = feedback_markdown(SubmissionResult("s", "a0_warmup", GRADED, score=20, max_score=20))
    assert "**Score: 20 / 20**" in plain and "by hand" not in plain


# ------------------------------------------------------------------------------------------- grading


@pytest.mark.slow
def test_symlinks_flat_layout_and_cell_names_in_one_batch(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    nbs.write(nbs.solution(), submitted / "alice" / "a0_warmup")
    (submitted / "bob").mkdir(parents=True)
    (submitted / "bob" / "a0_warmup").symlink_to(submitted / "alice" / "a0_warmup")  # alice's work as bob's
    (submitted / "carol").symlink_to(submitted / "alice")  # a whole student folder borrowed
    nbs.write(nbs.solution(), submitted / "dave" / "a0_warmup")
    (submitted / "dave" / "a0_warmup" / "notes.txt").symlink_to(submitted / "alice" / "a0_warmup" / "a0_warmup.ipynb")
    nbs.write(nbs.solution(), submitted / "erin")  # flat: the notebook directly in the student folder
    broken = nbs.submission(extra=["raise ValueError('oops')"])
    nbs.write(broken, submitted / "frank" / "a0_warmup")

    result = llmcourse("grade", "a0_warmup", str(submitted), "--out", str(out), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert {s: (rows[s]["status"], float(rows[s]["score"])) for s in rows} == {
        "alice": (GRADED, 20),
        "bob": (Status.SYMLINK, 0),
        "carol": (Status.SYMLINK, 0),
        "dave": (Status.SYMLINK, 0),
        "erin": (GRADED, 20),
        "frank": (GRADED, 20),
    }
    for student, link in [("bob", "bob/a0_warmup"), ("carol", "carol"), ("dave", "dave/a0_warmup/notes.txt")]:
        message = json.loads((out / student / "grading.json").read_text())["message"]
        assert f"symbolic link ({link})" in message, message
        assert "symbolic link" in (out / student / "feedback.md").read_text()
        assert f"not graded: {student}" in result.stdout
    # the cell that raised is named as JupyterLab shows it: by its first line, not by a count of cells
    frank = json.loads((out / "frank" / "grading.json").read_text())
    assert frank["cell_errors"] == ["the cell starting \"raise ValueError('oops')\": ValueError: oops (line 1)"]


@pytest.mark.slow
def test_resume_regrades_a_resubmission_and_refuses_another_assignments_folder(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    nbs.write(nbs.solution(), submitted / "alice" / "a0_warmup")
    nbs.write(nbs.submission(softmax=nbs.SOFTMAX_WRONG), submitted / "bob" / "a0_warmup")
    first = grade_batch("a0_warmup", submitted, out, jobs=2)
    assert [r.score for r in first.results] == [20, 10]
    alice_record = (out / "alice" / "grading.json").read_bytes()

    nbs.write(nbs.solution(), submitted / "bob" / "a0_warmup")  # bob resubmits, fixed
    again = grade_batch("a0_warmup", submitted, out, jobs=2, resume=True)
    assert (again.skipped, again.graded_now, again.regraded) == (["alice"], ["bob"], ["bob"])
    assert [r.score for r in again.results] == [20, 20]
    assert (out / "alice" / "grading.json").read_bytes() == alice_record

    key = json.loads((out / "alice" / "graded-from.json").read_text())
    (out / "alice" / "graded-from.json").write_text(json.dumps({**key, "assignment": "a1_ngrams"}))
    with pytest.raises(CourseError, match="holds results of another assignment \\(a1_ngrams\\)"):
        grade_batch("a0_warmup", submitted, out, resume=True)


@pytest.mark.slow
def test_an_interrupted_batch_says_how_far_it_got_and_writes_grades_csv(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    students = [f"s{i}" for i in range(5)]
    for student in students:
        nbs.write(nbs.solution(), submitted / student / "a0_warmup")
    process = subprocess.Popen(
        [*LLMCOURSE, "grade", "a0_warmup", str(submitted), "--out", str(out), "--jobs", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: Ctrl-C reaches the grader and everything it started
        # Ctrl-C as in a terminal, even when pytest runs as a background job (which starts with SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while not list(out.glob("*/grading.json")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    done = sorted(p.parent.name for p in out.glob("*/grading.json"))
    assert 1 <= len(done) < len(students)
    assert f"interrupted after grading {len(done)} of {len(students)} submission(s)" in stderr
    assert "--resume" in stderr
    rows = [r["student_id"] for r in csv.DictReader((out / "grades.csv").open())]
    assert rows == done
