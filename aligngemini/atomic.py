"""Writing a file so that a reader, or the next run after a kill or a power cut, finds either
the old file or the whole new one, never a part.

The bytes go to a temp file in the destination's folder (a rename is atomic only within one
file system), are fsynced, and the temp file is renamed over the destination; the folder is
then fsynced so that the rename itself survives a crash. The temp name starts with a dot and
ends in `.tmp`, so no reader globbing for the real suffix picks it up, and it names its
writer (`.pid<pid>@<host>.`) so that clean-up can tell another run's write in flight from
the leftover of a killed one (`writer_alive`).
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

TEMP_SUFFIX = ".tmp"
# mkstemp's random part has no dot, so the owner is the last `.pid...@...` before it.
_TEMP_OWNER = re.compile(r"\.pid(?P<pid>\d+)@(?P<host>[^@/]+)\.[^.]*" + re.escape(TEMP_SUFFIX) + "$")


def temp_prefix(name: str) -> str:
    return f".{name}.pid{os.getpid()}@{socket.gethostname()}."


def writer_alive(temp_name: str) -> bool:
    """Whether the writer named in a temp file's name may still be writing it: it runs on
    this host, or on another one (a shared folder: its liveness cannot be told from here).
    A name without a writer (from before writers were named) is a leftover."""
    owner = _TEMP_OWNER.search(temp_name)
    if owner is None:
        return False
    if owner["host"] != socket.gethostname():
        return True
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | Path, data: bytes | str, *, mode: int = 0o644) -> None:
    """`data` (text is written as UTF-8) becomes the content of `path`, atomically and durably.
    `mode` 0o644 by default: mkstemp's 0600 would keep reports from whoever serves them."""
    payload = data.encode("utf-8") if isinstance(data, str) else data

    def write(temp: str) -> None:
        with open(temp, "wb") as out:
            out.write(payload)

    write_with(path, write, mode=mode)


def write_with(path: str | Path, write: Callable[[str], object], *, mode: int = 0o644) -> None:
    """Like `write_atomic` for writers that want a file name (`pq.write_table`,
    safetensors' `save_model`, `DataFrame.to_parquet`): `write(temp_path)` fills the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name), suffix=TEMP_SUFFIX)
    os.close(fd)
    try:
        write(temp)
        os.chmod(temp, mode)
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
