"""Files that appear whole or not at all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_options: Any) -> Iterator[IO]:
    """Write ``path`` through a temporary file beside it, renamed into place when the block ends.

    ``os.replace`` is atomic: a crash or an exception in the block leaves the previous file (or none) instead of a
    truncated one, and the temporary file is removed. The data is flushed to disk (``fsync``) before the rename.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, mode, **open_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
