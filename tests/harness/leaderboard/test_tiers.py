"""harness.leaderboard.tiers: results per measured tier, on the committed leaderboard records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.leaderboard.page import build_html
from harness.leaderboard.table import build_table, collect_records, load_per_level
from harness.leaderboard.tiers import (
    TIER_COLUMNS,
    _entries,
    level_tiers,
    tier_html,
    tier_markdown,
    tier_table,
)

ROOT = Path(__file__).resolve().parents[3] / "leaderboard"


@pytest.fixture(scope="module")
def committed():
    table = build_table(collect_records([ROOT / "records"]), root=ROOT)
    table = table[table.benchmark_id == "handmade-s-v1"].reset_index(drop=True)
    return table, load_per_level(table, ROOT)


@pytest.fixture(scope="module")
def tiers(committed):
    """A made-up ladder over the 12 v1 S levels: 4 easy, 4 medium, 4 hard."""
    _, per = committed
    pairs = sorted(set(zip(per.level_id, per.level_hash, strict=True)))
    assert len(pairs) == 12
    return {p: ("easy", "medium", "hard")[i // 4] for i, p in enumerate(pairs)}


def test_entries_rebuild_the_attempts():
    rows = pd.DataFrame({"solve_rate": [0.25, 1.0], "attempts": [20, 3]})
    got = _entries(rows)
    assert got.shape == (23,) and got.sum() == 8


def test_tier_table_splits_each_result(committed, tiers):
    table, per = committed
    out = tier_table(table, per, tiers=tiers, reps=200)
    assert list(out.columns) == list(TIER_COLUMNS)
    assert len(out) == 3 * len(table)
    for r in out.itertuples(index=False):
        assert r.n_levels == 4
        mine = per[
            (per.submission_id == r.submission_id)
            & (per.protocol == r.protocol)
            & np.array([tiers[p] == r.tier for p in zip(per.level_id, per.level_hash, strict=True)])
        ]
        want = mine.groupby("level_hash").apply(
            lambda g: np.average(g.solve_rate, weights=g.attempts), include_groups=False
        )
        assert r.mean == pytest.approx(want.mean(), abs=1e-9)
        assert r.mean_ci_low <= r.mean <= r.mean_ci_high
        assert r.iqm_ci_low <= r.iqm <= r.iqm_ci_high


def test_untiered_levels_give_nothing(committed, tmp_path):
    table, per = committed
    assert tier_table(table, per, tiers={}).empty
    assert level_tiers(tmp_path / "missing.json") == {}
    assert tier_markdown(tier_table(table, per, tiers={})) == ""
    assert tier_html(tier_table(table, per, tiers={})) == ""
    # the committed store: only rows whose tier PPO has placed
    assert all(t in ("easy", "medium", "hard") for t in level_tiers().values())


def test_markdown_and_page(committed, tiers):
    table, per = committed
    out = tier_table(table, per, tiers=tiers, reps=100)
    md = tier_markdown(out)
    assert "### Results per tier" in md
    assert md.count("\n| handmade-s-v1 |") == len(table)
    doc = build_html(table, per, tiers=out, generated_at="2026-12-07 12:00 UTC")
    assert '<section class="group tiers" id="tiers">' in doc
    assert doc.count("<tr><td>handmade-s-v1</td>") == len(table)
    assert 'id="tiers"' not in build_html(table, per, generated_at="2026-12-07 12:00 UTC")
