"""End-to-end grading of A0: honest submissions, partial work, and every kind of malformed submission.

One batch grades them all (``grade_batch`` with two jobs); each test then checks one student's result.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import ag_notebooks as nbs
import pytest

from autograder.authoring.samples import fill_stubs, solutions
from autograder.engine.runner import grade_batch, grade_submission
from autograder.results import GRADED

HALF_DONE = nbs.submission(cross_entropy=nbs.RELEASED_CE)  # softmax done, cross_entropy not
SOFTMAX_NO_DIM = "def softmax(x, dim=-1):\n    z = x - x.max()\n    return z.exp() / z.exp().sum(-1, keepdim=True)\n"

SUBMISSIONS = {
    "solution": nbs.solution(),
    "release": nbs.release(),
    "half_done": HALF_DONE,
    "buggy_dim": nbs.submission(softmax=SOFTMAX_NO_DIM),  # ignores dim: partial credit
    "syntax_error": nbs.submission(extra=["def oops(:\n    pass"]),
    "cell_deleted": nbs.submission(softmax=None),
    "metadata_stripped": nbs.strip_metadata(nbs.solution()),
    "ipython_syntax": nbs.submission(extra_before=["%matplotlib inline\n!pip install torch\nfiles = !ls\n%%time"]),
    "skip_tagged": nbs.submission(extra=["while True:\n    pass"]),  # tagged skip-grading below
    # the demo's malicious_exits: a correct softmax, and a cross_entropy that ends the process
    "exits_in_call": fill_stubs(
        nbs.release(), {**solutions(nbs.source_notebook()), "cross_entropy": "import os\nos._exit(0)"}
    ),
}


def _write_all(root: Path) -> None:
    for student, nb in SUBMISSIONS.items():
        if student == "skip_tagged":
            next(c for c in nb.cells if c.source.startswith("while True")).metadata["tags"] = ["skip-grading"]
        nbs.write(nb, root / student / "a0_warmup")
    folder = lambda s: root / s / "a0_warmup"  # noqa: E731
    nbs.write(b"", folder("empty_file"))
    nbs.write("{ this is not json", folder("invalid_json"))
    nbs.write("[1, 2, 3]", folder("json_not_notebook"))
    nbs.write(nbs.as_v3_json(nbs.solution()), folder("nbformat_v3"))
    nbs.write(json.dumps({**nbs.solution(), "nbformat": 5}), folder("nbformat_v5"))
    big = nbs.solution()
    big.cells[0].source += "\n" + "x" * (50 * 2**20)
    nbs.write(big, folder("fifty_mb"))
    nbs.write(nbs.solution(), root / "elsewhere")
    folder("symlink").mkdir(parents=True)
    os.symlink(root / "elsewhere" / "a0_warmup.ipynb", folder("symlink") / "a0_warmup.ipynb")
    nbs.write(nbs.solution(), folder("two_notebooks"))
    nbs.write(nbs.release(), folder("two_notebooks"), "a0_warmup-Copy1.ipynb")
    nbs.write(nbs.solution(), folder("wrong_name"), "A0 warmup.ipynb")
    (root / "no_assignment_folder").mkdir()


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("grading")
    graders = nbs.fast_graders(tmp / "graders")
    submitted = tmp / "submitted"
    _write_all(submitted)
    students = sorted(p.name for p in submitted.iterdir() if p.name != "elsewhere")
    batch = grade_batch("a0_warmup", submitted, tmp / "out", jobs=2, students=students, graders_root=graders)
    return {
        "results": {r.student_id: r for r in batch.results},
        "out": tmp / "out",
        "graders": graders,
        "submitted": submitted,
        "batch": batch,
    }


def failed_tests(result, prefix: str = "") -> list:
    return [t for t in result.tests if t.name.startswith(prefix) and t.outcome != "passed"]


@pytest.mark.slow
def test_solution_gets_full_marks(graded):
    r = graded["results"]["solution"]
    assert (r.status, r.score, r.max_score) == (GRADED, 20, 20), r
    assert len(r.tests) == 11 and all(t.outcome == "passed" for t in r.tests)
    assert r.cell_errors == [] and r.flags == []


@pytest.mark.slow
def test_untouched_release_gets_zero_and_says_not_implemented(graded):
    r = graded["results"]["release"]
    assert (r.status, r.score) == (GRADED, 0)
    assert all(
        t.outcome == "failed" and "NotImplementedError" in t.message and "not implemented yet" in t.message
        for t in r.tests
    ), [t.message for t in r.tests]


@pytest.mark.slow
def test_half_done_gets_partial_credit(graded):
    r = graded["results"]["half_done"]
    assert r.score == 10
    assert not failed_tests(r, "softmax::") and len(failed_tests(r, "cross_entropy::")) == 5


@pytest.mark.slow
def test_bug_costs_only_the_tests_it_breaks(graded):
    r = graded["results"]["buggy_dim"]
    assert 0 < r.score < 20
    messages = " ".join(t.message for t in failed_tests(r))
    assert "wrong values" in messages and "dim=0" in messages


@pytest.mark.slow
def test_syntax_error_cell_is_recorded_and_the_rest_still_runs(graded):
    r = graded["results"]["syntax_error"]
    assert r.score == 20 and "cell_errors" in r.flags
    assert any("SyntaxError" in e for e in r.cell_errors)


@pytest.mark.slow
def test_deleted_cell_explains_the_missing_function(graded):
    r = graded["results"]["cell_deleted"]
    assert r.score == 10
    assert all("does not define `softmax`" in t.message for t in failed_tests(r, "softmax::"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "student", ["metadata_stripped", "ipython_syntax", "skip_tagged", "two_notebooks", "nbformat_v3"]
)
def test_unusual_but_gradable_notebooks_get_full_marks(graded, student):
    r = graded["results"][student]
    assert (r.status, r.score) == (GRADED, 20), (r.status, r.message, r.cell_errors, r.notes)
    expected_flag = {"two_notebooks": "extra_notebooks", "nbformat_v3": "converted_from_nbformat_3"}.get(student)
    if expected_flag:
        assert expected_flag in r.flags
    if student == "skip_tagged":
        assert "timeout" not in r.flags  # the tagged infinite loop never ran


@pytest.mark.slow
@pytest.mark.parametrize(
    ("student", "status", "words"),
    [
        ("empty_file", "invalid_notebook", "is empty"),
        ("invalid_json", "invalid_notebook", "not valid notebook JSON"),
        ("json_not_notebook", "invalid_notebook", "not a Jupyter notebook"),
        ("nbformat_v5", "unsupported_format", "nbformat 5"),
        ("fifty_mb", "too_large", "over the 10 MB limit"),
        ("symlink", "symlink", "symbolic link"),
        ("wrong_name", "wrong_file_name", "expected a notebook named a0_warmup.ipynb"),
        ("no_assignment_folder", "missing", "no submission folder"),
    ],
)
def test_malformed_submission_is_its_own_status(graded, student, status, words):
    r = graded["results"][student]
    assert (r.status, r.score, r.max_score) == (status, 0, 20)
    assert words in r.message
    feedback = (graded["out"] / student / "feedback.md").read_text()
    assert status in feedback


@pytest.mark.slow
def test_a_function_that_ends_the_process_costs_only_its_own_points(graded):
    r = graded["results"]["exits_in_call"]
    assert (r.status, r.score, r.max_score) == (GRADED, 10, 20), [(t.name, t.message) for t in r.tests]
    softmax = [t for t in r.tests if t.name.startswith("softmax::")]
    first, *rest = [t for t in r.tests if t.name.startswith("cross_entropy::")]
    assert softmax and all(t.outcome == "passed" for t in softmax)
    assert first.kind == "crashed" and "exited with code 0" in first.message
    assert rest and all(t.kind == "not_run" and "not called again" in t.message for t in rest)


@pytest.mark.slow
def test_gradebook_and_per_student_files(graded):
    out, results = graded["out"], graded["results"]
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert sorted(r["student_id"] for r in rows) == sorted(results)
    header = list(rows[0])
    assert header[:6] == ["student_id", "assignment", "score", "max_score", "status", "flags"]
    assert len(header) == 6 + 11
    half = next(r for r in rows if r["student_id"] == "half_done")
    assert float(half["score"]) == sum(float(half[c]) for c in header[6:]) == 10
    gradescope = json.loads((out / "solution" / "results.json").read_text())
    assert gradescope["score"] == 20 and len(gradescope["tests"]) == 11
    assert {"name", "score", "max_score", "output", "visibility"} <= set(gradescope["tests"][0])
    html = (out / "release" / "feedback.html").read_text()
    assert "NotImplementedError" in html and "<table>" in html


@pytest.mark.slow
def test_feedback_never_shows_hidden_code_or_expected_values(graded):
    grader_sources = [p.read_text() for p in (graded["graders"] / "a0_warmup").glob("test_*.py")]
    code_lines = {
        line.strip()
        for src in grader_sources
        for line in src.splitlines()
        if len(line.strip()) > 25 and not line.strip().startswith(('"""', "#"))
    }
    for student in ("buggy_dim", "release", "half_done"):
        text = (graded["out"] / student / "feedback.md").read_text()
        assert not [line for line in code_lines if line in text]
        assert "tensor(" not in text and "expected values" not in text


@pytest.mark.slow
def test_same_submission_graded_twice_gets_the_same_result(graded):
    first = graded["results"]["buggy_dim"]
    path = graded["submitted"] / "buggy_dim" / "a0_warmup" / "a0_warmup.ipynb"
    again = grade_submission("a0_warmup", path, student_id="buggy_dim", graders_root=graded["graders"])
    assert again.seed == first.seed
    assert [(t.name, t.score, t.message) for t in again.tests] == [(t.name, t.score, t.message) for t in first.tests]
