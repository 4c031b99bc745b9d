"""Corpus resolution: the embedded corpus, staged datasets, and clear errors."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from pathlib import Path

import pytest

from course_lib.data import DatasetNotFoundError, corpora, list_corpora, load_corpus, load_sentences, load_sst2
from course_lib.data.corpora import Corpus, DataFile
from course_lib.data.download import sha256_of
from course_lib.data.prose import is_clean_sentence, split_sentences
from course_lib.errors import CourseError

# the staged data dir: $COURSE_DATA_DIR when it holds SST-2 (as in CI), else ../shared/data beside the checkout
SHARED_DATA = next(
    (d for d in corpora.staged_dirs() if (d / "sst2").is_dir()),
    Path(__file__).resolve().parents[3] / "shared" / "data",
)


@pytest.fixture
def no_staged_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")


def test_pydocs_is_always_there_and_deterministic(no_staged_data: None) -> None:
    from pydoc_data.topics import topics

    text = load_corpus("pydocs")
    assert text == corpora.pydocs_prose(topics)  # rebuilt from scratch, not just the cached copy
    assert len(text) > 150_000
    # topics in sorted-key order, their wrapped lines joined into one sentence per line
    first = "An assignment statement evaluates the expression list"
    assert text.index(first) < text.index("This repeatedly tests the expression and, if it is true, executes")
    assert any(line.startswith(first) and line.endswith("from left to right.") for line in text.splitlines())


def test_tinyshakespeare_is_embedded_and_verified(no_staged_data: None) -> None:
    text = load_corpus("tinyshakespeare")
    assert len(text) == 1_115_394 and text.startswith("First Citizen:\nBefore we proceed any further")
    assert hashlib.sha256(text.encode()).hexdigest() == corpora.TINYSHAKESPEARE_SHA256
    sentences = load_sentences("tinyshakespeare")
    assert sentences[:3] == [
        "Before we proceed any further, hear me speak.",
        "Speak, speak.",
        "You are all resolved rather to die than to famish?",
    ]


def test_a_damaged_packaged_corpus_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = Corpus("tiny", "x", packaged=DataFile("tinyshakespeare.txt.gz", "0" * 64))
    with pytest.raises(CourseError, match="packaged copy of 'tiny' is damaged"):
        corpora._packaged_text(wrong)


@pytest.mark.parametrize("name", ["pydocs", "tinyshakespeare"])
def test_embedded_corpora_are_prose(name: str) -> None:
    """What the lectures show must read as English: few markup or fragment sentences, words after common words."""
    sentences = load_sentences(name)
    assert len(sentences) > 2_000
    unclean = [s for s in sentences if not is_clean_sentence(s)]
    assert len(unclean) < 0.03 * len(sentences), unclean[:10]
    markup = [s for s in sentences if re.search(r"\| |\+-|={3,}|>>>|::|`", s)]
    assert not markup, markup[:5]
    # the next-word statistics an n-gram model learns: after a common word come words, not markup or </s>
    following: dict[str, Counter[str]] = {w: Counter() for w in ("the", "of", "a", "to", "and")}
    for sentence in sentences:
        words = re.findall(r"\w+(?:['’-]\w+)*|[^\w\s]", sentence.lower()) + ["</s>"]  # to-morrow is one word
        for left, right in zip(words, words[1:]):
            if left in following:
                following[left][right] += 1
    for word, counter in following.items():
        top = [w for w, _ in counter.most_common(5)]
        words_among = sum(w.isalpha() for w in top)
        assert words_among >= 4 and all(w.isalpha() or w in ",;:" for w in top), f"after {word!r}: {top}"


def test_split_sentences_keeps_abbreviations_and_initials() -> None:
    text = "Use a list, e.g. Foo or bar. Mr. Smith met J. Doe! Then: “Go.” He left? Yes 3 times."
    assert split_sentences(text) == [
        "Use a list, e.g. Foo or bar.",
        "Mr. Smith met J. Doe!",
        "Then: “Go.”",
        "He left?",
        "Yes 3 times.",
    ]


def test_pydocs_prose_drops_markup_and_joins_wrapped_lines() -> None:
    topic = """Title
*****

The first paragraph is hard-
wrapped over
two lines. It says *this* [1].

   grammar ::= "a" | "b"

For example:

   x = f(1)
   y = [x, x]

+-----+-----+
| a   | b   |
+=====+=====+

>>> print(1)
1

* A bullet item that
  continues.
"""
    assert corpora.pydocs_prose({"t": topic}) == (
        "The first paragraph is hard-wrapped over two lines.\nIt says this.\n\nA bullet item that continues.\n"
    )


def test_unknown_corpus_lists_the_known_ones() -> None:
    with pytest.raises(CourseError, match="unknown dataset 'shakespeare'.*pydocs.*tinyshakespeare"):
        load_corpus("shakespeare")


def test_missing_staged_only_dataset_says_where_to_put_it(no_staged_data: None) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"'sst2'.*\$COURSE_DATA_DIR/sst2/train\.tsv"):
        load_sst2("train")


def stage_sst2(folder: Path, monkeypatch: pytest.MonkeyPatch, dev_text: str) -> None:
    """A staged sst2/ with our own dev file, registered under its own checksum."""
    (folder / "sst2").mkdir(parents=True)
    (folder / "sst2" / "dev.tsv").write_text(dev_text, encoding="utf-8")
    files = tuple(
        DataFile(f.relpath, sha256_of(folder / f.relpath)) if f.relpath.endswith("dev.tsv") else f
        for f in corpora.REGISTRY["sst2"].files
    )
    monkeypatch.setitem(corpora.REGISTRY, "sst2", Corpus("sst2", "test copy", files))
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))


def test_sst2_parses_labels_and_sentences(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stage_sst2(tmp_path, monkeypatch, "label\tsentence\n1\ta gem .\n0\tdull , flat\ttabbed\n")
    assert load_sst2("dev") == [(1, "a gem ."), (0, "dull , flat\ttabbed")]
    with pytest.raises(CourseError, match="unknown sst2 split 'test'"):
        load_sst2("test")


def test_sst2_malformed_line_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stage_sst2(tmp_path, monkeypatch, "label\tsentence\n1\tfine\npositive\toops\n")
    with pytest.raises(CourseError, match="dev.tsv line 3"):
        load_sst2("dev")


def test_real_staged_sst2_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED_DATA / "sst2" / "dev.tsv").is_file():
        pytest.skip("staged SST-2 not present on this machine")
    monkeypatch.setenv("COURSE_DATA_DIR", str(SHARED_DATA))
    dev = load_sst2("dev")
    assert len(dev) == 872 and {label for label, _ in dev} == {0, 1}
    assert len(load_sst2("train")) == 67_349


def test_tinyshakespeare_from_the_staged_dir_matches_its_checksum(monkeypatch: pytest.MonkeyPatch) -> None:
    path = SHARED_DATA / "tinyshakespeare.txt"
    if not path.is_file():
        pytest.skip("staged tinyshakespeare not present on this machine")
    monkeypatch.setenv("COURSE_DATA_DIR", str(SHARED_DATA))
    text = load_corpus("tinyshakespeare")
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")
    assert sha256_of(path) == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def test_list_corpora_reports_location(no_staged_data: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = {c["name"]: c["location"] for c in list_corpora()}
    assert where == {"pydocs": "embedded", "tinyshakespeare": "embedded", "sst2": None}
    staged = tmp_path / "staged"
    (staged / "sst2").mkdir(parents=True)
    for name in ("train.tsv", "dev.tsv"):
        (staged / "sst2" / name).write_text("x")
    monkeypatch.setenv("COURSE_DATA_DIR", os.pathsep.join([str(tmp_path / "nowhere"), str(staged)]))
    assert {c["name"]: c["location"] for c in list_corpora()}["sst2"] == str(staged)
