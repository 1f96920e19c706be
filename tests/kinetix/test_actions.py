"""Action types: spaces, mappings to the unified action and to per-entity commands, policies."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kinetix as kx
from kinetix.actions import entity_actions, to_unified_action


def test_spaces():
    md = kx.action_space("multi_discrete")
    assert md.shape == (6,) and md.dtype == jnp.int32 and md.n == 16
    assert md.nvec == (3, 3, 3, 3, 2, 2)
    d = kx.action_space("discrete")
    assert d.shape == () and d.n == 11
    c = kx.action_space("continuous")
    assert c.shape == (6,) and c.dtype == jnp.float32 and (c.low, c.high) == (-1.0, 1.0)
    keys = jax.random.split(jax.random.PRNGKey(0), 200)
    for space in (md, d, c):
        samples = jax.vmap(space.sample)(keys)
        assert samples.shape == (200, *space.shape) and samples.dtype == space.dtype
        assert bool(jnp.all(jax.vmap(space.contains)(samples)))
    s = jax.vmap(md.sample)(keys)
    assert set(np.unique(s[:, :4]).tolist()) == {0, 1, 2}
    assert set(np.unique(s[:, 4:]).tolist()) == {0, 1}
    assert not bool(md.contains(jnp.array([0, 0, 0, 3, 0, 0])))
    assert not bool(md.contains(jnp.array([0, 0, 0, 0, 2, 0])))


def test_multi_discrete_mapping():
    u = to_unified_action(jnp.array([0, 1, 2, 0, 1, 0]), "multi_discrete")
    np.testing.assert_array_equal(u, [0.0, 1.0, -1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(
        to_unified_action(kx.noop_action(), "multi_discrete"), np.zeros(6)
    )


@pytest.mark.parametrize(
    "a, expected",
    [
        (0, [-1, 0, 0, 0, 0, 0]),
        (1, [1, 0, 0, 0, 0, 0]),
        (2, [0, -1, 0, 0, 0, 0]),
        (5, [0, 0, 1, 0, 0, 0]),
        (6, [0, 0, 0, -1, 0, 0]),
        (7, [0, 0, 0, 1, 0, 0]),
        (8, [0, 0, 0, 0, 0, 0]),
        (9, [0, 0, 0, 0, 1, 0]),
        (10, [0, 0, 0, 0, 0, 1]),
    ],
)
def test_discrete_mapping(a, expected):
    np.testing.assert_array_equal(to_unified_action(jnp.int32(a), "discrete"), expected)


def test_discrete_noop():
    assert int(kx.noop_action("discrete")) == 8


def test_continuous_mapping_and_random():
    u = to_unified_action(jnp.array([0.5, -2.0, 0.0, 1.0, -0.5, 0.25]), "continuous")
    np.testing.assert_array_equal(u, np.float32([0.5, -2.0, 0.0, 1.0, -0.5, 0.25]))
    r = jax.vmap(lambda k: kx.random_action(k, "continuous"))(
        jax.random.split(jax.random.PRNGKey(1), 100)
    )
    assert r.shape == (100, 6) and float(r.min()) >= -1 and float(r.max()) <= 1
    assert float(r[:, 4:].min()) >= 0  # thrusters |U(-1, 1)|
    assert float(r[:, :4].min()) < 0


def test_entity_actions_follow_bindings():
    lv = kx.empty_level(kx.EnvSize(5, 2, 3, 2))
    lv = lv.replace(
        motor_bindings=jnp.array([2, 0, 2]),
        thruster_bindings=jnp.array([1, 0]),
        motor_auto=jnp.array([False, True, False]),
    )
    u = jnp.array([0.3, 0.0, -1.5, 1.0, 0.5, -0.7])
    cmd = entity_actions(u, lv)
    # joints: u[2] clipped to -1, motor_auto +1, u[2]; thrusters: u[5] clipped to 0, u[4].
    np.testing.assert_array_equal(cmd, np.float32([-1.0, 1.0, -1.0, 0.0, 0.5]))
    assert cmd.dtype == jnp.float32


def test_the_three_types_agree_on_equivalent_actions():
    lv = kx.empty_level("l").replace(motor_bindings=jnp.array([0, 1, 2, 3, 1, 0]))
    lv = lv.replace(thruster_bindings=jnp.array([1, 0]))
    md = entity_actions(to_unified_action(jnp.array([0, 0, 2, 0, 0, 1]), "multi_discrete"), lv)
    d = entity_actions(to_unified_action(jnp.int32(4), "discrete"), lv)
    c = entity_actions(to_unified_action(jnp.array([0, 0, -1.0, 0, 0, 0]), "continuous"), lv)
    np.testing.assert_array_equal(d, c)
    np.testing.assert_array_equal(md[:6], d[:6])
    np.testing.assert_array_equal(md[6:], [1.0, 0.0])  # thruster 0 has binding 1


def test_policies():
    key = jax.random.PRNGKey(0)
    for t in kx.ACTION_TYPES:
        noop = kx.make_policy("noop", t)
        np.testing.assert_array_equal(noop(key, None), kx.noop_action(t))
        rnd = kx.make_policy("random", t)
        a = jax.jit(rnd)(key, None)
        assert a.shape == kx.action_space(t).shape
        assert bool(kx.action_space(t).contains(a))
    with pytest.raises(kx.EnvConfigError, match="unknown policy"):
        kx.make_policy("greedy")
    with pytest.raises(kx.EnvConfigError, match="action_type"):
        kx.noop_policy("box")
