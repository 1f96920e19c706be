"""The hand-made level gallery for the leaderboard page: thumbnails and who solves what.

:func:`hand_made_gallery` returns one dict per level of a hand-made benchmark (default
``handmade-all-v1``, read from the bundled dataset copy), in dataset order::

    {"level_id": "handmade-s/tilt_plate", "level_hash": "...", "config": "handmade-s",
     "thumbnail_png": b"\\x89PNG...", "solved_by": {"random": 1.0, "noop": 0.0, ...},
     "measured": {"tier": None, "constant_solves": 216, "random_solve_rate": 1.0, ...}}

``thumbnail_png`` is a ``size`` x ``size`` PNG drawn by :func:`kinetix.render_io.thumbnail` (the
renderer of ``kinetix-bench levels gallery``). Drawing all 50 hand-made levels takes a few
seconds on a CPU (reading and rendering ~7 s, most of it the first compile), so thumbnails are
cached as ``{cache_dir}/{level_hash}-{size}px-v{N}.png`` (default
``~/.cache/kinetix-bench/thumbnails``): a level's hash fixes its picture. ``solved_by`` maps a
submission id to its solve rate on that level (mean over training seeds) from the table's
zero-shot rows on hand-made benchmarks, matched by level hash; a submission with several such
results uses ``benchmark``'s, then the newest. ``measured`` is the level's row of the committed
calibration store (:mod:`kinetix.handmade.measurements`, written by ``levels calibrate``) when its
level hash matches, restricted to :data:`MEASURED_FIELDS` (``tier`` None until scratch PPO has
placed it), else None.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["hand_made_gallery", "default_thumbnail_cache", "MEASURED_FIELDS"]

#: The calibration fields a gallery card shows (``levels calibrate``; see
#: :mod:`harness.scoring.calibration`): the difficulty tier, the no-op, how many of the 324
#: constant actions solve, the random policy's solve rate and from-scratch PPO per budget.
MEASURED_FIELDS = (
    "tier",
    "noop_solved",
    "constant_solves",
    "random_solve_rate",
    "scratch_solve_rate_1e5",
    "scratch_solve_rate_1e6",
)

#: Bump when the thumbnail drawing changes (old cache entries are then ignored).
THUMBNAIL_VERSION = 1
_HANDMADE = ("handmade-s", "handmade-m", "handmade-l")


def default_thumbnail_cache() -> Path:
    return Path(os.path.expanduser("~/.cache/kinetix-bench/thumbnails"))


def _level_index(dataset: Path, configs, split: str) -> list[tuple[str, str, str, Path]]:
    """(level_id, level_hash, config, file) for every level of the configs, in order."""
    import pyarrow.parquet as pq

    from harness.levels.manifest import split_files

    out = []
    for c in configs:
        for f in split_files(dataset, c, split):
            t = pq.read_table(f, columns=["level_id", "level_hash"])
            ids, hashes = t["level_id"].to_pylist(), t["level_hash"].to_pylist()
            out += [(i, h, c, f) for i, h in zip(ids, hashes, strict=True)]
    return out


def _png(frame: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _render(files: list[Path], wanted: set[str], size: int) -> dict[str, bytes]:
    """``{level_hash: png}`` for the wanted hashes found in ``files``."""
    import jax

    from kinetix.level_files import read_level_parquet
    from kinetix.render_io import thumbnail

    out = {}
    for f in files:
        levels, table = read_level_parquet(f, size="l", device=False)  # one program
        for i, h in enumerate(table["level_hash"].to_pylist()):
            if h in wanted:
                level = jax.tree.map(lambda x, i=i: x[i], levels)
                out[h] = _png(thumbnail(level, size))
    return out


def _thumbnails(index, size: int, cache: Path | None, log) -> dict[str, bytes]:
    pngs: dict[str, bytes] = {}
    name = lambda h: f"{h}-{size}px-v{THUMBNAIL_VERSION}.png"
    if cache is not None:
        for _, h, _, _ in index:
            p = cache / name(h)
            if p.is_file():
                pngs[h] = p.read_bytes()
    missing = {h for _, h, _, _ in index if h not in pngs}
    if missing:
        log(f"drawing {len(missing)} level thumbnails ({size} px)")
        files = list(dict.fromkeys(f for _, h, _, f in index if h in missing))
        drawn = _render(files, missing, size)
        pngs.update(drawn)
        if cache is not None:
            from kinetix.atomic_io import atomic_write

            cache.mkdir(parents=True, exist_ok=True)
            for h, data in drawn.items():
                atomic_write(cache / name(h), lambda f, d=data: f.write(d))
    return pngs


def _solved_by(
    table: pd.DataFrame, per_level: pd.DataFrame | None, root, benchmark: str
) -> dict[str, dict[str, float]]:
    from harness.leaderboard.table import load_per_level
    from harness.levels.registry import BENCHMARKS

    handmade = {b for b, e in BENCHMARKS.items() if set(e.configs) <= set(_HANDMADE)}
    rows = table[table["benchmark_id"].isin(handmade) & (table["protocol_id"] == "zero-shot")]
    if "verified" in rows.columns:  # in-process (unverified) scores are not shown as solvers
        rows = rows[rows["verified"].astype(int) != 0]
    if rows.empty:
        return {}
    if per_level is None:
        if root is None:
            return {}
        per_level = load_per_level(rows, root)
    rows = rows.assign(_pref=(rows["benchmark_id"] != benchmark).astype(int))
    rows = rows.sort_values(["_pref", "created_at"], ascending=[True, False], kind="stable")
    keys = ("benchmark_id", "protocol", "dataset_commit", "submission_id")
    keys = [k for k in keys if k in per_level.columns]
    if "submission_id" not in keys:
        return {}
    groups = dict(list(per_level.groupby(keys, sort=False)))
    out: dict[str, dict[str, float]] = {}
    for r in rows.itertuples(index=False):
        key = tuple(getattr(r, k) for k in keys)
        g = groups.get(key)
        if g is None:
            continue
        rates = g.groupby("level_hash", sort=False)["solve_rate"].mean()
        for h, rate in rates.items():
            out.setdefault(h, {}).setdefault(r.submission_id, float(rate))
    return out


def _measured(index, path) -> dict[str, dict]:
    """``{level_hash: measured fields}`` from the calibration store, for rows whose hash matches."""
    from kinetix.handmade.measurements import load_measurements

    store = load_measurements(path)
    out = {}
    for lid, h, _, _ in index:
        row = store.get(lid)
        if row is not None and row.get("level_hash") == h:
            out[h] = {k: row.get(k) for k in MEASURED_FIELDS}
    return out


def hand_made_gallery(
    table: pd.DataFrame,
    per_level: pd.DataFrame | None = None,
    *,
    root: str | os.PathLike | None = None,
    benchmark: str = "handmade-all-v1",
    dataset: str | os.PathLike | None = None,
    size: int = 96,
    cache_dir: str | os.PathLike | None = None,
    cache: bool = True,
    measurements: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict]:
    """The gallery entries (module docstring) for ``benchmark``'s levels.

    ``table``: the leaderboard table; ``per_level``: its per-level rows
    (:func:`~harness.leaderboard.table.load_per_level`), read from ``root`` when None (no
    ``solved_by`` when both are None). ``dataset``: the level dataset folder (default: the
    bundled copy). ``cache``: False draws every thumbnail afresh and writes no cache.
    ``measurements``: the calibration store (default: the committed one)."""
    from harness.leaderboard.record_files import LeaderboardError
    from harness.levels.loading import bundled_levels_dir
    from harness.levels.manifest import verify_dataset
    from harness.levels.registry import get_benchmark

    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 500:
        raise LeaderboardError(f"gallery thumbnail size must be 8..500 px, got {size!r}")
    bench = get_benchmark(benchmark)
    data = Path(dataset) if dataset is not None else bundled_levels_dir()
    verify_dataset(data, configs=list(bench.configs), deep=False)
    index = _level_index(data, bench.configs, bench.split)
    folder = None
    if cache:
        folder = Path(cache_dir) if cache_dir is not None else default_thumbnail_cache()
    pngs = _thumbnails(index, size, folder, log or (lambda s: None))
    solved = _solved_by(table, per_level, root, benchmark)
    measured = _measured(index, measurements)
    return [
        {
            "level_id": lid,
            "level_hash": h,
            "config": config,
            "thumbnail_png": pngs[h],
            "solved_by": dict(sorted(solved.get(h, {}).items())),
            "measured": measured.get(h),
        }
        for lid, h, config, _ in index
    ]
