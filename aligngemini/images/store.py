"""Content-addressed image store: `root/<sha[:2]>/<sha>.png`, where sha is the sha256 of
the PNG bytes.

PNG encoding is deterministic (no metadata, fixed compress level), so the same pixels
always give the same bytes and the same address within one environment; the bytes depend
on the zlib that Pillow was built with, which the lockfile pins.

Writes are atomic: a temp file `.<sha>.pid<pid>@<host>.<random>.tmp` in the final folder,
fsync, then `os.replace`. A killed run leaves at most temp files (never a partial `.png`),
which `files()` ignores and `remove_temp_files()` deletes once their writer is gone (another
run's writes in flight stay). Putting an image that is already stored does not rewrite it,
so `put` is idempotent.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from aligngemini.paths import resolve_inside

PNG_COMPRESS_LEVEL = 6
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEMP_SUFFIX = ".tmp"
# The writer of a temp file, as `_write_atomic` names it; mkstemp's random part has no dot.
_TEMP_OWNER = re.compile(r"\.pid(?P<pid>\d+)@(?P<host>[^@/]+)\.[^.]*" + re.escape(_TEMP_SUFFIX) + "$")


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: str  # posix, relative to the project root
    width: int
    height: int


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of the pixels alone: no ICC profile, EXIF, text, dpi or transparency key."""
    bare = image.copy()
    bare.info = {}
    buffer = io.BytesIO()
    bare.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ImageStore:
    """Store under `root`, which must lie inside `project_root` (relative paths in
    records are relative to `project_root`)."""

    def __init__(self, root: Path, project_root: Path):
        self.project_root = Path(project_root).resolve()
        self.root = resolve_inside(self.project_root, root, base=self.project_root)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex sha256: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.png"

    def contains(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put(self, image: Image.Image) -> StoredImage:
        data = encode_png(image)
        sha = sha256_bytes(data)
        final = self.path_for(sha)
        if not final.is_file():
            _write_atomic(final, data, prefix=f".{sha}.pid{os.getpid()}@{socket.gethostname()}.")
        relative = final.relative_to(self.project_root).as_posix()
        return StoredImage(sha, relative, image.width, image.height)

    def files(self) -> list[Path]:
        """Finished images only, sorted."""
        return sorted(
            path
            for path in self.root.glob("??/*.png")
            if _SHA256.fullmatch(path.stem) and path.parent.name == path.stem[:2]
        )

    def remove_temp_files(self) -> int:
        """Delete the temp files a killed run left behind; returns how many. A temp file
        whose writer still runs on this host, or runs on another host (a shared folder:
        its liveness cannot be told from here), is kept; one named without its writer
        (from before writers were named) is a leftover."""
        leftovers = [path for path in self.root.glob(f"??/.*{_TEMP_SUFFIX}") if path.is_file() and not _writer_alive(path.name)]
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)


def _writer_alive(temp_name: str) -> bool:
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


def _write_atomic(final: Path, data: bytes, prefix: str) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=final.parent, prefix=prefix, suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp's 0600 would make the store private
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, final)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
