"""Leaderboard results per difficulty tier of the hand-made levels (issue 18's ladder).

A hand-made level's tier (``easy``, ``medium``, ``hard``) is measured by ``levels calibrate``
from from-scratch PPO (:func:`harness.scoring.calibration.tier`) and stored in the committed
calibration store (:mod:`kinetix.handmade.measurements`), valid while the level hash matches.
:func:`tier_table` splits every leaderboard row's per-level results by those tiers: one row per
(leaderboard row, tier) with the tier's level count and the IQM and mean of the per-level solve
rates, each with a 95% stratified-bootstrap CI (:func:`harness.scoring.stats.aggregate`). The CI
resamples **episodes**: a level's entries are its attempts' solve indicators (``solve_rate x
attempts`` ones per per-level row, pooled over the row's training and evaluation seeds), the
levels are the strata. Levels without a tier (not measured, or measured before PPO placed
them) are left out; rows with no tiered level give no tier rows.

:func:`tier_markdown` and :func:`tier_html` render the table for the README and the page
(empty strings when nothing is tiered).
"""

from __future__ import annotations

import html
import math
import os

import numpy as np
import pandas as pd

__all__ = ["TIERS", "TIER_COLUMNS", "level_tiers", "tier_table", "tier_markdown", "tier_html"]

TIERS = ("easy", "medium", "hard")

TIER_COLUMNS = (
    "benchmark_id",
    "protocol",
    "level_set_sha256",
    "submission_id",
    "verified",
    "tier",
    "n_levels",
    "iqm",
    "iqm_ci_low",
    "iqm_ci_high",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
)


def level_tiers(measurements: str | os.PathLike | None = None) -> dict[tuple[str, str], str]:
    """``{(level_id, level_hash): tier}`` for every tiered row of the calibration store
    (default: the committed one)."""
    from kinetix.handmade.measurements import load_measurements

    return {
        (lid, row["level_hash"]): row["tier"]
        for lid, row in load_measurements(measurements).items()
        if row.get("tier") in TIERS
    }


def _entries(rows: pd.DataFrame) -> np.ndarray:
    """One level's attempt indicators from its per-level rows (``solve_rate`` x ``attempts``)."""
    out = []
    for rate, n in zip(rows["solve_rate"], rows["attempts"], strict=True):
        n = int(n)
        ones = int(round(float(rate) * n))
        out += [1.0] * ones + [0.0] * (n - ones)
    return np.asarray(out, dtype=np.float64)


def tier_table(
    table: pd.DataFrame,
    per_level: pd.DataFrame,
    *,
    measurements: str | os.PathLike | None = None,
    tiers: dict[tuple[str, str], str] | None = None,
    reps: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-tier results (module doc) of the leaderboard ``table`` from its ``per_level`` rows
    (:func:`~harness.leaderboard.table.load_per_level`). ``tiers`` overrides the store."""
    from harness.scoring.stats import aggregate

    tiers = level_tiers(measurements) if tiers is None else tiers
    out = []
    if not tiers or table.empty or per_level.empty:
        return pd.DataFrame({c: [] for c in TIER_COLUMNS})
    keys = ["benchmark_id", "protocol", "level_set_sha256", "submission_id"]
    pairs = zip(per_level.level_id, per_level.level_hash, strict=True)
    per = per_level.assign(_tier=[tiers.get(p) for p in pairs])
    per = per[per["_tier"].notna()]
    if "attempts" not in per.columns:
        per = per.assign(attempts=1)
    groups = dict(list(per.groupby(keys, sort=False)))
    for r in table.itertuples(index=False):
        g = groups.get(tuple(getattr(r, k) for k in keys))
        if g is None:
            continue
        for t in TIERS:
            part = g[g["_tier"] == t]
            if part.empty:
                continue
            levels = [_entries(rows) for _, rows in part.groupby("level_hash", sort=True)]
            agg = aggregate(levels, reps=reps, seed=seed)
            out.append(
                {
                    **{k: getattr(r, k) for k in keys},
                    "verified": int(getattr(r, "verified", 1)),
                    "tier": t,
                    "n_levels": len(levels),
                    **{
                        f"{m}{suffix}": agg[m][field]
                        for m in ("iqm", "mean")
                        for suffix, field in (
                            ("", "value"),
                            ("_ci_low", "ci_low"),
                            ("_ci_high", "ci_high"),
                        )  # fmt: skip
                    },
                }
            )
    return pd.DataFrame(out, columns=list(TIER_COLUMNS))


def _ci(v, lo, hi) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def _cells(tiers: pd.DataFrame):
    """(benchmark, protocol, submission, {tier: (n, iqm cell, mean cell)}) per result."""
    keys = ["benchmark_id", "protocol", "level_set_sha256", "submission_id", "verified"]
    for key, g in tiers.groupby(keys, sort=False):
        by = {
            r.tier: (
                r.n_levels,
                _ci(r.iqm, r.iqm_ci_low, r.iqm_ci_high),
                _ci(r.mean, r.mean_ci_low, r.mean_ci_high),
            )  # fmt: skip
            for r in g.itertuples(index=False)
        }
        name = key[3] + ("" if key[4] else " (unverified)")
        yield key[0], key[1], name, by


def tier_markdown(tiers: pd.DataFrame) -> str:
    """A "Results per tier" Markdown block ('' when no result has a tiered level)."""
    from harness.leaderboard.markdown import md_escape

    if tiers.empty:
        return ""
    head = ["benchmark", "protocol", "submission"] + [f"{t} IQM [95% CI] (levels)" for t in TIERS]
    lines = [
        "",
        "### Results per tier",
        "",
        "Each hand-made level's tier is measured from from-scratch PPO (`levels calibrate`): "
        "**easy** when it reaches 0.8 at 1e5 env steps, **medium** when it reaches 0.5 at 1e6, "
        "**hard** below that. The CIs resample each level's episodes (levels are the strata).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for bench, proto, name, by in _cells(tiers):
        cells = [md_escape(bench), md_escape(proto), md_escape(name)]
        cells += [f"{by[t][1]} ({by[t][0]})" if t in by else "-" for t in TIERS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tier_html(tiers: pd.DataFrame) -> str:
    """The page's "Results per tier" ``<section>`` ('' when no result has a tiered level)."""
    if tiers.empty:
        return ""
    e = lambda x: html.escape(str(x), quote=True)
    head = "".join(f"<th>{t} IQM [95% CI]</th><th>{t} mean</th>" for t in TIERS)
    rows = []
    for bench, proto, name, by in _cells(tiers):
        cells = "".join(
            f'<td title="{by[t][0]} levels">{e(by[t][1])}</td><td>{e(by[t][2])}</td>'
            if t in by
            else "<td>-</td><td>-</td>"
            for t in TIERS
        )
        rows.append(f"<tr><td>{e(bench)}</td><td>{e(proto)}</td><td>{e(name)}</td>{cells}</tr>")
    return (
        '<section class="group tiers" id="tiers"><h2>Results per tier</h2>'
        '<p class="note">Hand-made levels by measured tier (from-scratch PPO: <b>easy</b> at 0.8 '
        "by 1e5 env steps, <b>medium</b> at 0.5 by 1e6, <b>hard</b> below). CIs resample each "
        "level's episodes.</p>"
        f"<table><thead><tr><th>benchmark</th><th>protocol</th><th>submission</th>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></section>"
    )
