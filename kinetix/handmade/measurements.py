"""The committed difficulty measurements of the hand-made levels (``measurements.json``).

Written by ``kinetix-bench levels calibrate`` (:mod:`harness.scoring.calibration`), read by the
dataset build (measured columns) and by the tests that check v2's rules. One entry per level
id::

    {"schema": "kinetix-bench/handmade-measurements/1",
     "levels": {"handmade-s/lift_to_shelf": {"level_hash": "...", "simulator": "jax2d 0.1.1 ...",
                "noop_solved": false, "random_solve_rate": 0.03, "constant_solves": 0,
                "best_constant_action": [0, 0, 0, 0, 1, 0], "best_constant_return": 0.4,
                "scratch_solve_rate_1e5": 1.0, "scratch_seed_rates_1e5": [1.0, 1.0, 1.0],
                "scratch_solve_rate_1e6": null, "tier": "easy"}, ...}}

An entry is valid for a level only while its ``level_hash`` equals the level's current hash
(:func:`current_measurements`): a redesigned level must be measured again.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = [
    "MEASUREMENTS_SCHEMA",
    "MeasurementsError",
    "default_measurements_path",
    "load_measurements",
    "save_measurements",
    "current_measurements",
]

MEASUREMENTS_SCHEMA = "kinetix-bench/handmade-measurements/1"


class MeasurementsError(ValueError):
    """The measurements file is missing a field or malformed."""


def default_measurements_path() -> Path:
    return Path(__file__).with_name("measurements.json")


def load_measurements(path=None) -> dict[str, dict]:
    """``{level_id: row}``; an absent file is an empty store."""
    path = Path(path) if path is not None else default_measurements_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise MeasurementsError(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict) or data.get("schema") != MEASUREMENTS_SCHEMA:
        raise MeasurementsError(f"{path}: schema must be {MEASUREMENTS_SCHEMA!r}")
    levels = data.get("levels")
    if not isinstance(levels, dict):
        raise MeasurementsError(f"{path}: 'levels' must be an object of level id -> row")
    for lid, row in levels.items():
        if not isinstance(row, dict) or not isinstance(row.get("level_hash"), str):
            raise MeasurementsError(f"{path}: levels[{lid!r}].level_hash missing")
    return levels


def save_measurements(rows: dict[str, dict], path=None) -> Path:
    """Writes ``{level_id: row}`` atomically, sorted by id (stable diffs)."""
    from kinetix.atomic_io import atomic_write_text

    path = Path(path) if path is not None else default_measurements_path()
    body = {"schema": MEASUREMENTS_SCHEMA, "levels": dict(sorted(rows.items()))}
    atomic_write_text(path, json.dumps(body, indent=1, sort_keys=True) + "\n")
    return path


def current_measurements(path=None) -> dict[str, dict]:
    """The stored rows whose ``level_hash`` matches the registered level as built now."""
    from kinetix.handmade.registry import REGISTRY
    from kinetix.hashing import level_hash

    out = {}
    for lid, row in load_measurements(path).items():
        entry = REGISTRY.get(lid)
        if entry is not None and row["level_hash"] == level_hash(entry.build()):
            out[lid] = row
    return out
