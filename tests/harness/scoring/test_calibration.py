"""Calibration (harness.scoring.calibration): constant actions, tiers, cache, measurements."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import kinetix.handmade as hm
from harness.scoring import calibration
from harness.scoring.calibration import CalibrationError, calibrate, tier
from kinetix import EnvConfig, KinetixEnv, level_hashes, stack_levels
from kinetix.constant_actions import CONSTANT_ACTIONS, constant_action_outcomes, summarise
from kinetix.handmade.measurements import (
    MeasurementsError,
    current_measurements,
    load_measurements,
    save_measurements,
)
from kinetix.rollout import first_episode


@pytest.fixture(scope="module")
def levels():
    cert = hm.certified_levels("s", release="v1")[:2]
    return [e.id for e, _, _ in cert], stack_levels([lv for _, lv, _ in cert], size="s")


@pytest.fixture(scope="module")
def sweep(levels):
    return constant_action_outcomes(levels[1], num_steps=48, chunk=1)


def test_constant_actions_are_every_multidiscrete_action():
    assert CONSTANT_ACTIONS.shape == (324, 6)
    assert len({tuple(a) for a in CONSTANT_ACTIONS}) == 324
    assert (CONSTANT_ACTIONS[0] == 0).all()  # index 0 is the no-op
    assert CONSTANT_ACTIONS[:, :4].max() == 2 and CONSTANT_ACTIONS[:, 4:].max() == 1


def test_sweep_equals_single_episodes(levels, sweep):
    env = KinetixEnv(EnvConfig(size="s"))
    lv = jax.tree.map(lambda x: x[1], levels[1])
    assert sweep["solved"].shape == (2, 324)
    for a in (0, 17, 323):
        action = CONSTANT_ACTIONS[a]
        out = first_episode(env, lambda k, o: action, lv, jax.random.PRNGKey(0), num_steps=48)
        assert bool(out["solved"]) == bool(sweep["solved"][1, a])
        np.testing.assert_allclose(float(out["return"]), sweep["return"][1, a], rtol=1e-5)
        assert int(out["length"]) == int(sweep["length"][1, a])


def test_summary_picks_fastest_solver_else_best_return():
    solved = np.zeros((2, 324), bool)
    solved[0, [5, 9]] = True
    length = np.full((2, 324), 49, np.int32)
    length[0, 5], length[0, 9] = 30, 12
    ret = np.zeros((2, 324), np.float32)
    ret[1, 40] = 0.7
    s = summarise({"solved": solved, "return": ret, "length": length})
    assert s["constant_solves"].tolist() == [2, 0]
    assert s["best_constant_action"][0].tolist() == CONSTANT_ACTIONS[9].tolist()
    assert s["best_constant_action"][1].tolist() == CONSTANT_ACTIONS[40].tolist()
    assert s["best_constant_return"][1] == pytest.approx(0.7)


@pytest.mark.parametrize(
    "row, want",
    [
        ({}, None),
        ({"scratch_solve_rate_1e5": 0.9}, "easy"),
        ({"scratch_solve_rate_1e5": 0.8}, "easy"),
        ({"scratch_solve_rate_1e5": 0.5}, None),  # 1e6 not measured yet
        ({"scratch_solve_rate_1e5": 0.5, "scratch_solve_rate_1e6": 0.5}, "medium"),
        ({"scratch_solve_rate_1e5": 0.0, "scratch_solve_rate_1e6": 0.49}, "hard"),
    ],
)
def test_tiers(row, want):
    assert tier(row) == want


def test_calibrate_without_ppo_is_cached(levels, tmp_path, monkeypatch):
    ids, lv = levels
    hashes = level_hashes(lv)
    rows = calibrate(lv, hashes, ids, ppo=False, cache_dir=tmp_path)
    assert [r["level_id"] for r in rows] == ids
    for r in rows:
        assert 0 <= r["constant_solves"] <= 324
        assert len(r["best_constant_action"]) == 6
        assert 0.0 <= r["random_solve_rate"] <= 1.0
        assert "tier" not in r

    def boom(*a, **k):
        raise AssertionError("recomputed a cached measurement")

    monkeypatch.setattr("kinetix.constant_actions.constant_action_outcomes", boom)
    monkeypatch.setattr("kinetix.outcomes.reference_outcomes", boom)
    assert calibrate(lv, hashes, ids, ppo=False, cache_dir=tmp_path) == rows


def test_an_interrupted_constant_stage_keeps_its_finished_calls(levels, tmp_path, monkeypatch):
    import kinetix.constant_actions as ca

    ids, lv = levels
    hashes = level_hashes(lv)
    monkeypatch.setattr(calibration, "CONSTANT_CHUNK", 1)  # one level per compiled call
    real, calls = ca.constant_action_outcomes, []

    def second_call_fails(part, **kw):
        calls.append(int(part.polygon_roles.shape[0]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(part, num_steps=16, **kw)

    monkeypatch.setattr(ca, "constant_action_outcomes", second_call_fails)
    with pytest.raises(KeyboardInterrupt):
        calibration._constant_rows(lv, hashes, tmp_path, None)
    assert calls == [1, 1]
    done = sorted(tmp_path.glob("constant-*.json"))
    assert len(done) == 1  # the first level's row survived the interruption
    calls.clear()
    monkeypatch.setattr(ca, "constant_action_outcomes", lambda part, **kw: (
        calls.append(1), real(part, num_steps=16, **kw))[1])  # fmt: skip
    rows = calibration._constant_rows(lv, hashes, tmp_path, None)
    assert calls == [1] and len(rows) == 2  # only the second level was computed again


def test_calibrate_refuses_bad_input(levels):
    ids, lv = levels
    with pytest.raises(CalibrationError, match="2 levels but 1 hashes"):
        calibrate(lv, ["x"], ids, ppo=False)
    with pytest.raises(CalibrationError, match="budgets: must be increasing"):
        calibrate(lv, level_hashes(lv), ids, budgets=(10, 5))


def test_budget_names():
    assert calibration.budget_name(100_000) == "1e5"
    assert calibration.budget_name(1_000_000) == "1e6"


def test_measurements_store_round_trip(levels, tmp_path):
    ids, lv = levels
    hashes = level_hashes(lv)
    path = tmp_path / "m.json"
    assert load_measurements(path) == {}
    rows = {ids[0]: {"level_hash": hashes[0], "constant_solves": 0}, ids[1]: {"level_hash": "0"}}
    save_measurements(rows, path)
    assert load_measurements(path) == rows
    assert set(current_measurements(path)) == {ids[0]}  # a stale hash is not current
    path.write_text(json.dumps({"schema": "other", "levels": {}}))
    with pytest.raises(MeasurementsError, match="schema"):
        load_measurements(path)
    path.write_text(
        json.dumps({"schema": "kinetix-bench/handmade-measurements/1", "levels": {"a": {}}})
    )
    with pytest.raises(MeasurementsError, match=r"levels\['a'\].level_hash"):
        load_measurements(path)


def test_broken_rules():
    from harness.scoring.calibration import broken_rules

    good = {"noop_solved": False, "constant_solves": 3, "random_solve_rate": 0.19}
    assert broken_rules(good) == []
    bad = {"noop_solved": True, "constant_solves": 4, "random_solve_rate": 0.2}
    got = broken_rules(bad)
    assert len(got) == 3 and "no-op" in got[0] and "4 of 324" in got[1] and "0.20" in got[2]


def test_v2_levels_meet_the_policy_free_rules():
    """Every level of release v2 is certified and its committed measurement row (current for
    the level's hash) breaks none of v2's policy-free rules; committed tiers follow the rows."""
    from harness.scoring.calibration import broken_rules

    v2 = [e for e in hm.REGISTRY.values() if "v2" in e.releases]
    certified = {e.id for s in "sml" for e, _, _ in hm.certified_levels(s, release="v2")}
    rows = current_measurements()
    assert v2, "release v2 has no levels"
    for entry in v2:
        assert entry.id in certified, f"{entry.id}: no valid witness"
        assert entry.id in rows, f"{entry.id}: no current measurements (levels calibrate)"
        assert broken_rules(rows[entry.id]) == [], entry.id
    for lid, row in rows.items():
        if "tier" in row:
            assert row["tier"] == tier(row), lid


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--size", "x"], "--size: unknown size"),
        (["--budget", "1e6,1e5"], "--budget: must be positive and increasing"),
        (["--level", "handmade-s/nope"], "--level: unknown level id"),
        (["--benchmark", "handmade-s-v1"], "--benchmark: give --store"),
        (["--benchmark", "handmade-s-v1", "--store", "x.json", "--size", "s"], "no --level"),
    ],
)
def test_calibrate_cli_refuses_bad_input(argv, message, capsys):
    from harness import cli

    assert cli.main(["levels", "calibrate", "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


def test_calibration_report(tmp_path, capsys):
    from harness import cli
    from harness.scoring.calibration_report import calibration_levels, calibration_summary

    def row(c, r, noop=False, **kw):
        base = {"level_hash": "h", "constant_solves": c, "random_solve_rate": r}
        return {**base, "noop_solved": noop, **kw}

    rows = {
        "kinetix-l/s/a": row(0, 0.0, scratch_solve_rate_1e5=0.9, tier="easy"),
        "kinetix-l/s/b": row(216, 0.5),
        "kinetix-l/l/c": row(2, 0.1, noop=True),
    }
    summary = calibration_summary(rows).splitlines()
    assert summary[2] == "| s | 2 | 0 | 1 | 1 | 1 | 108 | 0.25 | easy 1 |"
    assert summary[3] == "| l | 1 | 1 | 0 | 0 | 0 | 2 | 0.10 | - |"
    assert summary[4].startswith("| all | 3 | 1 | 1 | 1 | 1 |")
    per = calibration_levels(rows)
    assert "| `kinetix-l/s/a` | 0 | 0.00 | no | 0.90 | - | easy | - |" in per
    assert "the no-op policy solves it" in per
    assert calibration_summary({}) == "_No measurements._"

    store = tmp_path / "m.json"
    save_measurements(rows, store)
    assert cli.main(["levels", "calibrate", "--report", "--store", str(store), "--size", "l"]) == 0
    out = capsys.readouterr().out
    assert "kinetix-l/l/c" in out and "kinetix-l/s/a" not in out
    assert cli.main(["levels", "calibrate", "--report", "--store", str(store), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["level"] for x in lines] == sorted(rows)
