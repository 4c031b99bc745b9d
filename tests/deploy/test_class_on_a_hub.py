"""A class on a JupyterHub, end to end, with real Unix users and real processes (slow; needs root).

One instructor and two students. Every step goes through the hub's proxy to the user's own Jupyter server, as
clicking in JupyterLab would: the instructor releases A1 with formgrader, the students fetch it from nbgrader's
exchange, fill it in and submit; the instructor collects, grades with ``llmcourse grade --nbgrader-db`` in a
terminal, sees the scores in formgrader and releases feedback, which the student fetches. Then, from the
students' own accounts, what they must not read: each other's submissions, the graders, the answer key.
"""

from __future__ import annotations

import secrets
import shutil
import urllib.error
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
from class_hub import ROOT, ClassHub, why_not_here

from autograder.authoring.nbmeta import grade_id, strip_markers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ASSIGNMENT = "a1_ngrams"
COURSE = "llm-course"


@pytest.fixture(scope="module")
def hub():
    reason = why_not_here()
    if reason:
        pytest.skip(f"the class-on-a-hub test {reason}")
    tag = secrets.token_hex(3)
    hub = ClassHub(Path(f"/tmp/llmc-hub-{tag}"), instructor=f"llmc{tag}t", students=[f"llmc{tag}a", f"llmc{tag}b"])
    try:
        hub.create()
        hub.start()
        yield hub
    finally:
        hub.stop()
        print(f"--- hub log (last lines) ---\n{hub.log_tail(6000)}")
        hub.remove_users()
        shutil.rmtree(hub.base, ignore_errors=True)


def _notebook(hub: ClassHub, user: str, path: str) -> nbformat.NotebookNode:
    model = hub.server(user, "GET", f"/api/contents/{path}?content=1")
    return nbformat.from_dict(model["content"])


def _put_notebook(hub: ClassHub, user: str, path: str, notebook: nbformat.NotebookNode) -> None:
    hub.server(user, "PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": notebook})


def _submit_answer_key(hub: ClassHub, student: str) -> None:
    """The student fetches A1, fills every stub with the answer key's code, saves and submits."""
    fetched = hub.server(
        student, "POST", "/assignments/fetch", {"course_id": COURSE, "assignment_id": ASSIGNMENT}, form=True
    )
    assert fetched["success"], fetched
    path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    release = _notebook(hub, student, path)
    assert "raise NotImplementedError()" in "".join(c.source for c in release.cells)
    # the answer key's code: the instructor's source cell without its solution markers
    source = nbformat.read(ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answer_key = {grade_id(cell): strip_markers(cell.source) for cell in source.cells}
    for cell in release.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answer_key[grade_id(cell)]
    _put_notebook(hub, student, path, release)
    submitted = hub.server(
        student, "POST", "/assignments/submit", {"course_id": COURSE, "assignment_id": ASSIGNMENT}, form=True
    )
    assert submitted["success"], submitted


def test_a_term_of_a1_on_the_hub(hub: ClassHub) -> None:
    instructor, alice, bob = hub.instructor, *hub.students
    for user in hub.users():
        hub.start_server(user)

    # The instructor: formgrader lists the course's assignments; generate and release A1 to the exchange.
    assignments = {a["name"] for a in hub.server(instructor, "GET", "/formgrader/api/assignments")}
    assert ASSIGNMENT in assignments
    assert hub.server(instructor, "POST", f"/formgrader/api/assignment/{ASSIGNMENT}/assign")["success"]
    assert hub.server(instructor, "POST", f"/formgrader/api/assignment/{ASSIGNMENT}/release")["success"]

    # Students have no formgrader, and see A1 released in their Assignments tab.
    with pytest.raises(urllib.error.HTTPError) as refused:
        hub.server(alice, "GET", "/formgrader/api/assignments")
    assert refused.value.code == 404
    listed = hub.server(alice, "GET", f"/assignments?course_id={COURSE}")
    assert listed["success"] and [a["assignment_id"] for a in listed["value"]] == [ASSIGNMENT]

    _submit_answer_key(hub, alice)
    _submit_answer_key(hub, bob)

    # The instructor collects and grades in a terminal on the hub, writing formgrader's gradebook.
    assert hub.server(instructor, "POST", f"/formgrader/api/assignment/{ASSIGNMENT}/collect")["success"]
    grades = hub.clone / "grades" / ASSIGNMENT
    result = hub.run_as(
        instructor,
        [
            "env",
            f"PYTHONPATH={hub.clone}",
            "HOME=/home/" + instructor,
            hub.python,
            "-m",
            "course_lib.cli",
            "grade",
            ASSIGNMENT,
            str(hub.course_root / "submitted"),
            "--out",
            str(grades),
            "--nbgrader-db",
            str(hub.course_root / "gradebook.db"),
        ],
        cwd=str(hub.clone),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # Formgrader shows each student's autograded score: full marks on the autograded part.
    submissions = hub.server(instructor, "GET", f"/formgrader/api/submissions/{ASSIGNMENT}")
    scores = {s["student"]: (s["score"], s["max_score"]) for s in submissions}
    autograded = sum(float(cell_points) for cell_points in _autograded_points(hub))
    for student in (alice, bob):
        score, max_score = scores[student]
        assert score == pytest.approx(autograded), (student, scores, result.stdout[-4000:])
        assert max_score > score  # the written answer is graded by hand

    # Feedback: generated into nbgrader's feedback folder by the grade run, released, fetched by the student.
    assert hub.server(instructor, "POST", f"/formgrader/api/assignment/{ASSIGNMENT}/release_feedback")["success"]
    fetched = hub.server(
        alice, "POST", "/assignments/fetch_feedback", {"course_id": COURSE, "assignment_id": ASSIGNMENT}, form=True
    )
    assert fetched["success"], fetched
    feedback = hub.server(alice, "GET", f"/api/contents/{ASSIGNMENT}/feedback")
    [timestamp_dir] = feedback["content"]
    [page] = hub.server(alice, "GET", f"/api/contents/{quote(timestamp_dir['path'])}")["content"]
    html = hub.server(alice, "GET", f"/api/contents/{quote(page['path'])}?content=1&format=text")["content"]
    assert ASSIGNMENT in html and f"Score: {autograded:g} / {autograded:g}" in html  # the engine's page, in full

    # From the students' own accounts: nothing of the instructor's, nothing of each other's.
    inbound = hub.exchange / COURSE / "inbound"
    bob_files = [p for p in inbound.iterdir() if p.name.startswith(bob + "+")]
    assert bob_files, "bob's submission is in the exchange"
    # nbgrader's exchange keeps submissions apart by hiding their names, not by file modes (the instructor, another
    # user, must read them): the inbound folder cannot be listed, and each name ends in a random token.
    assert len(bob_files[0].name.rsplit("+", 1)[-1]) >= 10, "submission names carry an unguessable token"
    secrets_to_keep = {
        "the exchange's list of submissions": inbound,
        "a hidden grader": hub.clone / "autograder" / "graders" / ASSIGNMENT / "test_part1.py",
        "the answer key": hub.clone / "solutions" / f"{ASSIGNMENT}.ipynb",
        "the instructor's source": hub.course_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "the gradebook": hub.course_root / "gradebook.db",
    }
    for what, path in secrets_to_keep.items():
        command = ["ls", str(path)] if path.is_dir() else ["cat", str(path)]
        attempt = hub.run_as(alice, command)
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, f"{alice} can read {what}"
    no_grader = hub.run_as(alice, [hub.python, "-c", "import autograder"])
    assert no_grader.returncode != 0 and "No module named 'autograder'" in no_grader.stderr
    # the data folder is readable and not writable; course_lib is importable in the student's kernel
    assert hub.run_as(alice, ["cat", str(hub.data / "README.md")]).returncode == 0
    assert hub.run_as(alice, ["touch", str(hub.data / "mine")]).returncode != 0
    lib = hub.run_as(alice, [hub.python, "-c", "import course_lib"])
    assert lib.returncode == 0, lib.stderr


def _autograded_points(hub: ClassHub) -> list[float]:
    """Points of A1's autograded cells as nbgrader recorded them in the source notebook."""
    source = nbformat.read(ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return [
        float(cell.metadata["nbgrader"]["points"])
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    ]
