"""Turning the embedded texts into prose: paragraphs of whole sentences, without markup.

Two sources ship with the course and need no download:

- ``pydocs``: the Python reference documentation that Python itself ships (``pydoc_data.topics``) as plain text
  rendered from reStructuredText. Read line by line it is not prose: lines are hard-wrapped at 70 characters and
  the text interleaves grammar rules, ``>>>`` sessions, code blocks, tables and section underlines.
  :func:`pydocs_prose` keeps only the paragraphs of running text, joins their wrapped lines and writes one
  sentence per line.
- ``tinyshakespeare``: plays as ``Speaker:`` headers followed by verse lines. :func:`play_sentences` joins each
  speech's verse lines and splits it into sentences.

Everything here is deterministic (no randomness, sorted inputs) and offline.
"""

from __future__ import annotations

import re

__all__ = ["is_clean_sentence", "play_sentences", "pydocs_prose", "split_sentences"]

# Words after which a full stop does not end the sentence.
ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "cf", "vs", "mr", "mrs", "dr", "st", "no", "approx", "resp"})

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_HEADING_RULE = re.compile(r"^\s*([*=\-~^\"'`#+])\1{2,}\s*$")  # ***** or ===== under a title
_BULLET = re.compile(r"^\s*(?:[*\-+•]|\d+\.|\(\d+\))\s+")
_FOOTNOTE = re.compile(r"\s*\[\d+\]")
_LABEL = re.compile(r"^(?:Note|Warning|See also|Tip|Important|Caution|Seealso):\s*$")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_MARKUP = re.compile(r"\|\s|\+-|={3,}|-{3,}|\*{2,}|>>>|::|`|\{[^}]*\}|\\[a-z]")


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph (a single line of running text) into sentences.

    A sentence ends at ``.``, ``!`` or ``?`` (and any closing quote or bracket) followed by whitespace and a capital
    letter or digit, except after a known abbreviation (``e.g.``) or a single letter (an initial).
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].rstrip(".!?\"”’')]")
        last_word = before.rsplit(maxsplit=1)[-1].lower() if before.split() else ""
        if last_word in ABBREVIATIONS or (len(last_word) == 1 and paragraph[match.start() - 1] == "."):
            continue
        sentences.append(paragraph[start : match.end()].strip())  # with its closing quote or bracket
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def is_clean_sentence(sentence: str) -> bool:
    """True for a sentence of running text: starts like a sentence, ends with sentence punctuation, has words,
    and holds no markup (table bars, rules, ``>>>``, ``::``, backquotes, LaTeX)."""
    words = sentence.split()
    if not words or _MARKUP.search(sentence):
        return False
    if not re.match(r"[\"“‘'(\[]?[A-Z0-9]", sentence) or not re.search(r"[.!?][\"”’')\]]*$", sentence):
        return False
    alphabetic = sum(bool(_WORD.fullmatch(w.strip(".,;:!?()[]\"“”‘’'"))) for w in words)
    return alphabetic >= max(1, 0.6 * len(words))


# ------------------------------------------------------------------------------------------------- pydocs


def _blocks(text: str) -> list[list[str]]:
    """The text's blank-line-separated blocks, each a list of its lines (indentation kept)."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_code_like(lines: list[str]) -> bool:
    """Grammar rules, interactive sessions, tables, rules and code, recognised by how they look."""
    joined = "\n".join(lines)
    if any(line.lstrip().startswith((">>>", "...", "|", "+-", "+=")) for line in lines):
        return True
    if "::=" in joined or _HEADING_RULE.match(lines[-1]):
        return True
    # code: lines ending in ':' or '(' / brackets without sentence punctuation, or assignments
    symbols = sum(joined.count(c) for c in "=()[]{}<>_#@\\")
    return symbols > 0.08 * len(joined)


def _join_wrapped(lines: list[str]) -> str:
    """One paragraph line from hard-wrapped lines: 'built-' + 'in' -> 'built-in', else a space."""
    out = ""
    for line in lines:
        piece = line.strip()
        if out.endswith("-") and piece[:1].islower():
            out += piece
        else:
            out += (" " if out else "") + piece
    return out


def _clean_inline(paragraph: str) -> str:
    """Remove inline reST leftovers: *emphasis* stars, footnote marks [1], doubled spaces, and the straight double
    quotes that pydoc puts around ``literals`` (real quotation marks in the docs are curly: “ ”)."""
    paragraph = _FOOTNOTE.sub("", paragraph).replace('"', "")
    paragraph = re.sub(r"(?<!\w)\*(\S[^*]*?)\*(?!\w)", r"\1", paragraph)
    return re.sub(r"\s{2,}", " ", paragraph).strip()


def _topic_paragraphs(topic: str) -> list[str]:
    """The prose paragraphs of one pydoc topic, each joined onto one line, bullets removed."""
    paragraphs: list[str] = []
    literal_indent: int | None = None  # inside a literal block (after a paragraph ending in ':'), its base indent
    previous: list[str] | None = None
    for lines in _blocks(topic):
        indent = _indent(lines[0])
        if literal_indent is not None and indent > literal_indent and not _BULLET.match(lines[0]):
            continue  # still in the code block that the previous paragraph introduced
        literal_indent = None
        if len(lines) >= 2 and _HEADING_RULE.match(lines[-1]):
            previous = lines  # a section title
            continue
        if _LABEL.match(lines[0].strip()):
            lines = lines[1:]  # "Note:" on its own line; its text follows
            if not lines:
                continue
        if _is_code_like(lines):
            previous = lines
            continue
        lines = [_BULLET.sub("", lines[0], count=1), *lines[1:]]
        paragraph = _clean_inline(_join_wrapped(lines))
        if paragraph.endswith(":") and not _LABEL.match(paragraph):
            literal_indent = indent  # reST: a paragraph ending in ':' usually introduces a literal block
        paragraphs.append(paragraph)
        previous = lines
    del previous
    return paragraphs


def pydocs_prose(topics: dict[str, str]) -> str:
    """The running text of the pydoc topics: one sentence per line, paragraphs separated by a blank line.

    Topics are read in sorted-key order; a paragraph keeps only its clean sentences (see :func:`is_clean_sentence`)
    and a sentence that introduced a removed example (ending in ``:``) is dropped with it. Sentences that occur in
    several topics are kept once (pydoc repeats whole sections under several keys).
    """
    seen: set[str] = set()
    out: list[str] = []
    for key in sorted(topics):
        for paragraph in _topic_paragraphs(topics[key]):
            kept = []
            for sentence in split_sentences(paragraph):
                if sentence.endswith(":") or sentence in seen or not is_clean_sentence(sentence):
                    continue
                seen.add(sentence)
                kept.append(sentence)
            if kept:
                out.append("\n".join(kept))
    return "\n\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------ tinyshakespeare


def play_sentences(text: str) -> list[str]:
    """The sentences of a play in tinyshakespeare's layout (``Speaker:`` line, verse lines, blank line).

    Speaker names are dropped; each speech's verse lines are joined and split into sentences.
    """
    sentences: list[str] = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        if lines and lines[0].endswith(":") and len(lines[0].split()) <= 4:
            lines = lines[1:]  # the speaker
        speech = " ".join(line for line in lines if line)
        sentences.extend(split_sentences(speech))
    return sentences
