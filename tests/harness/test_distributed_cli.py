"""The batch commands as 2 cooperating processes x 2 CPU devices on localhost (jax.distributed,
gloo collectives), each compared with the same command in one process (2 CPU devices).

Started as subprocesses (``python -m harness.cli ... --coordinator 127.0.0.1:PORT
--num-processes 2 --process-id I``), with the coordinator on a free loopback port:
``levels build`` (same bytes), ``eval`` and ``finetune`` (the same record apart from timestamps
and compute; a rerun resumes from the caches), ``train`` (2 PPO updates: the same parameters to
float tolerance), and a worker killed mid-run (the other fails within the timeout, writes
nothing). Sizes are tiny: 4 + 1 procedural S levels, a small flat MLP, budget 4096 (one update).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

RECIPE = """
name = "dist-levels"
version = "1.0.0"
description = "multi-process test recipe"
shard_rows = 3

[[configs]]
name = "random-s"
source = "random"
size = "s"
filter = "noop"
random_episodes = 2
splits = { test = { count = 4, seed = 3 } }

[[configs]]
name = "one-s"
source = "random"
size = "s"
filter = "noop"
random_episodes = 0
splits = { test = { count = 1, seed = 5 } }

[[benchmarks]]
id = "four-s-v1"
configs = ["random-s"]
split = "test"

[[benchmarks]]
id = "one-s-v1"
configs = ["one-s"]
split = "test"
"""

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def _env() -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", HF_HUB_OFFLINE="1")
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(args) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *map(str, args)]


def one(args, cwd) -> subprocess.CompletedProcess:
    t0 = time.time()
    res = subprocess.run(
        _cli(args), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT
    )
    print(f"1 process: {' '.join(map(str, args[:2]))}: {time.time() - t0:.1f} s")
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def start_two(args, cwd, timeout_s: int = 60, stderr=subprocess.PIPE) -> list[subprocess.Popen]:
    port = _port()
    procs = []
    for pid in (0, 1):
        flags = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
        flags += ["--process-id", pid, "--distributed-timeout", timeout_s]
        procs.append(
            subprocess.Popen(
                _cli([*args, *flags]),
                cwd=cwd,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=stderr(pid) if callable(stderr) else stderr,
                text=True,
            )
        )
    return procs


def two(args, cwd) -> list[tuple[int, str, str]]:
    t0 = time.time()
    procs = start_two(args, cwd)
    out = []
    try:
        for p in procs:
            so, se = p.communicate(timeout=TIMEOUT)
            out.append((p.returncode, so, se))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    print(f"2 processes: {' '.join(map(str, args[:2]))}: {time.time() - t0:.1f} s")
    for rc, _, se in out:
        assert rc == 0, se[-3000:]
    # process 1 prints no result (gloo's own C++ lines may appear on its stdout)
    assert not [x for x in out[1][1].splitlines() if x.startswith("{")]
    return out


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _record(folder: Path) -> dict:
    (path,) = folder.rglob("*.json")
    rec = json.loads(path.read_text())
    for k in ("created_at", "started_at", "finished_at", "compute"):
        rec.pop(k)
    return rec


def _compute(folder: Path) -> tuple[int, int]:
    """The record's (``compute.device_count``, ``compute.process_count``)."""
    (path,) = folder.rglob("*.json")
    compute = json.loads(path.read_text())["compute"]
    return compute["device_count"], compute["process_count"]


def _per_level(folder: Path):
    import pyarrow.parquet as pq

    (path,) = folder.rglob("*.parquet")
    return pq.read_table(path).to_pylist()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dist")
    (root / "tiny.toml").write_text(RECIPE)
    one(["levels", "build", "tiny.toml", "--out", "ds1", "--json"], root)
    return root


@pytest.fixture(scope="module")
def submission(work) -> Path:
    import jax

    from baselines.networks import init_params, make_config
    from baselines.ppo.export import export_submission
    from kinetix import EnvConfig

    arch = "mlp-flat@v1"
    cfg = make_config(arch, {"actor_depth": 1, "critic_depth": 1})
    params = init_params(arch, cfg, "flat", "multi_discrete", "s", jax.random.PRNGKey(0))
    return export_submission(work / "sub", arch, cfg, params, EnvConfig(size="s", obs_type="flat"))


def test_levels_build_gives_the_same_bytes(work):
    two(["levels", "build", "tiny.toml", "--out", "ds2", "--json"], work)
    assert _digests(work / "ds1") == _digests(work / "ds2")
    assert sorted(p.name for p in work.iterdir() if p.name.startswith(".")) == []


def test_eval_gives_the_same_record_and_resumes(work, submission):
    args = ["eval", submission, "--benchmark", f"{work / 'ds1'}::four-s-v1", "--chunk", "4"]
    args += ["--bootstrap-reps", "200", "--json"]
    one([*args, "--out", "e1", "--cache-dir", "c1"], work)
    (_, so, _), _ = two([*args, "--out", "e2", "--cache-dir", "c2"], work)
    assert json.loads([x for x in so.splitlines() if x.startswith("{")][-1])["what"] == "eval"
    assert _record(work / "e1") == _record(work / "e2")
    assert [_compute(work / e) for e in ("e1", "e2")] == [(2, 1), (4, 2)]
    assert _per_level(work / "e1") == _per_level(work / "e2")
    assert sorted(os.listdir(work / "c1")) == sorted(os.listdir(work / "c2"))
    two([*args, "--out", "e3", "--cache-dir", "c1"], work)  # every chunk from process 0's cache
    assert _record(work / "e1") == _record(work / "e3")


def test_finetune_gives_the_same_record_and_resumes(work, submission):
    args = ["finetune", submission, "--benchmark", f"{work / 'ds1'}::one-s-v1"]
    args += ["--budget", "4096", "--no-scratch", "--bootstrap-reps", "200", "--json"]
    one([*args, "--out", "f1", "--cache-dir", "fc1"], work)
    two([*args, "--out", "f2", "--cache-dir", "fc2"], work)
    assert _record(work / "f1") == _record(work / "f2")
    assert len(os.listdir(work / "fc2")) == 3  # one cached cell per training seed
    two([*args, "--out", "f3", "--cache-dir", "fc1"], work)  # resumed: nothing to train
    assert _record(work / "f1") == _record(work / "f3")


TRAIN = [
    "train",
    str(ROOT / "baselines/configs/tiny-s-handmade.yaml"),
    *("--set", "ppo.num_envs=16", "--set", "ppo.num_steps=16", "--set", "ppo.update_epochs=1"),
    *("--set", "logging.eval_episodes=0", "--set", "logging.plot=false"),
    *("--set", "logging.progress=false", "--set", "network.config.actor_width=32"),
    *("--set", "network.config.critic_width=32"),
]


def test_train_gives_the_same_parameters(work):
    from safetensors.numpy import load_file

    args = [*TRAIN, "--set", "ppo.total_timesteps=512", "--json"]  # 2 updates of 256 steps
    one([*args, "--out", "t1"], work)
    two([*args, "--out", "t2"], work)
    a = load_file(work / "t1/submission/model.safetensors")
    b = load_file(work / "t2/submission/model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-5, err_msg=k)
    rows = [json.loads(x) for x in (work / "t2/metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in rows] == [1, 2]
    assert "2 processes" in json.loads((work / "t2/summary.json").read_text())["hardware"]


def test_sfl_train_gives_the_same_parameters(work):
    """SFL (learnability rescoring of a procedural bank, every update) as 2 processes: the
    bank, the scored subset, the buffer and the PPO parameters equal one process's."""
    from safetensors.numpy import load_file

    sfl = ["levels.source=bank", "levels.bank_size=32", "levels.noop_filter=false"]
    sfl += ["levels.sfl.enabled=true", "levels.sfl.update_every=1", "levels.sfl.num_score=16"]
    sfl += ["levels.sfl.score_steps=16", "levels.sfl.top_k=4", "ppo.total_timesteps=512"]
    args = [*TRAIN, *(x for s in sfl for x in ("--set", s)), "--json"]
    single = one([*args, "--out", "s1"], work)
    pair = two([*args, "--out", "s2"], work)
    a = load_file(work / "s1/submission/model.safetensors")
    b = load_file(work / "s2/submission/model.safetensors")
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-5, err_msg=k)
    rows = [json.loads(x) for x in (work / "s2/metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in rows] == [1, 2]
    # the rescoring after each update: the same top-k learnability scores in both runs
    scores = [
        [
            float(m)
            for m in re.findall(r"SFL rescoring at update \d+: .*?'sfl_mean_score': ([^,}]+)", s)
        ]
        for s in (single.stderr, pair[0][2])
    ]
    assert len(scores[0]) == 2, single.stderr[-2000:]
    np.testing.assert_allclose(scores[0], scores[1], atol=1e-5)


def test_a_killed_worker_fails_the_run_and_nothing_is_written(work):
    args = [*TRAIN, "--set", "ppo.total_timesteps=65536", "--set", "logging.checkpoint_every=0"]
    logs = [work / f"killed.{i}.err" for i in (0, 1)]
    files = [p.open("w") for p in logs]  # files, not pipes: nobody reads stderr while it runs
    procs = start_two(
        [*args, "--json", "--out", "killed"], work, timeout_s=20, stderr=lambda i: files[i]
    )
    try:
        first = ""
        while '"event": "update"' not in first:  # process 0's first update row
            first = procs[0].stdout.readline()
            assert first, logs[0].read_text()[-3000:]
        procs[1].kill()  # SIGKILL (SIGTERM is jax's preemption notice)
        t0 = time.time()
        procs[0].communicate(timeout=120)
        waited = time.time() - t0
        err = logs[0].read_text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for f in files:
            f.close()
    assert procs[0].returncode not in (0, None)
    assert waited < 60
    assert "another process failed" in err or "distributed service detected fatal" in err
    out = work / "killed"
    assert not (out / "checkpoint.safetensors").exists()
    assert not (out / "summary.json").exists() and not (out / "submission").exists()
