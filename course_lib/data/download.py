"""Checksummed, atomic downloads: a file either arrives whole and verified, or not at all."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from course_lib.errors import CourseError

CHUNK = 1 << 16


class DownloadError(CourseError):
    """A download failed (network, truncated transfer, or wrong checksum); nothing was left behind."""


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    md5: str | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Fetch ``url`` to ``dest``, verifying its SHA-256 (or its MD5, for archives whose publisher gives only that).

    The bytes go to a temporary file beside ``dest`` and are moved into place with ``os.replace`` only after
    the checksum matches, so an interrupted or corrupted transfer never leaves a partial ``dest``.
    """
    if (sha256 is None) == (md5 is None):
        raise ValueError("give exactly one of sha256 and md5")
    algorithm, expected = ("sha256", sha256) if sha256 is not None else ("md5", md5)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.new(algorithm)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
            if total is not None and out.tell() != total:
                raise DownloadError(f"download of {dest.name} from {url} was cut short ({out.tell()} of {total} bytes)")
        if digest.hexdigest() != expected:
            raise DownloadError(
                f"checksum mismatch for {dest.name} downloaded from {url}: "
                f"expected {algorithm} {expected}, got {digest.hexdigest()}"
            )
        os.replace(tmp_name, dest)
        return dest
    except DownloadError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        # URLError: no route, refused, DNS; HTTPException: e.g. IncompleteRead; OSError: timeouts, disk
        raise DownloadError(f"could not download {dest.name} from {url}: {err}") from err
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
