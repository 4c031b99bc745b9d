"""llmcourse answer-key: solutions/ID.ipynb is the source minus solution markers, and --check spots drift."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from autograder.authoring.answer_key import is_current, make_answer_key, write_answer_key
from autograder.paths import REPO_ROOT as ROOT
from course_lib.cli import main
from course_lib.errors import CourseError


def _course(tmp_path):
    src = tmp_path / "assignments" / "source" / "hw"
    src.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "f"}},
            ),
            nbformat.v4.new_markdown_cell(
                "Because.", metadata={"nbgrader": {"solution": True, "grade": True, "points": 3, "grade_id": "why"}}
            ),
        ]
    )
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="stale output")]
    nb.cells[0].execution_count = 4
    nbformat.write(nb, src / "hw.ipynb")
    return src / "hw.ipynb"


def test_key_strips_markers_metadata_and_outputs(tmp_path) -> None:
    source = nbformat.read(_course(tmp_path), as_version=4)
    key = make_answer_key(source, "hw")
    assert key.cells[1].source == "def f():\n    return 1"
    assert key.cells[1].outputs == [] and key.cells[1].execution_count is None
    assert key.cells[2].source.startswith("**Model answer (3 points, graded by hand):**")
    assert "Answer key for `hw`" in key.cells[0].source
    assert all("nbgrader" not in c.metadata for c in key.cells)
    assert "### BEGIN SOLUTION" in source.cells[0].source  # the source is left alone
    nbformat.validate(key)


def test_write_then_check_then_drift(tmp_path) -> None:
    path = _course(tmp_path)
    assert not is_current("hw", tmp_path)
    out = write_answer_key("hw", tmp_path)
    assert out == tmp_path / "solutions" / "hw.ipynb" and is_current("hw", tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("return 1", "return 2")
    nbformat.write(nb, path)
    assert not is_current("hw", tmp_path)
    with pytest.raises(CourseError, match="no source notebook"):
        write_answer_key("missing", tmp_path)


def test_every_assignment_has_a_current_answer_key(capsys) -> None:
    assignments = sorted(p.name for p in (ROOT / "assignments" / "source").iterdir() if p.is_dir())
    assert {"a0_warmup", "a1_ngrams"} <= set(assignments)
    assert main(["answer-key", "--check", *assignments]) == 0
    assert "answer key is current" in capsys.readouterr().out


def test_cli_check_fails_with_one_line_when_stale(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("autograder.authoring.answer_key.REPO_ROOT", tmp_path)
    shutil.copytree(ROOT / "assignments" / "source" / "a1_ngrams", tmp_path / "assignments" / "source" / "a1_ngrams")
    # no solutions/ folder in tmp_path: the key is missing, hence stale
    assert main(["answer-key", "--check", "a1_ngrams"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "stale; run: llmcourse answer-key a1_ngrams" in err
    assert main(["answer-key", "a1_ngrams"]) == 0 and (tmp_path / "solutions" / "a1_ngrams.ipynb").is_file()
    assert main(["answer-key", "--check", "a1_ngrams"]) == 0
