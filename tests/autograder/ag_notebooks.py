"""Build A0 submissions for the autograder's tests: the solution, the release, and variations of them.

Everything starts from the instructor's source notebook, so the tests follow the real assignment; the
release and the solution are made by :mod:`autograder.authoring.samples`, as for the demo and the benchmark.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from autograder.authoring.nbmeta import cell_by_grade_id
from autograder.authoring.nbmeta import grade_id as nbmeta_grade_id
from autograder.authoring.samples import clear_solutions, fill_stubs, solutions

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "assignments" / "source" / "a0_warmup" / "a0_warmup.ipynb"
GRADERS = ROOT / "autograder" / "graders"

# Deliberately wrong implementations (wrong normalisation; a loss that ignores the targets).
SOFTMAX_WRONG = "def softmax(x, dim=-1):\n    return torch.exp(x) / torch.exp(x).sum()\n"
CE_WRONG = "def cross_entropy(logits, targets):\n    return logits.logsumexp(-1).mean() * 0\n"


def source_notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def solution() -> nbformat.NotebookNode:
    """The answer key: the release with every stub filled with the source's solution."""
    source = source_notebook()
    return fill_stubs(clear_solutions(source), solutions(source))


def release() -> nbformat.NotebookNode:
    """What students get: solutions replaced by ``raise NotImplementedError()`` stubs."""
    return clear_solutions(source_notebook())


def cell_source(nb: nbformat.NotebookNode, grade_id: str) -> str:
    return cell_by_grade_id(nb, grade_id).source


SOFTMAX_OK = cell_source(solution(), "softmax")
CE_OK = cell_source(solution(), "cross_entropy")
RELEASED_CE = cell_source(release(), "cross_entropy")


def submission(
    softmax: str | None = SOFTMAX_OK,
    cross_entropy: str | None = CE_OK,
    extra: list[str] = (),
    extra_before: list[str] = (),
) -> nbformat.NotebookNode:
    """The release with the two solution cells replaced (None deletes the cell) and extra code cells
    inserted after the imports (``extra_before``) and after the solutions (``extra``)."""
    nb = release()
    cells = []
    for cell in nb.cells:
        grade_id = nbmeta_grade_id(cell)
        if grade_id == "softmax":
            if softmax is None:
                continue
            cell.source = softmax
        if grade_id == "cross_entropy":
            if cross_entropy is None:
                continue
            cell.source = cross_entropy
        cells.append(cell)
        if grade_id == "imports":
            cells += [new_code_cell(src) for src in extra_before]
        if grade_id == "cross_entropy":
            cells += [new_code_cell(src) for src in extra]
    nb.cells = cells
    return nb


def write(nb: nbformat.NotebookNode | str | bytes, folder: Path, name: str = "a0_warmup.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    return path


def strip_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.metadata = {}
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def as_v3_json(nb: nbformat.NotebookNode) -> str:
    return json.dumps(nbformat.convert(nb, 3))


def fast_graders(root: Path, **limits: float) -> Path:
    """A copy of A0's graders with short time limits (so timeouts in tests take seconds, not minutes)."""
    target = root / "a0_warmup"
    shutil.copytree(GRADERS / "a0_warmup", target, ignore=shutil.ignore_patterns("__pycache__"))
    settings = {"cell_seconds": 4, "call_seconds": 3, "submission_seconds": 40, **limits}
    text = (target / "manifest.toml").read_text()
    lines = [f"{k} = {v}" for k, v in settings.items()]
    text = re.sub(r"(?m)^(cell_seconds|call_seconds|submission_seconds) = .*\n", "", text)
    text = text.replace("[limits]\n", "[limits]\n" + "\n".join(lines) + "\n")
    text = f'source_notebook = "{SOURCE}"\n' + text
    (target / "manifest.toml").write_text(text)
    return root


def running_with_name(name: str) -> list[str]:
    """Pids of live processes whose name (/proc/PID/comm) is ``name``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(pid)
        except OSError:
            pass
    return found
