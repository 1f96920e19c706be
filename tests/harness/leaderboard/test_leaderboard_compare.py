"""Comparing two results: P(A > B), paired IQM difference, per-level differences, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_leaderboard_table import COMMIT, level_hash, make_result

from harness.leaderboard.compare import compare_results, resolve_pair
from harness.leaderboard.paired import (
    align,
    paired_difference,
    probability_of_improvement,
    score_matrix,
)
from harness.leaderboard.table import LeaderboardError, collect_records, load_record_file
from harness.scoring import stats

A_RATES = [1.0, 0.5, 0.0, 0.25, 0.75]
B_RATES = [0.5, 0.5, 0.0, 0.75, 0.5]
REPS = 300


@pytest.fixture
def pair(tmp_path):
    a, _ = make_result(tmp_path, "alpha", A_RATES)
    b, _ = make_result(tmp_path, "beta", B_RATES, order=[4, 2, 0, 3, 1])  # rows shuffled
    return tmp_path, load_record_file(a), load_record_file(b)


def test_known_case(pair):
    _, a, b = pair
    res = compare_results(a, b, reps=REPS, seed=3)
    assert (res["benchmark_id"], res["protocol"], res["dataset_commit"]) == (
        "handmade-s-v1",
        "zero-shot@v1",
        COMMIT,
    )
    assert res["level_set_sha256"] == a.record["benchmark"]["level_set_sha256"]
    assert res["a"]["dataset_commit"] == res["b"]["dataset_commit"] == COMMIT
    assert res["n_levels"] == 5 and res["ci_unit"] == "eval_episode"
    want_iqm = float(stats.iqm(np.array(A_RATES)) - stats.iqm(np.array(B_RATES)))
    d = res["iqm_difference"]
    assert d["value"] == pytest.approx(want_iqm, abs=1e-12)
    assert d["ci_low"] <= d["value"] <= d["ci_high"] and d["ci_low"] < d["ci_high"]
    assert res["mean_difference"]["value"] == pytest.approx(np.mean(A_RATES) - np.mean(B_RATES))
    # per-level: A - B, largest |diff| first, ties by level id; paired by hash, not row order
    got = [(x["level_id"][-2:], x["a"], x["b"], x["diff"]) for x in res["per_level"]]
    assert got == [
        ("00", 1.0, 0.5, 0.5),
        ("03", 0.25, 0.75, -0.5),
        ("04", 0.75, 0.5, 0.25),
        ("01", 0.5, 0.5, 0.0),
        ("02", 0.0, 0.0, 0.0),
    ]
    assert res["n_levels_differ"] == 3
    assert res["per_level"][0]["level_hash"] == level_hash("handmade-s-v1", 0)
    json.dumps(res)  # JSON-ready


def test_probability_of_improvement_matches_the_general_computation(pair):
    _, a, b = pair
    res = compare_results(a, b, reps=REPS, seed=3)
    sa = score_matrix(pd.read_parquet(a.per_level_path))
    sb = score_matrix(pd.read_parquet(b.per_level_path))
    sa, sb = align(sa, sb)
    general = stats.probability_of_improvement(sa.entries, sb.entries, reps=REPS, seed=3)
    for k in ("value", "ci_low", "ci_high"):
        assert res["probability_of_improvement"][k] == pytest.approx(general[k], abs=1e-12)
    # and P(A > B) + P(B > A) = 1
    back = compare_results(b, a, reps=REPS, seed=3)["probability_of_improvement"]["value"]
    assert back + res["probability_of_improvement"]["value"] == pytest.approx(1.0)


def test_score_matrix_rebuilds_attempts(pair):
    _, a, _ = pair
    s = score_matrix(pd.read_parquet(a.per_level_path))
    assert s.unit == "eval_episode"
    assert [int(e.sum()) for e in s.entries] == [20, 10, 0, 5, 15]
    assert all(e.size == 20 for e in s.entries)
    df = pd.read_parquet(a.per_level_path)
    df.loc[0, "solve_rate"] = 0.333
    with pytest.raises(LeaderboardError, match="whole number of successes"):
        score_matrix(df)


def test_finetune_results_resample_seeds(tmp_path):
    fa = [[0.5, 1.0, 0.5], [0.0, 0.25, 0.5], [1.0, 1.0, 1.0]]
    fb = [[0.0, 0.5, 0.5], [0.0, 0.0, 0.5], [1.0, 0.75, 1.0]]
    a, _ = make_result(tmp_path, "a", fa, protocol="finetune-1e5")
    b, _ = make_result(tmp_path, "b", fb, protocol="finetune-1e5")
    res = compare_results(load_record_file(a), load_record_file(b), reps=REPS)
    assert res["ci_unit"] == "train_seed" and res["protocol"] == "finetune-1e5@v1"
    general = stats.probability_of_improvement(fa, fb, reps=REPS)
    assert res["probability_of_improvement"] == pytest.approx(general)
    gain = stats.finetune_gain(fa, fb, reps=REPS)
    assert res["iqm_difference"] == pytest.approx(gain["iqm"])


def test_paired_difference_needs_aligned_levels(pair):
    _, a, b = pair
    sa = score_matrix(pd.read_parquet(a.per_level_path))
    sb = score_matrix(pd.read_parquet(b.per_level_path))
    with pytest.raises(LeaderboardError, match="align"):
        paired_difference(sa, sb)
    with pytest.raises(LeaderboardError, match="align"):
        probability_of_improvement(sa, sb)


# ------------------------------------------------------------------------------- mismatches
def test_mismatched_benchmark_protocol_or_level_set_is_an_error(tmp_path):
    a = load_record_file(make_result(tmp_path, "a", [0.5, 0.5])[0])
    other_bench = load_record_file(make_result(tmp_path, "b", [0.5, 0.5], bench="handmade-m-v1")[0])
    other_set = load_record_file(
        make_result(tmp_path / "x", "a", [0.5, 0.5], commit="d" * 40, level_set="e" * 64)[0]
    )
    other_proto = load_record_file(
        make_result(tmp_path, "c", [[0.5], [0.5]], protocol="finetune-1e5")[0]
    )
    with pytest.raises(
        LeaderboardError, match="different benchmarks.*handmade-s-v1.*handmade-m-v1"
    ):
        compare_results(a, other_bench)
    with pytest.raises(LeaderboardError, match="different level sets"):
        compare_results(a, other_set)
    with pytest.raises(LeaderboardError, match="different protocols"):
        compare_results(a, other_proto)


def test_same_levels_on_hub_and_bundled_compare(tmp_path):
    bundled = "bundled:" + "b" * 64
    a = load_record_file(make_result(tmp_path / "a", "a", [0.5, 1.0], commit=bundled)[0])
    b = load_record_file(
        make_result(tmp_path / "b", "b", [0.5, 0.5], commit="d" * 40, origin="hub")[0]
    )
    res = compare_results(a, b, reps=200)
    assert res["a"]["dataset_origin"] == "bundled" and res["b"]["dataset_origin"] == "hub"
    assert res["b"]["dataset_commit"] == "d" * 40 and res["iqm_difference"]["value"] > 0


def test_different_level_sets_are_an_error(tmp_path):
    a = load_record_file(make_result(tmp_path, "a", [0.5, 0.5, 0.5])[0])
    b_json, b_pq = make_result(tmp_path, "b", [0.5, 0.5, 0.5])
    df = pd.read_parquet(b_pq)
    df.loc[2, "level_hash"] = "f" * 64
    df.to_parquet(b_pq)
    with pytest.raises(LeaderboardError, match="different levels"):
        compare_results(a, load_record_file(b_json))


def test_per_level_file_must_agree_with_the_record(tmp_path):
    a = load_record_file(make_result(tmp_path, "a", [0.5, 0.5])[0])
    b = load_record_file(make_result(tmp_path, "b", [0.5, 0.5], iqm=0.9, ci=(0.8, 1.0))[0])
    with pytest.raises(LeaderboardError, match="IQM of its levels"):
        compare_results(a, b)


# ------------------------------------------------------------------------------- resolving
def test_resolve_by_submission_id_and_path(tmp_path):
    make_result(tmp_path / "r", "alpha", [0.5, 0.5], created="2026-01-01T00:00:00Z")
    make_result(tmp_path / "s", "alpha", [1.0, 0.5], created="2026-03-01T00:00:00Z")
    b_json, _ = make_result(tmp_path / "r", "beta", [0.0, 0.5])
    # alpha has none on that level set
    make_result(tmp_path / "t", "beta", [0.0, 0.5], commit="d" * 40, level_set="d" * 64)
    recs = collect_records([tmp_path / "r", tmp_path / "s", tmp_path / "t"])

    a, b = resolve_pair("alpha", "beta", recs, benchmark="handmade-s-v1")
    assert a.record["created_at"] == "2026-03-01T00:00:00Z" and b.dataset_commit == COMMIT
    a, b = resolve_pair("alpha", str(b_json), recs, benchmark="handmade-s-v1")
    assert b.path == b_json
    with pytest.raises(LeaderboardError, match="no zero-shot@v1 record of submission 'gamma'"):
        resolve_pair("alpha", "gamma", recs, benchmark="handmade-s-v1")
    with pytest.raises(LeaderboardError, match="--benchmark"):
        resolve_pair("alpha", "beta", recs)
    with pytest.raises(LeaderboardError, match="not on handmade-m-v1"):
        resolve_pair(str(b_json), str(b_json), [], benchmark="handmade-m-v1")
    with pytest.raises(LeaderboardError, match="no such record file"):
        resolve_pair(str(tmp_path / "missing.json"), "beta", recs, benchmark="handmade-s-v1")


def test_resolve_picks_the_newest_common_level_set(tmp_path):
    for commit, t in (("d" * 40, "2026-01-01T00:00:00Z"), ("e" * 40, "2026-02-01T00:00:00Z")):
        for sub, rates in (("alpha", [0.5, 0.5]), ("beta", [0.0, 0.5])):
            make_result(
                tmp_path / commit[:1], sub, rates, commit=commit, level_set=commit[:1] * 64,
                created=t,
            )  # fmt: skip
    make_result(
        tmp_path / "f", "alpha", [0.5, 0.5], commit="f" * 40, level_set="f" * 64,
        created="2026-05-01T00:00:00Z",
    )  # fmt: skip
    recs = collect_records([tmp_path])
    notes = []
    a, b = resolve_pair("alpha", "beta", recs, benchmark="handmade-s-v1", note=notes.append)
    assert a.key[2] == b.key[2] == "e" * 64
    assert notes and "2 level sets" in notes[0]
