"""Environment semantics on small hand-made S levels (one compiled replay for all tests)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d
import kinetix as kx
from kinetix.env import aggregate_frames
from kinetix.rollout import replay

STEPS = 260  # > 256, so the timeout and the following auto-reset are visible
ENV = kx.KinetixEnv(kx.EnvConfig(size="s"))


@pytest.fixture(scope="module")
def run():
    """``run(level, actions=None) -> (rewards, dones, infos, final_state)`` as numpy."""
    compiled = jax.jit(functools.partial(replay, ENV))

    def go(level, actions=None):
        if actions is None:
            actions = np.zeros((STEPS, 6), np.int32)
        return jax.device_get(compiled(level, jnp.asarray(actions, jnp.int32)))

    return go


def first_done(dones) -> int:
    return int(np.argmax(dones))


def test_success(run, hand_levels):
    rewards, dones, infos, _ = run(hand_levels["success"])
    k = first_done(dones)
    assert dones.any() and 3 <= k < 30
    assert infos["solved"][k] and not infos["died"][k]
    assert infos["sparse_reward"][k] == 1.0
    assert not dones[:k].any() and not infos["solved"][:k].any()
    assert infos["episode_length"][k] == k + 1


def test_death(run, hand_levels):
    rewards, dones, infos, _ = run(hand_levels["death"])
    k = first_done(dones)
    assert dones.any() and 3 <= k < 30
    assert infos["died"][k] and not infos["solved"][k]
    assert infos["sparse_reward"][k] == -1.0


def test_death_beats_success_in_the_same_frame(run, hand_levels):
    rewards, dones, infos, _ = run(hand_levels["tie"])
    assert dones[0]
    assert infos["died"][0] and not infos["solved"][0]
    assert infos["sparse_reward"][0] == -1.0
    assert rewards[0] == -1.0  # no dense shaping on an episode's first step


def test_first_terminal_frame_decides():
    d = jnp.array([3.0, 2.0])
    cases = {  # frame rewards -> (reward, goal, distance index)
        (0.0, -1.0): (-1.0, False, 1),
        (1.0, -1.0): (1.0, True, 0),
        (-1.0, 1.0): (-1.0, False, 0),
        (0.0, 1.0): (1.0, True, 1),
        (0.0, 0.0): (0.0, False, 1),
    }
    for rs, (r, goal, i) in cases.items():
        rs = jnp.array(rs)
        sparse, g, dist, term = aggregate_frames(rs, rs > 0, d)
        assert float(sparse) == r and bool(g) == goal and float(dist) == float(d[i])
        assert bool(term) == (r != 0)


def test_timeout_at_256(run, hand_levels):
    rewards, dones, infos, _ = run(hand_levels["rest"])
    assert np.flatnonzero(dones).tolist() == [255]
    assert infos["timeout"][255] and not infos["solved"][255] and not infos["died"][255]
    assert infos["episode_length"][255] == 256
    assert infos["episode_length"][256] == 1  # the next episode started


def test_dense_shaping_telescopes(run, hand_levels):
    rewards, dones, infos, _ = run(hand_levels["fall"])
    T = 256
    assert np.flatnonzero(dones).tolist() == [T - 1]
    d = infos["distance"]
    assert d[0] != d[T - 1]  # the disc fell, the distance changed
    np.testing.assert_allclose(rewards[:T].sum(), -0.2 * (d[T - 1] - d[0]), atol=1e-5)
    np.testing.assert_allclose(rewards[1:T], -0.2 * np.diff(d[:T]), atol=1e-6)
    assert rewards[0] == 0.0
    np.testing.assert_allclose(infos["episode_return"][T - 1], rewards[:T].sum(), atol=1e-5)


def test_auto_reset_restarts_the_same_level(run, hand_levels):
    level = hand_levels["death"]
    rewards, dones, infos, _ = run(level)
    ends = np.flatnonzero(dones)
    assert len(ends) >= 3
    lengths = np.diff(np.concatenate([[-1], ends]))
    assert np.all(lengths == lengths[0])  # every episode replays the same level
    np.testing.assert_array_equal(rewards[: ends[0] + 1], rewards[ends[0] + 1 : ends[1] + 1])


def test_reset_state_after_done(hand_levels):
    level = hand_levels["tie"]
    obs0, state = ENV.reset(jax.random.PRNGKey(0), level)
    step = jax.jit(ENV.step)
    obs, state, reward, done, info = step(jax.random.PRNGKey(1), state, ENV.noop_action())
    assert bool(done)
    assert int(state.timestep) == 0 and float(state.last_distance) == -1.0
    assert float(state.episode_return) == 0.0
    for a, b in zip(jax.tree.leaves(state.scene), jax.tree.leaves(level.scene), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree.leaves(obs), jax.tree.leaves(obs0), strict=True):
        np.testing.assert_array_equal(a, b)


def test_thruster_action_lifts(run, hand_levels):
    level = hand_levels["thrust"]
    up = np.zeros((STEPS, 6), np.int32)
    up[:, 4] = 1
    _, _, _, s_noop = run(level)
    _, dones, _, s_up = run(level, up)
    y_noop = s_noop.scene.circle.position[0, 1]
    y_up = s_up.scene.circle.position[0, 1]
    assert y_up > y_noop + 0.1 or dones.any()


def test_determinism(run, hand_levels):
    a = run(hand_levels["fall"])
    b = run(hand_levels["fall"])
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_nan_ends_the_episode(hand_levels):
    level = hand_levels["rest"]
    sc = level.scene
    bad = level.replace(
        scene=sc.replace(circle=sc.circle.replace(velocity=sc.circle.velocity.at[0, 0].set(np.nan)))
    )
    _, state = ENV.reset(jax.random.PRNGKey(0), bad)
    _, _, reward, done, info = jax.jit(ENV.step)(jax.random.PRNGKey(0), state, ENV.noop_action())
    assert bool(done) and bool(info["nan"])
    assert np.isfinite(float(reward))


def test_reset_pads_and_rejects(hand_levels):
    obs, state = kx.reset(jax.random.PRNGKey(0), hand_levels["rest"], kx.EnvConfig(size="m"))
    assert obs.polygons.shape == (6, 27)
    assert state.level.size == kx.SIZE_M
    big = kx.empty_level("l")
    with pytest.raises(kx.LevelSizeError, match="does not fit"):
        kx.reset(jax.random.PRNGKey(0), big, kx.EnvConfig(size="s"))


def test_vmap_reset(hand_levels):
    batch = kx.stack_levels([hand_levels["rest"], hand_levels["fall"]])
    obs, state = jax.vmap(ENV.reset, in_axes=(None, 0))(jax.random.PRNGKey(0), batch)
    assert obs.polygons.shape == (2, 5, 27)
    assert state.timestep.shape == (2,)


def test_env_config_errors():
    with pytest.raises(kx.EnvConfigError, match="obs_type"):
        kx.EnvConfig(obs_type="rgb")
    with pytest.raises(kx.EnvConfigError, match="action_type"):
        kx.EnvConfig(action_type="box")
    with pytest.raises(kx.EnvConfigError, match="physics_setting"):
        kx.EnvConfig(physics_setting="nope")
    with pytest.raises(kx.EnvConfigError, match="kinetix_parity"):
        kx.EnvConfig(physics_setting="default", kinetix_parity=True)
    with pytest.raises(kx.EnvConfigError, match="env size"):
        kx.EnvConfig(size="xl")
    with pytest.raises(kx.EnvConfigError, match="solver"):
        kx.EnvConfig(solver="fast")
    assert kx.EnvConfig(kinetix_parity=True).setting == "jax2d-compat"
    assert kx.EnvConfig(kinetix_parity=True).physics_config.solver == "sequential"
    assert kx.EnvConfig(physics_setting="jax2d-compat").solver_name == "sequential"
    assert kx.EnvConfig(kinetix_parity=True, solver="parallel").solver_name == "parallel"
    assert kx.EnvConfig().physics_config.solver == jax2d.PhysicsConfig().solver
    assert kx.EnvConfig().setting == "default"
    assert hash(kx.EnvConfig(size="s")) == hash(kx.EnvConfig(size=kx.SIZE_S))
