"""The engine on a toy assignment: classes and methods across the boundary, plain containers, a manifest
whose points do not add up, and the fallback sandbox used when the grader does not run as root."""

from __future__ import annotations

import os
from pathlib import Path

import ag_notebooks as nbs
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import sandbox
from autograder.runner import GRADED, grade_batch, grade_submission

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
    assert "worth 3.0 points but the manifest says 5.0" in result.message


@pytest.mark.slow
def test_fallback_sandbox_without_root_still_grades_and_cleans_up(tmp_path, monkeypatch):
    # As if the TA ran the grader as an ordinary user: no namespaces, no uid switch; leftover processes are
    # found as descendants of the fork server (a child subreaper).
    monkeypatch.setattr(sandbox, "is_root", lambda: False)
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
