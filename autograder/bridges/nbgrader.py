"""The nbgrader side of the course: release notebooks, write grades into nbgrader's gradebook.

Everything goes through nbgrader's own Python API (``NbGraderAPI``, ``Gradebook``), so formgrader and the
``nbgrader`` command see exactly what they would have produced themselves.

Release: ``generate_release`` runs nbgrader's ``generate_assignment`` on ``assignments/source/<id>/``:
solutions become ``raise NotImplementedError()``, ``### BEGIN HIDDEN TESTS`` blocks vanish, cells get
checksums, and the assignment's graded cells are recorded in a gradebook.

Gradebook: our engine grades with hidden pytest tests (``autograder/graders/<id>/``), while nbgrader's
gradebook has one *grade cell* per graded task of the notebook (e.g. ``test_softmax``, 2 points).
``sync_gradebook`` maps each hidden test to the grade cell of the task it tests and stores, per cell,

    auto_score = cell points * (points earned by its tests / points possible in its tests)

which is simply the sum of its tests' scores when the notebook's points equal the graders' points (the
intended set-up). How a test finds its cell: a grade cell ``test_<task>`` (or ``<task>_tests``) grades
``<task>``; a hidden test belongs to the task whose name appears among the words of the test's name,
which the engine spells ``<grader file>::<test function>`` (``softmax::test_gradients_flow`` -> ``softmax``;
``log_softmax::test_rows`` -> ``log_softmax``: the longest task name wins).
A test that names no task is an error, not a guess. Written (manually graded) cells are left to the TA.
"""

from __future__ import annotations

import os
import re
import shutil
import sysconfig
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError

from ..engine.report import read_graded
from ..paths import COURSE_ROOT
from ..results import GRADER_ERROR

CONFIG_FILE = "nbgrader_config.py"


# ----------------------------------------------------------------------------------------------------
# nbgrader's API, configured from the course root


def _course_root(root: Path | str | None) -> Path:
    root = Path(root) if root is not None else COURSE_ROOT
    if not (root / CONFIG_FILE).is_file():
        raise CourseError(f"{root} is not an nbgrader course root: it has no {CONFIG_FILE}")
    return root.resolve()


def db_url_for(db: Path | str) -> str:
    """An SQLAlchemy URL for a gradebook path (``gradebook.db``) or an URL given as is (``sqlite:///...``)."""
    text = str(db)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def _put_scripts_on_path() -> None:
    """nbgrader's Gradebook runs the ``alembic`` command by name: make this interpreter's scripts findable
    even when the venv is not activated (``.venv/bin/llmcourse ...``)."""
    scripts = sysconfig.get_path("scripts")
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, path]) if path else scripts


def _failure_reason(result: Mapping[str, Any]) -> str:
    """The most telling line of a failed nbgrader call: its last exception line, else its last log line."""
    text = result.get("log") or result.get("error") or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exceptions = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    return (exceptions or lines or ["no log"])[-1]


def nbgrader_api(root: Path | str | None = None, *, db_url: str | None = None, release_dir: Path | None = None):
    """An ``NbGraderAPI`` for the course at ``root`` (default ``assignments/``), configured by its config.

    ``db_url`` and ``release_dir`` override the config (used to record an assignment in another gradebook, or
    to release into a scratch directory).
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    _put_scripts_on_path()
    root = _course_root(root)
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    if db_url is not None:
        config.CourseDirectory.db_url = db_url
    if release_dir is not None:
        # an absolute directory wins over the root in nbgrader's os.path.join
        config.CourseDirectory.release_directory = str(Path(release_dir).resolve())
    config.NbGraderAPI.log_level = "WARN"
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def source_notebooks(assignment: str, root: Path | str | None = None) -> list[Path]:
    """The instructor notebooks of ``assignment``; a clear error when there are none."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", assignment):
        raise CourseError(f"invalid assignment id {assignment!r}: use letters, digits, '_', '-', '.'")
    folder = _course_root(root) / "source" / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        parent = folder.parent
        known = sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
        raise CourseError(
            f"no source notebook for assignment {assignment!r} in {folder} "
            f"(assignments with sources: {', '.join(known) or 'none'})"
        )
    return notebooks


def generate_release(
    assignment: str, root: Path | str | None = None, *, release_dir: Path | None = None, db_url: str | None = None
) -> Path:
    """Run nbgrader's ``generate_assignment`` and return the folder holding the student version.

    By default the release goes to ``<root>/release/<assignment>/`` and the assignment's cells are recorded in
    the course gradebook; ``release_dir``/``db_url`` redirect either.
    """
    source_notebooks(assignment, root)  # clear error before nbgrader's log-only one
    api = nbgrader_api(root, db_url=db_url, release_dir=release_dir)
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise CourseError(f"nbgrader generate_assignment {assignment} failed: {_failure_reason(result)}")
    out = Path(api.coursedir.format_path(api.coursedir.release_directory, ".", assignment))
    return out


# ----------------------------------------------------------------------------------------------------
# Engine results -> nbgrader gradebook


@dataclass(frozen=True)
class GradeCellInfo:
    """One autograded cell of the assignment as nbgrader recorded it."""

    name: str  # the cell's grade_id, e.g. "test_softmax"
    notebook: str  # notebook name without .ipynb
    max_score: float

    @property
    def task(self) -> str:
        """The task a test cell grades: ``test_softmax`` and ``softmax_tests`` both grade ``softmax``."""
        return re.sub(r"^tests?_|_tests?$", "", self.name)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+|_", name.lower()) if w]


def _names_task(test_name: str, task: str) -> bool:
    """Whether ``task``'s words appear consecutively among the test name's words."""
    words, needle = _words(test_name), _words(task)
    return any(words[i : i + len(needle)] == needle for i in range(len(words) - len(needle) + 1))


def map_tests_to_cells(test_names: Iterable[str], cells: list[GradeCellInfo]) -> dict[str, GradeCellInfo]:
    """Assign each hidden test (by name) to the grade cell of the task it names; see the module docstring."""
    mapping: dict[str, GradeCellInfo] = {}
    unmapped: list[str] = []
    for name in test_names:
        matches = [cell for cell in cells if _names_task(name, cell.task)]
        if not matches and len(cells) == 1:
            matches = cells
        if not matches:
            unmapped.append(name)
            continue
        mapping[name] = max(matches, key=lambda cell: len(_words(cell.task)))
    if unmapped:
        tasks = ", ".join(sorted(cell.task for cell in cells)) or "none"
        raise CourseError(
            f"cannot tell which graded cell these tests belong to: {', '.join(unmapped)} "
            f"(graded tasks: {tasks}); name each test after its task, e.g. test_<task>_..."
        )
    return mapping


def cell_scores(tests: Iterable[Any], cells: list[GradeCellInfo]) -> dict[str, float]:
    """Per grade cell, the points a submission's tests earn, scaled to the cell's own points.

    ``tests`` are the engine's test results (``.name``, ``.score``, ``.max_score``). A cell none of whose
    tests ran (a missing or unreadable submission has no tests) scores 0.
    """
    tests = list(tests)
    mapping = map_tests_to_cells([test.name for test in tests], cells)
    cell_max = {cell.name: cell.max_score for cell in cells}
    earned = {cell.name: 0.0 for cell in cells}
    possible = {cell.name: 0.0 for cell in cells}
    for test in tests:
        cell = mapping[test.name]
        earned[cell.name] += float(test.score)
        possible[cell.name] += float(test.max_score)
    return {name: cell_max[name] * earned[name] / possible[name] if possible[name] else 0.0 for name in earned}


def read_grades(grades_dir: Path | str, assignment: str) -> dict[str, Any]:
    """``{student: SubmissionResult}`` for every student ``llmcourse grade`` finished in ``grades_dir``.

    We read the engine's full record (``<student>/grading.json``) rather than ``results.json``: its test
    names (``softmax::test_gradients_flow``) say which task a test grades; results.json shows students
    only the test's description.
    """
    grades_dir = Path(grades_dir)
    if not grades_dir.is_dir():
        raise CourseError(f"grades directory {grades_dir} does not exist (run `llmcourse grade` first)")
    graded = read_graded(grades_dir, assignment)
    if not graded:
        raise CourseError(
            f"no graded {assignment} submissions under {grades_dir} "
            f"(expected <student>/grading.json from `llmcourse grade`)"
        )
    return graded


def record_assignment(assignment: str, db_url: str, root: Path | str | None = None) -> None:
    """Make sure the gradebook at ``db_url`` knows the assignment's notebooks and graded cells.

    nbgrader records them while generating the release; we generate into a scratch folder so the course's
    own ``release/`` is untouched. (nbgrader refuses to change cells once submissions exist: a clear error.)
    """
    with tempfile.TemporaryDirectory(prefix="llmcourse-release-") as scratch:
        generate_release(assignment, root, release_dir=Path(scratch), db_url=db_url)


def _mark_autograded(course: Path, assignment: str, student: str) -> dict[str, Any]:
    """Show formgrader that a submission collected from the exchange has been graded.

    Formgrader counts a submission as autograded (and shows its score rather than 0) only when
    ``autograded/<student>/<assignment>/`` exists and the gradebook's timestamp equals the one nbgrader's
    ``collect`` put in ``submitted/``: what ``nbgrader autograde`` would leave. We copy the submitted folder there
    (the notebook formgrader opens for manual grading) and return the timestamp for the gradebook.
    Submissions that did not come through ``collect`` have no such folder: nothing to do.
    """
    from nbgrader.utils import parse_utc

    submitted = course / "submitted" / student / assignment
    receipt = submitted / "timestamp.txt"
    if not receipt.is_file():
        return {}
    shutil.copytree(submitted, course / "autograded" / student / assignment, dirs_exist_ok=True)
    return {"timestamp": parse_utc(receipt.read_text().strip())}


# ----------------------------------------------------------------------------------------------------
# Feedback, where nbgrader's release_feedback finds it

#: what nbgrader's exchange leaves beside each collected submission; release_feedback needs both
SUBMISSION_RECEIPTS = ("timestamp.txt", "submission_secret.txt")


def export_feedback(assignment: str, grades_dir: Path | str, root: Path | str | None = None) -> list[str]:
    """Put each graded student's ``feedback.html`` where nbgrader releases feedback from.

    nbgrader's ``release_feedback`` (formgrader's "Release feedback" button) publishes
    ``<course>/feedback/<student>/<assignment>/<notebook>.html`` to the exchange, under a name only the student's
    own submission unlocks; it needs the receipts the exchange wrote at submission time, which ``collect`` copied
    into ``<course>/submitted/<student>/<assignment>/``. Students without receipts (their notebooks came some
    other way, e.g. ``zip_collect``) are skipped: their feedback stays in ``grades_dir``. Returns the students
    whose feedback was exported.
    """
    from ..engine.manifest import load_manifest

    course = _course_root(root)
    notebook = Path(load_manifest(assignment).notebook).stem
    exported = []
    for student in sorted(read_grades(grades_dir, assignment)):
        page = Path(grades_dir) / student / "feedback.html"
        submitted = course / "submitted" / student / assignment
        if not page.is_file() or not all((submitted / name).is_file() for name in SUBMISSION_RECEIPTS):
            continue
        target = course / "feedback" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        for name in SUBMISSION_RECEIPTS:
            (target / name).write_bytes((submitted / name).read_bytes())
        (target / f"{notebook}.html").write_bytes(page.read_bytes())
        exported.append(student)
    return exported


def graded_cells(gradebook, assignment: str) -> list[GradeCellInfo]:
    """The autograded (code) grade cells nbgrader recorded for ``assignment``."""
    return [
        GradeCellInfo(cell.name, notebook.name, float(cell.max_score))
        for notebook in gradebook.find_assignment(assignment).notebooks
        for cell in notebook.grade_cells
        if cell.cell_type == "code"
    ]


def sync_gradebook(
    assignment: str, grades_dir: Path | str, db: Path | str, root: Path | str | None = None
) -> dict[str, dict[str, float]]:
    """Write every graded student's scores from ``grades_dir`` into nbgrader's gradebook ``db``.

    Records the assignment's cells first if the gradebook does not know them yet (``llmcourse release``
    records them in the course gradebook). Creates students and submissions as needed, and sets
    ``auto_score`` on each autograded cell. A submission the engine could not grade because of its own
    failure (``grader_error``) is flagged "needs manual grade" so it stands out in formgrader.
    Returns ``{student: {cell: score}}``.
    Rerunning it overwrites the autograded scores with the current ones; manual scores are kept.
    """
    graded = read_grades(grades_dir, assignment)
    db_url = db_url_for(db)
    api = nbgrader_api(root, db_url=db_url)
    with api.gradebook as gradebook:
        recorded = any(a.name == assignment and a.notebooks for a in gradebook.assignments)
    if not recorded:  # `llmcourse release` records it; a fresh gradebook learns it here
        record_assignment(assignment, db_url, root)
    written: dict[str, dict[str, float]] = {}
    with api.gradebook as gradebook:
        cells = graded_cells(gradebook, assignment)
        if not cells:
            raise CourseError(f"assignment {assignment} has no autograded cells in its source notebook")
        for student, result in graded.items():
            scores = cell_scores(result.tests, cells)
            gradebook.update_or_create_student(student)
            collected = _mark_autograded(_course_root(root), assignment, student)
            with warnings.catch_warnings():  # nbgrader's add_submission trips a harmless SQLAlchemy warning
                warnings.simplefilter("ignore", category=Warning)
                gradebook.update_or_create_submission(assignment, student, **collected)
            for cell in cells:
                grade = gradebook.find_grade(cell.name, cell.notebook, assignment, student)
                grade.auto_score = scores[cell.name]
                grade.needs_manual_grade = result.status == GRADER_ERROR
            gradebook.db.commit()
            written[student] = scores
    return written
