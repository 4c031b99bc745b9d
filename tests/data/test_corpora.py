"""Corpus resolution: the embedded corpus, staged datasets, and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_lib.data import DatasetNotFoundError, corpora, list_corpora, load_corpus, load_sst2
from course_lib.data.corpora import Corpus, DataFile
from course_lib.data.download import sha256_of
from course_lib.errors import CourseError

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture
def no_staged_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")


def test_pydocs_is_always_there_and_deterministic(no_staged_data: None) -> None:
    from pydoc_data.topics import topics

    text = load_corpus("pydocs")
    assert text == load_corpus("pydocs")
    assert len(text) > 400_000
    assert sum(map(len, topics.values())) * 0.95 < len(text) < sum(map(len, topics.values())) * 1.05
    for key in ("assignment", "for", "with"):  # every topic is in, in sorted-key order
        assert topics[key].strip() in text
    assert text.index(topics["assignment"].strip()) < text.index(topics["with"].strip())


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
    assert where == {"pydocs": "embedded", "tinyshakespeare": None, "sst2": None}
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "tinyshakespeare.txt").write_text("x")
    monkeypatch.setenv("COURSE_DATA_DIR", os.pathsep.join([str(tmp_path / "nowhere"), str(staged)]))
    assert {c["name"]: c["location"] for c in list_corpora()}["tinyshakespeare"] == str(staged)
