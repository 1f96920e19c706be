"""Protocols, the evaluation engine and result records."""

from __future__ import annotations

import dataclasses
import json
import types

import jax
import numpy as np
import pyarrow.parquet as pq
import pytest

import kinetix.handmade as hm
from harness.scoring.evaluation import Agent, evaluate
from harness.scoring.protocols import (
    FineTune,
    ProtocolError,
    ZeroShot,
    attempt_keys,
    parse_protocol,
)
from harness.scoring.records import (
    RecordError,
    comparable,
    make_record,
    read_record,
    validate_record,
    write_record,
)
from kinetix import EnvConfig, level_hashes, level_set_hash, stack_levels

P = ZeroShot(attempts=4, max_steps=96)  # a small protocol for speed (same code path)
ENV = EnvConfig(size="s")


@pytest.fixture(scope="module")
def levels():
    cert = hm.certified_levels("s", release="v1")[:3]
    lv = stack_levels([lv for _, lv, _ in cert], size="s")
    return lv, level_hashes(lv), [e.id for e, _, _ in cert]


@pytest.fixture(scope="module")
def random_out(levels):
    lv, h, _ = levels
    return evaluate(Agent("random", checkpoint_sha256="r"), lv, h, P, ENV, chunk=4)


def test_parse_protocol():
    assert parse_protocol("zero-shot@v1") == ZeroShot()
    ft = parse_protocol("finetune-1e5@v1")
    assert isinstance(ft, FineTune) and ft.budget == 100_000 and ft.id == "finetune-1e5@v1"
    assert parse_protocol("finetune-250000@v1").id == "finetune-250000@v1"
    assert ZeroShot().to_json()["episodes_per_level"] == 20
    for bad in ("zero-shot", "zero-shot@v2", "finetune@v1", "finetune-1.5@v1", "nope@v1", ""):
        with pytest.raises(ProtocolError):
            parse_protocol(bad)


def test_attempt_keys_depend_only_on_the_level(levels):
    _, h, _ = levels
    all_keys = np.asarray(attempt_keys(h, P))
    assert all_keys.shape == (3, 4, 2)
    np.testing.assert_array_equal(np.asarray(attempt_keys(h[2:], P))[0], all_keys[2])
    other = np.asarray(attempt_keys(h, dataclasses.replace(P, seed=1)))
    assert not np.array_equal(other, all_keys)


def test_noop_solves_nothing_and_outputs_have_protocol_shape(levels):
    lv, h, _ = levels
    out = evaluate(Agent("noop"), lv, h, P, ENV)
    assert set(out) == {"solved", "died", "return", "length"}
    assert all(v.shape == (3, 4) for v in out.values())
    assert not out["solved"].any()


def test_deterministic_and_chunk_independent(levels, random_out):
    lv, h, _ = levels
    again = evaluate(Agent("random", checkpoint_sha256="r"), lv, h, P, ENV, chunk=1)
    for k in random_out:
        np.testing.assert_array_equal(again[k], random_out[k])


def test_cache_resumes_by_chunk(levels, random_out, tmp_path):
    lv, h, _ = levels
    calls = []
    a = Agent("random", checkpoint_sha256="r")
    first = evaluate(a, lv, h, P, ENV, chunk=1, cache_dir=tmp_path, progress=calls.append)
    assert len(list(tmp_path.glob("*.npz"))) == 3 and calls == [1, 1, 1]
    (sorted(tmp_path.glob("*.npz"))[0]).unlink()  # an "interrupted" run: one chunk missing
    timing = {}
    second = evaluate(a, lv, h, P, ENV, chunk=1, cache_dir=tmp_path, timing=timing)
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])
        np.testing.assert_array_equal(first[k], random_out[k])
    # the resumed run knows what the two cached chunks cost when they were computed
    assert timing["computed_chunks"] == 1 and timing["cached_chunks"] == 2
    assert timing["compute_s"] > 0 and timing["cached_compute_s"] > 0


def test_network_agent_runs(levels):
    from baselines.networks import init_params, make_config

    lv, h, _ = levels
    cfg = make_config("mlp-flat@v1", None)
    env = EnvConfig(size="s", obs_type="flat")
    params = init_params("mlp-flat@v1", cfg, "flat", "multi_discrete", "s", jax.random.PRNGKey(0))
    a = Agent("mlp-flat@v1", cfg, params, "x")
    out = evaluate(a, lv, h, dataclasses.replace(P, attempts=2, max_steps=16), env)
    assert out["solved"].shape == (3, 2)
    assert np.all((out["length"] >= 1) & (out["length"] <= 17))


def _fakes(levels, outcomes):
    lv, h, ids = levels
    bench = types.SimpleNamespace(
        id="handmade-s-v1",
        repo="org/levels",
        configs=("handmade-s",),
        split="test",
        level_set_hash=level_set_hash(h),
        size="s",
    )
    loaded = types.SimpleNamespace(
        benchmark=bench,
        level_ids=ids,
        level_hashes=h,
        revision="v1.0.0",
        commit="bundled:" + "0" * 64,
        origin="bundled",
    )
    sub = types.SimpleNamespace(
        id="random",
        files={"config.json": 120, "README.md": 300},
        sha256="a" * 64,
        architecture="random",
        arch_config=None,
        obs_type="entity",
        action_type="multi_discrete",
        env_size="any",
        kind="kinetix-bench",
    )
    return sub, loaded


def test_record_is_valid_deterministic_and_round_trips(levels, random_out, tmp_path):
    sub, loaded = _fakes(levels, random_out)
    kw = dict(
        submission=sub,
        loaded=loaded,
        protocol=P,
        outcomes=random_out,
        env_config=ENV,
        wall_clock_s=1.0,
        started_at="2026-01-01T00:00:00Z",
        bootstrap_reps=500,
    )
    rec, table = make_record(**kw)
    rec2, table2 = make_record(**{**kw, "wall_clock_s": 9.0})
    assert comparable(rec) == comparable(rec2) and table.equals(table2)
    # the same levels read from the Hub release: the same result
    hub = types.SimpleNamespace(**{**vars(loaded), "commit": "d" * 40, "origin": "hub"})
    rec3, _ = make_record(**{**kw, "loaded": hub})
    assert rec3["benchmark"]["dataset_origin"] == "hub" and comparable(rec3) == comparable(rec)
    sr = rec["metrics"]["solve_rate"]
    assert sr["mean"] == pytest.approx(random_out["solved"].mean())
    assert sr["ci95"]["mean"][0] <= sr["mean"] <= sr["ci95"]["mean"][1]
    assert rec["benchmark"]["n_levels"] == 3 and rec["compute"]["env_steps"] > 0
    jpath, ppath = write_record(tmp_path, rec, table)
    assert read_record(jpath) == rec
    per_level = pq.read_table(ppath)
    assert per_level.column("level_id").to_pylist() == loaded.level_ids
    np.testing.assert_allclose(
        per_level.column("solve_rate").to_numpy(), random_out["solved"].mean(axis=1)
    )


def test_record_validation_names_the_field(levels, random_out, tmp_path):
    sub, loaded = _fakes(levels, random_out)
    rec, _ = make_record(
        submission=sub,
        loaded=loaded,
        protocol=P,
        outcomes=random_out,
        env_config=ENV,
        wall_clock_s=1.0,
        started_at="2026-01-01T00:00:00Z",
        bootstrap_reps=200,
    )
    cases = [
        (("benchmark", "level_set_sha256"), "xyz", "level_set_sha256"),
        (("status",), "DONE", "status"),
        (("compute", "env_steps"), "many", "compute.env_steps"),
        (("metrics", "solve_rate", "mean"), 1.5, "outside"),
        (("schema_version",), "result/9", "schema_version"),
        (("metrics", "solve_rate", "ci95", "iqm"), [0.5, 0.2], "ci95.iqm"),
        (("metrics", "solve_rate", "ci95", "mean"), "wide", "ci95.mean"),
    ]
    for path, value, match in cases:
        bad = json.loads(json.dumps(rec))
        cur = bad
        for p in path[:-1]:
            cur = cur[p]
        cur[path[-1]] = value
        with pytest.raises(RecordError, match=match):
            validate_record(bad)
    bad = json.loads(json.dumps(rec))
    del bad["submission"]["checkpoint_sha256"]
    with pytest.raises(RecordError, match="submission.checkpoint_sha256"):
        validate_record(bad)
    (tmp_path / "r.json").write_text("{not json")
    with pytest.raises(RecordError, match="cannot read"):
        read_record(tmp_path / "r.json")


_MULTI = """
import json, numpy as np, jax
import kinetix.handmade as hm
from kinetix import EnvConfig, level_hashes, stack_levels
from harness.scoring.evaluation import Agent, evaluate
from harness.scoring.protocols import ZeroShot
cert = hm.certified_levels("s", release="v1")[:3]
lv = stack_levels([l for _, l, _ in cert], size="s")
out = evaluate(Agent("random"), lv, level_hashes(lv), ZeroShot(attempts=4, max_steps=96),
               EnvConfig(size="s"), chunk=4)
print(json.dumps({"devices": jax.local_device_count(),
                  **{k: np.asarray(v).tolist() for k, v in out.items()}}))
"""


@pytest.mark.slow
def test_sharded_over_four_cpu_devices_gives_the_same_outcomes(random_out):
    import os
    import subprocess
    import sys

    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env["JAX_PLATFORMS"] = "cpu"
    res = subprocess.run(
        [sys.executable, "-c", _MULTI], env=env, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["devices"] == 4
    for k in ("solved", "died", "length"):
        np.testing.assert_array_equal(np.asarray(got[k]), random_out[k])
    np.testing.assert_allclose(np.asarray(got["return"]), random_out["return"], atol=1e-5)
