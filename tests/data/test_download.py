"""The download path, against a real HTTP server on 127.0.0.1: success, corruption, truncation, offline."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib.data import corpora
from course_lib.data.corpora import Corpus, DataFile, DatasetNotFoundError, load_corpus
from course_lib.data.download import DownloadError, download

PAYLOAD = ("To be, or not to be, that is the question.\n" * 2000).encode()
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # http.server's naming
        Handler.hits.append(self.path)
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if self.path == "/truncated":  # promise the whole file, send half, hang up
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(PAYLOAD)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    Handler.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: what being offline looks like to urllib."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.txt"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_success_writes_verified_file(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "file.txt"
    assert download(f"{server}/file.txt", dest, PAYLOAD_SHA, progress=False) == dest
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["file.txt", "sub"]


def test_checksum_mismatch_is_an_error_naming_the_file_and_leaves_nothing(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"checksum mismatch for file\.txt"):
        download(f"{server}/file.txt", tmp_path / "file.txt", "0" * 64, progress=False)
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_leaves_no_partial_file(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="file.txt"):
        download(f"{server}/truncated", tmp_path / "file.txt", PAYLOAD_SHA, progress=False)
    assert leftovers(tmp_path) == []


def test_http_error_and_offline_leave_nothing(server: str, closed_port_url: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="404"):
        download(f"{server}/missing", tmp_path / "file.txt", PAYLOAD_SHA, progress=False)
    with pytest.raises(DownloadError, match="could not download"):
        download(closed_port_url, tmp_path / "file.txt", PAYLOAD_SHA, timeout=5, progress=False)
    assert leftovers(tmp_path) == []


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No staged dir, a private cache, and the registry restored afterwards."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(corpora, "REGISTRY", dict(corpora.REGISTRY))
    return tmp_path / "cache" / "llm-course"


def register(url: str) -> None:
    corpora.REGISTRY["toy"] = Corpus("toy", "a test corpus", (DataFile("toy/plays.txt", PAYLOAD_SHA, url),))


def test_load_corpus_downloads_once_into_the_cache(server: str, isolated_registry: Path) -> None:
    register(f"{server}/plays.txt")
    assert load_corpus("toy") == PAYLOAD.decode()
    assert load_corpus("toy") == PAYLOAD.decode()
    assert Handler.hits == ["/plays.txt"], "the second load must come from the cache"
    assert (isolated_registry / "toy" / "plays.txt").read_bytes() == PAYLOAD


def test_staged_dir_wins_over_download(
    server: str, isolated_registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = tmp_path / "staged"
    (staged / "toy").mkdir(parents=True)
    (staged / "toy" / "plays.txt").write_bytes(PAYLOAD)
    monkeypatch.setenv("COURSE_DATA_DIR", str(staged))
    register(f"{server}/plays.txt")
    assert load_corpus("toy") == PAYLOAD.decode()
    assert Handler.hits == []


def test_corrupt_staged_file_is_named_in_the_error(
    isolated_registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = tmp_path / "staged"
    (staged / "toy").mkdir(parents=True)
    (staged / "toy" / "plays.txt").write_bytes(PAYLOAD[:-1])
    monkeypatch.setenv("COURSE_DATA_DIR", str(staged))
    register("http://127.0.0.1:9/never")
    with pytest.raises(corpora.CourseError, match=r"checksum mismatch for .*toy/plays\.txt"):
        load_corpus("toy")
    assert (staged / "toy" / "plays.txt").read_bytes() == PAYLOAD[:-1], "the user's file is never touched"


def test_offline_and_missing_names_dataset_env_var_and_url(closed_port_url: str, isolated_registry: Path) -> None:
    register(closed_port_url)
    with pytest.raises(DatasetNotFoundError) as info:
        load_corpus("toy")
    message = str(info.value)
    assert "'toy'" in message and "COURSE_DATA_DIR" in message and closed_port_url in message
    assert "\n" not in message
    assert leftovers(isolated_registry) in ([], ["toy"])


def test_offline_switch_forbids_downloads(
    server: str, isolated_registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    register(f"{server}/plays.txt")
    with pytest.raises(DatasetNotFoundError, match="COURSE_OFFLINE=1"):
        load_corpus("toy")
    assert Handler.hits == []
