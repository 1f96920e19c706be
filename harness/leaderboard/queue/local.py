"""A submission queue in a local folder (see :mod:`harness.leaderboard.queue` for the request
format)::

    <folder>/<request_id>.json      one request each
    <folder>/logs/<request_id>.log  the log of a FAILED run
    <folder>/.queue.lock            the lock file (empty; never deleted)

Concurrency: every write is a temporary file in the same folder renamed over the target
(``os.replace``), so a reader sees a whole old or a whole new file, never a torn one. Every
read-modify-write (enqueue, claim, finish, fail, requeue) runs under an exclusive ``flock`` on
``.queue.lock``: checking that a request is PENDING and marking it RUNNING is one atomic step,
so several processes can enqueue and claim at once without losing or double-running anything.
The kernel drops a dead process's ``flock``, so a crashed worker never leaves a stale lock (its
RUNNING request is reset with ``kinetix-bench queue requeue``). Locks are held for milliseconds
(never during an evaluation). Needs POSIX ``fcntl`` (Linux, macOS) and a filesystem with working
``flock`` (local disks; NFSv4).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from harness.leaderboard.queue.base import RequestQueue
from harness.leaderboard.queue.request import QueueError, Request
from kinetix.atomic_io import atomic_write_bytes

__all__ = ["LocalQueue", "LOCK_NAME"]

LOCK_NAME = ".queue.lock"


class LocalQueue(RequestQueue):
    """A queue in ``folder`` (created on the first write)."""

    shared = False

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.location = str(self.folder)

    def _path(self, rid: str) -> Path:
        return self.folder / f"{rid}.json"

    def log_location(self, rid: str) -> str:
        return str(self.folder / "logs" / f"{rid}.log")

    @contextlib.contextmanager
    def _locked(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            raise QueueError("a local queue needs POSIX file locks (fcntl)") from None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as e:
            raise QueueError(f"queue folder {self.folder}: cannot lock it ({e})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _load(self, path: Path) -> Request:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise QueueError(f"{path}: cannot read the request ({e})") from None
        req = Request.from_json(data, str(path))
        if req.request_id != path.stem:
            raise QueueError(f"{path}: holds request {req.request_id!r}, not {path.stem!r}")
        return req

    def _read(self, rid: str) -> Request | None:
        path = self._path(rid)
        if not path.is_file():
            return None
        return self._load(path)

    def _read_all(self) -> list[Request]:
        if not self.folder.is_dir():
            return []
        paths = sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))
        return [self._load(p) for p in paths]

    def _mutate(
        self,
        rid: str,
        fn: Callable[[Request | None], Request],
        message: str,
        files: dict[str, bytes] | None = None,
    ) -> Request:
        with self._locked():
            new = fn(self._read(rid))
            for rel, data in (files or {}).items():
                atomic_write_bytes(self.folder / rel, data)
            atomic_write_bytes(self._path(rid), new.to_json())
        return new
