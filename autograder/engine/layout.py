"""The submissions folder, checked before anything is graded, and what each student submitted.

``llmcourse grade`` expects nbgrader's collect layout, ``SUBMITTED/<student>/<assignment>/<notebook>``, and
also accepts the flat one, ``SUBMITTED/<student>/<notebook>``. Problems that would make the whole run wrong
are one clear error before any grading (:func:`find_students`): no student folders, a folder one level too
high (``grades/`` and ``submitted/`` would become students scoring 0), student folder names that are not
UTF-8 or that collide with what grading writes, an output folder inside the submissions or around them.

Problems of one student cost only that student (:func:`symlink_in`): a symbolic link anywhere in a
submission could point at another student's work, so it is refused with one line in the feedback.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseError

# names grading writes next to the student folders in the output folder (see autograder.engine.report)
RESERVED_OUTPUT_NAMES = frozenset({"grades.csv", "summary.html", "similarity"})


@dataclass(frozen=True)
class StudentSubmission:
    student_id: str
    folder: Path  # the folder holding the notebook: SUBMITTED/<student>/<assignment>, or SUBMITTED/<student>
    flat: bool  # the notebook lies directly in SUBMITTED/<student>/


def find_students(submitted: Path, assignment: str, notebook: str) -> list[StudentSubmission]:
    """Every student folder of ``submitted``, checked; a CourseError when the layout is wrong as a whole."""
    if not submitted.is_dir():
        raise CourseError(f"submitted folder {submitted} does not exist")
    entries = sorted(os.scandir(submitted), key=lambda e: e.name)
    folders = [e for e in entries if not e.name.startswith(".") and (e.is_dir() or e.is_symlink())]
    if not folders:
        raise CourseError(
            f"no student folders in {submitted}: expected {submitted}/<student>/{assignment}/{notebook} "
            "(nbgrader's collect layout)"
        )
    for entry in folders:
        _check_student_name(entry.name, submitted)
    found = []
    for entry in folders:
        student = Path(entry.path)
        nested = student / assignment
        flat = not nested.exists() and not nested.is_symlink() and any(student.glob("*.ipynb"))
        found.append(StudentSubmission(entry.name, student if flat else nested, flat))
    return found


def require_some_submission(found: list[StudentSubmission], submitted: Path, assignment: str, notebook: str) -> None:
    """A CourseError when no student folder holds the assignment: the folder is wrong, not every student."""
    if not any(s.folder.exists() or s.folder.is_symlink() for s in found):
        raise CourseError(
            f"no student folder in {submitted} holds {assignment}/ or a notebook: expected "
            f"{submitted}/<student>/{assignment}/{notebook} (nbgrader's collect layout)" + _hint(submitted, assignment)
        )


def _hint(submitted: Path, assignment: str) -> str:
    """A guess when ``submitted`` is one level too high (e.g. the course root holding submitted/)."""
    deeper = sorted({p.parent.parent for p in submitted.glob(f"*/*/{assignment}")})
    return f"; did you mean {deeper[0]}?" if deeper else ""


def _check_student_name(name: str, submitted: Path) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise CourseError(
            f"student folder {os.fsencode(name)!r} in {submitted} is not a UTF-8 name; rename it "
            "(student ids go into grades.csv and the gradebook)"
        ) from None
    if name in RESERVED_OUTPUT_NAMES:
        raise CourseError(
            f"student folder {name!r} in {submitted} has the name of a file grading writes "
            f"({', '.join(sorted(RESERVED_OUTPUT_NAMES))}); rename it"
        )


def check_output_folder(submitted: Path, out: Path) -> None:
    """Student folders and outputs never mix: ``out`` is neither inside ``submitted`` nor around it."""
    sub, dest = submitted.resolve(), out.resolve()
    if dest == sub or sub in dest.parents:
        raise CourseError(
            f"the output folder {out} is inside the submitted folder {submitted}: it would be graded as a "
            "student; choose another --out"
        )
    if dest in sub.parents:
        raise CourseError(f"the submitted folder {submitted} is inside the output folder {out}; choose another --out")


def symlink_in(folder: Path, student_root: Path) -> str | None:
    """The first symbolic link in a student's submission: ``student_root`` itself, a folder on the way down to
    ``folder``, or anything inside ``folder``; as a path relative to the submissions folder, or None."""
    parts = folder.relative_to(student_root).parts
    for depth in range(len(parts) + 1):
        path = student_root.joinpath(*parts[:depth])
        if path.is_symlink():
            return str(path.relative_to(student_root.parent))
    if not folder.is_dir():
        return None
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            if os.path.islink(os.path.join(root, name)):
                return os.path.relpath(os.path.join(root, name), student_root.parent)
    return None


def submission_sha256(folder: Path) -> str:
    """A hash of everything in ``folder`` (names and contents, links by their target text), or of "missing".

    Read through one buffer that is zeroed afterwards, so the process that forks the graders keeps no
    student's bytes in its memory.
    """
    digest = hashlib.sha256()
    if not folder.is_dir() or folder.is_symlink():
        digest.update(b"missing" if not folder.is_symlink() else b"link:" + os.fsencode(os.readlink(folder)))
        return digest.hexdigest()
    buffer = bytearray(1 << 16)
    view = memoryview(buffer)
    try:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                digest.update(os.fsencode(os.path.relpath(path, folder)) + b"\0")
                if os.path.islink(path):
                    digest.update(b"link:" + os.fsencode(os.readlink(path)) + b"\0")
                    continue
                digest.update(_file_digest(path, buffer, view) + b"\0")
    finally:
        buffer[:] = bytes(len(buffer))
    return digest.hexdigest()


def _file_digest(path: str, buffer: bytearray, view: memoryview) -> bytes:
    """sha256 of a regular file read through ``buffer`` (never through a link, never a device or pipe)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b"unreadable"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"not a regular file"
        digest = hashlib.sha256()
        while n := os.readv(fd, [buffer]):
            digest.update(view[:n])
        return digest.digest()
    except OSError:
        return b"unreadable"
    finally:
        os.close(fd)


def tree_sha256(folder: Path) -> str:
    """A hash of a trusted folder's files (the hidden graders), so results from other graders are not reused."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
