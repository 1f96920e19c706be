"""The protocol's attempts as public API: which levels, which keys, how a key is used.

So that any evaluation loop, yours included, reproduces ``zero-shot@v1`` exactly:

* :func:`protocol_attempts` (the level sampler): every level of a loaded benchmark, in the
  benchmark's order, already padded to its env size, each with its ``attempts`` keys
  (:func:`harness.scoring.protocols.attempt_keys`: ``split(fold_in(PRNGKey(seed),
  uint32(level_hash[:8], 16)), attempts)``). Zero-shot protocols sample no levels at random:
  every level gets every attempt.
* :func:`episode_keys`: how one attempt's key drives its episode, as both engines use it: the key
  is split into the reset key and a rest, the rest into ``max_steps`` step keys, and each step
  key into the policy's action key and the env's step key.

Example (one attempt, by hand)::

    loaded = harness.load_benchmark("handmade-s-v1")
    level_id, level_hash, level, keys = next(iter(protocol_attempts(loaded)))
    k = episode_keys(keys[0], max_steps=256)
    obs, state = env.reset(k.reset, level)
    for t in range(256):
        action = policy(k.action[t], obs)
        obs, state, reward, done, info = env.step(k.step[t], state, action)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import jax
import numpy as np

from harness.scoring.protocols import ZeroShot, attempt_keys, parse_protocol

__all__ = ["Attempt", "EpisodeKeys", "episode_keys", "protocol_attempts"]


@dataclasses.dataclass(frozen=True)
class EpisodeKeys:
    """The keys of one attempt: ``reset`` uint32 (2,), ``action`` and ``step`` (S, 2)."""

    reset: jax.Array
    action: jax.Array
    step: jax.Array


def episode_keys(attempt_key, max_steps: int) -> EpisodeKeys:
    """The keys one attempt (key uint32 (2,)) uses over ``max_steps`` agent steps."""
    rest, reset = jax.random.split(jax.numpy.asarray(attempt_key, jax.numpy.uint32))
    pairs = jax.vmap(jax.random.split)(jax.random.split(rest, max_steps))  # (S, 2, 2)
    return EpisodeKeys(reset, pairs[:, 0], pairs[:, 1])


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One level of a protocol run: ``level_id``, ``level_hash``, ``level`` (padded to the
    benchmark's size, numpy leaves) and ``keys`` uint32 (attempts, 2)."""

    level_id: str
    level_hash: str
    level: object
    keys: np.ndarray


def protocol_attempts(loaded, protocol: ZeroShot | str = "zero-shot@v1") -> Iterator[Attempt]:
    """Every level of ``loaded`` (a :class:`~harness.levels.LoadedBenchmark`) with its
    attempt keys under ``protocol`` (a zero-shot protocol or its id)."""
    if isinstance(protocol, str):
        protocol = parse_protocol(protocol)
    if not isinstance(protocol, ZeroShot):
        raise TypeError(f"protocol: {protocol.id} is not a zero-shot protocol")
    keys = np.asarray(attempt_keys(loaded.level_hashes, protocol))
    host = jax.tree.map(np.asarray, loaded.levels)
    for i, (lid, h) in enumerate(zip(loaded.level_ids, loaded.level_hashes, strict=True)):
        yield Attempt(lid, h, jax.tree.map(lambda x, i=i: x[i], host), keys[i])
