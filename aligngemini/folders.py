"""Replacing a whole output folder so that readers never see half of one, and a kill at any
moment leaves either the old folder or the new one in place, never none."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import uuid
from pathlib import Path

from aligngemini.atomic import fsync_dir

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)


def swap_in(staging: Path, out_dir: Path) -> None:
    """Put the complete folder `staging` in place of `out_dir`.

    Its files are fsynced first (a rename that survives a power cut must not reveal empty
    files). An existing `out_dir` is exchanged with `staging` in one atomic step (Linux
    renameat2 RENAME_EXCHANGE), then the old content is removed. Where the file system
    cannot exchange, the old folder is renamed aside and put back if the second rename fails;
    a folder set aside by a run killed between the two renames is put back by the next call.
    Callers hold the data root's run lock, so no other swap of `out_dir` runs meanwhile."""
    staging, out_dir = Path(staging), Path(out_dir)
    _fsync_tree(staging)
    _restore_retired(out_dir)
    retired = out_dir.parent / f".{out_dir.name}.retired-{uuid.uuid4().hex}"
    if not out_dir.exists():
        os.replace(staging, out_dir)
    elif _exchange(staging, out_dir):
        os.replace(staging, retired)  # staging now holds the old content
    else:
        os.replace(out_dir, retired)
        try:
            os.replace(staging, out_dir)
        except BaseException:
            os.replace(retired, out_dir)
            raise
    fsync_dir(out_dir.parent)
    for old in out_dir.parent.glob(f".{out_dir.name}.retired-*"):  # this one, and any a killed run left
        shutil.rmtree(old, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically exchange two paths; False where the kernel or file system cannot."""
    rename = getattr(_libc, "renameat2", None)
    if rename is None:
        return False
    if rename(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, f"cannot exchange {first} and {second}: {os.strerror(code)}")


def _restore_retired(out_dir: Path) -> None:
    if out_dir.exists():
        return
    retired = sorted(out_dir.parent.glob(f".{out_dir.name}.retired-*"), key=lambda p: p.stat().st_mtime)
    if retired:
        os.replace(retired[-1], out_dir)


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))
