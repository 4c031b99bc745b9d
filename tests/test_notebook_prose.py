"""Every number in a lecture's or answer key's prose is backed by a cell (see tests/notebook_prose.py).

Applies to every notebook in lectures/ and solutions/, present and future; lectures/README.md states the rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from notebook_prose import (
    asserted_numbers,
    check_cells_without_assertions,
    normalise,
    numbers_in_markdown,
    read,
    unbacked_numbers,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("lectures/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])


def test_there_are_notebooks_to_check() -> None:
    assert {p.parent.name for p in NOTEBOOKS} == {"lectures", "solutions"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_number_in_the_prose_is_backed_by_a_cell(path: Path) -> None:
    nb = read(path)
    problems = unbacked_numbers(nb, str(path.relative_to(ROOT)))
    assert not problems, (
        "numbers typed into Markdown must come from a cell: print them with display(Markdown(f'...')), assert them "
        "in a cell tagged 'check', or (not a measurement) list them in the cell's metadata prose.allow:\n"
        + "\n".join(map(str, problems))
    )
    assert not check_cells_without_assertions(nb), "a cell tagged 'check' must assert something"


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def check_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["check", "hide-input"]})


def test_a_changed_number_fails_and_the_asserted_one_passes() -> None:
    prose = nbformat.v4.new_markdown_cell("The bigram model's perplexity is 117.4, down from 208 for unigrams.")
    checks = check_cell("assert round(ppl[2], 1) == 117.4 and round(ppl[1]) == 208")
    assert unbacked_numbers(notebook(prose, checks)) == []
    prose.source = prose.source.replace("117.4", "117.5")
    assert [u.number for u in unbacked_numbers(notebook(prose, checks))] == ["117.5"]
    # a number printed by an ordinary (untagged) cell does not count: nothing would fail if it changed
    untagged = nbformat.v4.new_code_cell("assert round(ppl[2], 1) == 117.5")
    assert [u.number for u in unbacked_numbers(notebook(prose, untagged))] == ["117.5", "208"]


def test_allowlist_is_per_cell() -> None:
    cited = nbformat.v4.new_markdown_cell("BPE (Sennrich et al., 2016) starts from 256 bytes.")
    cited.metadata["prose"] = {"allow": ["256"]}
    other = nbformat.v4.new_markdown_cell("In 2016 it was new, with 256 bytes.")
    assert [(u.cell, u.number) for u in unbacked_numbers(notebook(cited, other))] == [(1, "2016"), (1, "256")]


def test_citation_years_are_not_measurements() -> None:
    source = (
        "Sutskever et al. 2014; Cho et al. (2014); Vinyals & Le (2014); Schuster & Paliwal 1997; "
        "(Sennrich et al., 2016b); Mikolov (2013); (Elman 1990; Jordan 1986). But ISO 8601, In 2016, "
        "2014 sentences and Python 3.11 count."
    )
    assert [n for n, _ in numbers_in_markdown(source)] == ["8601", "2016", "2014", "3.11"]


def test_what_is_not_a_quoted_number() -> None:
    source = (
        "## 3. Sparsity (5 points)\n\n"
        "1. GPT-2 reads UTF-8 and U+FFFD; see A1 and `order=3`, [link](https://x.org/2016).\n"
        "Maths: $n \\ge 2$ and $$P = \\frac{1}{N}$$ with probability 0 or 1.\n"
        "But 3,294 words, 4.2% and 12 merges count."
    )
    assert [n for n, _ in numbers_in_markdown(source)] == ["3,294", "4.2%", "12"]
    assert [normalise(n) for n in ("3,294", "4.2%", "15.0", "0.50")] == ["3294", "4.2", "15", "0.5"]
    assert asserted_numbers("x = 5\nassert y == 3294 and abs(z - 4.2) < 0.05") == {"3294", "4.2", "0.05"}


def test_check_cells_must_assert() -> None:
    assert check_cells_without_assertions(notebook(check_cell("print(1)"))) == [0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_changing_a_quoted_number_in_this_notebook_is_caught(path: Path) -> None:
    """Mutation check on the real notebooks: alter each number in the prose (asserted or allowed); the rule fires."""
    nb = read(path)
    assert not unbacked_numbers(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for number, _ in numbers_in_markdown(cell.source):
            changed = str(int(float(normalise(number))) + 7777)  # a value no check cell asserts
            original = cell.source
            cell.source = re.sub(rf"(?<![\d.,]){re.escape(number)}(?![\d])", changed, original)  # every spelling
            assert {u.cell for u in unbacked_numbers(nb)} == {index}, f"cell {index}: {number} -> {changed}"
            cell.source = original
