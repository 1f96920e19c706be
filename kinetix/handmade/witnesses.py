"""The committed witness store: ``witnesses.json`` beside this module.

Format (schema 1)::

    {"schema": 1, "witnesses": {"handmade-s/lift_to_shelf": {
        "actions": [[0,0,0,0,1,0], ...],      # int8 MultiDiscrete rows, T <= 256
        "method": "cem", "length": 57, "level_hash": "...", "seed": 0, ...}}}

Writes are atomic (temporary file + rename). A witness is only valid for the level whose hash
it records; :func:`certified_levels` drops levels without a matching witness.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from kinetix.planner import check_witness

__all__ = [
    "WITNESS_PATH",
    "load_witnesses",
    "save_witnesses",
    "certified_levels",
    "witness_actions",
]

WITNESS_PATH = Path(__file__).with_name("witnesses.json")
SCHEMA = 1


def load_witnesses(path: str | os.PathLike | None = None) -> dict[str, dict]:
    """id -> witness record (empty when the file does not exist)."""
    path = Path(path or WITNESS_PATH)
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: unknown witness schema {data.get('schema')!r}")
    return dict(data["witnesses"])


def save_witnesses(records: dict[str, dict], path: str | os.PathLike | None = None) -> None:
    """Writes the store atomically, ids sorted, one action row per line-ish (compact)."""
    from kinetix.atomic_io import atomic_write

    path = Path(path or WITNESS_PATH)
    for k, r in records.items():
        check_witness(np.asarray(r["actions"]), what=f"witness of {k}")
    body = {"schema": SCHEMA, "witnesses": {k: records[k] for k in sorted(records)}}
    text = json.dumps(body, indent=1, separators=(",", ": "))
    atomic_write(path, lambda f: f.write((text + "\n").encode()))


def witness_actions(record: dict) -> np.ndarray:
    """The checked int8 (T, 6) actions of a witness record."""
    return check_witness(np.asarray(record["actions"]))


def certified_levels(size: str | None = None, path=None, release: str | None = None):
    """``[(HandmadeLevel, Level, actions)]`` for registered levels whose stored witness matches
    the level's current hash; ``release`` (``"v1"``, ``"v2"``) keeps that release's levels only
    (None: every release)."""
    from kinetix.handmade.registry import REGISTRY
    from kinetix.hashing import level_hash

    store = load_witnesses(path)
    out = []
    for lid, entry in REGISTRY.items():
        if size is not None and entry.size != size:
            continue
        if release is not None and release not in entry.releases:
            continue
        rec = store.get(lid)
        if rec is None:
            continue
        lv = entry.build()
        if rec.get("level_hash") != level_hash(lv):
            continue
        out.append((entry, lv, witness_actions(rec)))
    return out
