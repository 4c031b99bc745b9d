r"""The rule that keeps notebook prose honest: a number typed into a Markdown cell must be backed by a cell.

A measured number (a perplexity, a vocabulary size, a percentage) may appear in a lecture's text only as the output
of a code cell (``display(Markdown(f"..."))``), so it changes when the data or the code does. A Markdown cell may
still contain digits that are not measurements; each such number is either

- **asserted** in a code cell tagged ``check`` (which nbval runs with the notebook), e.g. Markdown "BPE adds 250
  merges" with ``assert num_merges == 250`` in a check cell; or
- **allowed** in the cell's own metadata, ``{"prose": {"allow": ["2016", "256"]}}``: years in citations, equation
  constants, section counts, points and minutes in an assignment's table. Keep these lists short.

Not counted as numbers: years in citations ("Sennrich et al., 2016", "Vinyals & Le (2014)"), headings (section
numbers, an assignment's points), numbered-list markers, LaTeX maths
(``$n \ge 2$``: formulas hold constants, so never put a measured number inside ``$...$``), code spans
(```order=3```), link targets, digits inside a word or name (``GPT-2``, ``UTF-8``, ``A1``, ``U+FFFD``), and the
numbers 0 and 1 (probabilities, mask values, ids: definitions, not measurements).
See ``lectures/README.md`` for the convention as lecture authors read it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

CHECK_TAG = "check"
NUMBER = re.compile(r"(?<![\w.+\-/#])(?<!\w-)\d+(?:[.,]\d+)*(?:%|\b)(?![\w+-]*\w)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK_TARGET = re.compile(r"\]\([^)]*\)")
HEADING = re.compile(r"^#{1,6}\s.*$", re.MULTILINE)
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
DEFINITIONAL = {"0", "1"}
LIST_NUMBER = re.compile(r"^(\s*)\d+\.\s", re.MULTILINE)
# A year in a citation: "Sennrich et al., 2016", "Vinyals & Le (2014)", "Schuster & Paliwal 1997", "Mikolov (2013)",
# "(Elman 1990)". A year elsewhere ("in 2016") still counts.
_NAME, _YEAR = r"[A-Z][\w'’-]+", r"(?:1[89]|20)\d{2}[a-z]?"
CITATION = re.compile(
    rf"{_NAME}\s+et\s+al\.,?\s+\(?{_YEAR}\)?"  # Name et al. 2014, Name et al. (2014)
    rf"|&\s*{_NAME},?\s+\(?{_YEAR}\)?"  # & Le (2014), & Paliwal 1997
    rf"|{_NAME}\s+\({_YEAR}\)"  # Mikolov (2013)
    rf"|(?:(?<=\()|(?<=;\s)){_NAME},?\s+{_YEAR}"  # (Elman 1990; Jordan 1986)
)


@dataclass(frozen=True)
class Unbacked:
    """A number in a Markdown cell that no check cell asserts and the cell's allowlist does not name."""

    path: str
    cell: int
    number: str
    context: str

    def __str__(self) -> str:
        return f"{self.path} cell {self.cell}: {self.number!r} in “…{self.context}…”"


def normalise(number: str) -> str:
    """'4,256' -> '4256', '20%' -> '20', '15.0' -> '15', '0.50' -> '0.5': one spelling per value."""
    text = number.rstrip("%").replace(",", "")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def numbers_in_markdown(source: str) -> list[tuple[str, str]]:
    """The numbers a reader sees in ``source``, each with a little context, after removing what is exempt."""
    text = LINK_TARGET.sub("]", CODE_SPAN.sub(" ", source))
    text = CITATION.sub(" ", MATH.sub(" ", HEADING.sub("", text)))
    text = LIST_NUMBER.sub(r"\1", text)
    found = []
    for match in NUMBER.finditer(text):
        if normalise(match.group()) in DEFINITIONAL:
            continue
        context = text[max(0, match.start() - 30) : match.end() + 30].replace("\n", " ")
        found.append((match.group(), context))
    return found


def asserted_numbers(code: str) -> set[str]:
    """Every number literal inside an ``assert`` statement of ``code`` (a check cell), normalised."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            for sub in ast.walk(node.test):
                if isinstance(sub, ast.Constant) and type(sub.value) in (int, float):
                    found.add(normalise(repr(sub.value)))
    return found


def tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def allowed(cell: Any) -> set[str]:
    return {normalise(str(n)) for n in cell.get("metadata", {}).get("prose", {}).get("allow", [])}


def unbacked_numbers(nb: Any, path: str = "") -> list[Unbacked]:
    """Numbers in ``nb``'s Markdown cells that neither a check cell asserts nor the cell's allowlist names."""
    backed = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_TAG in tags(cell):
            backed |= asserted_numbers(cell.source)
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        ok = backed | allowed(cell)
        for number, context in numbers_in_markdown(cell.source):
            if normalise(number) not in ok:
                problems.append(Unbacked(path, index, number, context))
    return problems


def check_cells_without_assertions(nb: Any) -> list[int]:
    """Indices of cells tagged ``check`` that assert nothing (a check cell must check)."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and CHECK_TAG in tags(cell) and "assert" not in cell.source
    ]


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)
