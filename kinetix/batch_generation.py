"""Generating many procedural levels fast: chunked, sharded over local devices, no-op filtered.

``generate_levels(seed, indices, size)`` returns level ``i`` of the stream ``seed`` for every
``i`` in ``indices``: the level :func:`kinetix.make_generator` draws from the key
``fold_in(PRNGKey(seed), i)``. With a :class:`~kinetix.generator.NoopFilter` the result equals
``make_generator(size, params, noop_filter)`` on the same keys (candidate ``a`` of a level comes
from ``fold_in(key, a)``, the first one the no-op policy does not solve is kept), but the
filter runs attempt by attempt, so only the levels still solved by the no-op policy are drawn
again (Kinetix solves about 10-20% of raw levels with no-op: the fused version pays every
attempt for every level).

Batches are split over all local devices along the level axis (``jax.sharding``); each level is
computed independently, so the device count never changes a level. Levels are bit-identical
only on one platform: CPU and GPU float arithmetic differ, so datasets are built on the CPU.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.generator import (
    GeneratorParams,
    NoopFilter,
    check_generator_size,
    generate_level,
)
from kinetix.level import Level
from kinetix.sizes import EnvSize

__all__ = ["level_keys", "generate_levels"]


def level_keys(seed: int, indices) -> jax.Array:
    """(B, 2) keys ``fold_in(PRNGKey(seed), i)`` for each index (level ``i`` of stream ``seed``)."""
    base = jax.random.PRNGKey(seed)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(indices, jnp.uint32))


@functools.cache
def _programs(size: EnvSize, params: GeneratorParams, flt: NoopFilter | None):
    gen = jax.jit(jax.vmap(lambda k: generate_level(k, size, params)))
    if flt is None:
        return gen, None
    from kinetix.env import EnvConfig, KinetixEnv
    from kinetix.policies import noop_policy
    from kinetix.rollout import first_episode

    config = flt.env_config if flt.env_config is not None else EnvConfig(size=size)
    env = KinetixEnv(config)
    policy = noop_policy(config.action_type)

    def attempt(key, a):
        k = jnp.where(a == 0, key, jax.random.fold_in(key, a))
        level = generate_level(k, size, params)
        solved = first_episode(env, policy, level, key, num_steps=flt.steps)["solved"]
        return level, solved

    return gen, jax.jit(jax.vmap(attempt, in_axes=(0, None)))


def _shard(x, n_dev: int):
    if n_dev == 1:
        return x
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.local_devices()), ("levels",))
    return jax.device_put(x, NamedSharding(mesh, PartitionSpec("levels")))


def _run_padded(fn, keys: np.ndarray, bucket: int, n_dev: int, *args):
    """``fn`` over ``keys`` in fixed-size buckets (the last padded): one compile per bucket."""
    n = keys.shape[0]
    outs = []
    for lo in range(0, n, bucket):
        part = keys[lo : lo + bucket]
        m = part.shape[0]
        if m < bucket:
            part = np.concatenate([part, np.repeat(part[-1:], bucket - m, axis=0)])
        out = fn(_shard(jnp.asarray(part), n_dev), *args)
        outs.append(jax.tree.map(lambda x, m=m: np.asarray(x)[:m], out))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *outs)


def generate_levels(
    seed: int,
    indices,
    size: str | EnvSize,
    params: GeneratorParams = GeneratorParams(),
    noop_filter: NoopFilter | None = None,
    *,
    chunk: int = 1024,
    progress: Callable[[int], None] | None = None,
) -> Level:
    """Levels ``indices`` of stream ``seed`` as a stacked numpy batch (see the module doc).

    ``chunk`` levels are generated per compiled call (rounded up to a multiple of the device
    count); ``progress(n)`` is called as levels are finished.
    """
    size = check_generator_size(size)
    indices = np.asarray(indices, np.int64)
    if indices.ndim != 1 or indices.size == 0:
        raise ValueError("generate_levels: indices must be a non-empty 1-D sequence")
    if np.any(indices < 0) or np.any(indices >= 2**32):
        raise ValueError("generate_levels: indices must be in [0, 2**32)")
    n_dev = jax.local_device_count()
    # a small request runs in the smallest power-of-two bucket >= its size (>= 16), so one
    # program serves every request of similar size
    chunk = min(chunk, max(16, 1 << (int(indices.size) - 1).bit_length()))
    chunk = -(-max(chunk, n_dev) // n_dev) * n_dev
    small = max(n_dev, -(-(chunk // 4) // n_dev) * n_dev)  # bucket for re-drawn levels
    gen, attempt = _programs(size, params, noop_filter)
    keys = np.asarray(level_keys(seed, indices))
    results = []
    for lo in range(0, len(keys), chunk):
        k = keys[lo : lo + chunk]
        if attempt is None:
            out = _run_padded(gen, k, chunk, n_dev)
        else:
            out, solved = _run_padded(attempt, k, chunk, n_dev, jnp.int32(0))
            for a in range(1, noop_filter.attempts):
                redo = np.flatnonzero(solved)
                if redo.size == 0:
                    break
                new, new_solved = _run_padded(attempt, k[redo], small, n_dev, jnp.int32(a))
                out = jax.tree.map(lambda x, y, redo=redo: _put(x, redo, y), out, new)
                solved[redo] = new_solved
        results.append(out)
        if progress is not None:
            progress(len(k))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *results)


def _put(x: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    x = np.array(x)
    x[rows] = values
    return x
