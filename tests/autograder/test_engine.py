"""The engine on a toy assignment: classes and methods across the boundary, plain containers, a manifest
whose points do not add up, and the fallback sandbox used when the grader does not run as root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import ag_notebooks as nbs
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.engine.runner import grade_batch, grade_submission
from autograder.results import GRADED
from autograder.sandbox import forkserver

TOY_TESTS = '''
import pytest
import torch

from autograder.checks import check_close


@pytest.mark.points(1)
def test_counter_object(student):
    """Counter keeps a running total across method calls."""
    counter = student.new("Counter", 5)
    counter.add(3)
    assert counter.get("total") == 8, "total is wrong after add(3)"
    assert counter.add(2) == 10, "add should return the new total"
    assert student.call("read_total", counter) == 10, "objects go back to the worker as themselves"


@pytest.mark.points(1)
def test_double(student, rng):
    """double(x) doubles a tensor."""
    x = torch.randn(3, 2, generator=rng)
    check_close(student.double(x), 2 * x, "double(x)")


@pytest.mark.points(1)
def test_containers(student):
    """stats returns a dict holding an int and a tuple."""
    assert student.call("stats", [1, 2, 3]) == {"sum": 6, "span": (1, 3)}, "stats is wrong"
'''

TOY_CODE = """
import torch

class Counter:
    def __init__(self, start):
        self.total = start

    def add(self, n):
        self.total += n
        return self.total

def double(x):
    return 2 * x

def read_total(counter):
    return counter.total

def stats(values):
    return {"sum": sum(values), "span": (min(values), max(values))}
"""

DETACHED = """
import os, ctypes, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        ctypes.CDLL(None).prctl(15, b"%s", 0, 0, 0)
        time.sleep(600)
    os._exit(0)
"""


def toy_graders(root: Path, total_points: int = 3) -> Path:
    folder = root / "toy"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(
        f'assignment = "toy"\nnotebook = "toy.ipynb"\ntotal_points = {total_points}\n'
        'graded_names = ["Counter", "double", "stats"]\n[limits]\ncell_seconds = 5\ncall_seconds = 5\n'
        "submission_seconds = 30\n"
    )
    (folder / "test_toy.py").write_text(TOY_TESTS)
    return root


def toy_notebook(folder: Path, *extra: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(TOY_CODE), *(new_code_cell(e) for e in extra)])
    return nbs.write(nb, folder, "toy.ipynb")


def one_cell_assignment(
    root: Path, name: str, graded: list[str], points: int, tests: str, code: str, limits: str = ""
) -> Path:
    """A throwaway assignment ``name`` in ``root/graders`` (one hidden test file, short limits) and a
    submission whose one cell holds ``code``; returns the notebook's path."""
    folder = root / "graders" / name
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(
        f'assignment = "{name}"\nnotebook = "{name}.ipynb"\ntotal_points = {points}\n'
        f"graded_names = {json.dumps(graded)}\n"  # a JSON list of strings is a TOML array
        "[limits]\ncell_seconds = 5\ncall_seconds = 5\nsubmission_seconds = 60\n" + limits
    )
    (folder / f"test_{name}.py").write_text(tests)
    return nbs.write(new_notebook(cells=[new_code_cell(code)]), root / "sub", f"{name}.ipynb")


@pytest.mark.slow
def test_objects_methods_and_containers_cross_the_boundary(tmp_path):
    graders = toy_graders(tmp_path / "graders")
    result = grade_submission("toy", toy_notebook(tmp_path / "sub"), graders_root=graders)
    assert (result.status, result.score, result.max_score) == (GRADED, 3, 3), [t.message for t in result.tests]


@pytest.mark.slow
def test_points_that_do_not_add_up_are_a_grader_error(tmp_path):
    graders = toy_graders(tmp_path / "graders", total_points=5)
    result = grade_submission("toy", toy_notebook(tmp_path / "sub"), graders_root=graders)
    assert result.status == "grader_error" and result.score == 0
    assert "worth 3.0 points but the manifest says 5.0" in result.grader_errors[0]  # for the TA
    assert "not because of your code" in result.message  # for the student


@pytest.mark.slow
def test_fallback_sandbox_without_root_still_grades_and_cleans_up(tmp_path, monkeypatch):
    # As if the TA ran the grader as an ordinary user: no namespaces, no uid switch; leftover processes are
    # found as descendants of the fork server (a child subreaper).
    monkeypatch.setattr(forkserver, "is_root", lambda: False)
    name = f"agfb{os.getpid() % 10000}"
    graders = toy_graders(tmp_path / "graders")
    result = grade_submission("toy", toy_notebook(tmp_path / "sub", DETACHED % name), graders_root=graders)
    assert (result.status, result.score) == (GRADED, 3), [t.message for t in result.tests]
    assert not any(result.isolation.values())
    assert not nbs.running_with_name(name)


SNOOP = """
import gc
target = "SEC" + "RET-" + str(7 * 6 * 1001)
found = []
for obj in gc.get_objects():
    values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
    found += [v for v in values if isinstance(v, str) and v is not target and target in v]
print("FOUND" if found else "CLEAN", [v[:300] for v in found][:3])
"""
SECRET = ("SEC", "RET-", 7 * 6 * 1001)  # joined only after grading, so the runner never holds it whole


@pytest.mark.slow
def test_a_worker_finds_no_other_students_results_in_memory(tmp_path):
    # The runner keeps no results while it forks: supervisors write their own student's files.
    graders = nbs.fast_graders(tmp_path / "graders", cell_seconds=60)
    submitted = tmp_path / "submitted"
    leak = 'print("SEC" + "RET-" + str(7 * 6 * 1001))\nraise ValueError("SEC" + "RET-" + str(7 * 6 * 1001))'
    nbs.write(nbs.submission(extra=[leak]), submitted / "a_first" / "a0_warmup")
    nbs.write(nbs.submission(extra=[SNOOP]), submitted / "b_second" / "a0_warmup")
    batch = grade_batch("a0_warmup", submitted, tmp_path / "out", jobs=1, graders_root=graders)
    first, second = batch.results
    marker = SECRET[0] + SECRET[1] + str(SECRET[2])
    assert marker in first.output and marker in " ".join(first.cell_errors)
    assert "CLEAN" in second.output, second.output


CRASHY_TESTS = """
import pytest


def make_test(name, value):
    @pytest.mark.points(1)
    def test(student):
        assert student.call(name, value) == value + 1, f"{name} is wrong"

    test.__doc__ = f"{name}({value})"
    return test


for name in ("crash_a", "crash_b", "crash_c", "works"):
    for value in (1, 2):
        globals()[f"test_{name}_{value}"] = make_test(name, value)
"""

CRASHY_CODE = """
import json
import os

def crash_a(x):
    os._exit(0)

def crash_b(x):
    os._exit(0)

def crash_c(x):
    os.abort()

def works(x):
    return x + 1
"""


@pytest.mark.slow
def test_a_function_that_kills_the_worker_costs_only_its_own_tests(tmp_path):
    # Three functions end the process (more crashes than max_restarts allows); the fourth still gets its
    # points, and each crashing function is called once, not again after it crashed.
    names = ["crash_a", "crash_b", "crash_c", "works"]
    path = one_cell_assignment(tmp_path, "crashy", names, 8, CRASHY_TESTS, CRASHY_CODE, "max_restarts = 2\n")
    result = grade_submission("crashy", path, graders_root=tmp_path / "graders")
    by_name = {t.name.split("::")[1]: t for t in result.tests}
    assert (result.status, result.score) == (GRADED, 2), [(t.name, t.message) for t in result.tests]
    assert by_name["test_works_1"].outcome == by_name["test_works_2"].outcome == "passed"
    for name in ("crash_a", "crash_b", "crash_c"):
        first, second = by_name[f"test_{name}_1"], by_name[f"test_{name}_2"]
        assert first.kind == "crashed" and "while running " + name in first.message, first
        assert second.kind == "not_run" and f"`{name}`" in second.message and "not called again" in second.message
    assert "crashed" in result.flags


BROKEN_ORACLE_TEST = '''
import pytest
import torch


@pytest.mark.points(2)
def test_double_against_a_broken_oracle(student, rng):
    """double(x) for a random x, compared with an oracle that has a bug."""
    got = student.double(torch.randn(4, generator=rng))
    expected = {"doubled": 2}["tripled"]  # HIDDEN-ORACLE-LINE: the grader's own bug, whatever got is
    assert got == expected
'''


@pytest.mark.slow
def test_a_bug_in_the_hidden_test_is_a_grader_error_not_the_students_fault(tmp_path):
    graders = toy_graders(tmp_path / "graders", total_points=5)
    (graders / "toy" / "test_broken.py").write_text(BROKEN_ORACLE_TEST)
    toy_notebook(tmp_path / "submitted" / "ada" / "toy")
    batch = grade_batch("toy", tmp_path / "submitted", tmp_path / "out", jobs=1, graders_root=graders)
    (result,) = batch.results
    broken = next(t for t in result.tests if t.name == "broken::test_double_against_a_broken_oracle")
    assert result.status == "grader_error" and "grader" in result.message, result.message
    assert broken.outcome == "grader_error" and broken.score == 0
    assert "not because of your code" in broken.message and "what your code returned" not in broken.message
    # the working tests still count; the TA sees the traceback, the student never does
    assert result.score == 3
    record = json.loads((tmp_path / "out" / "ada" / "grading.json").read_text())
    assert any("KeyError" in e and "HIDDEN-ORACLE-LINE" in e for e in record["grader_errors"]), record
    for student_file in ("feedback.md", "results.json", "feedback.html"):
        text = (tmp_path / "out" / "ada" / student_file).read_text()
        assert "not your fault" in text.lower() or "not because of your code" in text
        assert "KeyError" not in text and "HIDDEN-ORACLE-LINE" not in text and "Traceback" not in text


SPOOF_TESTS = """
import pytest


def make_test(i):
    @pytest.mark.points(1)
    def test(student):
        assert student.new("Spoof").boom() == 1, "boom is wrong"

    return test


for i in range(4):
    globals()[f"test_boom_{i}"] = make_test(i)
"""

SPOOF_CODE = """
import os
made = 0

class Spoof:
    def __init__(self):
        global made
        made += 1
        type(self).__qualname__ = f"Innocent{made}"  # each object claims a new class name

    def boom(self):
        os._exit(0)
"""


@pytest.mark.slow
def test_an_object_that_lies_about_its_class_is_still_charged_to_its_class(tmp_path):
    # Failures of an object's methods count against the name the hidden test used (Spoof), not the name the
    # worker reports, so renaming the class cannot buy more restarts.
    path = one_cell_assignment(tmp_path, "spoof", ["Spoof"], 4, SPOOF_TESTS, SPOOF_CODE)
    result = grade_submission("spoof", path, graders_root=tmp_path / "graders")
    assert [t.kind for t in result.tests] == ["crashed", "not_run", "not_run", "not_run"], result.tests
    assert "Innocent1.boom(...)" in result.tests[0].message and "`Spoof`" in result.tests[1].message


@pytest.mark.slow
def test_a_module_already_imported_under_a_grader_files_name_does_not_stand_in_for_it(tmp_path, monkeypatch):
    """Grading inside pytest (the mutation suites) after a course test file of the same basename was imported
    (tests/evaluation/test_icl.py and A5's grader test_icl.py) collected nothing: "import file mismatch"."""
    notebook = one_cell_assignment(
        tmp_path,
        "same_name",
        ["double"],
        1,
        "import pytest\n\n@pytest.mark.points(1)\ndef test_double(student):\n    assert student.double(2) == 4\n",
        "def double(x):\n    return 2 * x\n",
    )
    impostor = tmp_path / "elsewhere" / "test_same_name.py"
    impostor.parent.mkdir()
    impostor.write_text("")
    monkeypatch.syspath_prepend(str(impostor.parent))
    __import__("test_same_name")  # as the course's own suite would have imported its file of that name
    result = grade_submission("same_name", notebook, graders_root=tmp_path / "graders")
    assert (result.status, result.score) == (GRADED, 1), result.grader_errors
