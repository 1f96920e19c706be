"""Measured difficulty of levels: constant actions, the random policy, from-scratch PPO.

A benchmark level is calibrated by what simple and learning agents achieve on it:

* ``constant_solves`` / ``best_constant_action``: how many of the 324 constant MultiDiscrete
  actions solve it, and the best one (:mod:`kinetix.constant_actions`);
* ``random_solve_rate``: 64 first episodes of the uniform random policy
  (:func:`kinetix.outcomes.reference_outcomes`);
* ``scratch_solve_rate_<budget>``: the fine-tuning protocol's PPO (``finetune-<budget>@v1``,
  entity transformer, fresh weights) on that level alone, then the protocol's 20 zero-shot
  attempts; the mean over 3 training seeds, with the per-seed rates kept
  (``scratch_seed_rates_<budget>``). The 1e6 budget runs only where 1e5 is below
  :data:`EASY_AT_1E5`.

:func:`tier` turns the measurements into the ladder: ``easy`` (scratch >= 0.8 at 1e5),
``medium`` (below that, >= 0.5 at 1e6), ``hard`` (below 0.5 at 1e6, certified by a witness).

Everything is cached per (measurement, level hash, simulator version) under ``cache_dir``
(constant actions after every call of :data:`CONSTANT_CHUNK` levels, PPO cells through
:func:`harness.scoring.finetuning.train_and_evaluate_cells`), so a stopped calibration
resumes where it stopped; :func:`calibrate` returns one JSON-ready row per level.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = [
    "CALIBRATION_ARCH",
    "BUDGETS",
    "EASY_AT_1E5",
    "MEDIUM_AT_1E6",
    "CalibrationError",
    "calibrate",
    "tier",
    "broken_rules",
    "MAX_CONSTANT_SOLVES",
    "MAX_RANDOM_SOLVE_RATE",
]

#: The from-scratch learner of the calibration: the protocol's default architecture.
CALIBRATION_ARCH = "entity-transformer@v1"
BUDGETS = (100_000, 1_000_000)
EASY_AT_1E5 = 0.8
MEDIUM_AT_1E6 = 0.5
#: v2's policy-free rules: at most this many of the 324 constant actions solve a level ...
MAX_CONSTANT_SOLVES = 3
#: ... and the random policy's solve rate is below this (the no-op never solves it).
MAX_RANDOM_SOLVE_RATE = 0.2
#: Levels per compiled call of the constant-action stage; each call's rows are cached at once.
CONSTANT_CHUNK = 4


class CalibrationError(ValueError):
    """The calibration cannot run as asked."""


def tier(row: dict) -> str | None:
    """``easy`` / ``medium`` / ``hard`` from a calibration row; ``None`` until measured."""
    at_1e5 = row.get("scratch_solve_rate_1e5")
    if at_1e5 is None:
        return None
    if at_1e5 >= EASY_AT_1E5:
        return "easy"
    at_1e6 = row.get("scratch_solve_rate_1e6")
    if at_1e6 is None:
        return None
    return "medium" if at_1e6 >= MEDIUM_AT_1E6 else "hard"


def broken_rules(row: dict) -> list[str]:
    """The policy-free rules of ``handmade-*-v2`` that a calibration row breaks ([] if none)."""
    broken = []
    if row.get("noop_solved"):
        broken.append("the no-op policy solves it")
    if row.get("constant_solves", 0) > MAX_CONSTANT_SOLVES:
        broken.append(
            f"{row['constant_solves']} of 324 constant actions solve it "
            f"(at most {MAX_CONSTANT_SOLVES})"
        )
    if row.get("random_solve_rate", 0.0) >= MAX_RANDOM_SOLVE_RATE:
        broken.append(
            f"random-policy solve rate {row['random_solve_rate']:.2f} "
            f"(below {MAX_RANDOM_SOLVE_RATE} required)"
        )
    return broken


def _cache_path(cache: Path | None, what: str, level_hash: str) -> Path | None:
    if cache is None:
        return None
    from harness.levels.build import simulator_version

    key = hashlib.sha256(json.dumps([what, level_hash, simulator_version()]).encode())
    return cache / f"{what}-{key.hexdigest()[:32]}.json"


def _cached(path: Path | None):
    if path is not None and path.is_file():
        return json.loads(path.read_text())
    return None


def _store(path: Path | None, value) -> None:
    if path is None:
        return
    from kinetix.atomic_io import atomic_write_text

    atomic_write_text(path, json.dumps(value, sort_keys=True) + "\n")


def _constant_rows(levels, hashes, cache, progress) -> list[dict]:
    import jax

    from kinetix.constant_actions import constant_action_outcomes, summarise

    rows: list[dict | None] = [_cached(_cache_path(cache, "constant", h)) for h in hashes]
    todo = [i for i, r in enumerate(rows) if r is None]
    # one compiled call of CONSTANT_CHUNK levels at a time (the last group padded with its last
    # level, so one program serves all), each group cached as soon as it is done: an
    # interrupted run loses at most one group
    for lo in range(0, len(todo), CONSTANT_CHUNK):
        group = todo[lo : lo + CONSTANT_CHUNK]
        idx = np.array(group + [group[-1]] * (CONSTANT_CHUNK - len(group)))
        part = jax.tree.map(lambda x, idx=idx: np.asarray(x)[idx], levels)
        out = summarise(constant_action_outcomes(part, chunk=CONSTANT_CHUNK))
        for j, i in enumerate(group):
            row = {
                "constant_solves": int(out["constant_solves"][j]),
                "best_constant_action": out["best_constant_action"][j].tolist(),
                "best_constant_return": float(out["best_constant_return"][j]),
            }
            _store(_cache_path(cache, "constant", hashes[i]), row)
            rows[i] = row
        if progress is not None:
            progress(len(group))
    return rows  # type: ignore[return-value]


def _random_rows(levels, hashes, cache) -> list[dict]:
    import jax

    from kinetix.outcomes import reference_outcomes

    rows: list[dict | None] = [_cached(_cache_path(cache, "reference", h)) for h in hashes]
    todo = [i for i, r in enumerate(rows) if r is None]
    if todo:
        part = jax.tree.map(lambda x: np.asarray(x)[np.array(todo)], levels)
        out = reference_outcomes(part, [hashes[i] for i in todo])
        for j, i in enumerate(todo):
            row = {
                "noop_solved": bool(out["noop_solved"][j]),
                "random_solve_rate": float(out["random_solve_rate"][j]),
            }
            _store(_cache_path(cache, "reference", hashes[i]), row)
            rows[i] = row
    return rows  # type: ignore[return-value]


def budget_name(budget: int) -> str:
    from harness.scoring.protocols import FineTune

    return FineTune(budget=budget).name.removeprefix("finetune-")


def _scratch_rates(levels, hashes, budget, cache, chunk, progress) -> np.ndarray:
    """(L, S) solve rates of from-scratch PPO at ``budget`` (mean over the 20 attempts)."""
    from harness.scoring.finetuning import scratch_owner, train_and_evaluate_cells
    from harness.scoring.protocols import FineTune
    from kinetix.env import EnvConfig

    size = levels.size.name
    protocol = FineTune(budget=budget)
    out = train_and_evaluate_cells(
        CALIBRATION_ARCH,
        None,
        None,
        levels,
        hashes,
        protocol,
        EnvConfig(size=size),
        owner=scratch_owner(CALIBRATION_ARCH, {}),
        start="scratch",
        cache_dir=None if cache is None else cache / "cells",
        chunk=chunk,
        progress=progress,
    )
    return out["solved"].astype(np.float64).mean(axis=-1)


def calibrate(
    levels,
    hashes: list[str],
    ids: list[str],
    *,
    budgets: tuple[int, ...] = BUDGETS,
    cache_dir: str | os.PathLike | None = None,
    chunk: int = 36,
    ppo: bool = True,
    log: Callable[[str], None] | None = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> list[dict]:
    """Calibration rows for a stacked batch of levels of ONE env size (see the module doc).

    Each row: ``level_id``, ``level_hash``, ``noop_solved``, ``random_solve_rate``,
    ``constant_solves``, ``best_constant_action``, ``best_constant_return`` and, with ``ppo``,
    ``scratch_solve_rate_<b>`` / ``scratch_seed_rates_<b>`` per budget (later budgets only for
    levels below :data:`EASY_AT_1E5` at the first) and ``tier``. ``progress(stage, total)``
    returns the per-stage ``update(n)`` callback.
    """
    log = log or (lambda s: None)
    n = int(np.shape(levels.polygon_roles)[0])
    if len(hashes) != n or len(ids) != n:
        raise CalibrationError(f"levels: {n} levels but {len(hashes)} hashes, {len(ids)} ids")
    if sorted(budgets) != list(budgets) or not budgets:
        raise CalibrationError(f"budgets: must be increasing and non-empty, got {budgets}")
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)

    def bar(stage, total):
        return progress(stage, total) if progress is not None else None

    rows = [{"level_id": i, "level_hash": h} for i, h in zip(ids, hashes, strict=True)]
    for row, extra in zip(rows, _random_rows(levels, hashes, cache), strict=True):
        row.update(extra)
    log(f"{n} levels: no-op and random policy measured")
    for row, extra in zip(
        rows, _constant_rows(levels, hashes, cache, bar("constant", n)), strict=True
    ):
        row.update(extra)
    log(f"{n} levels: 324 constant actions measured")
    if not ppo:
        return rows
    import jax

    active = np.arange(n)
    for b in budgets:
        if active.size == 0:
            break
        name = budget_name(b)
        part = jax.tree.map(lambda x, a=active: np.asarray(x)[a], levels)
        cells = active.size * 3
        rates = _scratch_rates(
            part, [hashes[i] for i in active], b, cache, chunk, bar(f"scratch {name}", cells)
        )
        for j, i in enumerate(active):
            rows[i][f"scratch_seed_rates_{name}"] = [round(float(r), 4) for r in rates[j]]
            rows[i][f"scratch_solve_rate_{name}"] = round(float(rates[j].mean()), 4)
        log(f"{active.size} levels: scratch PPO at {name} measured")
        active = np.array(
            [i for i in active if rows[i][f"scratch_solve_rate_{name}"] < EASY_AT_1E5], int
        )
    for row in rows:
        row["tier"] = tier(row)
    return rows
