"""Sample submissions, generated from an assignment's own notebooks rather than stored as many copies.

A sample is the *released* notebook (what students get from nbgrader) with its ``raise NotImplementedError()``
stubs replaced by code: the source notebook's solution (honest), a realistic bug, or an attack. ``make demo``,
the grading benchmark and the Gradescope test all build their submissions here.

Layout written by :func:`write_submissions`, the same as ``nbgrader collect``:
``<submitted>/<student>/<assignment>/<assignment>.ipynb``.
"""

from __future__ import annotations

import ast
import copy
import io
import re
import textwrap
import tokenize
from collections.abc import Mapping
from pathlib import Path

import nbformat

from .nbmeta import SOLUTION_BLOCK, grade_id

STUB = re.compile(r"^(?P<indent>[ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)[ \t]*$", re.M)


def solutions(source: nbformat.NotebookNode) -> dict[str, str]:
    """``{grade_id: solution code, dedented}`` for each solution cell of an instructor notebook."""
    found = {}
    for cell in source.cells:
        match = SOLUTION_BLOCK.search(cell.source) if cell.cell_type == "code" else None
        if match:
            found[grade_id(cell)] = textwrap.dedent(match["body"]).rstrip("\n")
    return found


def clear_solutions(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What nbgrader's ClearSolutions makes of an instructor notebook's code, without running nbgrader: a copy
    whose ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` blocks are ``# YOUR CODE HERE`` stubs. For tests that
    need a release in a hurry; ``llmcourse release`` makes the real one
    (``tests/autograder/test_samples.py`` compares)."""
    cleared = copy.deepcopy(source)
    for cell in cleared.cells:
        if cell.cell_type == "code":
            cell.source = SOLUTION_BLOCK.sub(
                lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}raise NotImplementedError()", cell.source
            )
    return cleared


def fill_stubs(release: nbformat.NotebookNode, answers: Mapping[str, str]) -> nbformat.NotebookNode:
    """A copy of a released notebook whose stub in each cell named in ``answers`` holds that answer's code.

    Answers are written unindented; they take the indentation of the stub they replace. A cell not named
    keeps its stub, as a student who skipped it would.
    """
    filled = copy.deepcopy(release)
    missing = set(answers)
    for cell in filled.cells:
        cell_id = grade_id(cell)
        if cell.cell_type != "code" or cell_id not in answers:
            continue
        if not STUB.search(cell.source):
            raise ValueError(f"cell {cell_id!r} has no `# YOUR CODE HERE` stub to fill")
        code = answers[cell_id]
        cell.source = STUB.sub(
            lambda m, code=code: textwrap.indent(code, m["indent"], lambda _: True), cell.source, count=1
        )
        missing.discard(cell_id)
    if missing:
        raise ValueError(f"no solution cells named {sorted(missing)} in the release")
    return filled


def write_submissions(
    submitted: Path,
    assignment: str,
    notebooks: Mapping[str, nbformat.NotebookNode],
) -> list[Path]:
    """Write ``{student: notebook}`` in nbgrader's submitted layout; return the notebook paths."""
    paths = []
    for student, nb in notebooks.items():
        path = submitted / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------- A0 answers
# Realistic mistakes for A0 (softmax, cross_entropy); the correct answers come from the source notebook.

A0_BUGS: dict[str, dict[str, str]] = {
    "softmax": {
        # forgets the max shift: exp(1000) overflows to inf and the result is nan
        "no_shift": "exps = torch.exp(x)\nreturn exps / exps.sum(dim=dim, keepdim=True)",
        # ignores `dim`: right for the last dimension only
        "ignores_dim": "shifted = x - x.amax(dim=-1, keepdim=True)\nexps = torch.exp(shifted)\n"
        "return exps / exps.sum(dim=-1, keepdim=True)",
    },
    "cross_entropy": {
        # sums over the batch instead of averaging
        "sum_not_mean": "m = logits.amax(dim=-1, keepdim=True)\n"
        "log_z = m.squeeze(-1) + torch.log(torch.exp(logits - m).sum(dim=-1))\n"
        "picked = logits.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)\n"
        "return (log_z - picked).sum()",
        # log of a naive softmax: inf for confident predictions
        "unstable": "p = torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True)\n"
        "return -torch.log(p.gather(-1, targets.long().unsqueeze(-1))).mean()",
    },
}


def a0_variant(index: int, correct: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The ``index``-th A0 answer set in a fixed cycle: correct, one bug, the other task's bug, untouched...

    Returns ``(kind, answers)``; ``kind`` names the variant (e.g. ``"softmax:no_shift"``).
    """
    cycle: list[tuple[str, dict[str, str]]] = [("correct", dict(correct))]
    for task, bugs in A0_BUGS.items():
        for bug, code in bugs.items():
            cycle.append((f"{task}:{bug}", {**correct, task: code}))
    cycle.append(("untouched", {}))
    cycle.append(("correct", dict(correct)))
    return cycle[index % len(cycle)]


def disguise(code: str, prefix: str) -> str:
    """``code`` as a copier would hand it in: every name it defines or binds renamed (``prefix`` + NAME),
    docstrings and comments dropped, reformatted (by ``ast.unparse``). For testing the similarity check."""
    tree = ast.parse(code)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
    names -= {"self"}
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            node.body = body[1:] or [ast.Pass()]
    tokens = tokenize.generate_tokens(io.StringIO(ast.unparse(tree)).readline)
    return tokenize.untokenize(
        (tok.type, prefix + tok.string.upper() if tok.type == tokenize.NAME and tok.string in names else tok.string)
        for tok in tokens
    )
