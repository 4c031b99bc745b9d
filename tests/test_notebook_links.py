"""Every relative link in a lecture, assignment source or answer key resolves from where the notebook is opened.

Lectures are opened where they are stored, so their links resolve from ``lectures/``. An assignment notebook is
opened somewhere else than where its source is stored: the release (``assignments/release/<id>/`` in a clone), the
copy nbgrader's Assignments tab fetches into a student's home (``~/<id>/``, beside no lectures on a hub) and the
answer key (``solutions/``) each sit at another depth. No relative link out of the assignment's own folder can be
right in all of them, so assignments name a lecture by its title and path (``lectures/05_seq2seq_attention.ipynb``)
instead of linking it, and this test holds them to it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted(ROOT.glob("lectures/*.ipynb"))
ASSIGNMENTS = sorted([*ROOT.glob("assignments/source/*/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
_HTML_TARGET = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def relative_links(nb: nbformat.NotebookNode) -> list[str]:
    """The targets of the Markdown cells' links and images (Markdown or inline HTML) that are relative paths:
    no scheme (``https:``, ``mailto:``, ``data:``), not absolute, not an anchor in the same notebook."""
    parser, targets = MarkdownIt("commonmark"), []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        tokens = parser.parse(cell.source)
        for token in [t for block in tokens for t in [block, *(block.children or [])]]:
            if token.type in ("link_open", "image"):
                targets.append(str(token.attrs.get("href") or token.attrs.get("src") or ""))
            elif token.type in ("html_inline", "html_block"):
                targets += _HTML_TARGET.findall(token.content)
    relative = []
    for target in targets:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path and not parts.path.startswith("/"):
            relative.append(unquote(parts.path))
    return relative


def broken_links(path: Path) -> list[str]:
    """The relative links of the notebook at ``path`` that name no file or folder from the notebook's folder."""
    nb = nbformat.read(path, as_version=4)
    return [link for link in relative_links(nb) if not (path.parent / link).exists()]


def links_out_of_folder(path: Path) -> list[str]:
    """The relative links of the notebook at ``path`` that leave its folder (``../``)."""
    nb = nbformat.read(path, as_version=4)
    folder = path.parent.resolve()
    return [link for link in relative_links(nb) if not (folder / link).resolve().is_relative_to(folder)]


def test_there_are_notebooks_to_check() -> None:
    assert LECTURES and {p.relative_to(ROOT).parts[0] for p in ASSIGNMENTS} == {"assignments", "solutions"}


@pytest.mark.parametrize("path", LECTURES + ASSIGNMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_from_the_notebook(path: Path) -> None:
    assert broken_links(path) == [], f"{path.relative_to(ROOT)}: links to nothing from {path.parent.name}/"


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_assignments_link_nothing_outside_their_folder(path: Path) -> None:
    assert links_out_of_folder(path) == [], (
        f"{path.relative_to(ROOT)}: the release, a student's fetched copy and the answer key sit elsewhere; "
        "name the lecture and its path (`lectures/NN_topic.ipynb`) instead of linking it"
    )


def test_the_checks_see_broken_and_escaping_links(tmp_path: Path) -> None:
    (tmp_path / "lectures").mkdir()
    (tmp_path / "lectures" / "01_here.ipynb").write_text("{}")
    (tmp_path / "a1").mkdir()
    (tmp_path / "a1" / "figure.png").write_bytes(b"")
    markdown = (
        "See [lecture 1](../lectures/01_here.ipynb#Smoothing), [a missing one](../lectures/02_gone.ipynb),\n"
        "![a figure](figure%2Epng), <img src='missing.png' alt='gone'>, [a section](#part-1),\n"
        "[the web](https://example.org/x.ipynb), `[code](not_a_link.ipynb)` and [mail](mailto:ta@example.org).\n"
    )
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)]), tmp_path / "a1" / "a.ipynb"
    )
    path = tmp_path / "a1" / "a.ipynb"
    assert relative_links(nbformat.read(path, as_version=4)) == [
        "../lectures/01_here.ipynb",
        "../lectures/02_gone.ipynb",
        "figure.png",
        "missing.png",
    ]
    assert broken_links(path) == ["../lectures/02_gone.ipynb", "missing.png"]
    assert links_out_of_folder(path) == ["../lectures/01_here.ipynb", "../lectures/02_gone.ipynb"]
