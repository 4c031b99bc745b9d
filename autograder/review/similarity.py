"""``llmcourse similarity``: code similarity between submissions, and between each submission and course_lib.

Students read ``course_lib`` (it is the course's reference code), so a graded part either asks for something
the library does differently or relies on this check. Each submission's code cells (as the grader runs them,
hidden-test cells dropped) are fingerprinted by `copydetect <https://github.com/blingenf/copydetect>`_: tokens
are normalised (names become ``V``/``F``/``O``, strings ``S``, comments and layout dropped), hashed as k-grams
and winnowed, as MOSS does (Schleimer, Wilkerson and Aiken, *Winnowing*, SIGMOD 2003), so renaming and
reformatting do not hide a copy. The release's own code (imports, stubs, public checks) is boilerplate: its
fingerprints never count.

Compared: every pair of submissions, and every submission against the ``course_lib`` files that implement
the graded parts (the course_lib modules and APIs the manifest forbids). The similarity of a document is the
Code is compared function by function (and class by class): the similarity of a unit is the share of its
fingerprinted tokens found in the other, and two documents are flagged when one of their units reaches the
threshold (so one copied function in a long notebook shows). Candidates come from an index of fingerprints;
fingerprints common to many submissions are ignored, as MOSS does.

Writes ``OUT/similarity.csv`` (the flagged pairs, most similar first) and ``OUT/similarity.html`` (the same
table, then each pair's code side by side with the matched regions highlighted).
"""

from __future__ import annotations

import ast
import csv
import html
import io
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseError

from ..engine.layout import check_output_folder, find_students, require_some_submission, symlink_in
from ..engine.manifest import Manifest, load_manifest
from ..engine.notebook import SubmissionProblem, find_notebook, read_notebook
from ..paths import REPO_ROOT

NOISE_TOKENS = 25  # k: the shortest normalised match (in characters) that counts; copydetect's default
WINDOW = 1  # winnowing window: 1 keeps every k-gram (guarantee threshold = noise threshold)
DEFAULT_THRESHOLD = 0.6  # share of a function or class found in the other
MIN_SHARED = 60  # normalised characters in common below which a unit match is noise (a two-line helper)
MAX_OCCURRENCES = 50  # fingerprints found in more student units than this are common code (MOSS's -m)
SHOWN_PAIRS = 200  # pairs drawn side by side in the HTML report
CELL_BREAK = "\n\n# --- next cell ---\n\n"  # between a notebook's cells (a comment: not fingerprinted)


@dataclass(frozen=True)
class Document:
    name: str  # a student id, or a course_lib path such as course_lib/ngram.py
    kind: str  # "student" | "reference"
    code: str


@dataclass(frozen=True)
class Match:
    a: str
    b: str
    kind: str  # "pair" (two students) | "reference" (a student and a course_lib file)
    similarity_a: float  # share of a's fingerprinted tokens found in b
    similarity_b: float
    shared_tokens: int
    code_a: str = ""  # HTML, matched regions highlighted
    code_b: str = ""
    unit_a: str = ""  # the most similar function or class of a
    unit_b: str = ""

    @property
    def similarity(self) -> float:
        return max(self.similarity_a, self.similarity_b)


@dataclass
class SimilarityReport:
    assignment: str
    students: list[str]
    references: list[str]
    skipped: dict[str, str]  # student -> why no code was compared
    threshold: float
    matches: list[Match]  # flagged, most similar first
    compared: int  # pairs compared in detail


# ------------------------------------------------------------------------------------------- documents


def reference_files(manifest: Manifest, root: Path = REPO_ROOT) -> list[Path]:
    """The course_lib files implementing the graded parts: each forbidden course_lib module (every file of a
    package) and the module file of each forbidden course_lib API (``course_lib.data.batching.Vocab`` ->
    ``batching.py``; an API named through a package, ``course_lib.data.Vocab``, -> its ``__init__.py``)."""
    files: set[Path] = set()
    for name, whole_package in [(m, True) for m in manifest.forbidden.modules] + [
        (a, False) for a in manifest.forbidden.apis
    ]:
        parts = name.split(".")
        if parts[0] != "course_lib":
            continue
        while parts:
            path = root.joinpath(*parts)
            if path.is_dir():
                found = path.rglob("*.py") if whole_package else [path / "__init__.py"]
                files.update(p for p in found if p.is_file() and "__pycache__" not in p.parts)
                break
            if path.with_suffix(".py").is_file():
                files.add(path.with_suffix(".py"))
                break
            parts = parts[:-1]
    return sorted(files)


def release_code(manifest: Manifest) -> str:
    """The code students were given: the source notebook with its solutions cleared (boilerplate)."""
    if manifest.source_notebook is None:
        return ""
    import nbformat

    from ..authoring.samples import clear_solutions

    release = clear_solutions(nbformat.read(manifest.source_notebook, as_version=4))
    return "\n\n".join(c.source for c in release.cells if c.cell_type == "code")


def student_documents(assignment: str, submitted: Path, manifest: Manifest) -> tuple[list[Document], dict[str, str]]:
    """Each student's code cells (as graded: hidden-test and skipped cells dropped), and who was skipped."""
    found = find_students(submitted, assignment, manifest.notebook)
    require_some_submission(found, submitted, assignment, manifest.notebook)
    documents, skipped = [], {}
    for student in found:
        link = symlink_in(student.folder, submitted / student.student_id)
        if link is not None:
            skipped[student.student_id] = f"symbolic link {link}"
            continue
        try:
            path, _ = find_notebook(student.folder, manifest)
            loaded = read_notebook(path, manifest)
        except SubmissionProblem as problem:
            skipped[student.student_id] = str(problem)
            continue
        documents.append(Document(student.student_id, "student", CELL_BREAK.join(c.source for c in loaded.cells)))
    return documents, skipped


# ----------------------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Unit:
    owner: str  # the document's name
    kind: str
    name: str  # the function or class (or "code" for a document without any)
    code: str


def units(document: Document) -> list[Unit]:
    """A document's top-level functions and classes, each compared on its own: one copied function in a
    long notebook is then most of a unit, not a sliver of a document."""
    found = []
    for cell in document.code.split(CELL_BREAK):
        try:
            tree = ast.parse(cell)
        except SyntaxError:  # a cell that does not parse is compared whole
            found.append(Unit(document.name, document.kind, "code", cell))
            continue
        found += [
            Unit(document.name, document.kind, node.name, ast.get_source_segment(cell, node) or "")
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
    return found or [Unit(document.name, document.kind, "code", document.code)]


def _fingerprint(unit: Unit, boilerplate):
    from copydetect import CodeFingerprint

    return CodeFingerprint(
        f"{unit.owner}.py", NOISE_TOKENS, WINDOW, boilerplate, fp=io.StringIO(unit.code), language="python"
    )


def _fingerprints(all_units: list[Unit], boilerplate, jobs: int | None) -> list:
    """Fingerprints of every unit, ``jobs`` processes at a time (lexing dominates the time)."""
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(all_units) < 50:
        return [_fingerprint(u, boilerplate) for u in all_units]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return pool.starmap(_fingerprint, [(u, boilerplate) for u in all_units], chunksize=64)


def compare_documents(
    students: list[Document],
    references: list[Document],
    boilerplate_code: str,
    threshold: float = DEFAULT_THRESHOLD,
    on_progress: Callable[[int, int], None] | None = None,
    max_occurrences: int = MAX_OCCURRENCES,
    jobs: int | None = None,
) -> tuple[list[Match], int]:
    """Flagged matches, one per pair of documents (its most similar units), most similar first; and how many
    unit pairs were compared in detail.

    Candidates come from an index of fingerprints: units sharing enough of them to possibly reach the
    threshold. A fingerprint found in more than ``max_occurrences`` student units is common code, not
    evidence, and is ignored (MOSS's ``-m``).
    """
    import numpy as np
    from copydetect import CodeFingerprint, compare_files
    from copydetect.utils import highlight_overlap

    release = CodeFingerprint("release.py", NOISE_TOKENS, 1, fp=io.StringIO(boilerplate_code), language="python")
    boilerplate = np.unique(np.array(sorted(release.hashes), dtype=np.int64))
    all_units = [u for d in students + references for u in units(d)]
    prints = _fingerprints(all_units, boilerplate, jobs)
    postings: dict[int, list[int]] = defaultdict(list)
    for index, fp in enumerate(prints):
        for value in fp.hashes:
            postings[value].append(index)
    shared: Counter[tuple[int, int]] = Counter()
    for holders in postings.values():
        if sum(all_units[i].kind == "student" for i in holders) > max_occurrences:
            continue
        for x, i in enumerate(holders):
            for j in holders[x + 1 :]:
                if all_units[i].owner != all_units[j].owner and "student" in (all_units[i].kind, all_units[j].kind):
                    shared[i, j] += 1
    best: dict[tuple[str, str], Match] = {}
    compared = 0
    candidates = [
        (i, j)
        for (i, j), n in shared.items()
        if n >= 0.5 * threshold * min(len(prints[i].hashes), len(prints[j].hashes))
    ]
    for done, (i, j) in enumerate(candidates):
        if on_progress and done % 200 == 0:
            on_progress(done, len(candidates))
        compared += 1
        overlap, (sim_a, sim_b), (slices_a, slices_b) = compare_files(prints[i], prints[j])
        if max(sim_a, sim_b) < threshold or overlap < MIN_SHARED:
            continue
        a, b = all_units[i], all_units[j]
        if a.kind == "reference":  # the student first
            a, b, sim_a, sim_b, slices_a, slices_b, i, j = b, a, sim_b, sim_a, slices_b, slices_a, j, i
        key = (a.owner, b.owner)
        if key in best and best[key].similarity >= max(sim_a, sim_b):
            continue
        code_a, _ = highlight_overlap(prints[i].raw_code, slices_a, "<mark>", "</mark>", escape_html=True)
        code_b, _ = highlight_overlap(prints[j].raw_code, slices_b, "<mark>", "</mark>", escape_html=True)
        kind = "pair" if b.kind == "student" else "reference"
        best[key] = Match(
            a.owner, b.owner, kind, float(sim_a), float(sim_b), int(overlap), code_a, code_b, a.name, b.name
        )
    if on_progress:
        on_progress(len(candidates), len(candidates))
    matches = sorted(best.values(), key=lambda m: (-m.similarity, m.a, m.b))
    return matches, compared


def check_similarity(
    assignment: str,
    submitted: Path,
    out: Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    graders_root: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
) -> SimilarityReport:
    """Compare the submissions of ``assignment`` in ``submitted``; write the CSV and HTML report to ``out``."""
    if not 0 < threshold <= 1:
        raise CourseError(f"--threshold must be in (0, 1], got {threshold}")
    manifest = load_manifest(assignment, graders_root)
    submitted, out = Path(submitted), Path(out)
    if submitted.is_dir():
        check_output_folder(submitted, out)
    students, skipped = student_documents(assignment, submitted, manifest)
    references = [
        Document(str(path.relative_to(REPO_ROOT)), "reference", path.read_text(encoding="utf-8"))
        for path in reference_files(manifest)
    ]
    matches, compared = compare_documents(
        students, references, release_code(manifest), threshold, on_progress, jobs=jobs
    )
    report = SimilarityReport(
        assignment, [d.name for d in students], [d.name for d in references], skipped, threshold, matches, compared
    )
    out.mkdir(parents=True, exist_ok=True)
    write_csv(report, out / "similarity.csv")
    (out / "similarity.html").write_text(render_html(report), encoding="utf-8")
    return report


# ------------------------------------------------------------------------------------------- outputs

CSV_COLUMNS = ["a", "b", "kind", "unit_a", "unit_b", "similarity_a", "similarity_b", "shared_tokens"]


def write_csv(report: SimilarityReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for m in report.matches:
            writer.writerow(
                [
                    m.a,
                    m.b,
                    m.kind,
                    m.unit_a,
                    m.unit_b,
                    f"{m.similarity_a:.3f}",
                    f"{m.similarity_b:.3f}",
                    m.shared_tokens,
                ]
            )


def read_flags(path: Path) -> list[dict[str, str]]:
    """The flagged pairs of an earlier ``llmcourse similarity`` run (for the grading summary); [] when absent."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def render_html(report: SimilarityReport) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td><a href='#m{i}'>{e(m.a)}</a></td><td>{e(m.b)}</td><td>{e(m.kind)}</td>"
        f"<td>{e(m.unit_a)} / {e(m.unit_b)}</td>"
        f"<td>{m.similarity_a:.0%}</td><td>{m.similarity_b:.0%}</td><td>{m.shared_tokens}</td></tr>"
        for i, m in enumerate(report.matches)
    )
    panes = "".join(
        f"<h3 id='m{i}'>{e(m.a)}: {e(m.unit_a)} ({m.similarity_a:.0%}) and {e(m.b)}: {e(m.unit_b)} "
        f"({m.similarity_b:.0%})</h3>"
        f"<div class='pair'><pre>{m.code_a}</pre><pre>{m.code_b}</pre></div>"
        for i, m in enumerate(report.matches[:SHOWN_PAIRS])
    )
    skipped = "".join(f"<li>{e(s)}: {e(why)}</li>" for s, why in sorted(report.skipped.items()))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Similarity: {e(report.assignment)}</title><style>"
        "body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "table{border-collapse:collapse}.pair{display:flex;gap:1em}.pair pre{flex:1;overflow:auto;"
        "background:#f7f7f7;padding:.5em;font-size:85%;max-height:40em}mark{background:#f6c6c6}</style></head><body>"
        f"<h1>Code similarity: {e(report.assignment)}</h1>"
        f"<p>{len(report.students)} submissions compared with each other and with {len(report.references)} "
        f"course_lib file(s) ({', '.join(map(e, report.references)) or 'none'}); the release's code is excluded. "
        f"Flagged: a function or class of which at least {report.threshold:.0%} of the normalised code is in the other "
        f"({len(report.matches)} pair(s); {report.compared} compared in detail). Similar code is a reason to "
        "look, not a verdict.</p>"
        + (f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else "")
        + "<table><tr><th>a</th><th>b</th><th>kind</th><th>units</th><th>share of a</th><th>share of b</th>"
        f"<th>shared tokens</th></tr>{rows}</table>{panes}</body></html>\n"
    )
