"""``make demo``'s pieces: the generated class is what it claims to be, and a small class goes end to end."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from a0_release import a0_release  # noqa: F401 (a fixture)

from autograder.authoring.demo import A0, NOTEBOOK, demo_class, main, write_class
from autograder.authoring.samples import solutions
from autograder.bridges.nbgrader import db_url_for, nbgrader_api


def test_demo_class_covers_every_kind_of_submission(a0_release, tmp_path: Path) -> None:  # noqa: F811
    source, release = a0_release.source, a0_release.release
    files = demo_class(source, release)
    kinds = {student.split("_")[0] for student in files}
    assert kinds == {"honest", "untouched", "buggy", "malicious", "malformed"}

    honest = nbformat.reads(files["honest_full_marks"][NOTEBOOK].decode(), as_version=4)
    code_lines = {line.strip() for cell in honest.cells for line in cell.source.splitlines()}
    for answer in solutions(source).values():
        assert {line.strip() for line in answer.splitlines()} <= code_lines
    assert "raise NotImplementedError()" not in code_lines
    assert nbformat.reads(files["untouched_release"][NOTEBOOK].decode(), as_version=4) == release

    assert files["malformed_empty_file"][NOTEBOOK] == b""
    with pytest.raises(json.JSONDecodeError):
        json.loads(files["malformed_not_json"][NOTEBOOK])
    assert NOTEBOOK not in files["malformed_wrong_name"]
    for student, uploads in files.items():
        if not student.startswith("malformed"):
            nbformat.validate(nbformat.reads(uploads[NOTEBOOK].decode(), as_version=4))

    write_class(tmp_path, files)
    for student, uploads in files.items():
        for name, content in uploads.items():
            assert (tmp_path / student / A0 / name).read_bytes() == content


@pytest.mark.slow
def test_demo_end_to_end_on_a_small_class(tmp_path: Path, capsys) -> None:
    students = ["honest_full_marks", "malicious_patches_checks", "malformed_not_json"]
    argv = ["--out", str(tmp_path), "--jobs", "2", "--release-dir", str(tmp_path / "release")]
    for student in students:
        argv += ["--student", student]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "nbgrader gradebook" in printed and all(student in printed for student in students)

    scores = {
        row["student"]: (row["score"], row["max_score"])
        for row in nbgrader_api(db_url=db_url_for(tmp_path / "gradebook.db")).get_submissions(A0)
    }
    assert scores == {
        "honest_full_marks": (20.0, 20.0),
        "malicious_patches_checks": (0.0, 20.0),
        "malformed_not_json": (0.0, 20.0),
    }
    feedback = (tmp_path / "grades" / "malformed_not_json" / "feedback.md").read_text()
    assert "not valid notebook JSON" in feedback
