"""The nbgrader bridge: releases built by nbgrader's generate_assignment, scores written to its gradebook.

The release is built on demand (``llmcourse release``), never committed; these tests regenerate it and
check it against its source notebook. Gradebook scores are read back through nbgrader's own API.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from a0_release import A0, a0_release  # noqa: F401 (a fixture)

from autograder.bridges.nbgrader import (
    COURSE_ROOT,
    GradeCellInfo,
    cell_scores,
    db_url_for,
    export_feedback,
    generate_release,
    map_tests_to_cells,
    nbgrader_api,
    sync_gradebook,
)
from autograder.engine.report import write_student_outputs
from autograder.results import SubmissionResult
from autograder.results import TestResult as EngineTest
from course_lib.cli import main as cli_main
from course_lib.errors import CourseError


def solution_lines(source: str) -> list[str]:
    """The substantial lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``."""
    lines, inside = [], False
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) >= 8:
            lines.append(line.strip())
    return lines


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_a0_release_strips_solutions_and_keeps_public_checks(a0_release) -> None:  # noqa: F811
    source, release = a0_release.source, a0_release.release
    assert a0_release.path.parent.name == A0
    nbformat.validate(release)
    release_text = a0_release.path.read_text()

    assert [nbgrader_meta(c).get("grade_id") for c in release.cells] == [
        nbgrader_meta(c).get("grade_id") for c in source.cells
    ], "release must keep every cell, in order"
    assert "BEGIN SOLUTION" not in release_text and "END SOLUTION" not in release_text

    solution_cells = [c for c in source.cells if nbgrader_meta(c).get("solution")]
    assert solution_cells, "A0's source has solution cells"
    for src_cell in solution_cells:
        for line in solution_lines(src_cell.source):
            assert line not in release_text, f"solution line leaked into the release: {line!r}"
    for src_cell, rel_cell in zip(source.cells, release.cells, strict=True):
        meta = nbgrader_meta(rel_cell)
        if meta:
            assert meta.get("checksum"), f"cell {meta.get('grade_id')} has no nbgrader checksum"
        if meta.get("solution") and rel_cell.cell_type == "code":
            assert "raise NotImplementedError()" in rel_cell.source
            # the signature and docstring stay so students know what to write
            assert src_cell.source.split("\n", 1)[0] == rel_cell.source.split("\n", 1)[0]
        if meta.get("grade"):  # public checks reach students unchanged
            assert rel_cell.source == src_cell.source
        if rel_cell.cell_type == "code":
            assert not rel_cell.outputs and rel_cell.execution_count is None


def test_a0_release_records_graded_cells_in_gradebook(a0_release) -> None:  # noqa: F811
    expected = {
        nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
        for c in a0_release.source.cells
        if nbgrader_meta(c).get("grade")
    }
    with nbgrader_api(db_url=a0_release.db_url).gradebook as gradebook:
        notebook = gradebook.find_notebook(A0, A0)
        recorded = {cell.name: cell.max_score for cell in notebook.grade_cells}
    assert recorded == expected


def write_course_with_hidden_tests(root: Path) -> None:
    """A tiny nbgrader course (our config) whose test cell has a hidden-tests block."""
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")

    def meta(grade_id: str, **flags) -> dict:
        base = {"grade": False, "solution": False, "locked": False, "task": False, "schema_version": 3}
        return {"nbgrader": {**base, **flags, "grade_id": grade_id}}

    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell(
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x  # secret_answer\n    ### END SOLUTION",
            metadata=meta("double", solution=True),
        ),
        nbformat.v4.new_code_cell(
            "assert double(2) == 4, 'public check'\n### BEGIN HIDDEN TESTS\n"
            "assert double(21) == 42, 'hidden_check_xyz'\n### END HIDDEN TESTS",
            metadata=meta("test_double", grade=True, locked=True, points=3),
        ),
    ]
    (root / "source" / "tiny").mkdir(parents=True)
    nbformat.write(nb, root / "source" / "tiny" / "tiny.ipynb")


@pytest.mark.slow
def test_release_removes_hidden_tests(tmp_path: Path) -> None:
    write_course_with_hidden_tests(tmp_path)
    out = generate_release("tiny", tmp_path, db_url=db_url_for(tmp_path / "gb.db"))
    assert out == tmp_path / "release" / "tiny"
    release = nbformat.read(out / "tiny.ipynb", as_version=4)
    test_cell = release.cells[1]
    assert "assert double(2) == 4, 'public check'" in test_cell.source
    text = (out / "tiny.ipynb").read_text()
    for secret in ("hidden_check_xyz", "HIDDEN TESTS", "secret_answer", "return 2 * x"):
        assert secret not in text


def test_release_errors_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="no source notebook for assignment 'nope'.*a0_warmup"):
        generate_release("nope")
    with pytest.raises(CourseError, match="invalid assignment id"):
        generate_release("../etc")
    with pytest.raises(CourseError, match="not an nbgrader course root"):
        generate_release(A0, tmp_path)


# ------------------------------------------------------------------------------------ test -> cell map

CELLS = [
    GradeCellInfo("test_softmax", "nb", 2.0),
    GradeCellInfo("test_log_softmax", "nb", 4.0),
    GradeCellInfo("cross_entropy_tests", "nb", 2.0),
]


def test_tests_map_to_the_task_they_name_longest_match_wins() -> None:
    mapping = map_tests_to_cells(
        [
            "softmax::test_rows_sum_to_one",
            "log_softmax::test_extreme",
            "cross_entropy::test_grad",
            "test_softmax_shift_invariance",
        ],
        CELLS,
    )
    assert {name: cell.name for name, cell in mapping.items()} == {
        "softmax::test_rows_sum_to_one": "test_softmax",
        "log_softmax::test_extreme": "test_log_softmax",
        "cross_entropy::test_grad": "cross_entropy_tests",
        "test_softmax_shift_invariance": "test_softmax",
    }


def test_a_test_naming_no_task_is_an_error_not_a_guess() -> None:
    with pytest.raises(CourseError, match="test_mystery.*graded tasks: cross_entropy, log_softmax, softmax"):
        map_tests_to_cells(["softmax::test_ok", "test_mystery"], CELLS)
    # "softmaxy" is not the word "softmax"
    with pytest.raises(CourseError, match="test_softmaxy"):
        map_tests_to_cells(["test_softmaxy"], CELLS)
    only = [GradeCellInfo("test_all", "nb", 5.0)]
    assert map_tests_to_cells(["anything"], only)["anything"] == only[0]


def engine_tests(*triples: tuple[str, float, float]) -> list[EngineTest]:
    """Engine test results: (name, score, max_score) each."""
    return [
        EngineTest(
            name=n,
            description=f"about {n}",
            max_score=m,
            score=s,
            outcome="passed" if s == m else "failed",
            message="" if s == m else "wrong",
        )
        for n, s, m in triples
    ]


def test_cell_scores_scale_hidden_points_to_cell_points() -> None:
    tests = engine_tests(
        ("softmax::test_a", 3, 3),
        ("softmax::test_b", 0, 1),  # softmax: 3/4 of 2 points
        ("log_softmax::test_a", 1, 1),  # log_softmax: 1/1 of 4 points
        ("cross_entropy::test_a", 0.5, 2),
    )  # 0.5/2 of 2 points
    assert cell_scores(tests, CELLS) == pytest.approx(
        {"test_softmax": 1.5, "test_log_softmax": 4.0, "cross_entropy_tests": 0.5}
    )
    # a submission that could not be graded has no tests at all: every cell scores 0
    assert cell_scores([], CELLS) == {c.name: 0.0 for c in CELLS}


# ------------------------------------------------------------------------------------ gradebook sync


def write_record(grades_dir: Path, student: str, tests: list[EngineTest], status: str = "graded") -> None:
    """What `llmcourse grade` leaves for one student, written by the engine's own report module."""
    result = SubmissionResult(
        student_id=student,
        assignment=A0,
        status=status,
        tests=tests,
        score=sum(t.score for t in tests),
        max_score=sum(t.max_score for t in tests),
    )
    write_student_outputs(grades_dir, result)


def test_sync_writes_scores_formgrader_reads_back(tmp_path: Path) -> None:
    grades = tmp_path / "grades"
    write_record(
        grades,
        "alice",
        engine_tests(
            ("softmax::test_basic", 2, 2),
            ("softmax::test_shift", 3, 3),
            ("cross_entropy::test_basic", 2, 2),
            ("cross_entropy::test_grad", 3, 3),
        ),
    )
    write_record(
        grades,
        "bob",
        engine_tests(
            ("softmax::test_basic", 2, 2),
            ("softmax::test_shift", 0, 3),
            ("cross_entropy::test_basic", 0, 2),
            ("cross_entropy::test_grad", 0, 3),
        ),
    )
    write_record(grades, "mallory", [], status="invalid_notebook")  # never ran: 0, nothing for a TA to do
    write_record(grades, "oscar", [], status="grader_error")  # our failure: a TA must look
    db = tmp_path / "gradebook.db"

    sync_gradebook(A0, grades, db)

    # A0's cells are worth 10 points each (like its hidden tests); these records hold 5 hidden points per name
    expected = {
        "alice": {"test_softmax": 10.0, "test_cross_entropy": 10.0},
        "bob": {"test_softmax": 10 * 2 / 5, "test_cross_entropy": 0.0},
        "mallory": {"test_softmax": 0.0, "test_cross_entropy": 0.0},
        "oscar": {"test_softmax": 0.0, "test_cross_entropy": 0.0},
    }
    api = nbgrader_api(db_url=db_url_for(db))
    with api.gradebook as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted(expected)
        for student, cells in expected.items():
            for cell, score in cells.items():
                grade = gradebook.find_grade(cell, A0, A0, student)
                assert grade.auto_score == pytest.approx(score)
                assert grade.needs_manual_grade == (student == "oscar")
            submission = gradebook.find_submission(A0, student)
            assert submission.score == pytest.approx(sum(cells.values()))
            assert submission.max_score == pytest.approx(20.0)
    # what formgrader lists comes through the same API
    listed = {s["student"]: (s["score"], s["needs_manual_grade"]) for s in api.get_submissions(A0)}
    assert listed == {
        "alice": (20.0, False),
        "bob": (pytest.approx(4.0), False),
        "mallory": (0.0, False),
        "oscar": (0.0, True),
    }


@pytest.mark.slow
def test_resync_updates_auto_scores_and_keeps_manual_ones(tmp_path: Path) -> None:
    grades, db = tmp_path / "grades", tmp_path / "gradebook.db"
    write_record(grades, "carol", engine_tests(("softmax::test_a", 0, 1), ("cross_entropy::test_a", 0, 1)))
    sync_gradebook(A0, grades, db)
    with nbgrader_api(db_url=db_url_for(db)).gradebook as gradebook:
        gradebook.find_grade("test_cross_entropy", A0, A0, "carol").manual_score = 1.5  # a TA's override
        gradebook.db.commit()

    shutil.rmtree(grades)
    write_record(grades, "carol", engine_tests(("softmax::test_a", 1, 1), ("cross_entropy::test_a", 1, 1)))
    sync_gradebook(A0, grades, db)
    with nbgrader_api(db_url=db_url_for(db)).gradebook as gradebook:
        softmax = gradebook.find_grade("test_softmax", A0, A0, "carol")
        ce = gradebook.find_grade("test_cross_entropy", A0, A0, "carol")
        assert softmax.auto_score == 10.0 and softmax.score == 10.0  # A0's grade cells are worth 10 points each
        assert ce.auto_score == 10.0 and ce.manual_score == 1.5 and ce.score == 1.5


def test_sync_rejects_missing_or_bad_grades(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="does not exist"):
        sync_gradebook(A0, tmp_path / "absent", tmp_path / "gb.db")
    with pytest.raises(CourseError, match="no graded a0_warmup submissions"):
        sync_gradebook(A0, tmp_path, tmp_path / "gb.db")
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "grading.json").write_text("{not json")  # a half-written record is not "graded"
    with pytest.raises(CourseError, match="no graded a0_warmup submissions"):
        sync_gradebook(A0, tmp_path, tmp_path / "gb.db")


@pytest.mark.slow
def test_gradebook_sync_command(tmp_path: Path, capsys) -> None:
    write_record(tmp_path / "grades", "dave", engine_tests(("softmax::test_a", 1, 1), ("cross_entropy::test_a", 0, 1)))
    db = tmp_path / "gb.db"
    assert cli_main(["gradebook-sync", A0, str(tmp_path / "grades"), "--nbgrader-db", str(db)]) == 0
    assert "wrote 1 submission(s)" in capsys.readouterr().out
    with nbgrader_api(db_url=db_url_for(db)).gradebook as gradebook:
        assert gradebook.find_submission(A0, "dave").score == pytest.approx(10.0)  # all of softmax's 10 points
    assert cli_main(["gradebook-sync", A0, str(tmp_path / "nothing"), "--nbgrader-db", str(db)]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_exchange_collected_submissions_show_as_autograded_and_get_feedback(tmp_path: Path) -> None:
    """A submission that came through nbgrader's exchange (``collect`` leaves its receipts beside it) shows its
    score in formgrader only when it looks autograded; its feedback goes where ``release_feedback`` looks."""
    course = tmp_path / "course"
    shutil.copytree(COURSE_ROOT / "source" / A0, course / "source" / A0)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    collected = course / "submitted" / "alice" / A0
    collected.mkdir(parents=True)
    shutil.copy(COURSE_ROOT / "source" / A0 / f"{A0}.ipynb", collected / f"{A0}.ipynb")
    (collected / "timestamp.txt").write_text("2026-11-29 09:16:21.177017 UTC")
    (collected / "submission_secret.txt").write_text("s3cret")
    grades, db = tmp_path / "grades", course / "gradebook.db"
    full = engine_tests(("softmax::test_basic", 5, 5), ("cross_entropy::test_basic", 5, 5))
    write_record(grades, "alice", full)
    write_record(grades, "bob", full)  # graded from a zip: no receipts

    sync_gradebook(A0, grades, db, root=course)
    api = nbgrader_api(course, db_url=db_url_for(db))
    listed = {s["student"]: (s["score"], s["autograded"]) for s in api.get_submissions(A0)}
    assert listed["alice"] == (20.0, True)  # formgrader showed (0.0, False) before it was marked autograded
    assert listed["bob"] == (20.0, True)

    assert export_feedback(A0, grades, root=course) == ["alice"]
    released = course / "feedback" / "alice" / A0
    assert (released / f"{A0}.html").read_text() == (grades / "alice" / "feedback.html").read_text()
    assert (released / "timestamp.txt").read_text() == (collected / "timestamp.txt").read_text()
    assert (released / "submission_secret.txt").read_text() == "s3cret"
    assert not (course / "feedback" / "bob").exists()
