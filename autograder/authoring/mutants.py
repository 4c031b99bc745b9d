"""Mutants: realistic student bugs, as small patches of an answer key, for mutation-testing hidden graders.

Each assignment's ``graders/<id>/mutants/mutants.py`` lists its ``MUTANTS``. A mutant replaces one snippet (``old``,
which must occur exactly once) in the solution cell named by its nbgrader ``grade_id`` with ``new``; ``catches``
names the hidden tests meant to catch the bug: graded with the mutant applied, each must lose points (the
assignment's ``tests/<prefix>/test_*_mutation.py`` checks this and reports the kill rate).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str  # the student's mistake, in words
    cell: str  # nbgrader grade_id of the patched cell
    old: str
    new: str
    catches: tuple[str, ...]


def apply_mutant(notebook, mutant: Mutant):
    """Patch a copy of the solution notebook (an nbformat node) with ``mutant``; the snippet must occur once."""
    patched = copy.deepcopy(notebook)
    cells = [c for c in patched.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mutant.cell]
    if len(cells) != 1:
        raise ValueError(f"mutant {mutant.name}: {len(cells)} cells have grade_id {mutant.cell!r}")
    occurrences = cells[0].source.count(mutant.old)
    if occurrences != 1:
        raise ValueError(f"mutant {mutant.name}: the snippet occurs {occurrences} times in cell {mutant.cell!r}")
    cells[0].source = cells[0].source.replace(mutant.old, mutant.new)
    return patched
