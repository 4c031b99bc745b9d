"""The Gradescope autograder zip: its layout, and its run_autograder grading A0 submissions end to end.

run_autograder is run as Gradescope would (the executable script from the unzipped archive), with the
``/autograder`` root moved to a temp dir by ``$AUTOGRADER_ROOT``; ``setup.sh`` (a pip install of the bundled
wheels) is not run here, the checkout's own install stands in for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from a0_release import A0, a0_release  # noqa: F401 (a fixture)

from autograder.authoring.samples import fill_stubs, solutions
from autograder.bridges.gradescope import build_zip
from autograder.bridges.nbgrader import COURSE_ROOT
from course_lib.errors import CourseError

# Gradescope's results.json format (https://gradescope-autograders.readthedocs.io/en/latest/specs/)
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
GRADESCOPE_RESULTS = {
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "output", "visibility"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
        "leaderboard": {"type": "array"},
    },
}


def check_gradescope_results(results: dict) -> None:
    jsonschema.validate(results, GRADESCOPE_RESULTS)
    for test in results["tests"]:
        assert test["score"] <= test["max_score"] + 1e-9, test["name"]
    if results["tests"]:
        assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def test_schema_check_catches_malformed_results() -> None:
    good = {
        "score": 1.0,
        "execution_time": 0.5,
        "output": "",
        "tests": [{"name": "t", "score": 1.0, "max_score": 1.0, "output": "", "visibility": "visible"}],
    }
    check_gradescope_results(good)
    for bad in (
        {**good, "tests": [{**good["tests"][0], "visibility": "students"}]},
        {**good, "tests": [{**good["tests"][0], "score": "1"}]},
        {"score": 1.0},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check_gradescope_results(bad)


@pytest.fixture(scope="module")
def unzipped(tmp_path_factory) -> Path:
    scratch = tmp_path_factory.mktemp("gradescope")
    archive = build_zip(A0, scratch / "a0.zip")
    source = scratch / "source"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(source)
        for info in zf.infolist():  # zipfile does not restore permissions: apply the stored ones
            mode = info.external_attr >> 16
            if mode:
                (source / info.filename).chmod(mode & 0o777)
    return source


def test_zip_holds_setup_runner_constraints_and_the_two_wheels(unzipped: Path) -> None:
    names = sorted(p.name for p in unzipped.iterdir())
    wheels = {n.split("-")[0]: n for n in names if n.endswith(".whl")}
    assert sorted(wheels) == ["llm_course", "llm_course_grader"]
    assert {"setup.sh", "run_autograder", "constraints.txt"} <= set(names)
    for script in ("setup.sh", "run_autograder"):
        assert os.access(unzipped / script, os.X_OK), f"{script} must be executable"
        syntax = subprocess.run(["bash", "-n", str(unzipped / script)], capture_output=True, text=True)
        assert syntax.returncode == 0, f"{script}: {syntax.stderr}"
    assert "constraints.txt" in (unzipped / "setup.sh").read_text()
    packaged = {}
    for name, wheel in wheels.items():
        with zipfile.ZipFile(unzipped / wheel) as zf:
            packaged[name] = {n for n in zf.namelist() if ".dist-info/" not in n}
    graders = {
        p.relative_to(COURSE_ROOT.parent).as_posix()
        for p in (COURSE_ROOT.parent / "autograder" / "graders").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert graders and graders <= packaged["llm_course_grader"], graders - packaged["llm_course_grader"]
    assert {n.split("/")[0] for n in packaged["llm_course_grader"]} == {"autograder"}
    # what students install: course_lib and nothing of the grader, its hidden tests or the answer keys; and the
    # course's JupyterLab setting (pyproject's data-files)
    top, rest = {}, {}
    for name in packaged["llm_course"]:
        first, _, inside = name.partition("/")
        (rest if first.endswith(".data") else top).setdefault(first, set()).add(inside)
    assert set(top) == {"course_lib"}
    assert list(rest.values()) == [{"data/etc/jupyter/labconfig/page_config.d/llm-course.json"}], rest
    assert "course_lib/ngram.py" in packaged["llm_course"]


def run_autograder(unzipped: Path, root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    done = subprocess.run([str(unzipped / "run_autograder")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    check_gradescope_results(results)
    return results


@pytest.fixture
def a0_notebooks(a0_release) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:  # noqa: F811
    """(solution, untouched release) of A0 as a student would upload them."""
    return fill_stubs(a0_release.release, solutions(a0_release.source)), a0_release.release


@pytest.mark.slow
def test_run_autograder_gives_the_solution_full_marks_and_the_release_zero(
    unzipped: Path, a0_notebooks, tmp_path: Path
) -> None:
    solution, release = a0_notebooks
    scores = {}
    for name, nb in (("solution", solution), ("release", release)):
        root = tmp_path / name
        (root / "submission").mkdir(parents=True)
        nbformat.write(nb, root / "submission" / f"{A0}.ipynb")
        results = run_autograder(unzipped, root)
        assert results["tests"], "every hidden test is reported"
        scores[name] = (results["score"], sum(t["max_score"] for t in results["tests"]))
    assert scores["solution"][0] == pytest.approx(scores["solution"][1]) and scores["solution"][1] > 0
    assert scores["release"][0] == 0


@pytest.mark.slow
def test_run_autograder_reports_a_missing_notebook_instead_of_crashing(
    unzipped: Path,
    tmp_path: Path,
) -> None:
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "answers.txt").write_text("I forgot the notebook")
    results = run_autograder(unzipped, tmp_path)
    assert results["score"] == 0
    assert A0 in json.dumps(results), "the student is told which notebook was expected"


def test_zip_for_an_assignment_without_graders_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="no hidden graders for assignment 'nope'"):
        build_zip("nope", tmp_path / "x.zip")
