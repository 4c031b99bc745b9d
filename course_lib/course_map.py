"""``llmcourse list``: the course's lectures and assignments, with their titles, from this checkout.

Titles are each notebook's first Markdown heading. An assignment is "autograded" when its hidden graders exist
(``autograder/graders/<id>/manifest.toml``); the grader itself is not imported.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Entry:
    kind: str  # "lecture" | "assignment"
    name: str  # lecture file stem (01_language_models) or assignment id (a1_ngrams)
    title: str
    path: Path
    autograded: bool = False


def notebook_title(path: Path) -> str:
    """The first Markdown heading of a notebook, without its #s ("" when it has none or cannot be read)."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return ""
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        for line in "".join(source).splitlines() if isinstance(source, list) else source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return ""


def course_entries(root: Path = CHECKOUT) -> list[Entry]:
    """Lectures (``lectures/NN_topic.ipynb``) then assignments (``assignments/source/<id>/<id>.ipynb``)."""
    entries = [
        Entry("lecture", path.stem, notebook_title(path), path) for path in sorted((root / "lectures").glob("*.ipynb"))
    ]
    for folder in sorted(p for p in (root / "assignments" / "source").glob("*") if p.is_dir()):
        path = folder / f"{folder.name}.ipynb"
        if path.is_file():
            graded = (root / "autograder" / "graders" / folder.name / "manifest.toml").is_file()
            entries.append(Entry("assignment", folder.name, notebook_title(path), path, graded))
    return entries


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list the course's lectures and assignments",
        description="List the lecture notebooks and the assignments (nbgrader sources) of this checkout.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from course_lib.errors import CourseError

    entries = course_entries()
    if not entries:
        raise CourseError(
            f"no lectures or assignments under {CHECKOUT}: they come with the course repository (git clone), "
            "not with the installed package"
        )
    for kind in ("lecture", "assignment"):
        rows = [e for e in entries if e.kind == kind]
        print(f"{kind}s:")
        for e in rows:
            mark = "  (autograded)" if e.autograded else ""
            print(f"  {e.name:<24} {e.title}{mark}")
    return 0
