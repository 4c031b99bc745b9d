"""The corpora registry: where each dataset comes from and how to get it offline.

A dataset file is looked for, in order, in ``$COURSE_DATA_DIR`` (a shared read-only folder, e.g. one that a
JupyterHub mounts for every student), then in the user cache (``$XDG_CACHE_HOME/llm-course`` or
``~/.cache/llm-course``), and is otherwise downloaded into the cache with its checksum verified.

Two corpora are embedded and always there, with no download: ``pydocs`` (the Python documentation that Python
ships, rebuilt into prose by :mod:`course_lib.data.prose`) and ``tinyshakespeare`` (public-domain plays, shipped
gzipped inside this package and checked against its SHA-256). :func:`load_sentences` gives any text corpus as a
list of sentences of running text.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from course_lib.data.download import DownloadError, download, sha256_of
from course_lib.data.prose import play_sentences, pydocs_prose
from course_lib.errors import CourseError

DATA_DIR_ENV = "COURSE_DATA_DIR"
OFFLINE_ENV = "COURSE_OFFLINE"  # set to 1 to never attempt a download


class DatasetNotFoundError(CourseError, FileNotFoundError):
    """A dataset is neither staged, cached nor downloadable; the message says how to get it."""


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its path inside a data directory, its SHA-256, and where to download it."""

    relpath: str
    sha256: str
    url: str | None = None


@dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    files: tuple[DataFile, ...] = ()  # where to find it outside the package (staged, cached, downloaded)
    packaged: DataFile | None = None  # a gzipped copy shipped in course_lib/data (sha256 of the *unzipped* text)
    builtin: bool = False  # built from text that Python itself ships

    @property
    def embedded(self) -> bool:
        """Always available offline: shipped with Python or inside this package."""
        return self.builtin or self.packaged is not None


TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


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
            # No public file has exactly this layout, so there is no automatic download: stage it.
            (
                DataFile("sst2/train.tsv", "26d264970e2528d751183967c6d98dab2853c6a182f91a5e4573549f4495e37e"),
                DataFile("sst2/dev.tsv", "95e23a00053d2596a991cd6d65735790f18c79549dbf91dfad70d8de61e3ce27"),
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


def find_local(file: DataFile) -> Path | None:
    """The first search directory holding ``file`` with the right checksum; a wrong checksum is an error."""
    for folder in search_dirs():
        path = folder / file.relpath
        if path.is_file():
            actual = sha256_of(path)
            if actual != file.sha256:
                raise CourseError(
                    f"checksum mismatch for {path}: expected sha256 {file.sha256}, got {actual}; "
                    "remove or replace the file"
                )
            return path
    return None


def fetch(corpus: Corpus, file: DataFile) -> Path:
    """Path to a verified local copy of ``file``, downloading it into the cache when needed."""
    local = find_local(file)
    if local is not None:
        return local
    where = f"${DATA_DIR_ENV} ({os.environ.get(DATA_DIR_ENV) or 'unset'}) or the cache ({cache_dir()})"
    if file.url is None:
        raise DatasetNotFoundError(
            f"dataset {corpus.name!r}: {file.relpath} is not in {where} and has no automatic download; "
            f"put it at $COURSE_DATA_DIR/{file.relpath}"
        )
    if os.environ.get(OFFLINE_ENV) == "1":
        reason = f"{OFFLINE_ENV}=1 forbids downloads"
    else:
        try:
            return download(file.url, cache_dir() / file.relpath, file.sha256)
        except DownloadError as err:
            reason = str(err)
    raise DatasetNotFoundError(
        f"dataset {corpus.name!r}: {file.relpath} is not in {where} and the download failed ({reason}); "
        f"set {DATA_DIR_ENV} to a folder holding it, or fetch {file.url} when online"
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
    lines = fetch(corpus, files[split]).read_text(encoding="utf-8").splitlines()
    first_line = 1
    if lines and lines[0].startswith("label\t"):  # header row
        lines, first_line = lines[1:], 2
    pairs = []
    for number, line in enumerate(lines, start=first_line):
        label, sep, sentence = line.partition("\t")
        if not sep or label not in {"0", "1"}:
            raise CourseError(f"sst2/{split}.tsv line {number} is not 'label<TAB>sentence': {line[:60]!r}")
        pairs.append((int(label), sentence))
    return pairs


def locate(name: str) -> str | None:
    """Where corpus ``name`` is available right now without a download: ``"embedded"``, a folder, or None."""
    corpus = get_corpus(name)
    if corpus.embedded:
        return "embedded"
    for folder in search_dirs():
        if all((folder / f.relpath).is_file() for f in corpus.files):
            return str(folder)
    return None


def list_corpora() -> list[dict[str, object]]:
    """One entry per registered corpus: name, description, where it is now (or None), downloadable."""
    return [
        {
            "name": c.name,
            "description": c.description,
            "location": locate(c.name),
            "downloadable": c.embedded or all(f.url for f in c.files),
        }
        for c in REGISTRY.values()
    ]
