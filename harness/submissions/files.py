"""The files of a submission folder: their names, size caps and safe readers.

Every reader here refuses what it cannot parse with a :class:`SubmissionError` naming the file;
nothing is unpickled or executed. Shared by the loaders of every submission format
(:mod:`harness.submissions.loading`, :mod:`harness.submissions.seeds`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.submissions.errors import SubmissionError

__all__ = [
    "MODEL_FILE",
    "KINETIX_PARAMS_FILE",
    "CONFIG_FILE",
    "CARD_FILE",
    "MAX_MODEL_BYTES",
    "MAX_TEXT_BYTES",
    "sha256_file",
    "read_text",
    "read_json",
    "check_size",
]

MODEL_FILE = "model.safetensors"
KINETIX_PARAMS_FILE = "params.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"

#: Default cap on a weights file (bytes; each seed's file of a multi-seed submission).
MAX_MODEL_BYTES = 512 * 1024 * 1024
#: Cap on ``config.json``, ``README.md`` and ``seeds.json`` (bytes).
MAX_TEXT_BYTES = 1024 * 1024


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_text(path: Path) -> str:
    """The file as UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{path}: not UTF-8 text ({e})") from None


def read_json(path: Path) -> dict:
    """The file as one JSON object."""
    text = read_text(path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise SubmissionError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise SubmissionError(f"{path}: must be a JSON object, got {type(raw).__name__}")
    return raw


def check_size(path: Path, cap: int, what: str) -> int:
    """The file's size in bytes, refused above ``cap``."""
    n = path.stat().st_size
    if n > cap:
        raise SubmissionError(f"{path}: {n} bytes exceeds the {what} cap of {cap} bytes")
    return n
