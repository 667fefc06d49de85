"""Content-addressed image store: `root/<sha[:2]>/<sha>.png`, where sha is the sha256 of
the PNG bytes.

PNG encoding is deterministic (no metadata, fixed compress level), so the same pixels
always give the same bytes and the same address within one environment; the bytes depend
on the zlib that Pillow was built with, which the lockfile pins.

Writes are atomic (`aligngemini.atomic`: a temp file named after its writer, fsync, rename).
A killed run leaves at most temp files (never a partial `.png`),
which `files()` ignores and `remove_temp_files()` deletes once their writer is gone (another
run's writes in flight stay). Putting an image that is already stored does not rewrite it,
so `put` is idempotent.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from aligngemini.atomic import TEMP_SUFFIX, write_atomic, writer_alive
from aligngemini.paths import resolve_inside

PNG_COMPRESS_LEVEL = 6
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
            write_atomic(final, data)
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
        """Delete the temp files a killed run left behind; returns how many. Another run's
        writes in flight are kept (`aligngemini.atomic.writer_alive`)."""
        leftovers = [path for path in self.root.glob(f"??/.*{TEMP_SUFFIX}") if path.is_file() and not writer_alive(path.name)]
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)
