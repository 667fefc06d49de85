"""Confinement of paths read from manifests, records or users to a root folder.

Rule for relative paths: a relative `candidate` (and a relative `root`) is taken relative
to `base`, the project root. Records store paths relative to the project root (e.g.
`data/real/ab/ab12....png` with root `data`), so `base` defaults to the current working
directory, which is the project root for every dvc stage, flow and CLI command. Pass
`base` explicitly when calling from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from aligngemini.errors import UnsafePathError


def resolve_inside(root: Path, candidate: str | Path, base: Path | None = None) -> Path:
    """Return the absolute, symlink-free path of `candidate`, or raise `UnsafePathError`
    if it lies outside `root` (through `..`, an absolute path elsewhere, or a symlink
    anywhere along the way that points out of `root`).

    `root` itself is accepted (it is inside itself). The target need not exist yet, so
    this also vets paths about to be written.
    """
    base = Path.cwd() if base is None else Path(base)
    try:
        real_root = (base / root).resolve()
        real = (base / candidate).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # NUL bytes, symlink loops
        raise UnsafePathError(candidate, f"cannot be resolved: {exc}") from None
    if not real.is_relative_to(real_root):
        raise UnsafePathError(candidate, f"resolves to {real}, outside {real_root}")
    return real
