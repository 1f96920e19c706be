"""The evaluation engine: every level x attempt of a benchmark in one compiled program.

``evaluate(agent, levels, level_hashes, protocol, env_config)`` runs, for each level, the
protocol's attempts (first episode only, up to ``max_steps`` agent steps, actions sampled from
the policy; recurrent policies keep their state within the episode) and returns per-attempt
arrays of shape (L, K): ``solved``, ``died``, ``return``, ``length``.

* One ``jit(vmap(levels) o vmap(attempts) o lax.scan(steps))`` program over fixed-size chunks of
  levels (the last chunk is padded), sharded along the level axis over every device of every
  process (:func:`kinetix.distributed.global_mesh`; one process: its local devices). The
  policy's parameters are an argument, not constants baked into the program.
* Several processes (:mod:`kinetix.distributed`): every process holds the levels and runs the
  same chunks; each computes its devices' share and receives the whole chunk's outcomes. Only
  process 0 reads and writes the cache (it tells the others which chunks are cached and sends
  them the cached outcomes), so the result does not depend on the other hosts' disks.
* Deterministic: attempt keys depend only on the protocol seed and the level hash.
* Resumable: with ``cache_dir`` each chunk's result is stored (atomically) under a key made of
  the agent's checkpoint sha256, the protocol, the env config and the chunk's level hashes; an
  interrupted run computes only the chunks it lacks.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from harness.scoring.protocols import ZeroShot, attempt_keys
from kinetix.env import EnvConfig, KinetixEnv
from kinetix.level import Level

__all__ = ["Agent", "evaluate", "OUTCOMES"]

OUTCOMES = ("solved", "died", "return", "length")


@dataclasses.dataclass(frozen=True)
class Agent:
    """What the engine needs of a policy.

    Attributes:
        arch_id: registered architecture (``baselines.networks``) or ``noop`` / ``random``.
        config: the architecture's config (None for parameter-free policies).
        params: parameter pytree (``{"params": ...}``) or None.
        checkpoint_sha256: identity of the weights (cache key; any stable string).
        deterministic: take the distribution's mode instead of sampling.
        policy: a :class:`~harness.submissions.interface.BatchedPolicy` (an exported program
            or an in-process policy function); then ``arch_id`` is only a label and the
            rollout is :mod:`harness.scoring.batched`'s (one device).
    """

    arch_id: str
    config: object = None
    params: object = None
    checkpoint_sha256: str = ""
    deterministic: bool = False
    policy: object = None


@functools.cache
def _program(
    arch_id: str, config, env_config: EnvConfig, attempts: int, max_steps: int, det, mesh=None
):
    """The jitted ``fn(params, levels (C, ...), keys (C, K, 2)) -> outcomes (C, K)``; with a
    ``mesh`` (axis ``"levels"``) a ``shard_map`` of it: each device runs its share of the chunk,
    with no communication (the partitioner would otherwise gather inside the episode loop)."""
    from baselines.networks import build_network, get_architecture
    from baselines.networks.layers import initial_hidden
    from kinetix.policies import make_policy

    env = KinetixEnv(env_config)
    arch = get_architecture(arch_id)
    if arch.parameter_free:
        inner = make_policy(arch_id, env_config.action_type)

        def init_state():
            return jnp.zeros((), jnp.float32)

        def act(params, state, key, obs, done):
            return state, inner(key, obs)
    else:
        net = build_network(arch_id, config, env_config.obs_type, env_config.action_type)

        def init_state():
            return initial_hidden(1)

        def act(params, state, key, obs, done):
            obs_tb = jax.tree.map(lambda x: jnp.asarray(x)[None, None], obs)
            state, dist, _ = net.apply(params, state, obs_tb, jnp.reshape(done, (1, 1)))
            action = dist.mode() if det else dist.sample(key)
            return state, action[0, 0]

    def episode(params, level, key):
        key, reset_key = jax.random.split(key)
        obs, env_state = env.reset(reset_key, level)

        def body(carry, k):
            obs, env_state, pstate, first, alive, out = carry
            k_act, k_step = jax.random.split(k)
            pstate, action = act(params, pstate, k_act, obs, first)
            obs, env_state, reward, done, info = env.step(k_step, env_state, action)
            ended = alive & done
            out = {
                "return": out["return"] + jnp.where(alive, reward, 0.0),
                "solved": out["solved"] | (ended & info["solved"]),
                "died": out["died"] | (ended & info["died"]),
                "length": jnp.where(ended, info["episode_length"], out["length"]),
            }
            return (obs, env_state, pstate, done, alive & ~done, out), None

        out0 = {
            "return": jnp.float32(0.0),
            "solved": jnp.bool_(False),
            "died": jnp.bool_(False),
            "length": jnp.int32(max_steps + 1),
        }
        carry = (obs, env_state, init_state(), jnp.bool_(True), jnp.bool_(True), out0)
        (*_, out), _ = jax.lax.scan(body, carry, jax.random.split(key, max_steps))
        return out

    per_level = jax.vmap(episode, in_axes=(None, None, 0))
    batched = jax.vmap(per_level, in_axes=(None, 0, 0))
    if mesh is None:
        return jax.jit(batched)
    from jax.sharding import PartitionSpec as P

    spec = P("levels")
    return jax.jit(
        jax.shard_map(
            batched, mesh=mesh, in_specs=(P(), spec, spec), out_specs=spec, check_vma=False
        )
    )


def _chunk_key(agent: Agent, protocol: ZeroShot, env_config: EnvConfig, hashes) -> str | None:
    """The cache key of a chunk's outcomes; None (never cached) for a batched policy without
    an identity."""
    from harness.levels.build import simulator_version

    if agent.policy is not None and not getattr(agent.policy, "identity", ""):
        return None

    blob = json.dumps(
        {
            "simulator": simulator_version(),  # a new engine never reuses an old result
            "agent": [agent.arch_id, agent.checkpoint_sha256, agent.deterministic],
            "protocol": protocol.to_json(),
            "env": repr(env_config),
            "levels": list(hashes),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _mesh(local: bool):
    """The 1-D ``"levels"`` mesh: every device of every process, or this process's (``local``)."""
    from jax.sharding import Mesh

    from kinetix.distributed import global_mesh

    return Mesh(np.asarray(jax.local_devices()), ("levels",)) if local else global_mesh("levels")


def _shard(tree, mesh, spec=("levels",)):
    """``tree`` (host arrays, the same on every process) split along its leading axis over
    ``mesh`` (``spec=()``: replicated); unchanged without a mesh."""
    if mesh is None:
        return tree
    from jax.sharding import NamedSharding, PartitionSpec

    from kinetix.distributed import put_global

    sharding = NamedSharding(mesh, PartitionSpec(*spec))
    if mesh.devices.size == jax.local_device_count() and all(
        d.process_index == jax.process_index() for d in mesh.devices.flat
    ):
        return jax.device_put(tree, sharding)  # this process's devices only
    return put_global(tree, sharding)


def _empty_outcomes(n: int, attempts: int) -> dict[str, np.ndarray]:
    """Zeros of a chunk's outcome arrays (the shapes and dtypes the program returns)."""
    dtypes = {"solved": bool, "died": bool, "return": np.float32, "length": np.int32}
    return {k: np.zeros((n, attempts), dtypes[k]) for k in OUTCOMES}


def evaluate(
    agent: Agent,
    levels: Level,
    level_hashes,
    protocol: ZeroShot,
    env_config: EnvConfig,
    *,
    chunk: int = 32,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int], None] | None = None,
    timing: dict | None = None,
    local: bool = False,
) -> dict[str, np.ndarray]:
    """Per-attempt outcomes, each (L, protocol.attempts): see the module docstring.

    ``levels`` is a stacked batch already at ``env_config.size``; ``level_hashes`` its (L,)
    hex hashes; ``progress(n)`` is called after each chunk with the number of levels done.
    ``timing``, when given, is filled with ``computed_chunks``, ``cached_chunks``,
    ``compute_s`` (seconds spent computing chunks in this call, compiles included) and
    ``cached_compute_s`` (the seconds the cached chunks took when they were computed, as stored
    beside them), so a resumed run can report the whole evaluation's compute time.
    ``local``: this process's devices only, no communication with other processes (each
    process evaluates levels of its own, e.g. its fine-tuning cells; it uses ``cache_dir``
    itself).
    """
    hashes = list(level_hashes)
    L = len(hashes)
    if np.shape(levels.polygon_roles)[0] != L:
        raise ValueError(f"evaluate: {np.shape(levels.polygon_roles)[0]} levels, {L} hashes")
    from kinetix.distributed import broadcast, gather, is_primary, process_count

    multi = process_count() > 1 and not local
    primary = is_primary() or local
    params, mesh = agent.params, None
    if agent.policy is not None:  # a batched policy: its own engine, on one device
        from harness.scoring.batched import batched_program

        n_dev = 1  # every process runs every chunk on its own device (the same outcomes)
        fn = batched_program(agent.policy, env_config, protocol.max_steps)
    else:
        n_dev = jax.local_device_count() if local else jax.device_count()
        mesh = _mesh(local) if n_dev > 1 else None
        params = _shard(params, mesh, spec=())
        fn = _program(
            agent.arch_id,
            agent.config,
            env_config,
            protocol.attempts,
            protocol.max_steps,
            agent.deterministic,
            mesh,
        )
    chunk = max(n_dev, min(chunk, -(-L // n_dev) * n_dev))
    chunk = -(-chunk // n_dev) * n_dev
    keys = np.asarray(attempt_keys(hashes, protocol))
    host = jax.tree.map(np.asarray, levels)
    out = {k: [] for k in OUTCOMES}
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None and primary:
        cache.mkdir(parents=True, exist_ok=True)
    t = {"computed_chunks": 0, "cached_chunks": 0, "compute_s": 0.0, "cached_compute_s": 0.0}
    for lo in range(0, L, chunk):
        n = min(chunk, L - lo)
        path = None
        if cache is not None:
            ck = _chunk_key(agent, protocol, env_config, hashes[lo : lo + n])
            path = None if ck is None else cache / f"{ck}.npz"
        cached = primary and path is not None and path.is_file()
        if multi:  # process 0's cache decides, for every process
            cached = bool(broadcast(np.bool_(cached)))
        if cached:
            res, secs = _empty_outcomes(n, protocol.attempts), np.float64(0.0)
            if primary:
                with np.load(path) as z:
                    res = {k: z[k].astype(res[k].dtype) for k in OUTCOMES}
                    secs = np.float64(z["seconds"]) if "seconds" in z.files else secs
            res, secs = broadcast((res, secs)) if multi else (res, secs)
            for k in OUTCOMES:
                out[k].append(res[k])
            t["cached_compute_s"] += float(secs)
            t["cached_chunks"] += 1
            if progress is not None:
                progress(n)
            continue
        t0 = time.perf_counter()
        idx = np.minimum(np.arange(lo, lo + chunk), L - 1)
        part = _shard(jax.tree.map(lambda x, idx=idx: x[idx], host), mesh)
        res = gather(fn(params, part, _shard(np.asarray(keys[idx]), mesh)))
        res = {k: np.asarray(res[k])[:n] for k in OUTCOMES}
        dt = time.perf_counter() - t0
        t["computed_chunks"] += 1
        t["compute_s"] += dt
        if path is not None and primary:
            _save_npz(path, {**res, "seconds": np.float64(dt)})
        for k in OUTCOMES:
            out[k].append(res[k])
        if progress is not None:
            progress(n)
    if timing is not None:
        timing.update(t)
    return {k: np.concatenate(v) for k, v in out.items()}


def _save_npz(path: Path, arrays: dict) -> None:
    from kinetix.atomic_io import atomic_write

    atomic_write(path, lambda f: np.savez(f, **arrays))
