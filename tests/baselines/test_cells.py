"""The vmapped cell trainer against the sequential one, and the fine-tuning protocol on it."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import kinetix.handmade as hm
from baselines.ppo.agent import make_agent
from baselines.ppo.cells import train_cells
from baselines.ppo.config import ConfigError
from baselines.ppo.finetune import finetune, finetune_config
from harness.scoring.evaluation import OUTCOMES
from harness.scoring.finetuning import train_and_evaluate_cells
from harness.scoring.protocols import FineTune, ZeroShot
from kinetix import EnvConfig, level_hashes, stack_levels

ARCH = "entity-transformer@v1"
SMALL = {
    "transformer_depth": 1,
    "transformer_encoder_size": 32,
    "actor_depth": 1,
    "critic_depth": 1,
    "actor_width": 32,
    "critic_width": 32,
}
BUDGET = 2 * 64 * 64  # two PPO updates of the protocol's 64 envs x 64 steps
PROTOCOL = FineTune(
    budget=BUDGET, train_seeds=(0, 1), evaluation=ZeroShot(attempts=4, max_steps=96)
)
ENV = EnvConfig(size="s")


@pytest.fixture(scope="module")
def levels():
    cert = hm.certified_levels("s", release="v1")[:2]
    return [lv for _, lv, _ in cert]


@pytest.fixture(scope="module")
def sequential(levels):
    """Two levels x two seeds, one PPO run after another (the reference path)."""
    return [
        finetune(ARCH, SMALL, None, lv, budget_env_steps=BUDGET, seed=s, obs_type="entity")
        for lv in levels
        for s in (0, 1)
    ]


@pytest.fixture(scope="module")
def cells(levels):
    cfg = finetune_config(ARCH, SMALL, BUDGET, 0, env_size="s", obs_type="entity")
    agent = make_agent(ARCH, cfg.network.config, "entity", "multi_discrete", "s")
    batch = stack_levels([levels[0], levels[0], levels[1], levels[1]], "s")
    return train_cells(cfg, agent, batch, [0, 1, 0, 1], chunk=3)  # chunks of 3: one padded


@pytest.mark.slow
def test_cells_equal_sequential_runs(sequential, cells):
    params, metrics = cells
    assert metrics["mean_return"].shape == (4, 2)
    for c, (seq_params, seq_rows) in enumerate(sequential):
        ours = jax.tree.map(lambda x, c=c: x[c], params)
        for a, b in zip(jax.tree.leaves(seq_params), jax.tree.leaves(ours), strict=True):
            np.testing.assert_allclose(np.asarray(a), b, atol=2e-3)  # 2 updates of rounding
        got = metrics["mean_return"][c]
        want = np.array(
            [np.nan if r["mean_return"] is None else r["mean_return"] for r in seq_rows]
        )
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        assert list(metrics["update"][c]) == [1, 2]


@pytest.mark.slow
def test_cells_from_shared_params(levels, sequential):
    """Fine-tuning: every cell starts from the same given weights."""
    start = sequential[0][0]
    cfg = finetune_config(ARCH, SMALL, 64 * 64, 0, env_size="s", obs_type="entity")
    agent = make_agent(ARCH, cfg.network.config, "entity", "multi_discrete", "s")
    params, _ = train_cells(cfg, agent, stack_levels(levels, "s"), [3, 3], start)
    seq, _ = finetune(ARCH, SMALL, start, levels[1], budget_env_steps=64 * 64, seed=3)
    for a, b in zip(jax.tree.leaves(seq), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(np.asarray(a), b[1], atol=1e-3)


def test_cells_refuse_bad_input(levels):
    cfg = finetune_config(ARCH, SMALL, BUDGET, 0, env_size="s", obs_type="entity")
    agent = make_agent(ARCH, cfg.network.config, "entity", "multi_discrete", "s")
    with pytest.raises(ConfigError, match="levels: 2 levels for 3 seeds"):
        train_cells(cfg, agent, stack_levels(levels, "s"), [0, 1, 2])
    with pytest.raises(ConfigError, match="chunk"):
        train_cells(cfg, agent, stack_levels(levels, "s"), [0, 1], chunk=0)


@pytest.mark.slow
def test_protocol_cells_match_sequential_and_cache(levels, tmp_path):
    """The protocol's outcomes: the cell program gives the sequential path's solved/died;
    a second call reads every cell from the cache."""
    batch = stack_levels(levels, "s")
    hashes = level_hashes(batch)
    common = dict(owner="scratch:test", start="scratch", protocol=PROTOCOL, env_config=ENV)
    seq = train_and_evaluate_cells(ARCH, SMALL, None, batch, hashes, sequential=True, **common)
    done = []
    vm = train_and_evaluate_cells(
        ARCH, SMALL, None, batch, hashes, cache_dir=tmp_path, progress=done.append, **common
    )
    assert sum(done) == 4
    for k in OUTCOMES:
        assert vm[k].shape == (2, 2, 4)
    np.testing.assert_array_equal(vm["solved"], seq["solved"])
    np.testing.assert_array_equal(vm["died"], seq["died"])
    np.testing.assert_allclose(vm["return"], seq["return"], rtol=1e-3, atol=1e-3)
    assert len(list(tmp_path.glob("*.npz"))) == 4
    again = []
    cached = train_and_evaluate_cells(
        ARCH, SMALL, None, batch, hashes, cache_dir=tmp_path, progress=again.append, **common
    )
    assert again == [4]
    for k in OUTCOMES:
        np.testing.assert_array_equal(cached[k], vm[k])
