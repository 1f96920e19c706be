"""The rollout engine for batched policies: exported programs and in-process policy functions.

A :class:`~harness.submissions.interface.BatchedPolicy` cannot be ``vmap``-ped (a
``jax.export`` program has no batching rule), so its program is written batch-first::

    jit( reset: vmap(levels) o vmap(attempts)
         lax.scan over steps:
             one policy call on the C x K envs, flattened to (C * K, ...)
             env.step: vmap(levels) o vmap(attempts) )

with exactly the keys of :mod:`harness.scoring.evaluation` (each attempt's key is split into a
reset key and ``max_steps`` step keys, each step key into the action key and the env key) and
the same first-episode bookkeeping, so a policy scores the same in either engine: an exported
registered network gets the outcomes of its registered submission (a test checks it).

:func:`batched_program` returns ``fn(params, levels, keys) -> outcomes``: ``levels`` a stacked
chunk of C levels, ``keys`` (C, K, 2) uint32, outcomes ``solved``, ``died`` (bool), ``return``
(float32), ``length`` (int32), each (C, K). The policy's state (``carry``) starts from
``init_carry`` at the reset and is never reset: only the first episode counts.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from kinetix.env import EnvConfig, KinetixEnv

__all__ = ["batched_program", "first_episodes"]


def first_episodes(policy, env: KinetixEnv, params, levels, keys, max_steps: int) -> dict:
    """Outcomes (C, K) of the first episode of every (level, attempt): see the module doc.

    ``policy``: a :class:`~harness.submissions.interface.BatchedPolicy`; ``levels``: C stacked
    levels; ``keys``: (C, K, 2) attempt keys. Traceable (jit it)."""
    C, K = keys.shape[0], keys.shape[1]
    N = C * K

    def reset_one(level, key):
        key, reset_key = jax.random.split(key)
        obs, state = env.reset(reset_key, level)
        return jax.random.split(key, max_steps), obs, state

    step_keys, obs, state = jax.vmap(jax.vmap(reset_one, (None, 0)), (0, 0))(levels, keys)
    step_keys = jnp.moveaxis(step_keys, 2, 0)  # (S, C, K, 2)
    flat = lambda t: jax.tree.map(lambda x: x.reshape(N, *x.shape[2:]), t)  # noqa: E731
    grid = lambda t: jax.tree.map(lambda x: x.reshape(C, K, *x.shape[1:]), t)  # noqa: E731
    step = jax.vmap(jax.vmap(env.step))

    def body(carry, k):
        obs, state, pstate, alive, out = carry
        split = jax.vmap(jax.vmap(jax.random.split))(k)  # (C, K, 2, 2)
        k_act, k_step = split[:, :, 0], split[:, :, 1]
        action, pstate = policy.act(params, flat(obs), flat(k_act), pstate)
        obs, state, reward, done, info = step(k_step, state, grid(action))
        ended = alive & done
        out = {
            "return": out["return"] + jnp.where(alive, reward, 0.0),
            "solved": out["solved"] | (ended & info["solved"]),
            "died": out["died"] | (ended & info["died"]),
            "length": jnp.where(ended, info["episode_length"], out["length"]),
        }
        return (obs, state, pstate, alive & ~done, out), None

    out0 = {
        "return": jnp.zeros((C, K), jnp.float32),
        "solved": jnp.zeros((C, K), bool),
        "died": jnp.zeros((C, K), bool),
        "length": jnp.full((C, K), max_steps + 1, jnp.int32),
    }
    carry = (obs, state, policy.init_carry(N), jnp.ones((C, K), bool), out0)
    (*_, out), _ = jax.lax.scan(body, carry, step_keys)
    return out


@functools.lru_cache(maxsize=16)
def batched_program(policy, env_config: EnvConfig, max_steps: int):
    """The jitted ``fn(params, levels, keys) -> outcomes`` of ``policy`` (cached per policy
    object, env config and step count)."""
    env = KinetixEnv(env_config)

    def run(params, levels, keys):
        return first_episodes(policy, env, params, levels, keys, max_steps)

    return jax.jit(run)
