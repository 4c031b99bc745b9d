"""SST-2 from GLUE's published archive: download, MD5, conversion, row fingerprint, atomic cache, both routes named.

Nothing outside PyPI is reachable here, so the archive is a fake SST-2.zip in GLUE's layout built in tmp_path, served
as a file:// URL, with the registry's expected checksums replaced by the fake's. The real fingerprints are checked
against the staged files when $COURSE_DATA_DIR (or ../shared/data) holds them.
"""

from __future__ import annotations

import hashlib
import socket
import zipfile
from pathlib import Path

import pytest

from course_lib.cli import main as llmcourse
from course_lib.data import corpora, load_sst2
from course_lib.data.corpora import Archive, Corpus, DataFile, DatasetNotFoundError
from course_lib.data.labelled import glue_sst2_to_tsv, parse_labelled_tsv, rows_fingerprint
from course_lib.errors import CourseError

TRAIN = [(0, "hide new secretions from the parental units"), (1, "the greatest musicians"), (0, "a \t tab inside")]
DEV = [(1, "it 's a charming and often affecting journey ."), (0, "unflinchingly bleak and desperate")]
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def glue_tsv(rows: list[tuple[int, str]]) -> str:
    """GLUE's layout: header `sentence<TAB>label`, a trailing space after each sentence."""
    return "sentence\tlabel\n" + "".join(f"{sentence} \t{label}\n" for label, sentence in rows)


def make_zip(path: Path, train: str, dev: str) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("SST-2/train.tsv", train)
        zf.writestr("SST-2/dev.tsv", dev)
        zf.writestr("SST-2/test.tsv", "index\tsentence\n0\tunused \n")
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No staged dir, downloads allowed, a private cache."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "llm-course"


def register(monkeypatch: pytest.MonkeyPatch, url: str, md5: str, train=TRAIN, dev=DEV) -> None:
    """The real sst2 entry, pointed at ``url`` and expecting ``md5`` and the fingerprints of ``train``/``dev``."""
    real = corpora.REGISTRY["sst2"]
    assert real.archive is not None
    files = (
        DataFile("sst2/train.tsv", fingerprint=rows_fingerprint(train)),
        DataFile("sst2/dev.tsv", fingerprint=rows_fingerprint(dev)),
    )
    archive = Archive(url, md5, real.archive.members, real.archive.convert)
    monkeypatch.setitem(corpora.REGISTRY, "sst2", Corpus("sst2", real.description, files, archive=archive))


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_archive_is_downloaded_converted_and_cached(cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    zip_path = tmp_path / "SST-2.zip"
    md5 = make_zip(zip_path, glue_tsv(TRAIN), glue_tsv(DEV))
    register(monkeypatch, zip_path.as_uri(), md5)
    assert load_sst2("dev") == DEV  # labels first, trailing spaces gone, the archive's order kept
    assert load_sst2("train") == TRAIN
    assert files_under(cache) == ["sst2", "sst2/dev.tsv", "sst2/train.tsv"], "no archive or temp files left"
    assert (cache / "sst2" / "dev.tsv").read_text() == "label\tsentence\n" + "".join(f"{l}\t{s}\n" for l, s in DEV)
    zip_path.unlink()  # the second load comes from the cache
    assert load_sst2("train") == TRAIN


def test_wrong_archive_checksum_leaves_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    zip_path = tmp_path / "SST-2.zip"
    make_zip(zip_path, glue_tsv(TRAIN), glue_tsv(DEV))
    register(monkeypatch, zip_path.as_uri(), "0" * 32)
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch for SST-2.zip.*expected md5 0{32}"):
        load_sst2("train")
    assert files_under(cache) == []


def test_wrong_rows_leave_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The archive's checksum matches, but one converted row differs from the registered fingerprint."""
    zip_path = tmp_path / "SST-2.zip"
    md5 = make_zip(zip_path, glue_tsv(TRAIN), glue_tsv([(1 - DEV[0][0], DEV[0][1]), *DEV[1:]]))
    register(monkeypatch, zip_path.as_uri(), md5)
    with pytest.raises(DatasetNotFoundError, match=r"sst2/dev\.tsv converted from .* expected row fingerprint"):
        load_sst2("train")
    assert files_under(cache) == [], "train.tsv was fine, but it is not cached without dev.tsv"


def test_an_archive_in_another_layout_is_a_clear_error(cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    zip_path = tmp_path / "SST-2.zip"
    md5 = make_zip(zip_path, "label\tsentence\n1\tswapped columns\n", glue_tsv(DEV))
    register(monkeypatch, zip_path.as_uri(), md5)
    with pytest.raises(DatasetNotFoundError, match="not a GLUE SST-2 file"):
        load_sst2("dev")
    assert files_under(cache) == []


def unreachable_url() -> str:
    with socket.socket() as sock:  # a port on 127.0.0.1 where nothing listens: what offline looks like
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/glue/data/SST-2.zip"


@pytest.mark.parametrize("offline", [False, True], ids=["unreachable", "COURSE_OFFLINE=1"])
def test_without_the_archive_the_error_names_both_routes(cache: Path, monkeypatch: pytest.MonkeyPatch, offline: bool):
    url = unreachable_url()
    register(monkeypatch, url, "0" * 32)
    if offline:
        monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError) as info:
        load_sst2("dev")
    message = str(info.value)
    assert "$COURSE_DATA_DIR/sst2/train.tsv and $COURSE_DATA_DIR/sst2/dev.tsv" in message  # route 1: stage
    assert "llmcourse data fetch sst2" in message and url in message  # route 2: download and convert
    assert ("COURSE_OFFLINE=1 forbids downloads" in message) == offline
    assert "\n" not in message
    assert files_under(cache) == []


def test_data_fetch_command(cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys):
    zip_path = tmp_path / "SST-2.zip"
    register(monkeypatch, zip_path.as_uri(), make_zip(zip_path, glue_tsv(TRAIN), glue_tsv(DEV)))
    assert llmcourse(["data", "fetch", "sst2"]) == 0
    assert f"sst2/dev.tsv: {cache / 'sst2' / 'dev.tsv'}" in capsys.readouterr().out
    assert llmcourse(["data", "list"]) == 0
    assert f"sst2             {cache}" in capsys.readouterr().out
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    (cache / "sst2" / "dev.tsv").unlink()
    assert llmcourse(["data", "fetch", "sst2"]) == 2
    assert "llmcourse data: error: dataset 'sst2'" in capsys.readouterr().err


def test_staged_crlf_copy_in_another_order_is_accepted_and_a_wrong_one_refused(
    cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    register(monkeypatch, unreachable_url(), "0" * 32)
    staged = tmp_path / "staged"
    (staged / "sst2").mkdir(parents=True)
    crlf = "label\tsentence\r\n" + "".join(f"{l}\t{s}\r\n" for l, s in reversed(TRAIN))
    (staged / "sst2" / "train.tsv").write_bytes(crlf.encode())
    monkeypatch.setenv("COURSE_DATA_DIR", str(staged))
    assert sorted(load_sst2("train")) == sorted(TRAIN)
    (staged / "sst2" / "train.tsv").write_bytes(crlf.replace("greatest", "worst").encode())
    with pytest.raises(CourseError, match=r"checksum mismatch for .*sst2/train\.tsv: expected row fingerprint"):
        load_sst2("train")


def test_converter_matches_the_staged_layout() -> None:
    converted = glue_sst2_to_tsv(glue_tsv(TRAIN).encode()).decode()
    assert parse_labelled_tsv(converted, "x") == TRAIN
    assert rows_fingerprint(TRAIN) == rows_fingerprint([(l, f" {s} ") for l, s in reversed(TRAIN)])
    assert rows_fingerprint(TRAIN) != rows_fingerprint(TRAIN[:-1])


@pytest.mark.parametrize("member", [b"", b"label\tsentence\n1\tgood\n"])
def test_a_member_that_is_not_glue_sst2_is_named_as_such(member: bytes) -> None:
    with pytest.raises(CourseError, match="not a GLUE SST-2 file"):
        glue_sst2_to_tsv(member)


def staged_sst2() -> Path | None:
    for folder in [*corpora.staged_dirs(), SHARED_DATA]:
        if (folder / "sst2" / "dev.tsv").is_file() and (folder / "sst2" / "train.tsv").is_file():
            return folder
    return None


@pytest.mark.skipif(staged_sst2() is None, reason="no staged SST-2 in $COURSE_DATA_DIR or ../shared/data")
def test_registered_fingerprints_match_the_staged_files() -> None:
    folder = staged_sst2()
    assert folder is not None
    for file in corpora.REGISTRY["sst2"].files:
        rows = parse_labelled_tsv((folder / file.relpath).read_text(encoding="utf-8"), file.relpath)
        assert len(rows) == {"sst2/train.tsv": 67_349, "sst2/dev.tsv": 872}[file.relpath]
        assert rows_fingerprint(rows) == file.fingerprint, file.relpath
