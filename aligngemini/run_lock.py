"""One run at a time per data root.

Two runs on the same data root would race on its stores and manifests, and each run's
start-up clears temp files. So every flow run that writes takes the data root's run lock
first: an exclusive `flock` on `<data_root>/.run.lock`, which the kernel releases when the
holder exits, however it exits (a killed run leaves no stale lock). The holder writes
its PID, host and a random token into the file, so a second run can name it.

A run's child processes (the stages of the `dvc repro` that the retrain flow runs) must
not wait for the lock their parent holds: the holder exports its token in `ENV`, and an
acquire that finds the lock held under the token it inherited goes on without taking it.
A token names one holding, so a stale or copied variable never matches a later holder.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aligngemini.config import RunsConfig
from aligngemini.errors import AlignGeminiError

log = logging.getLogger("aligngemini")
LOCK_NAME = ".run.lock"
ENV = "ALIGNGEMINI_RUN_LOCK"
_POLL_S = 0.2


class RunBusy(AlignGeminiError):
    """Another run holds the data root's run lock."""


def lock_path(data_root: Path) -> Path:
    return Path(data_root) / LOCK_NAME


def _holder(fd: int) -> tuple[str, str]:
    """(holder in words, its token) as the holder wrote them; empty while it is writing."""
    fields = os.pread(fd, 4096, 0).decode(errors="replace").split()
    if len(fields) != 3:
        return "a run that has not written its PID yet", ""
    pid, host, token = fields
    return f"PID {pid} on {host}", token


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


@contextmanager
def run_lock(data_root: Path, runs: RunsConfig) -> Iterator[None]:
    """Hold the run lock of `data_root` for the block. While another run holds it: with
    `runs.on_busy` 'fail', raise `RunBusy` at once; with 'wait', wait up to
    `runs.wait_timeout_s`, then raise it. In the holder's own process or its children, go
    on without waiting."""
    path = lock_path(data_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + runs.wait_timeout_s
        waiting = False
        while not _try_lock(fd):
            holder, token = _holder(fd)
            if token and token == os.environ.get(ENV):
                yield  # held for this very run, by this process or its parent
                return
            if runs.on_busy == "fail":
                raise RunBusy(f"{path}: another run on this data root holds the run lock ({holder}); wait for it to finish, or set runs.on_busy: wait in the params to queue behind it")
            if time.monotonic() >= deadline:
                raise RunBusy(f"{path}: another run on this data root still holds the run lock ({holder}) after {runs.wait_timeout_s:g} s of waiting (runs.wait_timeout_s)")
            if not waiting:
                log.warning("%s: another run on this data root holds the run lock (%s); waiting up to %g s for it", path, holder, runs.wait_timeout_s)
                waiting = True
            time.sleep(_POLL_S)
        token = uuid.uuid4().hex
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {token}\n".encode(), 0)
        inherited = os.environ.get(ENV)
        os.environ[ENV] = token
        try:
            yield
        finally:
            if inherited is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = inherited
            os.ftruncate(fd, 0)  # while still held: no one reads a finished holder's token
    finally:
        os.close(fd)
