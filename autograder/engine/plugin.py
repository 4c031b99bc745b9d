"""The pytest plugin that runs hidden graders in the trusted process against a student's worker.

A grader is an ordinary pytest file in ``autograder/graders/<assignment>/test_*.py``::

    import pytest
    from autograder.checks import check_close

    @pytest.mark.points(2)
    def test_rows_sum_to_one(student, rng):
        \"\"\"softmax of a random (8, 5) matrix: every row sums to 1.\"\"\"
        x = torch.randn(8, 5, generator=rng)
        check_close(student.softmax(x, dim=1), torch.softmax(x, dim=1), "softmax(x, dim=1)")

Fixtures:

- ``student``: calls into the worker. ``student.softmax(x, dim=0)`` calls a function by name;
  ``student.call(name, *args, **kwargs)`` does the same;
  ``student.grad(name, *args, wrt=(0,), grad_output=g)`` returns ``(output, (grad_of_arg0, ...))``
  computed by autograd in the worker; ``obj = student.new("Cls", ...)`` constructs an object that stays
  in the worker, ``obj.method(...)`` calls its methods, ``obj.get("attr")`` reads an attribute, and
  ``obj`` may be passed back as an argument. Values come back as plain data (tensors are rebuilt as
  tensors).
- ``seed`` (int) and ``rng`` (a seeded ``torch.Generator``): chosen at grading time, different per test,
  the same when the same submission is graded again.

``@pytest.mark.points(n)`` gives a test's worth. A test scores its points if it passes and 0 otherwise;
a test that calls a graded name the static scan flagged scores 0 whatever happens.

Who failed: an ``AssertionError`` (or ``pytest.fail``) is the student's values failing a check, and a
:class:`StudentCodeError` is the student's code failing to answer (raised, timed out, crashed, bad reply).
Any other exception is a bug in the trusted test itself: the test's outcome is ``grader_error``, the
student reads that it was not their fault, and the traceback goes to :attr:`GradingPlugin.grader_errors`
for the TA only. Graders therefore check a reply's type (``check_tensor``, ``check_type``) before using it.
The first line of a test's docstring is what the student sees as its description; its code and the
expected values never reach the feedback (assertion rewriting is off; messages come from the checks).
"""

from __future__ import annotations

import functools
import hashlib
import traceback
from typing import Any

import pytest

from ..results import GRADER_ERROR, Outcome, TestResult
from ..sandbox.protocol import ObjectRef
from .scan import ScanResult
from .session import StudentCodeError, WorkerSession

GRADER_ERROR_MESSAGE = (
    "the grader itself failed on this test, not because of your code; "
    "the course staff are told and will grade it by hand"
)


class Student:
    """Proxy for the student's notebook namespace living in the worker."""

    def __init__(self, plugin: GradingPlugin) -> None:
        self._plugin = plugin

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._request({"op": "call", "name": name}, name, args, kwargs, f"{name}(...)")[0]

    def grad(
        self, name: str, *args: Any, wrt: tuple[int, ...] = (0,), grad_output: Any = None, **kwargs: Any
    ) -> tuple[Any, tuple]:
        """Call ``name`` with gradients enabled on the positional args ``wrt``, backpropagate ``grad_output``
        (a tensor shaped like the output; required) in the worker, and return (output, grads of ``wrt``)."""
        if grad_output is None:
            raise ValueError("student.grad needs grad_output (a tensor shaped like the output)")
        value, grads = self._request(
            {"op": "call", "name": name},
            name,
            args,
            kwargs,
            f"{name}(...)",
            grad={"wrt": list(wrt), "grad_output": grad_output},
        )
        return value, tuple(grads)

    def new(self, class_name: str, *args: Any, **kwargs: Any) -> RemoteObject:
        return self._request({"op": "new", "name": class_name}, class_name, args, kwargs, f"{class_name}(...)")[0]

    def _request(
        self, header: dict, name: str, args: tuple, kwargs: dict, what: str, grad: dict | None = None
    ) -> tuple[Any, Any]:
        self._plugin.names_used.add(name)
        args = tuple(a._ref if isinstance(a, RemoteObject) else a for a in args)  # objects go by reference
        kwargs = {k: v._ref if isinstance(v, RemoteObject) else v for k, v in kwargs.items()}
        make_object = functools.partial(RemoteObject, self, graded_name=name)  # objects it returns count as `name`
        return self._plugin.session.request(header, args, kwargs, grad, what, make_object, name)


class RemoteObject:
    """An object in the worker; attribute calls become method requests. They count as uses of
    ``graded_name``, the class or function that made the object (named by the hidden test, so the student's
    code cannot choose which name a failure or a forbidden API is charged to)."""

    def __init__(self, student: Student, ref: ObjectRef, graded_name: str) -> None:
        self._student, self._ref, self._graded_name = student, ref, graded_name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._student._request(
            {"op": "method", "object": self._ref.id, "name": name},
            self._graded_name,
            args,
            kwargs,
            f"{self._ref.type_name}.{name}(...)",
        )[0]

    def get(self, attribute: str) -> Any:
        return self._student._request(
            {"op": "getattr", "object": self._ref.id, "name": attribute},
            self._graded_name,
            (),
            {},
            f"{self._ref.type_name}.{attribute}",
        )[0]


class GradingPlugin:
    """Registered with ``pytest.main(plugins=[...])`` inside the supervisor process."""

    def __init__(self, session: WorkerSession, scan: ScanResult, base_seed: int) -> None:
        self.session, self.scan, self.base_seed = session, scan, base_seed
        self.results: list[TestResult] = []
        self.collected: list[tuple[str, float]] = []
        self.collection_errors: list[str] = []
        self.names_used: set[str] = set()
        self.grader_errors: list[str] = []  # "test: traceback" of bugs in the hidden tests, for the TA only

    # -- configuration and fixtures
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): what the test is worth")

    @pytest.fixture
    def student(self) -> Student:
        return Student(self)

    @pytest.fixture
    def seed(self, request: pytest.FixtureRequest) -> int:
        digest = hashlib.sha256(f"{self.base_seed}:{request.node.nodeid}".encode()).hexdigest()
        return int(digest[:12], 16)

    @pytest.fixture
    def rng(self, seed: int) -> Any:
        import torch

        return torch.Generator().manual_seed(seed)

    # -- collection and results
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("points")
            self.collected.append((item.nodeid, float(marker.args[0]) if marker else 0.0))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {str(report.longrepr)[-500:]}")

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.names_used = set()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.results.append(self._result(item, call, report))

    def _result(self, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> TestResult:
        marker = item.get_closest_marker("points")
        points = float(marker.args[0]) if marker else 0.0
        doc = (getattr(item, "function", None).__doc__ or "").strip() if hasattr(item, "function") else ""
        description = doc.splitlines()[0] if doc else item.name
        base = {"name": test_name(item.nodeid), "description": description, "max_score": points}
        flagged = [self.scan.reason(n) for n in sorted(self.names_used) if self.scan.reason(n)]
        if flagged:
            return TestResult(
                **base,
                score=0.0,
                outcome=Outcome.FORBIDDEN,
                kind="forbidden",
                message="scored 0: " + "; ".join(flagged),
            )
        if report.passed:
            return TestResult(**base, score=points, outcome=Outcome.PASSED, message="")
        exc = call.excinfo.value if call.excinfo else None
        kind, message = explain_failure(exc)
        if kind == GRADER_ERROR:
            trace = "".join(traceback.format_exception(exc))
            self.grader_errors.append(f"{base['name']}: {trace[-4000:]}")
            return TestResult(**base, score=0.0, outcome=Outcome.GRADER_ERROR, kind=GRADER_ERROR, message=message)
        return TestResult(**base, score=0.0, outcome=Outcome.FAILED, kind=kind, message=message)


def test_name(nodeid: str) -> str:
    """``test_softmax.py::test_gradients_flow`` -> ``softmax::test_gradients_flow`` (a gradebook column)."""
    path, _, function = nodeid.rpartition("::")
    stem = path.rsplit("/", 1)[-1].removesuffix(".py").removeprefix("test_")
    return f"{stem}::{function}"


def explain_failure(exc: BaseException | None) -> tuple[str, str]:
    """(category, message for the student) for an exception raised by a hidden test."""
    if isinstance(exc, StudentCodeError):
        message = str(exc)
        if "NotImplementedError" in message:
            message += " (not implemented yet: replace `raise NotImplementedError()` with your code)"
        return exc.kind, message
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        text = str(exc).strip()
        return "assertion", text.splitlines()[0][:500] if text else "a hidden check failed"
    if exc is None:
        return "error", "the test did not complete"
    return GRADER_ERROR, GRADER_ERROR_MESSAGE
