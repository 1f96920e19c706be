"""Generating many procedural levels fast: chunked, sharded over local devices, no-op filtered.

``generate_levels(seed, indices, size)`` returns level ``i`` of the stream ``seed`` for every
``i`` in ``indices``: the level :func:`kinetix.make_generator` draws from the key
``fold_in(PRNGKey(seed), i)``. With a :class:`~kinetix.generator.NoopFilter` the result equals
``make_generator(size, params, noop_filter)`` on the same keys (candidate ``a`` of a level comes
from ``fold_in(key, a)``, the first one the no-op policy does not solve is kept), but the
filter runs as a pool of rollouts (:mod:`kinetix.noop_pool`): a candidate leaves as soon as its
first episode has ended, and only the levels the no-op policy solved are drawn again (Kinetix
solves about 10-20% of raw levels with no-op: the fused version pays every attempt for every
level, and every rollout for all its steps).

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

__all__ = ["CPU_POOL", "level_keys", "generate_levels"]


def level_keys(seed: int, indices) -> jax.Array:
    """(B, 2) keys ``fold_in(PRNGKey(seed), i)`` for each index (level ``i`` of stream ``seed``)."""
    base = jax.random.PRNGKey(seed)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(indices, jnp.uint32))


@functools.cache
def _generator(size: EnvSize, params: GeneratorParams):
    return jax.jit(jax.vmap(lambda k: generate_level(k, size, params)))


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


#: No-op filter rollouts per call on the CPU (2-core CPU, M levels: 57 us per agent step and
#: level at 128, 71 at 512, 78 at 2048; benchmarks/README.md).
CPU_POOL = 128


def _pool_size(pool: int | None, chunk: int, n_dev: int) -> int:
    if pool is None:
        pool = CPU_POOL * n_dev if jax.default_backend() == "cpu" else chunk
    pool = min(pool, chunk)
    return -(-max(pool, n_dev) // n_dev) * n_dev


def generate_levels(
    seed: int,
    indices,
    size: str | EnvSize,
    params: GeneratorParams = GeneratorParams(),
    noop_filter: NoopFilter | None = None,
    *,
    chunk: int = 1024,
    pool: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Level:
    """Levels ``indices`` of stream ``seed`` as a stacked numpy batch (see the module doc).

    ``chunk`` levels are generated per compiled call (rounded up to a multiple of the device
    count); ``progress(n)`` is called as levels are finished (``chunk`` at a time, the
    remainder last). With the filter, ``pool`` rollouts run per call (at most ``chunk``;
    default :data:`CPU_POOL` on the CPU, where small batches run fastest, else ``chunk``).
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
    keys = np.asarray(level_keys(seed, indices))
    if noop_filter is not None:
        from kinetix.noop_pool import noop_filtered

        return noop_filtered(
            keys,
            size,
            params,
            noop_filter,
            pool=_pool_size(pool, chunk, n_dev),
            put=lambda x: _shard(x, n_dev),
            progress=progress,
            report=chunk,
        )
    gen = _generator(size, params)
    results = []
    for lo in range(0, len(keys), chunk):
        k = keys[lo : lo + chunk]
        results.append(_run_padded(gen, k, chunk, n_dev))
        if progress is not None:
            progress(len(k))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *results)
