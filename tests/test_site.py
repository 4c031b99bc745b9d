"""The static site: pages open in headless Chromium with the maths typeset by the local MathJax and every image
shown with alt text; no page needs the network. Also the slides: each lecture exports as a reveal.js deck."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from course_lib import site

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# the probe's flags: headless as root, and no background connections (the machine's network is closed)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=30000",
]
# Runs in the page once MathJax has typeset it and writes what it found into <pre id="report">.
REPORT_SCRIPT = """<script>
function siteReport() {
  const images = Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.alt || ""]);
  const report = {
    math: document.querySelectorAll(".MathJax, .MathJax_Display, .MathJax_CHTML, .MathJax_SVG").length,
    errors: document.querySelectorAll(".MathJax_Error, merror").length,
    raw: /\\\\frac|\\$\\$/.test(document.body.innerText),
    mathjax: !!(window.MathJax && window.MathJax.Hub),
    images: images,
  };
  const pre = document.createElement("pre");
  pre.id = "report";
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
}
window.addEventListener("load", () => {
  if (window.MathJax && MathJax.Hub) { MathJax.Hub.Queue(siteReport); } else { siteReport(); }
});
</script>"""


def figure_notebook(path: Path) -> Path:
    """A small notebook like a lecture: maths, a course figure, a hidden-input cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A test page\n\nInline $P(w \\mid h)$ and\n$$\\frac{c(hw)}{c(h)}.$$"),
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nfrom course_lib import viz\n"
            "viz.plot_sparsity([1, 2, 3], [0.05, 0.4, 0.7], 'a test corpus')\nplt.show()"
        ),
        nbformat.v4.new_code_cell(
            "from IPython.display import Markdown, display\ndisplay(Markdown('Shown: $x^2$, code hidden.'))",
            metadata={"tags": ["hide-input"]},
        ),
    ]
    nbformat.write(nb, path)
    return path


def open_in_chromium(site_dir: Path, page: Path) -> dict:
    """Serve the site on localhost, load an instrumented copy of ``page`` and return its report."""
    checked = page.with_name(page.stem + ".check.html")
    checked.write_text(page.read_text(encoding="utf-8").replace("</body>", REPORT_SCRIPT + "</body>"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{checked.relative_to(site_dir).as_posix()}"
        result = subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={site_dir.parent / 'chromium-profile'}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        server.shutdown()
    match = re.search(r'<pre id="report">(.*?)</pre>', result.stdout, re.DOTALL)
    assert match, f"no report from Chromium: {result.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_site_pages_render_maths_and_images_in_chromium(tmp_path: Path) -> None:
    notebooks = [figure_notebook(tmp_path / "test_page.ipynb"), ROOT / "solutions" / "a0_warmup.ipynb"]
    out = tmp_path / "site"
    pages = site.build_site(out, notebooks, progress=False)
    index, test_page, a0_page = pages
    assert (out / "mathjax" / "MathJax.js").is_file()
    listing = index.read_text()
    assert 'href="pages/test_page.html"' in listing and 'href="solutions/a0_warmup.html"' in listing
    for page in (test_page, a0_page):
        text = page.read_text()
        assert "../mathjax/MathJax.js" in text and "cdnjs" not in text, "MathJax must come from the site itself"
        assert not re.search(r'<script[^>]+src="https?://', text), "no page may load scripts from the network"
    assert "display(Markdown" not in test_page.read_text(), "hide-input cells show their output only"

    report = open_in_chromium(out, test_page)
    assert report["mathjax"] and report["math"] >= 3 and report["errors"] == 0 and not report["raw"], report
    assert report["images"] and all(loaded for loaded, _ in report["images"]), report["images"]
    assert all(alt.startswith("Figure: Sparsity: a test corpus") for _, alt in report["images"]), report["images"]

    report = open_in_chromium(out, a0_page)  # an answer key: display maths, no figures
    assert report["math"] >= 2 and report["errors"] == 0 and not report["raw"], report


def test_links_between_notebooks_point_at_their_pages(tmp_path: Path) -> None:
    def write(path: Path, markdown: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)]), path)
        return path

    lecture = write(
        tmp_path / "lectures" / "01_a b.ipynb",
        "# A\n\n[next](02_b.ipynb#Part-2), [key](../solutions/a1.ipynb), [gone](03_c.ipynb), "
        "[web](https://example.org/x.ipynb)",
    )
    other = write(tmp_path / "lectures" / "02_b.ipynb", "# B\n\n[back](01_a%20b.ipynb)")
    key = write(tmp_path / "solutions" / "a1.ipynb", "# Key\n\n[lecture](../lectures/02_b.ipynb)")
    out = tmp_path / "site"
    site.build_site(out, [lecture, other, key], run=False, progress=False)

    def hrefs(page: str) -> list[str]:
        return re.findall(r'<a href="([^"]+)"', (out / page).read_text())

    assert hrefs("lectures/01_a b.html") == [
        "02_b.html#Part-2",
        "../solutions/a1.html",
        "03_c.ipynb",  # no page for it: left as written
        "https://example.org/x.ipynb",
    ]
    assert hrefs("lectures/02_b.html") == ["01_a%20b.html"]
    assert hrefs("solutions/a1.html") == ["../lectures/02_b.html"]


def test_alt_text_falls_back_to_cell_metadata_then_section() -> None:
    nb = nbformat.v4.new_notebook()
    png = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}}
    nb.cells = [
        nbformat.v4.new_markdown_cell("## 3. Sparsity"),
        nbformat.v4.new_code_cell("", metadata={"alt": "A bar chart"}, outputs=[nbformat.from_dict(png)]),
        nbformat.v4.new_code_cell("", outputs=[nbformat.from_dict(png)]),
    ]
    assert site.add_alt_text(nb) == 1
    alts = [cell.outputs[0].metadata["image/png"]["alt"] for cell in nb.cells[1:]]
    assert alts == ["A bar chart", "Figure for the section “3. Sparsity”"]


def test_every_lecture_cell_has_slide_metadata_and_sections_start_slides() -> None:
    assert LECTURES
    for path in LECTURES:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            kind = cell.metadata.get("slideshow", {}).get("slide_type")
            assert kind in {"slide", "subslide", "fragment", "skip", "notes", "-"}, f"{path.name} cell {i}: {kind}"
            if cell.cell_type == "markdown" and re.match(r"#{1,2} ", cell.source):
                assert kind == "slide", f"{path.name} cell {i}: a section heading starts a slide"


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_exports_as_slides(path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", str(path), "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    deck = (tmp_path / f"{path.stem}.slides.html").read_text()
    nb = nbformat.read(path, as_version=4)
    slides = sum(c.metadata.get("slideshow", {}).get("slide_type") == "slide" for c in nb.cells)
    assert slides >= 5 and deck.count("<section") >= slides  # one reveal.js section per slide (and subslide)


@pytest.mark.slow
def test_rise_is_installed_and_every_enabled_lab_extension_is_compatible() -> None:
    # jupyterlab-rise brings jupyterlab-mathjax3, built for JupyterLab 3: the course's page_config.d disables it
    from course_lib.doctor import lab_extensions

    extensions = {ext["name"]: ext for ext in lab_extensions()}
    assert extensions["jupyterlab-rise"]["state"] == "enabled", extensions
    incompatible = [name for name, ext in extensions.items() if ext["state"] == "enabled" and ext["check"] != "OK"]
    assert incompatible == [], f"enabled but incompatible with this JupyterLab: {incompatible}"
