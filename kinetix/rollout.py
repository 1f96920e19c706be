"""Rolling out a policy for one episode (jit-/vmap-able building block).

``first_episode(env, policy, level, key)`` runs ``num_steps`` agent steps (default 256) from
``level`` with auto-reset on and reports the FIRST episode only (as Kinetix's evaluation does):
``solved``, ``died``, ``length`` (agent steps until its done), ``return`` (sum of rewards of the
episode, sparse + dense). One compiled ``lax.scan``; vmap over keys or levels for batches.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kinetix.env import EnvParams, KinetixEnv
from kinetix.level import Level
from kinetix.policies import Policy

__all__ = ["first_episode", "episode_trace"]


def first_episode(
    env: KinetixEnv,
    policy: Policy,
    level: Level,
    key: jax.Array,
    params: EnvParams | None = None,
    num_steps: int = 256,
) -> dict[str, jax.Array]:
    """Outcome of the first episode within ``num_steps`` agent steps.

    Returns a dict of scalars: ``solved`` (bool), ``died`` (bool), ``length`` (int32; equals
    ``num_steps`` + 1 if the episode did not end in time: impossible when
    ``num_steps >= max_timesteps``), ``return`` (float32), ``done`` (bool, the episode ended).
    """
    key, reset_key = jax.random.split(key)
    obs, state = env.reset(reset_key, level, params)

    def body(carry, k):
        obs, state, alive, out = carry
        k_act, k_step = jax.random.split(k)
        action = policy(k_act, obs)
        obs, state, reward, done, info = env.step(k_step, state, action, params)
        ended = alive & done
        out = {
            "return": out["return"] + jnp.where(alive, reward, 0.0),
            "solved": out["solved"] | (ended & info["solved"]),
            "died": out["died"] | (ended & info["died"]),
            "length": jnp.where(ended, info["episode_length"], out["length"]),
            "done": out["done"] | ended,
        }
        return (obs, state, alive & ~done, out), None

    out0 = {
        "return": jnp.float32(0.0),
        "solved": jnp.bool_(False),
        "died": jnp.bool_(False),
        "length": jnp.int32(num_steps + 1),
        "done": jnp.bool_(False),
    }
    keys = jax.random.split(key, num_steps)
    (_, _, _, out), _ = jax.lax.scan(body, (obs, state, jnp.bool_(True), out0), keys)
    return out


def episode_trace(
    env: KinetixEnv,
    policy: Policy,
    level: Level,
    key: jax.Array,
    params: EnvParams | None = None,
    num_steps: int = 256,
):
    """Per-step ``(reward, done, info)`` arrays (leading axis = step) and the final state."""
    key, reset_key = jax.random.split(key)
    obs, state = env.reset(reset_key, level, params)

    def body(carry, k):
        obs, state = carry
        k_act, k_step = jax.random.split(k)
        action = policy(k_act, obs)
        obs, state, reward, done, info = env.step(k_step, state, action, params)
        return (obs, state), (reward, done, info)

    (obs, state), (rewards, dones, infos) = jax.lax.scan(
        body, (obs, state), jax.random.split(key, num_steps)
    )
    return rewards, dones, infos, state
