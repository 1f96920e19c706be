"""Paired score matrices of two results on the same levels, rebuilt from per-level Parquet.

A per-level file (see :mod:`harness.scoring.records`) holds one row per level (zero-shot:
``train_seed`` null) or per (level, training seed) (fine-tuning). :func:`score_matrix` turns it into
the score matrix that :mod:`harness.scoring.stats` takes:

* zero-shot: level ``l`` has ``attempts`` entries, ``k = round(solve_rate * attempts)`` ones
  and the rest zeros (the per-attempt solve indicators, in no particular order: every statistic
  here is invariant to their order); the bootstrap unit is the attempt;
* fine-tuning: level ``l`` has one entry per training seed, that seed's solve rate; the
  bootstrap unit is the training seed;
* a multi-seed submission (``submission_seed`` set): one entry per submission seed (zero-shot)
  or per (submission seed, fine-tuning seed) pair, that run's solve rate; the unit is the seed
  (rliable's runs).

:func:`align` pairs two matrices level by level through the level hashes (the order of rows in
the files does not matter). :func:`paired_difference` is the difference of a statistic between
the two results with a stratified-bootstrap CI: strata are levels, and each replicate resamples
both results' entries within every level, independently (this is
:func:`harness.scoring.stats.finetune_gain`, which is exactly that paired difference).

:func:`probability_of_improvement` is :func:`harness.scoring.stats.probability_of_improvement`, with
a shortcut for 0/1 entries (zero-shot attempts): there, per level, P(X > Y) + P(X = Y) / 2
``= p_a (1 - p_b) + (p_a p_b + (1 - p_a)(1 - p_b)) / 2 = 1/2 + (p_a - p_b) / 2``, so over levels
P(A > B) = 1/2 + (mean(A) - mean(B)) / 2 exactly, for the data and for every bootstrap
replicate. Both functions draw the same paired resamples from the same seed, so the shortcut
returns the same interval as the general O(K^2)-per-level computation (up to rounding) in a
fraction of the time (1,000 levels x 20 attempts x 10,000 replicates: 17 s -> 0 s extra).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.leaderboard.record_files import LeaderboardError

__all__ = [
    "LevelScores",
    "score_matrix",
    "align",
    "paired_difference",
    "probability_of_improvement",
]


@dataclasses.dataclass(frozen=True)
class LevelScores:
    """One result's entries per level: ``level_ids`` and ``level_hashes`` (L,), ``entries`` a
    list of L 1-D float arrays (attempt outcomes in {0, 1}, or per-run solve rates), ``unit``
    a key of :data:`harness.scoring.records.CI_UNITS`."""

    level_ids: list[str]
    level_hashes: list[str]
    entries: list[np.ndarray]
    unit: str

    def level_means(self) -> np.ndarray:
        """(L,) solve rate per level."""
        return np.array([e.mean() for e in self.entries], np.float64)


def score_matrix(per_level: pd.DataFrame, name: str = "per-level file") -> LevelScores:
    """The score matrix of one result from its per-level rows (module docstring)."""
    need = {"level_id", "level_hash", "train_seed", "attempts", "solve_rate"}
    missing = need - set(per_level.columns)
    if missing:
        raise LeaderboardError(f"{name}: missing columns {', '.join(sorted(missing))}")
    if per_level.empty:
        raise LeaderboardError(f"{name}: no rows")
    seeded = per_level["train_seed"].notna()
    if seeded.any() and not seeded.all():
        raise LeaderboardError(f"{name}: train_seed is set on some rows only")
    subs = per_level.get("submission_seed", pd.Series([None] * len(per_level))).notna()
    if subs.any() and not subs.all():
        raise LeaderboardError(f"{name}: submission_seed is set on some rows only")
    runs = [
        c for c, flag in (("submission_seed", subs.all()), ("train_seed", seeded.all())) if flag
    ]
    ids, hashes, entries = [], [], []
    groups = per_level.groupby("level_hash", sort=False)
    for h, g in groups:
        ids.append(str(g["level_id"].iloc[0]))
        hashes.append(str(h))
        if runs:  # one entry per run: a seed, or a (submission seed, fine-tuning seed) pair
            entries.append(g.sort_values(runs)["solve_rate"].to_numpy(np.float64))
            continue
        if len(g) != 1:
            raise LeaderboardError(f"{name}: level {ids[-1]} has {len(g)} rows (expected 1)")
        n = int(g["attempts"].iloc[0])
        rate = float(g["solve_rate"].iloc[0])
        k = round(rate * n)
        if n < 1 or abs(rate * n - k) > 1e-6 or not 0 <= k <= n:
            raise LeaderboardError(
                f"{name}: level {ids[-1]}: solve_rate {rate} is not a whole number of "
                f"successes out of {n} attempts"
            )
        entries.append(np.concatenate([np.ones(k), np.zeros(n - k)]))
    unit = {
        ("submission_seed", "train_seed"): "submission_seed_x_train_seed",
        ("submission_seed",): "submission_seed",
        ("train_seed",): "train_seed",
    }.get(tuple(runs), "eval_episode")
    return LevelScores(ids, hashes, entries, unit)


def align(a: LevelScores, b: LevelScores, names: Sequence[str] = ("A", "B")):
    """``(a, b)`` reordered so that level ``i`` is the same level (by hash) in both, in ``a``'s
    order. Different level sets are a :class:`LeaderboardError`; different bootstrap units are
    not (a multi-seed submission's seeds against a single policy's episodes: each result is
    resampled by its own unit, within the same levels), except fine-tuning seeds against
    anything else (another protocol)."""
    if a.unit != b.unit and "train_seed" in (a.unit, b.unit):
        raise LeaderboardError(
            f"{names[0]} has one entry per {a.unit}, {names[1]} per {b.unit}: not comparable"
        )
    only_a = set(a.level_hashes) - set(b.level_hashes)
    only_b = set(b.level_hashes) - set(a.level_hashes)
    if only_a or only_b:
        ida = dict(zip(a.level_hashes, a.level_ids, strict=True))
        idb = dict(zip(b.level_hashes, b.level_ids, strict=True))
        ex = [ida[h] for h in sorted(only_a)][:3] + [idb[h] for h in sorted(only_b)][:3]
        raise LeaderboardError(
            f"{names[0]} and {names[1]} were scored on different levels ({len(only_a)} only in "
            f"{names[0]}, {len(only_b)} only in {names[1]}; e.g. {', '.join(ex)})"
        )
    pos = {h: i for i, h in enumerate(b.level_hashes)}
    order = [pos[h] for h in a.level_hashes]
    b2 = LevelScores(
        [b.level_ids[i] for i in order],
        list(a.level_hashes),
        [b.entries[i] for i in order],
        b.unit,
    )
    return a, b2


def paired_difference(
    a: LevelScores,
    b: LevelScores,
    *,
    stats: Sequence[str] = ("iqm", "mean"),
    reps: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, dict[str, float]]:
    """``stat(A) - stat(B)`` over levels with a ``1 - alpha`` interval (the statistic's
    :data:`harness.scoring.stats.CI_METHODS` method) from a stratified bootstrap paired by level
    (``a`` and ``b`` aligned by :func:`align`). Returns
    ``{stat: {"value", "ci_low", "ci_high"}}``."""
    from harness.scoring.stats import finetune_gain

    if a.level_hashes != b.level_hashes:
        raise LeaderboardError("paired_difference: align the two results first")
    return finetune_gain(a.entries, b.entries, reps=reps, seed=seed, alpha=alpha, stats=stats)


def _binary(s: LevelScores) -> bool:
    return all(bool(np.all((e == 0.0) | (e == 1.0))) for e in s.entries)


def probability_of_improvement(
    a: LevelScores,
    b: LevelScores,
    *,
    reps: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    mean_difference: dict[str, float] | None = None,
) -> dict[str, float]:
    """P(A > B) with its ``1 - alpha`` interval (``{"value", "ci_low", "ci_high"}``); see the
    module docstring. ``mean_difference``: :func:`paired_difference`'s ``"mean"`` entry for the
    same ``reps``, ``seed`` and ``alpha``, to reuse (0/1 entries only)."""
    from harness.scoring import stats

    if a.level_hashes != b.level_hashes:
        raise LeaderboardError("probability_of_improvement: align the two results first")
    if not (_binary(a) and _binary(b)):
        return stats.probability_of_improvement(
            a.entries, b.entries, reps=reps, seed=seed, alpha=alpha
        )
    if mean_difference is None:
        mean_difference = paired_difference(
            a, b, stats=("mean",), reps=reps, seed=seed, alpha=alpha
        )["mean"]
    return {k: 0.5 + 0.5 * float(mean_difference[k]) for k in ("value", "ci_low", "ci_high")}
