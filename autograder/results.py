"""What grading produces, as plain data: one :class:`TestResult` per hidden test, one :class:`SubmissionResult`
per submission, one :class:`BatchResult` per ``grade_batch`` call.

These types are shared by the engine (which fills them), the reports (which write them) and the bridges
(which read ``grading.json`` back), so they live here, apart from all three. Statuses and outcomes are
string enums: they compare equal to, and serialise as, the plain words stored in ``grading.json`` and
``grades.csv``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Status(StrEnum):
    """A submission's status. Only ``GRADED`` and ``GRADER_ERROR`` mean the hidden tests ran."""

    GRADED = "graded"  # the hidden tests ran (individual tests may have failed for any reason)
    GRADER_ERROR = "grader_error"  # the grading itself failed; a TA should look
    # the submission could not be graded and scores 0:
    MISSING = "missing"
    WRONG_FILE_NAME = "wrong_file_name"
    SYMLINK = "symlink"
    TOO_LARGE = "too_large"
    INVALID_NOTEBOOK = "invalid_notebook"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNREADABLE = "unreadable"


class Outcome(StrEnum):
    """What happened to one hidden test."""

    PASSED = "passed"
    FAILED = "failed"  # the student's values or code failed; ``TestResult.kind`` says how
    FORBIDDEN = "forbidden"  # it used a name the static scan flagged
    GRADER_ERROR = "grader_error"  # the test's own code failed
    ERROR = "error"  # the test did not run or complete


GRADED = Status.GRADED
GRADER_ERROR = Status.GRADER_ERROR


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class, whatever the name says

    name: str  # ``<grader file>::<test function>``, e.g. ``softmax::test_rows_sum_to_one`` (a gradebook column)
    description: str  # docstring first line, shown to the student
    max_score: float
    score: float
    outcome: str  # an Outcome
    message: str  # why, in words for the student ("" when passed)
    kind: str = ""  # failure category: assertion, raised, timeout, crashed, missing, forbidden, ...


@dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    status: str  # a Status
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0  # the autograded points
    hand_graded_points: float = 0.0  # points of the assignment graded by hand (written answers), not in max_score
    tests: list[TestResult] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scan_findings: list[str] = field(default_factory=list)
    grader_errors: list[str] = field(default_factory=list)  # tracebacks of failed hidden tests: TA only
    output: str = ""
    seed: int | None = None
    notebook_sha256: str | None = None
    isolation: dict[str, bool] = field(default_factory=dict)
    execution_time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        data = dict(data)
        data["tests"] = [TestResult(**t) for t in data.get("tests", [])]
        return cls(**data)


@dataclass
class BatchResult:
    assignment: str
    out_dir: Path
    results: list[SubmissionResult]  # every student in the gradebook (this run and, with resume, earlier)
    graded_now: list[str]  # students graded in this run
    skipped: list[str]  # students skipped because --resume found them graded from the same submission
    regraded: list[str] = field(default_factory=list)  # graded again: the submission (or grader) changed
