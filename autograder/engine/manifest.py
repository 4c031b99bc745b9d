"""Per-assignment grading manifest: ``autograder/graders/<assignment>/manifest.toml``.

Example (A0)::

    assignment = "a0_warmup"
    notebook = "a0_warmup.ipynb"        # the file name students submit
    total_points = 20                   # must equal the sum of @pytest.mark.points over the graders
    # hand_graded_points = 6            # points graded by hand (written answers), not in total_points; default 0
    graded_names = ["softmax", "cross_entropy"]
    skip_tags = ["skip-grading"]        # cells with these tags are not run
    # source_notebook = "../../../assignments/source/a0_warmup/a0_warmup.ipynb"   # default: found from here

    [limits]                            # every limit is enforced from the trusted side or by the kernel
    cell_seconds = 20                   # wall time for one notebook cell
    call_seconds = 10                   # wall time for one call into student code
    submission_seconds = 90             # wall time for the whole submission
    memory_mb = 1024                    # address space the worker may add on top of the warm interpreter
    file_size_mb = 16                   # largest file the worker may write
    open_files = 64
    processes = 16                      # processes and threads of the worker's user (fork bombs stop here)
    output_kb = 64                      # captured stdout/stderr kept for feedback
    notebook_mb = 10                    # larger submissions are rejected unread

    [forbidden]                         # see autograder.engine.scan
    names = ["softmax", "log_softmax"]  # leaf names, under torch.* and as methods
    apis = ["torch._C"]                 # dotted names and everything under them
    modules = ["course_lib"]            # packages whose every use is forbidden
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from course_lib.errors import CourseError

from ..paths import GRADERS_DIR
from .scan import ForbiddenRules


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 20.0
    call_seconds: float = 10.0
    submission_seconds: float = 120.0
    memory_mb: int = 1024
    file_size_mb: int = 16
    open_files: int = 64
    processes: int = 16
    output_kb: int = 64
    notebook_mb: int = 10
    reply_mb: int = 256
    max_restarts: int = 4  # fresh workers after a cell crashes or hangs (a failed call is charged to its name)


@dataclass(frozen=True)
class Manifest:
    assignment: str
    notebook: str
    total_points: float
    graded_names: tuple[str, ...]
    grader_dir: Path
    limits: Limits = field(default_factory=Limits)
    forbidden: ForbiddenRules = field(default_factory=ForbiddenRules)
    skip_tags: tuple[str, ...] = ("skip-grading",)
    source_notebook: Path | None = None  # nbgrader source, to recognise autograder-test cells by content
    hand_graded_points: float = 0.0  # written answers graded by hand: feedback says they are still to come


TOP_LEVEL_KEYS = frozenset(
    {
        "assignment",
        "notebook",
        "total_points",
        "hand_graded_points",
        "graded_names",
        "skip_tags",
        "source_notebook",
        "limits",
        "forbidden",
    }
)
FORBIDDEN_KEYS = frozenset({"names", "apis", "modules", "roots"})


def _check_keys(path: Path, table: str, given: object, valid: frozenset[str]) -> None:
    """Unknown keys are errors: a typo (``module = [...]``) must not silently remove a ban or a limit."""
    if not isinstance(given, dict):
        raise CourseError(f"{path}: {table} must be a table")
    unknown = sorted(set(given) - valid)
    if unknown:
        raise CourseError(
            f"{path}: unknown key(s) {', '.join(unknown)} in {table}; valid keys: {', '.join(sorted(valid))}"
        )


def load_manifest(assignment: str, graders_root: Path | None = None) -> Manifest:
    """Read and check ``<graders_root>/<assignment>/manifest.toml``; a clear CourseError on any problem."""
    root = Path(graders_root) if graders_root else GRADERS_DIR
    grader_dir = root / assignment
    path = grader_dir / "manifest.toml"
    if not path.is_file():
        known = sorted(p.parent.name for p in root.glob("*/manifest.toml"))
        raise CourseError(f"no grader for assignment {assignment!r} (no {path}); known: {', '.join(known) or 'none'}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise CourseError(f"{path}: invalid TOML: {err}") from None
    _check_keys(path, "the top level", raw, TOP_LEVEL_KEYS)
    limits_raw = raw.get("limits", {})
    _check_keys(path, "[limits]", limits_raw, frozenset(f.name for f in fields(Limits)))
    forbidden = raw.get("forbidden", {})
    _check_keys(path, "[forbidden]", forbidden, FORBIDDEN_KEYS)
    try:
        source = (
            grader_dir / raw["source_notebook"]
            if "source_notebook" in raw
            else _find_source_notebook(grader_dir, raw["notebook"], assignment)
        )
        manifest = Manifest(
            assignment=str(raw.get("assignment", assignment)),
            notebook=str(raw["notebook"]),
            total_points=float(raw["total_points"]),
            graded_names=tuple(raw["graded_names"]),
            grader_dir=grader_dir,
            limits=Limits(**limits_raw),
            forbidden=ForbiddenRules(
                names=frozenset(forbidden.get("names", ())),
                apis=frozenset(forbidden.get("apis", ())),
                modules=frozenset(forbidden.get("modules", ())),
                roots=frozenset(forbidden.get("roots", ("torch",))),
            ),
            skip_tags=tuple(raw.get("skip_tags", ("skip-grading",))),
            source_notebook=source,
            hand_graded_points=float(raw.get("hand_graded_points", 0)),
        )
    except KeyError as err:
        raise CourseError(f"{path}: missing key {err}") from None
    except (TypeError, ValueError) as err:
        raise CourseError(f"{path}: {err}") from None
    if manifest.assignment != assignment:
        raise CourseError(f"{path} says assignment {manifest.assignment!r}, expected {assignment!r}")
    return manifest


def _find_source_notebook(grader_dir: Path, notebook: str, assignment: str) -> Path | None:
    """The nbgrader source notebook, when this checkout has the course root next to the package."""
    candidate = grader_dir.parents[2] / "assignments" / "source" / assignment / notebook
    return candidate if candidate.is_file() else None
