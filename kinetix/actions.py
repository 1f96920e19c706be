"""Action types: the agent-facing spaces and their mapping to actuator commands.

Every action type maps to a *unified action*: a float32 vector ``u`` of length 6, the 4 motor
bindings first, then the 2 thruster bindings. The engine then receives, per entity,

* joint j: ``clip(u[motor_bindings[j]], -1, 1)`` (``+1`` when ``motor_auto[j]``),
* thruster t: ``clip(u[4 + thruster_bindings[t]], 0, 1)``,

as one float32 vector of length J + T (joints first). Joints sharing a binding move together.

* ``multi_discrete`` (default): ``MultiDiscrete((3, 3, 3, 3, 2, 2))``; motor choice 0 -> 0,
  1 -> +1, 2 -> -1; thruster choice 0 -> 0, 1 -> 1. No-op: all zeros.
* ``discrete``: ``Discrete(11)``; a < 8: motor a // 2 gets -1 if a is even, +1 if odd; 8: no-op;
  9, 10: thruster a - 9 full on.
* ``continuous``: ``Box(-1, 1, (6,))``, used as is (thrusters clip to [0, 1]).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kinetix.errors import EnvConfigError
from kinetix.level import Level
from kinetix.sizes import NUM_MOTOR_BINDINGS, NUM_THRUSTER_BINDINGS
from kinetix.spaces import Box, Discrete, MultiDiscrete, Space

__all__ = [
    "ACTION_TYPES",
    "check_action_type",
    "action_space",
    "to_unified_action",
    "entity_actions",
    "noop_action",
    "random_action",
]

ACTION_TYPES = ("multi_discrete", "discrete", "continuous")
_NB = NUM_MOTOR_BINDINGS + NUM_THRUSTER_BINDINGS


def check_action_type(action_type: str) -> str:
    if action_type not in ACTION_TYPES:
        raise EnvConfigError(
            f"EnvConfig.action_type: unknown action type {action_type!r}; "
            f"expected one of {', '.join(ACTION_TYPES)}"
        )
    return action_type


def action_space(action_type: str = "multi_discrete") -> Space:
    """The agent-facing action space of ``action_type``."""
    check_action_type(action_type)
    if action_type == "multi_discrete":
        return MultiDiscrete((3,) * NUM_MOTOR_BINDINGS + (2,) * NUM_THRUSTER_BINDINGS)
    if action_type == "discrete":
        return Discrete(2 * NUM_MOTOR_BINDINGS + 1 + NUM_THRUSTER_BINDINGS)
    return Box(-1.0, 1.0, (_NB,), jnp.float32)


def to_unified_action(action, action_type: str = "multi_discrete") -> jax.Array:
    """Maps one agent action to the unified float32 (6,) action (see the module docstring)."""
    check_action_type(action_type)
    M = NUM_MOTOR_BINDINGS
    if action_type == "multi_discrete":
        a = jnp.asarray(action, jnp.int32)
        motor = jnp.array([0.0, 1.0, -1.0], jnp.float32)[jnp.clip(a[:M], 0, 2)]
        thr = (a[M:] != 0).astype(jnp.float32)
        return jnp.concatenate([motor, thr])
    if action_type == "discrete":
        a = jnp.asarray(action, jnp.int32)
        idx = jnp.arange(_NB)
        motor_sign = jnp.where(a % 2 == 0, -1.0, 1.0)
        is_motor = (a < 2 * M) & (idx == a // 2)
        is_thr = (a > 2 * M) & (idx == a - 2 * M - 1 + M)
        return jnp.where(is_motor, motor_sign, jnp.where(is_thr, 1.0, 0.0)).astype(jnp.float32)
    return jnp.asarray(action, jnp.float32).reshape(_NB)


def entity_actions(unified: jax.Array, level: Level) -> jax.Array:
    """Per-entity engine actions (J + T,) float32 from a unified action and the level's bindings."""
    M = NUM_MOTOR_BINDINGS
    u = jnp.asarray(unified, jnp.float32)
    motors = jnp.clip(u[:M][level.motor_bindings], -1.0, 1.0)
    motors = jnp.where(level.motor_auto, 1.0, motors)
    thr = jnp.clip(u[M:][level.thruster_bindings], 0.0, 1.0)
    return jnp.concatenate([motors, thr]).astype(jnp.float32)


def noop_action(action_type: str = "multi_discrete") -> jax.Array:
    """The action that drives nothing (MultiDiscrete zeros, Discrete 8, Continuous zeros)."""
    check_action_type(action_type)
    if action_type == "multi_discrete":
        return jnp.zeros((_NB,), jnp.int32)
    if action_type == "discrete":
        return jnp.asarray(2 * NUM_MOTOR_BINDINGS, jnp.int32)
    return jnp.zeros((_NB,), jnp.float32)


def random_action(key: jax.Array, action_type: str = "multi_discrete") -> jax.Array:
    """A uniformly random action (continuous: motors U[-1, 1], thrusters |U[-1, 1]|)."""
    check_action_type(action_type)
    if action_type == "continuous":
        u = jax.random.uniform(key, (_NB,), jnp.float32, -1.0, 1.0)
        return u.at[NUM_MOTOR_BINDINGS:].set(jnp.abs(u[NUM_MOTOR_BINDINGS:]))
    return action_space(action_type).sample(key)
