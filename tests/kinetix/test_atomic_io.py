"""Atomic writes: whole files or nothing, parents created, no temporary files left behind."""

from __future__ import annotations

import os
import stat

import pytest

from kinetix.atomic_io import atomic_write, atomic_write_bytes, atomic_write_text


def test_writes_create_parents_and_replace_whole_files(tmp_path):
    path = tmp_path / "a" / "b" / "f.bin"
    atomic_write_bytes(path, b"one")
    assert path.read_bytes() == b"one"
    atomic_write_text(path, "zwei \u00fc")
    assert path.read_text(encoding="utf-8") == "zwei \u00fc"
    assert os.listdir(path.parent) == ["f.bin"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_or_interrupted_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")
    for exc in (OSError("disk full"), KeyboardInterrupt()):

        def broken(f, exc=exc):
            f.write(b"half")
            raise exc

        with pytest.raises(type(exc)):
            atomic_write(path, broken)
        assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]
