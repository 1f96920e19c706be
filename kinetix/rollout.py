"""Rolling out a policy for one episode (jit-/vmap-able building block).

``first_episode(env, policy, level, key)`` runs ``num_steps`` agent steps (default 256) from
``level`` with auto-reset on and reports the FIRST episode only (as Kinetix's evaluation does):
``solved``, ``died``, ``length`` (agent steps until its done), ``return`` (sum of rewards of the
episode, sparse + dense). One compiled ``lax.scan``; vmap over keys or levels for batches.
``replay`` steps through a fixed action sequence (witness replays, tests).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from kinetix.env import EnvConfig, EnvParams, KinetixEnv
from kinetix.level import Level
from kinetix.policies import Policy, make_policy

__all__ = ["first_episode", "episode_trace", "replay", "compiled_first_episodes"]


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


def replay(env: KinetixEnv, level: Level, actions, params: EnvParams | None = None):
    """Steps ``env`` from ``level`` through a fixed action sequence (leading axis = step).

    Auto-reset stays on, so a sequence longer than an episode continues in the next one.
    Returns ``(rewards, dones, infos, final_state)`` with a leading step axis on the first three.
    """
    obs, state = env.reset(jax.random.PRNGKey(0), level, params)
    del obs

    def body(state, action):
        _, state, reward, done, info = env.step(jax.random.PRNGKey(0), state, action, params)
        return state, (reward, done, info)

    state, (rewards, dones, infos) = jax.lax.scan(body, state, jnp.asarray(actions))
    return rewards, dones, infos, state


@functools.cache
def compiled_first_episodes(config: EnvConfig, policy: str, num_steps: int = 256):
    """A cached ``jit(vmap(first_episode))`` over keys: ``f(level, keys) -> dict of (K,) arrays``.

    ``policy`` names a parameter-free policy (``"noop"``, ``"random"``). Levels smaller than
    ``config.size`` are padded inside (each distinct level size compiles once).
    """
    env = KinetixEnv(config)
    pol = make_policy(policy, config.action_type)

    def one(level, key):
        return first_episode(env, pol, level, key, num_steps=num_steps)

    return jax.jit(jax.vmap(one, in_axes=(None, 0)))
