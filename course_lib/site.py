"""A static HTML site of the lectures and answer keys that works offline (``make site``).

Each notebook is executed (the stored notebooks have no outputs), exported with nbconvert's classic HTML template
and written under ``<out>/lectures/`` or ``<out>/solutions/``, with an ``index.html`` linking them. The maths is
typeset by a copy of MathJax 2 taken from the ``jupyter-server-mathjax`` package into ``<out>/mathjax/``, so no page
loads anything from the network. Cells tagged ``hide-input`` show only their output; every figure gets alt text
(from the figure's titles via :func:`course_lib.viz.describe`, from the cell's ``alt`` metadata, or else from the
section it is in). A link from one notebook to another that is on the site points at that notebook's page.

    python -m course_lib.site [--out build/site] [notebook.ipynb ...]
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from course_lib.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # a configuration the packaged MathJax ships
HIDE_INPUT = "hide-input"


def default_notebooks(root: Path = ROOT) -> list[Path]:
    """Every lecture, then every answer key."""
    return sorted((root / "lectures").glob("*.ipynb")) + sorted((root / "solutions").glob("*.ipynb"))


def mathjax_source() -> Path:
    """The folder holding ``MathJax.js`` inside the installed ``jupyter_server_mathjax`` package."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise CourseError(
            "the site needs MathJax from the jupyter-server-mathjax package: pip install -c constraints.txt "
            "jupyter-server-mathjax"
        ) from None
    folder = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (folder / "MathJax.js").is_file():
        raise CourseError(f"no MathJax.js in {folder}; reinstall jupyter-server-mathjax")
    return folder


def title_of(nb: Any, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def add_alt_text(nb: Any) -> int:
    """Give every image output alt text: its own, the cell's ``alt`` metadata, or the section it is in.
    Returns how many images needed the section fallback."""
    section, fallbacks = "", 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            headings = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            section = headings[-1] if headings else section
            continue
        for output in cell.get("outputs", []):
            for mime in ("image/png", "image/jpeg", "image/svg+xml"):
                if mime not in output.get("data", {}):
                    continue
                meta = output.setdefault("metadata", {}).setdefault(mime, {})
                if not meta.get("alt"):
                    meta["alt"] = cell.metadata.get("alt") or f"Figure for the section “{section}”"
                    fallbacks += not cell.metadata.get("alt")
    return fallbacks


def execute(nb: Any, folder: Path, timeout: int) -> None:
    """Run the notebook in ``folder`` with a kernel that imports this checkout's ``course_lib``."""
    from nbclient import NotebookClient

    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *([old] if old else [])])
    try:
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def export(nb: Any, depth: int) -> str:
    """The notebook as one HTML page whose MathJax comes from ``../`` * depth + ``mathjax/``."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.remove_input_tags = {HIDE_INPUT}
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, template_name="classic")
    exporter.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    exporter.mathjax_url = "../" * depth + f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    body, _ = exporter.from_notebook_node(nb)
    return offline(body)


# nbconvert's template loads jQuery, require.js, mermaid and the widget manager from CDNs; the course's pages need
# none of them (widgets fall back to their static snapshots), and a site that must work offline cannot use them.
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^>]*>\s*</script>", re.IGNORECASE)
_REMOTE_MODULE = re.compile(
    r"<script type=\"module\">(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>", re.DOTALL
)


# The packaged MathJax ships the STIX-Web fonts only (not MathJax's TeX fonts): tell the output processor.
MATHJAX_FONTS = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web",
                                 imageFont: null}});
</script>"""


def offline(page: str) -> str:
    """The page without scripts fetched from the network, its MathJax configured for the packaged fonts."""
    page = _REMOTE_MODULE.sub("", _REMOTE_SCRIPT.sub("", page))
    return page.replace("<head>", "<head>\n" + MATHJAX_FONTS, 1)


_NOTEBOOK_HREF = re.compile(r'href="(?P<path>[^":?#]+\.ipynb)(?P<anchor>#[^"]*)?"')  # relative: no scheme


def link_pages(page: str, notebook: Path, page_path: Path, pages: dict[Path, Path]) -> str:
    """``page`` (exported from ``notebook``, written at ``page_path``) with each link to a notebook that has a page
    on the site (``pages``: resolved notebook path -> page path) pointing at that page, its anchor kept."""

    def to_page(match: re.Match[str]) -> str:
        target = pages.get((notebook.parent / unquote(match["path"])).resolve())
        if target is None:
            return match[0]  # not on the site: left as written
        href = Path(os.path.relpath(target, page_path.parent)).as_posix()
        return f'href="{quote(href)}{match["anchor"] or ""}"'

    return _NOTEBOOK_HREF.sub(to_page, page)


def page_path(out: Path, notebook: Path) -> Path:
    """Where ``notebook``'s page goes: ``<out>/lectures/``, ``<out>/solutions/`` or ``<out>/pages/``."""
    section = notebook.parent.name if notebook.parent.name in ("lectures", "solutions") else "pages"
    return out / section / f"{notebook.stem}.html"


def build_site(
    out: Path, notebooks: list[Path] | None = None, run: bool = True, timeout: int = 600, progress: bool = True
) -> list[Path]:
    """Build the site into ``out`` (replacing what is there); returns the pages written, index first."""
    import nbformat

    notebooks = default_notebooks() if notebooks is None else notebooks
    if not notebooks:
        raise CourseError("no notebooks to put on the site")
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(mathjax_source(), out / "mathjax")
    pages: list[tuple[str, str, Path]] = []
    page_of = {Path(path).resolve(): page_path(out, Path(path)) for path in notebooks}
    for path in notebooks:
        path = Path(path)
        if not path.is_file():
            raise CourseError(f"no notebook at {path}")
        if progress:
            print(f"site: {'executing and ' if run else ''}exporting {path}", file=sys.stderr)
        nb = nbformat.read(path, as_version=4)
        if run:
            execute(nb, path.parent.resolve(), timeout)
        add_alt_text(nb)
        page = page_of[path.resolve()]
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(link_pages(export(nb, depth=1), path, page, page_of), encoding="utf-8")
        pages.append((page.parent.name, title_of(nb, path.stem), page))
    index = out / "index.html"
    index.write_text(index_html(pages, out), encoding="utf-8")
    return [index, *(page for _, _, page in pages)]


def index_html(pages: list[tuple[str, str, Path]], out: Path) -> str:
    names = {"lectures": "Lectures", "solutions": "Answer keys", "pages": "Other notebooks"}
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>llm-course</title></head><body>']
    parts.append("<h1>llm-course: lectures and answer keys</h1>")
    for section, heading in names.items():
        mine = [(title, page) for s, title, page in pages if s == section]
        if mine:
            parts.append(f"<h2>{heading}</h2><ul>")
            for title, page in mine:
                href = page.relative_to(out).as_posix()
                parts.append(f'<li><a href="{html.escape(href)}">{html.escape(title)}</a></li>')
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.site", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to include (default: lectures, keys)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder (replaced)")
    parser.add_argument("--no-execute", action="store_true", help="export the stored notebooks as they are")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell when executing")
    args = parser.parse_args(argv)
    try:
        pages = build_site(args.out, args.notebooks or None, run=not args.no_execute, timeout=args.timeout)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"site: {len(pages)} pages in {args.out} (open {pages[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
