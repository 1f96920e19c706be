"""Atomic file writes: a reader sees the whole old file or the whole new one, never a torn one.

:func:`atomic_write` writes to a temporary file in the target's folder (created if missing),
flushes and fsyncs it, makes it world-readable (0644) and renames it over the target with
``os.replace`` (atomic on one filesystem). On any error, including ``KeyboardInterrupt``, the
temporary file is removed and the target is left as it was. Every package of the project
(``kinetix``, ``baselines``, ``harness``) writes its files through here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "replace_dir"]


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Calls ``write(file)`` on a binary temporary file next to ``path``, then renames it to
    ``path``. The parent folder is created when missing."""
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def replace_dir(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Puts the finished folder ``tmp`` at ``out`` (a sibling): an existing ``out`` is moved
    aside first and removed only after the rename, so ``out`` is never a partial folder."""
    import shutil
    from pathlib import Path

    tmp, out = Path(tmp), Path(out)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
