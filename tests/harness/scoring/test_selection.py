"""Snapshots during training and checkpoint selection on a validation split."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from baselines.ppo import config as C
from baselines.ppo import list_snapshots, snapshot_path, train
from harness.scoring.selection import SelectionError, select_checkpoint


def _cfg(snapshot_every: int) -> C.TrainConfig:
    return C.TrainConfig(
        name="tiny-select",
        ppo=C.PPOConfig(
            lr=1e-3,
            num_envs=8,
            num_steps=8,
            num_minibatches=2,
            update_epochs=1,
            total_timesteps=4 * 64,
        ),  # fmt: skip
        env=C.EnvSettings(size="s", obs_type="flat"),
        network=C.NetworkSettings(
            "mlp-flat@v1",
            {"actor_depth": 1, "critic_depth": 1, "actor_width": 32, "critic_width": 32},
        ),
        levels=C.LevelSourceConfig(
            source="handmade", ids=("handmade-s/lift_to_shelf", "handmade-s/tilt_plate")
        ),
        logging=C.LoggingConfig(
            progress=False, plot=False, eval_episodes=0, snapshot_every=snapshot_every
        ),
    ).validate()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    result = train(_cfg(snapshot_every=3), out)
    assert int(result.info["updates"]) == 4
    return out


@pytest.fixture
def as_validation(monkeypatch):
    """handmade-s-v1 (12 bundled levels) stands in for a validation split: a real one has 1,000
    levels, minutes of CPU per snapshot."""
    from harness.scoring import selection

    monkeypatch.setattr(selection, "SELECTION_SPLITS", ("validation", "test"))
    return "handmade-s-v1"


def test_snapshots_are_submissions_at_the_period_and_the_end(run_dir):
    snaps = list_snapshots(run_dir)
    assert [u for u, _ in snaps] == [3, 4]  # every 3 updates, and the last update
    for update, folder in snaps:
        assert folder == snapshot_path(run_dir, update)
        assert sorted(p.name for p in folder.iterdir()) == [
            "README.md",
            "config.json",
            "model.safetensors",
        ]
        assert f"| env steps | {update * 64:,} |" in (folder / "README.md").read_text()
        assert json.loads((folder / "config.json").read_text())["architecture"] == "mlp-flat@v1"
    # the last snapshot is the exported final policy
    final = (run_dir / "submission" / "model.safetensors").read_bytes()
    assert (snaps[-1][1] / "model.safetensors").read_bytes() == final
    assert (snaps[0][1] / "model.safetensors").read_bytes() != final


def test_no_snapshots_without_the_setting(tmp_path):
    train(dataclasses.replace(_cfg(0), ppo=dataclasses.replace(_cfg(0).ppo, total_timesteps=64)),
          tmp_path / "r")  # fmt: skip
    assert list_snapshots(tmp_path / "r") == []
    with pytest.raises(SelectionError, match="no snapshots"):
        select_checkpoint(tmp_path / "r", "random-s-validation-v1")


def test_snapshot_every_is_validated():
    with pytest.raises(C.ConfigError, match="logging.snapshot_every"):
        dataclasses.replace(_cfg(0), logging=C.LoggingConfig(snapshot_every=-1)).validate()


@pytest.mark.parametrize(
    "benchmark, match",
    [
        ("random-s-test-v1", "test split"),
        ("handmade-s-v1", "test split"),
        ("no-such-benchmark", "not a registered benchmark"),
    ],
)
def test_selection_refuses_anything_but_a_validation_split(run_dir, benchmark, match):
    with pytest.raises(SelectionError, match=match):
        select_checkpoint(run_dir, benchmark)
    assert not (run_dir / "selection.json").exists()


def test_selection_scores_every_snapshot_and_keeps_the_best(run_dir, as_validation, tmp_path):
    seen = []
    result = select_checkpoint(
        run_dir, as_validation, cache_dir=None, offline=True, bootstrap_reps=200,
        on_snapshot=seen.append, out=tmp_path / "best",
    )  # fmt: skip
    rows = result["candidates"]
    assert [r["update"] for r in rows] == [3, 4] and seen == rows
    best = max(rows, key=lambda r: (r["iqm"], r["mean"], -r["update"]))
    assert result["selected"] == best
    for r in rows:  # each snapshot's record is written under the run and agrees with the row
        (rec_path,) = (run_dir / "selection" / f"update_{r['update']:06d}").rglob("*.json")
        rec = json.loads(rec_path.read_text())
        assert rec["result_id"] == r["result_id"]
        assert rec["benchmark"]["benchmark_id"] == as_validation
        assert np.isclose(rec["metrics"]["solve_rate"]["iqm"], r["iqm"])
        assert r["iqm_ci95"][0] <= r["iqm"] <= r["iqm_ci95"][1]
        assert r["env_steps"] == r["update"] * 64
    chosen = snapshot_path(run_dir, best["update"])
    out = tmp_path / "best"
    assert (out / "model.safetensors").read_bytes() == (chosen / "model.safetensors").read_bytes()
    card = (out / "README.md").read_text()
    assert "## Checkpoint selection" in card and as_validation in card
    assert f"| {best['update']} (selected) |" in card
    on_disk = json.loads((run_dir / "selection.json").read_text())
    assert on_disk["selected"] == best and on_disk["selected_path"] == str(out)
    assert on_disk["protocol"] == "zero-shot@v1" and "`zero-shot@v1`" in card


def test_select_cli(run_dir, as_validation, tmp_path, capsys):
    from harness.cli import main

    rc = main(
        ["select", str(run_dir), "--benchmark", as_validation, "--last", "1", "--no-cache",
         "--offline", "--out", str(tmp_path / "sel"), "--json"]
    )  # fmt: skip
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [x["event"] for x in lines] == ["snapshot", "selected"]
    assert lines[0]["update"] == 4 and lines[1]["selected"]["update"] == 4
    assert (tmp_path / "sel" / "model.safetensors").is_file()
    assert main(["select", str(tmp_path / "missing"), "--benchmark", as_validation]) == 2
