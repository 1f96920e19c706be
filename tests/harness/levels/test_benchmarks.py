"""Benchmark registry and loading: local datasets, the bundled fallback, integrity errors, CLI.

One small dataset is built per module with ``levels import-kinetix`` from three hand-made S
levels exported to Kinetix JSON (random-policy outcomes off, so it stays fast).
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

import kinetix.handmade as hm
from harness import levels as hb
from harness.cli import main
from harness.levels.manifest import (
    DatasetError,
    DatasetIntegrityError,
    load_manifest,
    write_manifest,
)
from kinetix import level_hash, save_kinetix_json


@pytest.fixture(scope="module")
def kinetix_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinetix_json")
    for entry, level, _ in hm.certified_levels("s", release="v1")[:3]:
        save_kinetix_json(level, root / f"{entry.name}.json")
    return root


@pytest.fixture(scope="module")
def dataset(kinetix_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "mine"
    rc = main(
        [
            "levels",
            "import-kinetix",
            str(kinetix_dir),
            "--out",
            str(out),
            "--size",
            "s",
            "--name",
            "mine",
            "--random-episodes",
            "0",
            "--json",
        ]
    )
    assert rc == 0
    return out


def _copy(dataset, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(dataset, dst)
    return dst


def test_import_kinetix_defines_a_benchmark(dataset, kinetix_dir):
    m = load_manifest(dataset)
    assert list(m["configs"]) == ["kinetix-s"]
    b = m["benchmarks"]["mine-v1"]
    assert b["num_levels"] == 3 and b["configs"] == ["kinetix-s"] and b["split"] == "test"
    ids = pq.read_table(dataset / m["configs"]["kinetix-s"]["splits"]["test"]["files"][0])
    names = sorted(p.stem for p in kinetix_dir.glob("*.json"))
    assert ids["level_id"].to_pylist() == [f"kinetix-s/{n}" for n in names]


def test_load_local_benchmark(dataset):
    for spec in (str(dataset), f"{dataset}::mine-v1"):
        got = hb.load_benchmark(spec)
        assert got.origin == "local" and got.benchmark.id == "mine-v1"
        assert len(got.level_ids) == 3 and got.levels.polygon_roles.shape == (3, 5)
        assert got.commit.startswith("bundled:")
        assert got.level_hashes == got.table["level_hash"].to_pylist()
    with pytest.raises(DatasetError, match="no benchmark 'nope-v1'"):
        hb.load_benchmark(f"{dataset}::nope-v1")
    with pytest.raises(DatasetError, match="unknown benchmark id 'nope-v9'"):
        hb.load_benchmark("nope-v9")


def test_levels_match_the_json_they_came_from(dataset, kinetix_dir):
    from kinetix import load_kinetix_json

    got = hb.load_benchmark(str(dataset))
    for i, lid in enumerate(got.level_ids):
        src = load_kinetix_json(kinetix_dir / f"{lid.split('/', 1)[1]}.json", size="s")
        assert got.level_hashes[i] == level_hash(src)


def test_level_set_hash_mismatch_is_an_error(dataset, tmp_path):
    d = _copy(dataset, tmp_path)
    m = load_manifest(d)
    m["benchmarks"]["mine-v1"]["level_set_hash"] = "0" * 64
    write_manifest(d, m)
    with pytest.raises(DatasetIntegrityError, match="level-set hash"):
        hb.load_benchmark(str(d))


def test_tampered_level_content_is_caught(dataset, tmp_path):
    """A row whose physics changed but whose level_hash and file hashes were rewritten."""
    from harness.levels.manifest import sha256_file

    d = _copy(dataset, tmp_path)
    m = load_manifest(d)
    rel = m["configs"]["kinetix-s"]["splits"]["test"]["files"][0]
    t = pq.read_table(d / rel)
    fr = np.array(t["circle_friction"].combine_chunks().flatten().to_numpy())
    fr[0] += 0.25
    import pyarrow as pa

    col = pa.FixedSizeListArray.from_arrays(pa.array(fr.astype(np.float32)), 2)
    t = t.set_column(
        t.schema.get_field_index("circle_friction"), t.schema.field("circle_friction"), col
    )
    pq.write_table(t, d / rel, compression="zstd")
    m["files"][rel].update(sha256=sha256_file(d / rel), bytes=(d / rel).stat().st_size)
    write_manifest(d, m)
    with pytest.raises(DatasetIntegrityError, match="content hashes to"):
        hb.load_benchmark(str(d))
    assert main(["levels", "verify", str(d)]) == 2  # deep verify re-hashes every row


def test_bundled_fallback_when_offline(dataset, monkeypatch, capsys):
    m = load_manifest(dataset)
    b = m["benchmarks"]["mine-v1"]
    fake = hb.Benchmark(
        "fake-v1", ("kinetix-s",), "test", "s", b["level_set_hash"], 3, repo="org/levels"
    )
    monkeypatch.setitem(hb.BENCHMARKS, "fake-v1", fake)
    monkeypatch.setenv(hb.BUNDLED_ENV, str(dataset))
    msgs = []
    got = hb.load_benchmark("fake-v1", offline=True, log=msgs.append)
    assert got.origin == "bundled" and got.revision == "v1.0.0"
    assert msgs and "bundled copy" in msgs[0] and "offline" in msgs[0]
    monkeypatch.setitem(hb.BENCHMARKS, "fake-v1", dataclasses.replace(fake, revision="v2.0.0"))
    with pytest.raises(DatasetIntegrityError, match="needs v2.0.0"):
        hb.load_benchmark("fake-v1", offline=True)
    monkeypatch.setitem(
        hb.BENCHMARKS, "fake-v1", dataclasses.replace(fake, level_set_hash="f" * 64)
    )
    with pytest.raises(DatasetIntegrityError, match="does not match the registry"):
        hb.load_benchmark("fake-v1", offline=True)


def test_find_level_and_rollout_by_dataset_id(dataset, capsys):
    first = hm.certified_levels("s", release="v1")[0][0].name
    level, row = hb.find_level("kinetix-s/" + first, dataset)
    assert row["split"] == "test" and row["level_hash"] == level_hash(level)
    with pytest.raises(DatasetError, match="is not in"):
        hb.find_level("kinetix-s/missing", dataset)
    with pytest.raises(DatasetError, match="no config 'random-q'"):
        hb.find_level("random-q/test/0000001", dataset)
    lid = row["level_id"]
    rc = main(["env", "rollout", lid, "--dataset", str(dataset), "--json"])
    assert rc == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["level"] == lid and rec["policy"] == "noop" and not rec["solved"]


def test_cli_info_verify_list(dataset, capsys):
    assert main(["levels", "info", str(dataset), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["configs"]["kinetix-s"]["test"]["num_rows"] == 3
    assert "mine-v1" in info["benchmarks"]
    assert main(["levels", "verify", str(dataset), "--json"]) == 0
    v = json.loads(capsys.readouterr().out)
    assert v["ok"] and v["rows_checked"] == 3
    assert main(["levels", "list", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == list(hb.BENCHMARKS)
    assert main(["levels", "info", "handmade-s-v1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == "test"
    assert main(["levels", "info", "no-such-thing"]) == 2
    assert "neither a benchmark id" in capsys.readouterr().err


def test_import_refuses_existing_output_and_empty_input(dataset, tmp_path, capsys):
    assert main(["levels", "import-kinetix", str(tmp_path), "--out", str(dataset)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = main(["levels", "import-kinetix", str(empty), "--out", str(tmp_path / "o")])
    assert rc == 2 and "no *.json level files" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_eval_cli_writes_a_valid_record(dataset, tmp_path, capsys):
    from harness.scoring.records import read_record

    out = tmp_path / "records"
    args = ["eval", "random", "--benchmark", str(dataset), "--out", str(out)]
    args += ["--no-cache", "--bootstrap-reps", "200", "--json"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rec = read_record(res["record"])
    assert rec["benchmark"]["benchmark_id"] == "mine-v1" and rec["benchmark"]["n_levels"] == 3
    assert rec["submission"]["architecture"] == "random"
    assert rec["protocol"]["episodes_per_level"] == 20
    per_level = pq.read_table(res["per_level"])
    assert per_level.num_rows == 3
    assert rec["metrics"]["solve_rate"]["mean"] == pytest.approx(
        float(np.mean(per_level["solve_rate"].to_numpy()))
    )
    assert main(["eval", "random", "--benchmark", str(dataset), "--protocol", "x@v1"]) == 2


def test_score_library_matches_the_cli_and_checks_a_loaded_submission(dataset, tmp_path):
    """``harness.scoring.score`` is what ``eval`` runs: same per-level results; a submission
    passed already loaded is still checked against the benchmark; nothing written on error."""
    from harness.scoring import resolve_submission, score
    from harness.submissions import SubmissionError, load_submission

    notes = []
    cli_out, lib_out = tmp_path / "cli", tmp_path / "lib"
    args = ["eval", "random", "--benchmark", str(dataset), "--out", str(cli_out)]
    assert main([*args, "--no-cache", "--bootstrap-reps", "200", "--json"]) == 0
    sub = load_submission(resolve_submission("random"))
    res = score(
        sub, str(dataset), out=lib_out, cache_dir=None, bootstrap_reps=200, log=notes.append
    )
    assert res.submission is sub and res.outcomes["solved"].shape == (3, 20)
    cli = pq.read_table(next(cli_out.rglob("*.parquet"))).to_pandas()
    lib = pq.read_table(res.per_level_path).to_pandas()
    assert cli["solve_rate"].tolist() == lib["solve_rate"].tolist()
    assert res.summary()["solve_rate"]["mean"] == res.record["metrics"]["solve_rate"]["mean"]
    wrong = dataclasses.replace(sub, env_size="m")
    with pytest.raises(SubmissionError, match="env_size"):
        score(wrong, str(dataset), out=tmp_path / "bad", cache_dir=None)
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_finetune_cli_records_gain_over_scratch(dataset, tmp_path, capsys):
    """finetune-4096@v1 (one PPO update per level and seed) of a fresh flat MLP, end to end."""
    import jax

    from baselines.networks import init_params, make_config
    from baselines.ppo.export import export_submission
    from harness.scoring.records import read_record
    from kinetix import EnvConfig

    cfg = make_config("mlp-flat@v1", {"actor_depth": 1, "critic_depth": 1})
    params = init_params("mlp-flat@v1", cfg, "flat", "multi_discrete", "s", jax.random.PRNGKey(0))
    sub = export_submission(
        tmp_path / "sub", "mlp-flat@v1", cfg, params, EnvConfig(size="s", obs_type="flat")
    )
    args = ["finetune", str(sub), "--benchmark", str(dataset), "--budget", "4096"]
    args += ["--out", str(tmp_path / "rec"), "--cache-dir", str(tmp_path / "cache")]
    args += ["--bootstrap-reps", "200", "--json"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rec = read_record(res["record"])
    assert rec["protocol"]["protocol_id"] == "finetune-4096"
    assert rec["seeds"]["train"] == [0, 1, 2]
    assert rec["metrics"]["solve_rate"]["ci_unit"] == "train_seed"
    assert "scratch_solve_rate" in rec["metrics"] and "iqm" in rec["metrics"]["finetune_gain"]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3 * 3 * 2
    assert main(["finetune", "random", "--benchmark", str(dataset), "--budget", "10"]) == 2


def test_registry_matches_the_bundled_copy():
    m = load_manifest(hb.bundled_levels_dir())
    assert f"v{m['version']}" == hb.RELEASE
    for bid, b in hb.BENCHMARKS.items():
        if b.imported:  # no bundled data by design (kinetix-original-v1)
            continue
        e = m["benchmarks"][bid]
        assert (e["level_set_hash"], e["num_levels"]) == (b.level_set_hash, b.num_levels), bid
        assert (tuple(e["configs"]), e["split"], e["size"]) == (b.configs, b.split, b.size), bid


def test_load_bundled_handmade_offline():
    msgs = []
    got = hb.load_benchmark("handmade-all-v1", offline=True, log=msgs.append)
    assert got.origin == "bundled" and "bundled copy" in msgs[0]
    assert len(got.level_ids) == hb.BENCHMARKS["handmade-all-v1"].num_levels
    assert got.levels.polygon_roles.shape[1] == 12  # padded to L
    assert {i.split("/")[0] for i in got.level_ids} == {"handmade-s", "handmade-m", "handmade-l"}
    assert got.table["witness_actions"].null_count == 0


def test_registry_types_and_leaderboard_flags():
    from harness.levels import BENCHMARKS
    from kinetix.actions import ACTION_TYPES
    from kinetix.observations import OBS_TYPES

    for b in BENCHMARKS.values():
        assert set(b.obs_types) <= set(OBS_TYPES) and b.obs_types
        assert set(b.action_types) <= set(ACTION_TYPES) and b.action_types
        # validation splits select checkpoints; only held-out levels are scored publicly
        assert b.leaderboard == (b.split != "validation"), b.id
    assert BENCHMARKS["handmade-all-v1"].obs_types == OBS_TYPES
