"""The gymnax view (:mod:`kinetix.gymnax_env`): gymnax's own spaces, a level distribution in
the params, and gymnax's LogWrapper run over it PureJaxRL-style (vmap over envs, scan over
steps) unchanged."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

gymnax = pytest.importorskip("gymnax")
from gymnax.environments import spaces  # noqa: E402
from gymnax.wrappers.purerl import LogWrapper  # noqa: E402

import kinetix  # noqa: E402
from kinetix.gymnax_env import GymnaxKinetix, GymnaxParams, MultiDiscreteBox  # noqa: E402

N_ENVS, N_STEPS = 4, 300


@pytest.fixture(scope="module")
def levels():
    return kinetix.sample_levels(jax.random.PRNGKey(0), 3, "s")


@pytest.fixture(scope="module")
def env():
    return GymnaxKinetix(kinetix.EnvConfig(size="s"))


def test_spaces_are_gymnax_spaces(env, levels):
    act = env.action_space()
    assert isinstance(act, spaces.Box) and isinstance(act, MultiDiscreteBox)
    assert act.nvec == (3, 3, 3, 3, 2, 2) and act.n == 16 and env.num_actions == 6
    draws = jax.vmap(act.sample)(jax.random.split(jax.random.PRNGKey(1), 512))
    assert bool(jax.vmap(act.contains)(draws).all())
    assert {int(v) for v in np.unique(draws[:, 0])} == {0, 1, 2}  # every value, none outside
    assert not bool(act.contains(jnp.array([3, 0, 0, 0, 0, 0])))
    disc = GymnaxKinetix(kinetix.EnvConfig(size="s", action_type="discrete")).action_space()
    assert isinstance(disc, spaces.Discrete) and disc.n == 11
    obs_space = env.observation_space()
    assert isinstance(obs_space, spaces.Dict)
    obs, _ = env.reset(jax.random.PRNGKey(0), GymnaxParams(levels=levels))
    # the observation is Kinetix's pytree (EntityObservation); the Dict space names its fields
    for k, s in obs_space.spaces.items():
        assert isinstance(s, spaces.Box) and getattr(obs, k).shape == s.shape, k
    flat = GymnaxKinetix(kinetix.EnvConfig(size="s", obs_type="flat")).observation_space()
    assert isinstance(flat, spaces.Box) and len(flat.shape) == 1


def test_reset_draws_from_the_params_distribution(env, levels):
    params = GymnaxParams(levels=levels)
    keys = jax.random.split(jax.random.PRNGKey(2), 16)
    _, states = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    starts = np.asarray(levels.scene.polygon.position)
    got = np.asarray(states.level.scene.polygon.position)
    which = [int(np.argmax([np.array_equal(g, s) for s in starts])) for g in got]
    assert all(np.array_equal(g, starts[w]) for g, w in zip(got, which, strict=True))
    assert len(set(which)) > 1  # more than one level drawn
    with pytest.raises(kinetix.EnvConfigError, match="levels"):
        env.reset(jax.random.PRNGKey(0), GymnaxParams())
    _, gen_state = env.reset(jax.random.PRNGKey(3), env.default_params)  # the generator
    assert gen_state.level.size == kinetix.env_size("s")


def test_log_wrapper_runs_purejaxrl_style(env, levels):
    wrapped = LogWrapper(env)
    params = GymnaxParams(levels=levels)
    keys = jax.random.split(jax.random.PRNGKey(4), N_ENVS)
    obs, state = jax.vmap(wrapped.reset, in_axes=(0, None))(keys, params)
    act_space = env.action_space(params)

    def one(carry, _):
        state, key = carry
        key, k_act, k_step = jax.random.split(key, 3)
        action = jax.vmap(act_space.sample)(jax.random.split(k_act, N_ENVS))
        step = jax.vmap(wrapped.step, in_axes=(0, 0, 0, None))
        obs, state, reward, terminated, truncated, info = step(
            jax.random.split(k_step, N_ENVS), state, action, params
        )
        return (state, key), (reward, terminated, truncated, info)

    _, (reward, terminated, truncated, info) = jax.lax.scan(
        jax.jit(one), (state, jax.random.PRNGKey(5)), None, length=N_STEPS
    )
    done = np.asarray(info["returned_episode"])
    assert done.any(axis=0).all()  # every env finished an episode within 300 steps
    lengths = np.asarray(info["returned_episode_lengths"])[done]
    assert (lengths >= 1).all() and (lengths <= 256).all()
    # LogWrapper's episode returns are Kinetix's own episode_return at the end of an episode
    np.testing.assert_allclose(
        np.asarray(info["returned_episode_returns"])[done],
        np.asarray(info["episode_return"])[done],
        rtol=1e-5,
        atol=1e-5,
    )
    trunc = np.asarray(truncated)
    assert (np.asarray(info["episode_length"])[trunc] == 256).all()
    assert not (np.asarray(terminated) & trunc).any()
    assert np.isfinite(np.asarray(reward)).all()


def test_the_readme_example_runs():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("## A gymnax view of the environment", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "README.md (gymnax view)", "exec"), scope)
    assert scope["reward"].shape == () and "returned_episode" in scope["info"]
