"""The corpora registry: where each dataset comes from and how to get it offline.

A dataset file is looked for, in order, in ``$COURSE_DATA_DIR`` (a shared read-only folder, e.g. one that a
JupyterHub mounts for every student), then in the user cache (``$XDG_CACHE_HOME/llm-course`` or
``~/.cache/llm-course``), and is otherwise downloaded into the cache with its checksum verified. A dataset that is
published only inside an archive in another layout (SST-2 in GLUE's zip) is downloaded, checked against the
archive's published checksum, converted, and checked again by the content of its rows before it enters the cache.

Two corpora are embedded and always there, with no download: ``pydocs`` (the Python documentation that Python
ships, rebuilt into prose by :mod:`course_lib.data.prose`) and ``tinyshakespeare`` (public-domain plays, shipped
gzipped inside this package and checked against its SHA-256). :func:`load_sentences` gives any text corpus as a
list of sentences of running text.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from course_lib.data.download import DownloadError, download, sha256_of
from course_lib.data.labelled import glue_sst2_to_tsv, parse_labelled_tsv, rows_fingerprint
from course_lib.data.prose import play_sentences, pydocs_prose
from course_lib.errors import CourseError

DATA_DIR_ENV = "COURSE_DATA_DIR"
OFFLINE_ENV = "COURSE_OFFLINE"  # set to 1 to never attempt a download


class DatasetNotFoundError(CourseError, FileNotFoundError):
    """A dataset is neither staged, cached nor downloadable; the message says how to get it."""


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its path inside a data directory, how to verify it, and where to download it.

    A file is verified by the SHA-256 of its bytes, or, for a ``label<TAB>sentence`` file whose copies differ in
    line ends or row order, by the :func:`~course_lib.data.labelled.rows_fingerprint` of its rows.
    """

    relpath: str
    sha256: str | None = None
    url: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class Archive:
    """A published archive that a dataset's files are converted from.

    ``members`` maps each file's ``relpath`` to the member of the archive it comes from; ``convert`` turns the
    member's bytes into the file's bytes. The publisher gave an MD5 only, so that is what the download checks.
    """

    url: str
    md5: str
    members: dict[str, str]
    convert: Callable[[bytes], bytes]


@dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    files: tuple[DataFile, ...] = ()  # where to find it outside the package (staged, cached, downloaded)
    packaged: DataFile | None = None  # a gzipped copy shipped in course_lib/data (sha256 of the *unzipped* text)
    builtin: bool = False  # built from text that Python itself ships
    archive: Archive | None = None  # where the files come from when they are neither staged nor cached

    @property
    def embedded(self) -> bool:
        """Always available offline: shipped with Python or inside this package."""
        return self.builtin or self.packaged is not None


TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SST2_TRAIN_FINGERPRINT = "9dae8ec1f3dc8b90dbd72916e988f48fd9ac93cb1072674299879166abb02cc9"
SST2_DEV_FINGERPRINT = "8a2dc6dc889a15104a9f72523dcaa3381288f322a925c21bcdfa70bf47a0bf86"


REGISTRY: dict[str, Corpus] = {
    corpus.name: corpus
    for corpus in (
        Corpus(
            "pydocs",
            "the Python reference documentation shipped with Python (pydoc_data) as prose: one sentence per line",
            builtin=True,
        ),
        Corpus(
            "tinyshakespeare",
            "Tiny Shakespeare from char-rnn, 1,115,394 characters of plays (public domain), shipped in the package",
            (
                DataFile(
                    "tinyshakespeare.txt",
                    TINYSHAKESPEARE_SHA256,
                    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                ),
            ),
            packaged=DataFile("tinyshakespeare.txt.gz", TINYSHAKESPEARE_SHA256),
        ),
        Corpus(
            "sst2",
            "SST-2 movie-review sentences with binary sentiment (GLUE split), label<TAB>sentence",
            # Copies differ in line ends and row order, so the files are checked by the content of their rows.
            (
                DataFile("sst2/train.tsv", fingerprint=SST2_TRAIN_FINGERPRINT),  # 67,349 rows
                DataFile("sst2/dev.tsv", fingerprint=SST2_DEV_FINGERPRINT),  # 872 rows
            ),
            archive=Archive(
                "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                "9f81648d4199384278b86e315dac217c",  # as published with the GLUE download script and torchtext
                {"sst2/train.tsv": "SST-2/train.tsv", "sst2/dev.tsv": "SST-2/dev.tsv"},
                glue_sst2_to_tsv,
            ),
        ),
    )
}


def staged_dirs() -> list[Path]:
    """The folders named by ``$COURSE_DATA_DIR`` (several may be joined with ``os.pathsep``)."""
    value = os.environ.get(DATA_DIR_ENV, "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part]


def cache_dir() -> Path:
    """The per-user download cache: ``$XDG_CACHE_HOME/llm-course``, else ``~/.cache/llm-course``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "llm-course"


def search_dirs() -> list[Path]:
    return [*staged_dirs(), cache_dir()]


def get_corpus(name: str) -> Corpus:
    try:
        return REGISTRY[name]
    except KeyError:
        raise CourseError(f"unknown dataset {name!r}; available: {', '.join(sorted(REGISTRY))}") from None


def verification_error(file: DataFile, path: Path) -> str | None:
    """Why the file at ``path`` is not ``file`` (its checksum or row fingerprint differs), or None when it is."""
    expected: str | None
    if file.fingerprint is not None:
        actual = rows_fingerprint(parse_labelled_tsv(path.read_text(encoding="utf-8"), str(path)))
        expected, what = file.fingerprint, "row fingerprint"
    else:
        actual, expected, what = sha256_of(path), file.sha256, "sha256"
    return None if actual == expected else f"expected {what} {expected}, got {actual}"


def find_local(file: DataFile) -> Path | None:
    """The first search directory holding ``file`` with the right checksum; a wrong checksum is an error."""
    for folder in search_dirs():
        path = folder / file.relpath
        if path.is_file():
            problem = verification_error(file, path)
            if problem is not None:
                raise CourseError(f"checksum mismatch for {path}: {problem}; remove or replace the file")
            return path
    return None


def fetch_archive(corpus: Corpus) -> None:
    """Download ``corpus.archive``, convert its members and move the verified files into the cache.

    Everything happens in a temporary folder inside the cache; each file is moved into place with ``os.replace``
    only after the archive's checksum and every converted file's checksum matched, so a failure leaves nothing.
    Raises :class:`DownloadError` naming the problem.
    """
    archive = corpus.archive
    assert archive is not None
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=f".{corpus.name}.") as tmp:
        zip_path = download(archive.url, Path(tmp) / Path(archive.url).name, md5=archive.md5)
        parts = {file: Path(tmp) / file.relpath for file in corpus.files}
        try:
            with zipfile.ZipFile(zip_path) as zf:
                for file, part in parts.items():
                    part.parent.mkdir(parents=True, exist_ok=True)
                    part.write_bytes(archive.convert(zf.read(archive.members[file.relpath])))
        except (zipfile.BadZipFile, KeyError, CourseError) as err:  # KeyError: a member is missing
            raise DownloadError(f"could not convert {archive.url}: {err}") from err
        for file, part in parts.items():
            problem = verification_error(file, part)
            if problem is not None:
                raise DownloadError(f"{file.relpath} converted from {archive.url} is not as expected: {problem}")
        for file, part in parts.items():
            (cache / file.relpath).parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, cache / file.relpath)


def how_to_get(corpus: Corpus, file: DataFile) -> str:
    """The routes to a dataset file that is not here, for error messages."""
    if corpus.archive is not None:
        stage = " and ".join(f"$COURSE_DATA_DIR/{f.relpath}" for f in corpus.files)
        return (
            f"either stage {stage}, or, online, "
            f"run `llmcourse data fetch {corpus.name}` (or just load it) to download {corpus.archive.url} and convert "
            f"it into the cache ({cache_dir()})"
        )
    return f"set {DATA_DIR_ENV} to a folder holding {file.relpath}, or fetch {file.url} when online"


def fetch(corpus: Corpus, file: DataFile) -> Path:
    """Path to a verified local copy of ``file``, downloading it into the cache when needed."""
    local = find_local(file)
    if local is not None:
        return local
    where = f"${DATA_DIR_ENV} ({os.environ.get(DATA_DIR_ENV) or 'unset'}) or the cache ({cache_dir()})"
    if file.url is None and corpus.archive is None:
        raise DatasetNotFoundError(
            f"dataset {corpus.name!r}: {file.relpath} is not in {where} and has no automatic download; "
            f"put it at $COURSE_DATA_DIR/{file.relpath}"
        )
    if os.environ.get(OFFLINE_ENV) == "1":
        reason = f"{OFFLINE_ENV}=1 forbids downloads"
    else:
        try:
            if corpus.archive is not None:
                fetch_archive(corpus)
                return cache_dir() / file.relpath
            assert file.url is not None  # checked above: a file with neither route raised
            return download(file.url, cache_dir() / file.relpath, file.sha256)
        except DownloadError as err:
            reason = str(err)
    raise DatasetNotFoundError(
        f"dataset {corpus.name!r}: {file.relpath} is not in {where} and the download failed ({reason}); "
        + how_to_get(corpus, file)
    )


@cache
def _pydocs_text() -> str:
    from pydoc_data.topics import topics

    return pydocs_prose(topics)


def _packaged_text(corpus: Corpus) -> str:
    """The text of a corpus shipped gzipped in ``course_lib/data``, verified against its checksum."""
    assert corpus.packaged is not None
    data = gzip.decompress(resources.files("course_lib.data").joinpath(corpus.packaged.relpath).read_bytes())
    actual = hashlib.sha256(data).hexdigest()
    if actual != corpus.packaged.sha256:
        raise CourseError(
            f"the packaged copy of {corpus.name!r} is damaged (sha256 {actual}, expected {corpus.packaged.sha256}); "
            "reinstall the course package"
        )
    return data.decode("utf-8")


def load_corpus(name: str) -> str:
    """The full text of corpus ``name`` (``list_corpora()`` names them). Labelled data: see ``load_sst2``.

    ``pydocs`` comes as one sentence per line with a blank line between paragraphs; the other corpora as stored.
    """
    corpus = get_corpus(name)
    if corpus.builtin:
        return _pydocs_text()
    if corpus.packaged is not None:
        return _packaged_text(corpus)
    if name == "sst2":
        return "\n".join(sentence for _, sentence in load_sst2("train"))
    return fetch(corpus, corpus.files[0]).read_text(encoding="utf-8")


def load_sentences(name: str) -> list[str]:
    """Corpus ``name`` as a list of sentences of running text, in corpus order (deterministic).

    ``pydocs``: its lines; ``tinyshakespeare``: each speech's verse lines joined, split into sentences, speaker
    names dropped; ``sst2``: its training sentences.
    """
    if name == "tinyshakespeare":
        return play_sentences(load_corpus(name))
    return [line for line in load_corpus(name).splitlines() if line.strip()]


def load_sst2(split: str = "train") -> list[tuple[int, str]]:
    """SST-2 as ``(label, sentence)`` pairs, label 1 = positive. ``split`` is ``"train"`` or ``"dev"``."""
    corpus = get_corpus("sst2")
    files = {Path(f.relpath).stem: f for f in corpus.files}
    if split not in files:
        raise CourseError(f"unknown sst2 split {split!r}; choose from {', '.join(files)}")
    return parse_labelled_tsv(fetch(corpus, files[split]).read_text(encoding="utf-8"), f"sst2/{split}.tsv")


def locate(name: str) -> str | None:
    """Where corpus ``name`` is available right now without a download: ``"embedded"``, a folder, or None."""
    corpus = get_corpus(name)
    if corpus.embedded:
        return "embedded"
    for folder in search_dirs():
        if all((folder / f.relpath).is_file() for f in corpus.files):
            return str(folder)
    return None


def availability(entry: dict[str, object]) -> str:
    """Where a :func:`list_corpora` entry is, in words: its location, or how it would be had."""
    if entry["location"]:
        return str(entry["location"])
    if entry["downloadable"]:
        return "not present (downloads on first use)"
    return f"not present (stage it in ${DATA_DIR_ENV})"


def list_corpora() -> list[dict[str, object]]:
    """One entry per registered corpus: name, description, where it is now (or None), downloadable."""
    return [
        {
            "name": c.name,
            "description": c.description,
            "location": locate(c.name),
            "downloadable": c.embedded or c.archive is not None or all(f.url for f in c.files),
        }
        for c in REGISTRY.values()
    ]
