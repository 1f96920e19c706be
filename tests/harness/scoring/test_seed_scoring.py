"""Results over training seeds (issue 19 part 4): the runs x tasks bootstrap, ``result/2``
records of multi-seed submissions (CIs over seeds and levels, per-seed per-level rows), and
:func:`harness.score` on a 3-seed submission (every seed with the protocol's own keys)."""

from __future__ import annotations

import json
import types

import numpy as np
import pyarrow.parquet as pq
import pytest

from harness.scoring import stats
from harness.scoring.protocols import FineTune, ZeroShot
from harness.scoring.records import (
    RECORD_SCHEMA,
    RecordError,
    ci_unit,
    has_seed_ci,
    make_record,
    score_layout,
    validate_record,
)
from harness.submissions import combine_seeds, load_submission
from tests.harness.submissions.submission_helpers import TINY, export_tiny

PROTOCOL = ZeroShot(attempts=4, max_steps=24)
BENCH = "handmade-s-v1"
REPS = 400


# ------------------------------------------------------------------------------ statistics
def test_runs_bootstrap_equals_hand_resampling():
    rng0 = np.random.default_rng(7)
    runs = rng0.random((3, 5))  # 3 seeds x 5 levels, rliable's layout
    reps, seed = 300, 11
    got = stats.aggregate_runs(runs, reps=reps, seed=seed)
    # by hand: per replicate and level, draw 3 seeds with replacement (one uniform per draw,
    # in (replicate, level, draw) order), average them, then the IQM / mean over levels
    u = np.random.default_rng(seed).random((reps, 5, 3))
    idx = np.minimum((u * 3).astype(int), 2)
    res = np.take_along_axis(np.broadcast_to(runs.T, (reps, 5, 3)), idx, axis=2).mean(-1)
    for name, f, method in (("mean", np.mean, "percentile"), ("iqm", stats.iqm, "basic")):
        dist = np.array([f(r) for r in res])
        value = float(f(runs.mean(axis=0)))
        lo, hi = np.quantile(dist, [0.025, 0.975])
        if method == "basic":
            lo, hi = 2 * value - hi, 2 * value - lo
        assert got[name]["value"] == pytest.approx(value, abs=1e-12)
        assert got[name]["ci_low"] == pytest.approx(max(lo, 0.0), abs=1e-12)
        assert got[name]["ci_high"] == pytest.approx(min(hi, 1.0), abs=1e-12)
    # the same draws as the (levels x runs) API on the transposed matrix
    assert got == stats.aggregate(runs.T, reps=reps, seed=seed)
    one = stats.stratified_bootstrap_runs_ci(runs, "mean", reps=reps, seed=seed)
    assert one == got["mean"]
    with pytest.raises(stats.StatsError, match=r"runs x tasks matrix has shape \(R, L\)"):
        stats.aggregate_runs(np.zeros(3))


def test_copies_of_one_seed_have_no_seed_spread():
    runs = np.tile(np.array([[0.0, 0.25, 0.5, 1.0]]), (3, 1))
    agg = stats.aggregate_runs(runs, reps=200)
    for k in ("iqm", "mean"):
        assert agg[k]["ci_low"] == agg[k]["value"] == agg[k]["ci_high"]


# ------------------------------------------------------------------------------ records
def _loaded(n_levels: int):
    bench = types.SimpleNamespace(
        id="handmade-s-v1", repo="kinetix-bench/levels", configs=["handmade-s"], split="test",
        level_set_hash="a" * 64, size="s",
    )  # fmt: skip
    return types.SimpleNamespace(
        benchmark=bench, revision="v1.0.0", commit="bundled:" + "b" * 64, origin="bundled",
        level_ids=[f"handmade-s/l{i}" for i in range(n_levels)],
        level_hashes=[f"{i:064x}" for i in range(n_levels)],
    )  # fmt: skip


def _outcomes(solved: np.ndarray) -> dict:
    return {
        "solved": solved.astype(bool),
        "died": np.zeros(solved.shape, bool),
        "return": solved.astype(np.float32),
        "length": np.full(solved.shape, 10, np.int32),
    }


class _Env:
    obs_type, action_type, frame_skip, setting = "flat", "multi_discrete", 2, "default"
    solver_name, num_solver_iterations = "pgs", 10


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    import jax

    from baselines.networks import init_params

    root = tmp_path_factory.mktemp("seed-members")

    def p(k):
        return init_params(
            "mlp-flat@v1", TINY, "flat", "multi_discrete", "s", jax.random.PRNGKey(k)
        )

    return [export_tiny(root / f"seed{k}", p(k)) for k in range(3)]


@pytest.fixture(scope="module")
def multi(members, tmp_path_factory):
    return load_submission(combine_seeds(members, tmp_path_factory.mktemp("m") / "tiny3"))


def _record(sub, outcomes, **kw):
    return make_record(
        submission=sub, loaded=_loaded(outcomes["solved"].shape[0]), protocol=kw.pop("protocol",
        PROTOCOL), outcomes=outcomes, env_config=_Env(), wall_clock_s=1.0,
        started_at="2026-01-01T00:00:00Z", bootstrap_reps=REPS, **kw,
    )  # fmt: skip


def test_multi_seed_record(multi, members):
    rng = np.random.default_rng(0)
    solved = rng.random((6, 3, 4)) < 0.4  # (L, P, K)
    rec, table = _record(multi, _outcomes(solved), submission_seeds=multi.seed_ids)
    assert rec["schema_version"] == RECORD_SCHEMA == "result/2"
    sr = rec["metrics"]["solve_rate"]
    assert sr["ci_unit"] == "submission_seed" and sr["ci_runs"] == 3
    assert sr["ci_unit_label"] == "training seeds x levels" and has_seed_ci(rec)
    runs = solved.mean(-1).T  # (P, L): seeds x levels
    agg = stats.aggregate_runs(runs, reps=REPS)
    assert sr["iqm"] == agg["iqm"]["value"] and sr["ci95"]["iqm"] == [
        agg["iqm"]["ci_low"], agg["iqm"]["ci_high"]
    ]  # fmt: skip
    assert [s["seed"] for s in sr["by_seed"]] == [0, 1, 2]
    assert sr["by_seed"][1]["mean"] == pytest.approx(solved[:, 1].mean())
    sub = rec["submission"]
    assert sub["n_seeds"] == 3 and sub["checkpoint_file"] == "seeds.json"
    assert [s["checkpoint_file"] for s in sub["seeds"]] == [
        f"seeds/{k}/model.safetensors" for k in range(3)
    ]
    assert rec["seeds"]["submission"] == [0, 1, 2]
    df = table.to_pandas()
    assert len(df) == 18 and df["submission_seed"].tolist()[:3] == [0, 1, 2]
    row = df[(df.level_id == "handmade-s/l2") & (df.submission_seed == 1)]
    assert float(row.solve_rate.iloc[0]) == pytest.approx(solved[2, 1].mean())
    # a record of seeds must say so, and only such a record may
    bad = json.loads(json.dumps(rec))
    bad["metrics"]["solve_rate"]["ci_unit"] = "eval_episode"
    with pytest.raises(RecordError, match=r"ci_unit' is 'eval_episode' but the submission has 3"):
        validate_record(bad)
    del bad["submission"]["seeds"]
    bad["metrics"]["solve_rate"]["ci_unit"] = "submission_seed"
    with pytest.raises(RecordError, match=r"'submission.seeds' is missing"):
        validate_record(bad)
    bad["metrics"]["solve_rate"].pop("ci_unit_label")
    with pytest.raises(RecordError, match=r"'metrics.solve_rate.ci_unit_label' is missing"):
        validate_record(bad)


def test_copies_of_one_seed_score_like_the_seed(members, tmp_path):
    single = load_submission(members[0])
    copies = load_submission(combine_seeds([members[0]] * 3, tmp_path / "copies"))
    solved = np.random.default_rng(1).random((8, 4)) < 0.5
    one, _ = _record(single, _outcomes(solved))
    three, _ = _record(
        copies, _outcomes(np.stack([solved] * 3, 1)), submission_seeds=copies.seed_ids
    )
    a, b = one["metrics"]["solve_rate"], three["metrics"]["solve_rate"]
    assert a["ci_unit"] == "eval_episode" and a["ci_unit_label"] == "episodes within levels"
    for k in ("iqm", "mean", "median", "optimality_gap"):
        assert b[k] == a[k]
    assert b["ci95"]["iqm"] == [b["iqm"], b["iqm"]]  # identical seeds: no spread over seeds


def test_finetune_layouts(multi):
    ft = FineTune(budget=4096, evaluation=PROTOCOL)
    solved = np.random.default_rng(2).random((5, 3, 3, 4)) < 0.5  # (L, P, S, K)
    rec, table = _record(
        multi, _outcomes(solved), protocol=ft, train_seeds=[0, 1, 2],
        submission_seeds=multi.seed_ids,
    )  # fmt: skip
    sr = rec["metrics"]["solve_rate"]
    assert sr["ci_unit"] == "submission_seed_x_train_seed" and sr["ci_runs"] == 9
    assert len(table) == 5 * 9
    single_rec, _ = _record(
        multi.seed_views()[0], _outcomes(solved[:, 0]), protocol=ft, train_seeds=[0, 1, 2]
    )
    s1 = single_rec["metrics"]["solve_rate"]
    assert s1["ci_unit"] == "train_seed" and s1["ci_unit_label"] == "fine-tuning seeds x levels"
    assert ci_unit(
        {"metrics": {"solve_rate": {}}, "protocol": {"protocol_id": "finetune-1e5"}}
    ) == ("train_seed")  # a result/1 record without the field
    matrix, unit = score_layout(solved.astype(float), [0, 1, 2], [0, 1, 2])
    assert matrix.shape == (5, 9) and unit == "submission_seed_x_train_seed"
    with pytest.raises(RecordError, match=r"expected \(L, K\)"):
        score_layout(np.zeros((5, 2, 3, 4, 1)), None, None)


def test_finetune_seeds_fine_tunes_every_seed_and_scratch_once(multi, monkeypatch):
    from harness.scoring import finetuning, seeds

    calls = []

    def fake(sub, loaded, protocol, env, *, cache_dir=None, progress=None, scratch=True):
        calls.append((sub.sha256, scratch))
        k = len(calls)
        out = {"finetuned": _outcomes(np.full((2, 3, 4), k % 2 == 0))}
        if scratch:
            out["scratch"] = _outcomes(np.zeros((2, 3, 4), bool))
        return out

    monkeypatch.setattr(finetuning, "run_finetune", fake)
    res = seeds.finetune_seeds(multi, None, None, None)
    assert [c[0] for c in calls] == [s.sha256 for s in multi.seeds]
    assert [c[1] for c in calls] == [True, False, False]
    assert res["finetuned"]["solved"].shape == (2, 3, 3, 4) and res["scratch"]["solved"].shape == (
        2, 3, 4
    )  # fmt: skip
    ft, sc = seeds.gain_matrices(res, True)
    assert ft.shape == (2, 9) and sc.shape == (2, 3)
    np.testing.assert_array_equal(ft[:, 3:6], 1.0)  # the second seed's three runs


# ------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def scored(members, multi, tmp_path_factory):
    from harness import score

    out = tmp_path_factory.mktemp("records")
    kw = dict(out=out, cache_dir=None, bootstrap_reps=REPS, offline=True)
    singles = [score(str(m), BENCH, PROTOCOL, **kw) for m in members]
    return singles, score(multi, BENCH, PROTOCOL, **kw)


def test_score_evaluates_every_seed_with_the_protocols_keys(scored):
    singles, res = scored
    assert res.outcomes["solved"].shape == (12, 3, 4)
    for p, single in enumerate(singles):  # the same keys: seed p equals its own single-seed run
        for k in ("solved", "return", "length"):
            np.testing.assert_array_equal(res.outcomes[k][:, p], single.outcomes[k])
    sr = res.record["metrics"]["solve_rate"]
    assert sr["ci_unit"] == "submission_seed" and res.record["submission"]["n_seeds"] == 3
    per_seed = [s.record["metrics"]["solve_rate"]["mean"] for s in singles]
    assert sr["mean"] == pytest.approx(np.mean(per_seed))
    assert [s["mean"] for s in sr["by_seed"]] == pytest.approx(per_seed)
    df = pq.read_table(res.per_level_path).to_pandas()
    assert sorted(set(df["submission_seed"])) == [0, 1, 2] and len(df) == 36


def test_leaderboard_marks_seed_cis(scored, tmp_path):
    from harness.leaderboard.markdown import markdown_table
    from harness.leaderboard.table import build_table, collect_records

    singles, res = scored
    table = build_table(collect_records([res.record_path.parent.parent]))
    row = table[table.submission_id == res.submission.id].iloc[0]
    assert row.ci_unit == "submission_seed" and row.n_seeds == 3
    other = table[table.submission_id == singles[0].submission.id].iloc[0]
    assert other.ci_unit == "eval_episode" and other.n_seeds == 1
    md = markdown_table(table)
    assert "| 3 training seeds |" in md and "| episodes |" in md and "**CI over**" in md
    from harness.leaderboard.page import build_html

    page = build_html(table)
    assert page.count('data-ci-unit="submission_seed"') == 1
    assert page.count('data-ci-unit="eval_episode"') == 3
    assert 'class="unit unit-seeds" title="training seeds x levels">3 training seeds<' in page


@pytest.mark.slow  # six one-update PPO runs on one level (about 1 min on 2 cores)
def test_finetune_of_a_multi_seed_submission_end_to_end(members, tmp_path_factory):
    import kinetix.handmade as hm
    from harness import score
    from harness.cli import main
    from kinetix import save_kinetix_json

    root = tmp_path_factory.mktemp("ft")
    entry, level, _ = hm.certified_levels("s", release="v1")[0]
    save_kinetix_json(level, root / "json" / f"{entry.name}.json")
    data = root / "one"
    args = ["levels", "import-kinetix", str(root / "json"), "--out", str(data), "--size", "s"]
    assert main([*args, "--name", "one", "--random-episodes", "0", "--json"]) == 0
    sub = load_submission(combine_seeds(members[:2], root / "two-seeds"))
    protocol = FineTune(budget=4096, train_seeds=(0, 1), evaluation=ZeroShot(attempts=2))
    res = score(sub, str(data), protocol, out=root / "rec", cache_dir=root / "cache",
                bootstrap_reps=REPS, offline=True)  # fmt: skip
    assert res.outcomes["finetuned"]["solved"].shape == (1, 2, 2, 2)  # (L, P, S, K)
    assert res.outcomes["scratch"]["solved"].shape == (1, 2, 2)
    assert len(list((root / "cache").glob("*.npz"))) == 1 * 2 * (2 + 1)  # scratch once
    sr = res.record["metrics"]["solve_rate"]
    assert sr["ci_unit"] == "submission_seed_x_train_seed" and sr["ci_runs"] == 4
    assert "finetune_gain" in res.record["metrics"]
    assert res.record["seeds"] == {"train": [0, 1], "eval": [0], "submission": [0, 1]}
