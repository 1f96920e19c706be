"""Every constant action on every level: the cheapest policy class a benchmark level must resist.

A level that some constant MultiDiscrete action solves (hold a motor, fire a thruster, do it
forever) measures nothing about control. :func:`constant_action_outcomes` plays ONE
deterministic first episode of each of the ``3^4 x 2^2 = 324`` constant actions of
``MultiDiscrete((3, 3, 3, 3, 2, 2))`` (:data:`CONSTANT_ACTIONS`, in ``itertools.product``
order, index 0 the no-op) on every level, batched over levels x actions in one compiled program
per env size; :func:`summarise` reduces that to the dataset columns ``constant_solves`` (how many
of the 324 solve the level) and ``best_constant_action`` (the solving action with the shortest
episode, else the one with the highest return).

Episodes: ``EPISODE_STEPS`` (256) agent steps of ``EnvConfig(size=<the levels' size>)`` (default
physics, MultiDiscrete actions), reset key ``PRNGKey(0)``; the env has no other randomness, so
the outcome depends only on the level and the action.
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.env import EnvConfig, KinetixEnv
from kinetix.level import Level
from kinetix.outcomes import EPISODE_STEPS
from kinetix.rollout import first_episode
from kinetix.sizes import NUM_MOTOR_BINDINGS, NUM_THRUSTER_BINDINGS

__all__ = ["CONSTANT_ACTIONS", "NUM_CONSTANT_ACTIONS", "constant_action_outcomes", "summarise"]

#: (324, 6) int32: every MultiDiscrete action, motors first (0 none, 1 +1, 2 -1), then thrusters.
CONSTANT_ACTIONS = np.array(
    list(
        itertools.product(*([range(3)] * NUM_MOTOR_BINDINGS + [range(2)] * NUM_THRUSTER_BINDINGS))
    ),
    np.int32,
)
NUM_CONSTANT_ACTIONS = int(CONSTANT_ACTIONS.shape[0])


@functools.cache
def _program(config: EnvConfig, num_steps: int):
    env = KinetixEnv(config)
    actions = jnp.asarray(CONSTANT_ACTIONS)
    key = jax.random.PRNGKey(0)

    def one(level, action):
        out = first_episode(env, lambda k, obs: action, level, key, num_steps=num_steps)
        return out["solved"], out["return"], out["length"]

    per_level = jax.vmap(lambda lv: jax.vmap(lambda a: one(lv, a))(actions))
    return jax.jit(per_level)


def constant_action_outcomes(
    levels: Level, *, chunk: int = 4, num_steps: int = EPISODE_STEPS, progress=None
) -> dict[str, np.ndarray]:
    """Outcomes of the 324 constant actions on a stacked batch of B levels.

    Returns ``solved`` (B, 324) bool, ``return`` (B, 324) float32 and ``length`` (B, 324)
    int32 (agent steps of the first episode; ``num_steps + 1`` if it did not end). ``chunk``
    levels run per call (the last chunk padded, so one program serves all); ``progress(n)``
    after each chunk.
    """
    B = int(levels.polygon_roles.shape[0])
    program = _program(EnvConfig(size=levels.size), int(num_steps))
    solved = np.zeros((B, NUM_CONSTANT_ACTIONS), bool)
    ret = np.zeros((B, NUM_CONSTANT_ACTIONS), np.float32)
    length = np.zeros((B, NUM_CONSTANT_ACTIONS), np.int32)
    chunk = max(1, min(chunk, B))
    for lo in range(0, B, chunk):
        idx = np.minimum(np.arange(lo, lo + chunk), B - 1)
        n = min(chunk, B - lo)
        part = jax.tree.map(lambda x, idx=idx: np.asarray(x)[idx], levels)
        s, r, ln = jax.device_get(program(part))
        solved[lo : lo + n], ret[lo : lo + n], length[lo : lo + n] = s[:n], r[:n], ln[:n]
        if progress is not None:
            progress(n)
    return {"solved": solved, "return": ret, "length": length}


def summarise(outcomes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``constant_solves`` (B,) int16 and ``best_constant_action`` (B, 6) int8 (the solving
    action with the shortest episode, ties to the lowest index; with no solver the action of
    highest return) and ``best_constant_return`` (B,) float32."""
    solved, ret, length = outcomes["solved"], outcomes["return"], outcomes["length"]
    count = solved.sum(axis=1).astype(np.int16)
    big = np.iinfo(np.int32).max
    fastest = np.argmin(np.where(solved, length, big), axis=1)
    highest = np.argmax(ret, axis=1)
    best = np.where(count > 0, fastest, highest)
    rows = np.arange(solved.shape[0])
    return {
        "constant_solves": count,
        "best_constant_action": CONSTANT_ACTIONS[best].astype(np.int8),
        "best_constant_return": ret[rows, best].astype(np.float32),
    }
