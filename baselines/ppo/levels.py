"""Training level sources: one level, a list / dataset split, an on-device bank, SFL sampling.

Every source ends up as a stacked level batch ``pool`` (leading axis = level, padded to the env
size) held on device. Inside the compiled update a finished episode restarts on a level drawn by
index (:func:`sample_indices`): uniformly over the pool, or, with probability ``ratio``, uniformly
over the SFL buffer (indices of high-learnability levels). A pool of one level needs no draw
(the env's own auto-reset restarts that level).

SFL (``kinetix_spec.md`` §8.3), simplified here:

* every ``update_every`` updates, ``num_score`` levels drawn uniformly (without replacement)
  from the BANK are rolled out with the current policy for ``score_steps`` steps (auto-reset
  to the same level); ``p`` = solved / completed episodes; score = ``p (1 - p) + 0.001 p``;
  the top ``top_k`` form the buffer (:func:`learnability_scores`, :func:`top_k_buffer`);
* differences from Kinetix: candidates come from the pre-generated bank instead of fresh
  generator batches, the non-buffer share of episodes also comes from the bank, envs are not
  all reset at the start of every update (an env switches level when its episode ends), and
  the buffer is empty (ratio 0) until the first scoring.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.level import Level, num_levels, stack_levels

__all__ = [
    "LevelSampler",
    "make_sampler",
    "sample_indices",
    "take_levels",
    "learnability",
    "top_k_buffer",
    "learnability_scores",
    "resolve_levels",
]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LevelSampler:
    """Traced sampling state.

    Attributes:
        pool: stacked levels (N, ...).
        buffer: (K,) int32 pool indices of the SFL buffer (zeros when unused).
        ratio: () float32 probability that a draw comes from the buffer (0: uniform over pool).
    """

    pool: Level
    buffer: jax.Array
    ratio: jax.Array

    @property
    def size(self) -> int:
        return int(self.pool.polygon_roles.shape[0])


def make_sampler(pool: Level, buffer_size: int = 1) -> LevelSampler:
    """A sampler over ``pool`` (stacked; a single level gains a leading axis), buffer empty."""
    if pool.polygon_roles.ndim == 1:
        pool = jax.tree.map(lambda x: jnp.asarray(x)[None], pool)
    pool = jax.tree.map(jnp.asarray, pool)
    return LevelSampler(
        pool=pool, buffer=jnp.zeros((max(1, buffer_size),), jnp.int32), ratio=jnp.float32(0.0)
    )


def sample_indices(key: jax.Array, sampler: LevelSampler, n: int) -> jax.Array:
    """(n,) int32 pool indices: from the buffer with probability ``ratio``, else uniform."""
    k_use, k_pool, k_buf = jax.random.split(key, 3)
    uniform = jax.random.randint(k_pool, (n,), 0, sampler.size, jnp.int32)
    slot = jax.random.randint(k_buf, (n,), 0, sampler.buffer.shape[0], jnp.int32)
    use_buffer = jax.random.uniform(k_use, (n,)) < sampler.ratio
    return jnp.where(use_buffer, sampler.buffer[slot], uniform)


def take_levels(pool: Level, idx: jax.Array) -> Level:
    """The levels ``pool[idx]`` (batched gather)."""
    return jax.tree.map(lambda x: x[idx], pool)


def learnability(solved, completed):
    """Score ``p (1 - p) + 0.001 p`` with ``p = solved / completed`` (0 when none completed)."""
    p = jnp.where(completed > 0, solved / jnp.maximum(completed, 1), 0.0)
    return p * (1.0 - p) + 0.001 * p


def top_k_buffer(scores, indices, k: int):
    """The ``k`` entries of ``indices`` with the highest ``scores`` (ties: lower position)."""
    _, pos = jax.lax.top_k(scores, k)
    return jnp.asarray(indices)[pos]


def learnability_scores(agent, env, env_params, params, levels: Level, key, num_steps: int):
    """Rolls out ``agent`` (sampled actions) on each level of ``levels`` (stacked, L) for
    ``num_steps`` steps with auto-reset; returns ``(scores, p, completed)`` each (L,)."""
    n = int(levels.polygon_roles.shape[0])
    obs, state = jax.vmap(lambda lv: env.reset(key, lv, env_params))(levels)
    hidden = agent.initial_hidden(n)
    done = jnp.ones((n,), bool)

    def body(carry, k):
        obs, state, hidden, done, solved, completed = carry
        tb = jax.tree.map(lambda x: x[None], obs)
        hidden, dist, _ = agent.apply(params, hidden, tb, done[None])
        action = jax.tree.map(lambda x: x[0], dist.sample(k))
        obs, state, _, done, info = jax.vmap(lambda s, a: env.step(key, s, a, env_params))(
            state, action
        )
        solved = solved + (done & info["solved"]).astype(jnp.float32)
        completed = completed + done.astype(jnp.float32)
        return (obs, state, hidden, done, solved, completed), None

    zeros = jnp.zeros((n,), jnp.float32)
    carry = (obs, state, hidden, done, zeros, zeros)
    (_, _, _, _, solved, completed), _ = jax.lax.scan(body, carry, jax.random.split(key, num_steps))
    p = jnp.where(completed > 0, solved / jnp.maximum(completed, 1), 0.0)
    return learnability(solved, completed), p, completed


# ------------------------------------------------------------------------------------------------
# host side: resolve a LevelSourceConfig to a stacked batch


def _load_one(level_id: str, size: str) -> tuple[str, Level]:
    import os

    from kinetix import handmade
    from kinetix.kinetix_json import load_kinetix_json

    if level_id.startswith("handmade-") and not os.path.exists(level_id):
        from baselines.ppo.config import ConfigError

        try:
            entry = handmade.get(level_id)
        except ValueError as e:
            raise ConfigError(f"levels.ids: {e}") from None
        return level_id, entry.build()
    if not os.path.exists(level_id):
        from baselines.ppo.config import ConfigError

        raise ConfigError(f"levels.ids: {level_id!r} is neither a hand-made id nor a file")
    return level_id, load_kinetix_json(level_id, size=size)


def resolve_levels(cfg, size: str, log=None) -> tuple[Level, list[str]]:
    """``(stacked levels padded to size, names)`` for a :class:`LevelSourceConfig`.

    The ``benchmark`` source is resolved by the caller (the harness loads benchmarks); passing
    it here raises :class:`ConfigError`.
    """
    from baselines.ppo.config import ConfigError

    log = log or (lambda s: None)
    if cfg.source in ("single", "list") or (cfg.source == "handmade" and cfg.ids):
        ids = cfg.ids[:1] if cfg.source == "single" else cfg.ids
        named = [_load_one(i, size) for i in ids]
    elif cfg.source == "handmade":
        from kinetix.handmade import certified_levels

        # the frozen v1 set: training configs that name the hand-made levels keep their levels
        named = [(e.id, lv) for e, lv, _ in certified_levels(size, release="v1")]
        if not named:
            raise ConfigError(f"levels: no certified hand-made v1 levels of size {size!r}")
    elif cfg.source == "bank":
        from kinetix.batch_generation import generate_levels
        from kinetix.generator import NoopFilter

        log(f"generating a bank of {cfg.bank_size} {size} levels (seed {cfg.bank_seed})")
        flt = NoopFilter() if cfg.noop_filter else None
        pool = generate_levels(cfg.bank_seed, np.arange(cfg.bank_size), size, noop_filter=flt)
        names = [f"random-{size}/bank{cfg.bank_seed}/{i:07d}" for i in range(cfg.bank_size)]
        return jax.tree.map(jnp.asarray, pool), names
    else:
        raise ConfigError(
            "levels.source: 'benchmark' levels are loaded by the CLI (kinetix-bench train); "
            "pass a level batch to train() instead"
        )
    for name, lv in named:
        if not lv.size.fits_in(_env_size(size)):
            raise ConfigError(f"levels.ids: {name} ({lv.size}) does not fit env size {size!r}")
    batch = stack_levels([lv for _, lv in named], size)
    assert num_levels(batch) == len(named)
    return batch, [n for n, _ in named]


def _env_size(size):
    from kinetix.sizes import env_size

    return env_size(size)
