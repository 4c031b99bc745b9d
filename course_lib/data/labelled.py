"""Labelled sentence files (``label<TAB>sentence``): parsing, a content fingerprint, and the GLUE SST-2 converter.

Two copies of the same labelled data set rarely agree byte for byte: one has CRLF line ends, another lists the rows
in another order or keeps a trailing space after each sentence. What matters is the set of ``(label, sentence)``
rows, so such files are verified by :func:`rows_fingerprint`, a SHA-256 of the sorted, stripped rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from course_lib.errors import CourseError

HEADER = "label\tsentence"


def parse_labelled_tsv(text: str, name: str) -> list[tuple[int, str]]:
    """``(label, sentence)`` rows of a ``label<TAB>sentence`` file (optional header row, any line ends).

    ``name`` only appears in the error for a malformed line, which gives its line number.
    """
    lines = text.splitlines()  # splits \n, \r\n and \r alike
    first_line = 1
    if lines and lines[0].startswith("label\t"):  # header row
        lines, first_line = lines[1:], 2
    rows = []
    for number, line in enumerate(lines, start=first_line):
        label, sep, sentence = line.partition("\t")
        if not sep or label not in {"0", "1"}:
            raise CourseError(f"{name} line {number} is not 'label<TAB>sentence': {line[:60]!r}")
        rows.append((int(label), sentence))
    return rows


def rows_fingerprint(rows: Iterable[tuple[int, str]]) -> str:
    """Hex SHA-256 of the rows, sorted and with each sentence stripped: the same for any order or line ends."""
    lines = sorted(f"{label}\t{sentence.strip()}" for label, sentence in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def format_labelled_tsv(rows: Iterable[tuple[int, str]]) -> bytes:
    """The course's file layout: a header, then ``label<TAB>sentence`` per row, LF line ends, UTF-8."""
    return "".join(f"{line}\n" for line in [HEADER, *(f"{label}\t{sentence}" for label, sentence in rows)]).encode()


def glue_sst2_to_tsv(data: bytes) -> bytes:
    """Convert a GLUE ``SST-2/{train,dev}.tsv`` (header ``sentence<TAB>label``, a trailing space after each
    sentence, no quoting) to the course's layout: labels first, sentences stripped, rows in their original order."""
    lines = data.decode("utf-8").splitlines()
    header = lines[0] if lines else ""
    if header != "sentence\tlabel":
        raise CourseError(f"not a GLUE SST-2 file: its header is {header[:40]!r}, expected 'sentence<TAB>label'")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        sentence, sep, label = line.rpartition("\t")
        if not sep or label not in {"0", "1"}:
            raise CourseError(f"GLUE SST-2 line {number} is not 'sentence<TAB>label': {line[:60]!r}")
        rows.append((int(label), sentence.strip()))
    return format_labelled_tsv(rows)
