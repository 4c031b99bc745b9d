"""``llmcourse similarity``: a renamed, reformatted copy of course_lib code and a function two students share
under other names are flagged; independent code and the release's own code are not."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autograder.authoring.samples import disguise
from autograder.review.similarity import Document, check_similarity, compare_documents

ROOT = Path(__file__).resolve().parents[2]
NGRAM = ROOT / "course_lib" / "ngram.py"


def segment(path: Path, first: str, last: str) -> str:
    """The source of ``path`` from the top-level definition ``first`` to the one before ``last``."""
    text = path.read_text()
    return text[text.index(first) : text.index(last)]


def shared_function() -> str:
    """A function two students both hand in: the pair-merging step of BPE, in its own words."""
    return (
        "def merge(ids, pair, new_id):\n"
        "    out = []\n    i = 0\n"
        "    while i < len(ids):\n"
        "        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:\n"
        "            out.append(new_id)\n            i += 2\n"
        "        else:\n            out.append(ids[i])\n            i += 1\n"
        "    return out\n"
    )


def documents() -> tuple[list[Document], list[Document]]:
    decoding = (ROOT / "course_lib" / "decoding.py").read_text()
    device = (ROOT / "course_lib" / "device.py").read_text()
    ngram_class = segment(NGRAM, "class NGramLM", "\ndef _tables")
    students = [
        Document("copier", "student", disguise(ngram_class, "my")),
        Document("ann", "student", decoding + "\n\n" + shared_function()),
        Document("ben", "student", device + "\n\n" + disguise(shared_function(), "b")),
        Document("honest", "student", (ROOT / "course_lib" / "data" / "download.py").read_text()),
    ]
    return students, [Document("course_lib/ngram.py", "reference", NGRAM.read_text())]


def test_copies_are_flagged_and_independent_code_is_not():
    students, references = documents()
    assert "class NGramLM" not in students[0].code and "class myNGRAMLM" in students[0].code  # really renamed
    matches, _ = compare_documents(students, references, boilerplate_code="import torch\n")
    flagged = {(m.a, m.b) for m in matches}
    assert flagged == {("copier", "course_lib/ngram.py"), ("ann", "ben")}, [(m.a, m.b, m.similarity) for m in matches]
    copier = next(m for m in matches if m.a == "copier")
    assert copier.similarity_a > 0.8 and "<mark>" in copier.code_a


def test_the_releases_own_code_never_counts():
    students, references = documents()
    matches, _ = compare_documents(students[1:3], [], boilerplate_code=shared_function())
    assert matches == []  # ann and ben only share what the release gave them


@pytest.mark.slow
def test_similarity_command_writes_csv_and_html(tmp_path):
    import ag_notebooks as nbs

    submitted = tmp_path / "submitted"
    copy = nbs.solution()
    nbs.write(copy, submitted / "alice" / "a0_warmup")
    for cell in copy.cells:  # bob hands in alice's notebook, renamed and reformatted
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") in (
            "softmax",
            "cross_entropy",
        ):
            cell.source = disguise(cell.source, "bob")
    nbs.write(copy, submitted / "bob" / "a0_warmup")
    nbs.write(nbs.submission(softmax=nbs.SOFTMAX_WRONG, cross_entropy=nbs.CE_WRONG), submitted / "carol" / "a0_warmup")
    report = check_similarity("a0_warmup", submitted, tmp_path / "similarity")
    rows = list(csv.DictReader((tmp_path / "similarity" / "similarity.csv").open()))
    assert [(r["a"], r["b"]) for r in rows if r["kind"] == "pair"] == [("alice", "bob")], rows
    assert report.students == ["alice", "bob", "carol"]
    assert "alice" in (tmp_path / "similarity" / "similarity.html").read_text()
