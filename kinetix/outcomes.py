"""Reference outcomes of levels (dataset columns, DESIGN §6).

* ``noop_solved`` / ``noop_return``: one 256-step episode of the no-op policy.
* ``random_solve_rate``: the fraction of ``random_episodes`` (default 64) first episodes of the
  uniform random policy that solve the level; episode ``k``'s key is
  ``fold_in(PRNGKey(seed), k)`` with ``seed`` the first 31 bits of the level hash, so the figure
  depends only on the level.

All computed with ``EnvConfig(size=<the levels' size>)`` (default physics, MultiDiscrete actions,
entity observations), batched over levels and episodes in one compiled program per size.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.env import EnvConfig, KinetixEnv
from kinetix.level import Level
from kinetix.policies import make_policy
from kinetix.rollout import first_episode

__all__ = ["CHUNK", "EPISODE_STEPS", "RANDOM_EPISODES", "hash_seeds", "reference_outcomes"]

EPISODE_STEPS = 256
RANDOM_EPISODES = 64
#: Levels per call of the outcome programs (float32 results depend on the batch shape on CPU).
CHUNK = 256


def hash_seeds(hashes) -> np.ndarray:
    """(B,) uint32 seeds: the first 31 bits of each hex level hash."""
    return np.array([int(h[:8], 16) & 0x7FFFFFFF for h in hashes], np.uint32)


@functools.cache
def _program(config: EnvConfig, policy: str, episodes: int):
    env = KinetixEnv(config)
    pol = make_policy(policy, config.action_type)

    def one_level(level, seed):
        base = jax.random.PRNGKey(seed)
        keys = jax.vmap(lambda k: jax.random.fold_in(base, k))(jnp.arange(episodes))
        out = jax.vmap(lambda k: first_episode(env, pol, level, k, num_steps=EPISODE_STEPS))(keys)
        return out["solved"].astype(jnp.float32).mean(), out["return"].mean()

    return jax.jit(jax.vmap(one_level))


def reference_outcomes(
    levels: Level,
    hashes,
    *,
    random_episodes: int = RANDOM_EPISODES,
    chunk: int = CHUNK,
    progress=None,
) -> dict[str, np.ndarray]:
    """``noop_solved`` (B,) bool, ``noop_return`` (B,) float32 and ``random_solve_rate`` (B,)
    float32 (NaN when ``random_episodes`` is 0) for a stacked batch of levels.

    ``min(chunk, B)`` levels run per call (the last chunk is padded, so one program serves
    all). A level's figures depend on its chunk's shape (XLA:CPU's float32 rounding): a caller
    that splits a batch keeps these chunk boundaries. ``progress(n)`` is called after each
    chunk with the number of levels done (padding included).
    """
    B = levels.polygon_roles.shape[0]
    seeds = hash_seeds(hashes)
    config = EnvConfig(size=levels.size)
    noop = _program(config, "noop", 1)
    rand = _program(config, "random", random_episodes) if random_episodes > 0 else None
    solved = np.zeros(B, bool)
    ret = np.zeros(B, np.float32)
    rate = np.full(B, np.nan, np.float32)
    chunk = max(1, min(chunk, B))
    for lo in range(0, B, chunk):
        idx = np.minimum(np.arange(lo, lo + chunk), B - 1)
        n = min(chunk, B - lo)
        part = jax.tree.map(lambda x, idx=idx: x[idx], levels)
        s, r = noop(part, jnp.asarray(seeds[idx]))
        solved[lo : lo + n] = np.asarray(s)[:n] > 0.5
        ret[lo : lo + n] = np.asarray(r)[:n]
        if rand is not None:
            rr, _ = rand(part, jnp.asarray(seeds[idx]))
            rate[lo : lo + n] = np.asarray(rr)[:n]
        if progress is not None:
            progress(n)
    return {"noop_solved": solved, "noop_return": ret, "random_solve_rate": rate}
