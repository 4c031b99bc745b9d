"""Find, read and check a submitted notebook in the trusted process, and pick the cells the worker runs.

Nothing here executes student code: the notebook is read as bytes (never through a symlink), parsed as
JSON with a size cap, upgraded from nbformat 3 when needed, and reduced to a list of :class:`Cell` s.
Cells are dropped when they are nbgrader autograder-test cells (by metadata, or by content when a student
stripped the metadata), or carry a skip tag (e.g. ``skip-grading`` for long training demos). IPython
syntax (``%magic``, ``%%cell magic``, ``!shell``) is rewritten by IPython's own transformer into calls on a
``get_ipython()`` stub that does nothing, so it is neutralised rather than fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .manifest import Manifest


@dataclass(frozen=True)
class Cell:
    index: int  # position among all cells of the notebook (0-based)
    source: str  # Python after IPython syntax was neutralised


@dataclass
class LoadedNotebook:
    path: Path
    sha256: str
    data: bytes
    cells: list[Cell]
    flags: list[str] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)  # cell index -> how feedback names the cell


def cell_label(source: str, index: int) -> str:
    """How feedback names a cell: JupyterLab shows no cell numbers, so by its first line."""
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if not first:
        return f"the empty code cell {index + 1}"
    return f'the cell starting "{first[:60]}{"..." if len(first) > 60 else ""}"'


class SubmissionProblem(Exception):
    """A submission that cannot be graded; ``status`` is a short machine word, the message is for people."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def find_notebook(student_dir: Path, manifest: Manifest) -> tuple[Path, list[str]]:
    """The notebook to grade in ``student_dir`` and any flags about what else was there."""
    if not student_dir.is_dir():
        raise SubmissionProblem("missing", f"no submission folder for {manifest.assignment}")
    notebooks = sorted(p for p in student_dir.iterdir() if p.name.endswith(".ipynb"))
    expected = student_dir / manifest.notebook
    names = ", ".join(p.name for p in notebooks) or "no notebook"
    if expected not in notebooks:
        if not notebooks:
            raise SubmissionProblem("missing", f"no notebook submitted (expected {manifest.notebook})")
        raise SubmissionProblem(
            "wrong_file_name",
            f"expected a notebook named {manifest.notebook}, found {names}; rename it and resubmit",
        )
    flags = ["extra_notebooks"] if len(notebooks) > 1 else []
    return expected, flags


def read_notebook(path: Path, manifest: Manifest, flags: list[str] | None = None) -> LoadedNotebook:
    data = _read_regular_file(path, manifest.limits.notebook_mb * 2**20)
    flags = list(flags or [])
    if not data.strip():
        raise SubmissionProblem("invalid_notebook", f"{path.name} is empty")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise SubmissionProblem("invalid_notebook", f"{path.name} is not valid notebook JSON ({err})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int):
        raise SubmissionProblem("invalid_notebook", f"{path.name} is JSON but not a Jupyter notebook")
    raw_cells = _cells_of(raw, path.name, flags)
    test_sources = _test_cell_sources(manifest)
    budget = IPythonBudget()
    cells, labels = [], {}
    for index, cell in enumerate(raw_cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _text(cell.get("source", ""))
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        if _is_test_cell(metadata, source, test_sources) or _has_skip_tag(metadata, manifest.skip_tags):
            continue
        cells.append(Cell(index, neutralise_ipython(source, budget)))
        labels[index] = cell_label(source, index)
    return LoadedNotebook(path, hashlib.sha256(data).hexdigest(), data, cells, flags, labels)


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if path.is_symlink():
            raise SubmissionProblem("symlink", f"{path.name} is a symbolic link; submit the notebook itself") from None
        raise SubmissionProblem("unreadable", f"cannot open {path.name}: {err.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionProblem("invalid_notebook", f"{path.name} is not a regular file")
        if info.st_size > max_bytes:
            raise SubmissionProblem(
                "too_large",
                f"{path.name} is {info.st_size / 2**20:.1f} MB, over the "
                f"{max_bytes // 2**20} MB limit (clear large outputs and resubmit)",
            )
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SubmissionProblem("too_large", f"{path.name} is over the {max_bytes // 2**20} MB limit")
    return data


def _cells_of(raw: dict, name: str, flags: list[str]) -> list:
    """The cell list of a v4 notebook; v3 notebooks are upgraded with nbformat; others are rejected."""
    version = raw["nbformat"]
    if version == 3:
        import nbformat

        try:
            raw = nbformat.convert(nbformat.from_dict(raw), 4)
        except Exception as err:  # noqa: BLE001 - any failure to upgrade is a malformed v3 notebook
            raise SubmissionProblem(
                "invalid_notebook",
                f"{name} is an nbformat 3 notebook that could not be upgraded ({err.__class__.__name__})",
            ) from None
        flags.append("converted_from_nbformat_3")
    elif version != 4:
        raise SubmissionProblem(
            "unsupported_format", f"{name} is nbformat {version}; save it with Jupyter (nbformat 4)"
        )
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise SubmissionProblem("invalid_notebook", f"{name} has no list of cells")
    return cells


def _text(source: object) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _is_test_cell(metadata: dict, source: str, test_sources: frozenset[str]) -> bool:
    nbgrader = metadata.get("nbgrader")
    if isinstance(nbgrader, dict) and nbgrader.get("grade") is True and nbgrader.get("solution") is not True:
        return True
    return _digest(source) in test_sources


def _digest(source: str) -> str:
    return hashlib.sha256(source.strip().encode("utf-8", "surrogatepass")).hexdigest()


def _has_skip_tag(metadata: dict, skip_tags: tuple[str, ...]) -> bool:
    tags = metadata.get("tags")
    return isinstance(tags, list) and any(tag in skip_tags for tag in tags)


_TEST_SOURCES: dict[Path, frozenset[str]] = {}  # hashes only: the hidden tests' text is never kept


def _test_cell_sources(manifest: Manifest) -> frozenset[str]:
    """SHA-256 digests of the autograder-test cells of the instructor's source notebook (empty when absent)."""
    path = manifest.source_notebook
    if path is None:
        return frozenset()
    if path not in _TEST_SOURCES:
        raw = json.loads(path.read_text())
        _TEST_SOURCES[path] = frozenset(
            _digest(_text(c.get("source", "")))
            for c in raw.get("cells", [])
            if c.get("cell_type") == "code" and _is_test_cell(c.get("metadata", {}), "", frozenset())
        )
    return _TEST_SOURCES[path]


def neutralise_ipython(source: str, budget: IPythonBudget | None = None) -> str:
    """Rewrite IPython-only syntax into plain Python calls on ``get_ipython()`` (a stub in the worker).

    IPython's own transformer is exact but superlinear in the lines it rewrites (seconds for a few hundred
    ``!`` lines), and it runs here, in the trusted process, before any limit applies. So the common case,
    a ``!shell`` or ``%magic`` line that is a whole logical line, or a ``%%cell magic``, is rewritten
    directly (one tokenizer pass, linear); what is left goes through IPython's transformer only for a cell
    with at most ``IPYTHON_MAX_LINES`` lines holding ``%``, ``!`` or ``?``, and while the submission's
    ``budget`` of characters lasts (any other cell is left as it is: if it needed the rewrite, the worker
    reports its syntax error, as for any invalid cell)."""
    if not any(ch in source for ch in "%!?"):
        return source
    source = _rewrite_simple_lines(source)
    if not any(ch in source for ch in "%!?"):
        return source
    budget = budget if budget is not None else IPythonBudget()
    special = sum(any(ch in line for ch in "%!?") for line in source.splitlines())
    if len(source) > budget.chars_left or special > IPYTHON_MAX_LINES:
        return source
    budget.chars_left -= len(source)
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave it to the worker's compile() to report the syntax error
        return source


IPYTHON_MAX_LINES = 20


@dataclass
class IPythonBudget:
    """Characters of one submission that may still go through IPython's (superlinear) transformer."""

    chars_left: int = 64 * 1024


def _rewrite_simple_lines(source: str) -> str:
    if source.startswith("%%"):
        first, _, body = source.partition("\n")
        name, _, line = first[2:].partition(" ")
        return f"get_ipython().run_cell_magic({name!r}, {line!r}, {body!r})\n"
    from IPython.core.inputtransformer2 import make_tokens_by_line

    lines = source.splitlines(keepends=True)
    try:
        starts = [tokens[0].start[0] - 1 for tokens in make_tokens_by_line(lines) if tokens]
    except Exception:  # noqa: BLE001 - the tokenizer gave up: leave it to IPython's transformer
        return source
    for row, following in zip(starts, [*starts[1:], len(lines)], strict=True):
        if not 0 <= row < len(lines) or following != row + 1:
            continue  # only logical lines that are one physical line
        text = lines[row]
        command = text.lstrip()
        indent = text[: len(text) - len(command)]
        command = command.rstrip("\r\n")
        if command.startswith("!"):
            lines[row] = f"{indent}get_ipython().system({command.lstrip('!')!r})\n"
        elif command.startswith("%") and not command.startswith("%%"):
            name, _, args = command[1:].partition(" ")
            lines[row] = f"{indent}get_ipython().run_line_magic({name!r}, {args!r})\n"
    return "".join(lines)
