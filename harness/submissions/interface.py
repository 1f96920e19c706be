"""The calling convention of exported policies, and the batched policies the engine runs.

An exported policy is one StableHLO program (``jax.export``) with the signature::

    program(params, obs, keys[, carry]) -> action_or_logits            (no carry)
    program(params, obs, keys, carry)   -> (action_or_logits, carry)   (with a carry)

over a leading batch axis B, the same on every argument and result:

* ``params``: a nested dict with string keys of static-shape arrays (``{}`` when the policy has
  none), stored in ``params.safetensors`` with ``"/"``-joined keys;
* ``obs``: the observation of B envs as plain arrays: ``flat`` float32 (B, F); ``entity`` a dict
  with the fields of :class:`kinetix.observations.EntityObservation` (``circles`` float32
  (B, C, 19), ..., ``attention_mask`` bool (B, 4, N, N), ``joint_indexes`` int32 (B, 2J, 2));
  ``pixels`` a dict ``image`` float32 (B, 125, 125, 3), ``global_info`` float32 (B, 1). Shapes
  are those of the env size the program was exported for (:func:`observation_avals`);
* ``keys``: uint32 (B, 2), one raw PRNG key per env (``jax.random.PRNGKey`` layout);
* ``carry`` (optional, for recurrent policies): any pytree of arrays with leading axis B, given
  back updated; its initial value for one env is in ``config.json`` (zeros) or
  ``carry.safetensors``;
* output ``action``: ``multi_discrete`` int32 (B, 6), ``discrete`` int32 (B,), ``continuous``
  float32 (B, 6); or output ``logits`` (discrete action types only): ``multi_discrete`` a list
  of 6 float32 arrays (B, 3) x 4 and (B, 2) x 2 (one per head), ``discrete`` float32 (B, 11);
  the harness then samples each head with the env's key, as
  :class:`baselines.networks.MultiCategorical` / :class:`~baselines.networks.Categorical` do.

The batch axis is either symbolic (``jax.export.symbolic_shape("b")``: the program takes any B,
the default of :func:`harness.submissions.export_policy`) or fixed (an int: the harness pads the
envs to a multiple of it and calls the program once per group, in a ``lax.map``).

:class:`BatchedPolicy` is what the evaluation engine (:mod:`harness.scoring.batched`) runs: a
loaded exported program, or an in-process policy function
(:func:`harness.scoring.evaluate_policy`), both behind one ``act`` over env-native observations.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "OUTPUTS",
    "BatchedPolicy",
    "observation_avals",
    "action_avals",
    "key_avals",
    "obs_to_tree",
    "obs_from_tree",
    "sample_logits",
    "sanitize_actions",
    "call_in_batches",
]

#: What a program may return: the action itself, or per-head logits the harness samples.
OUTPUTS = ("action", "logits")


@functools.cache
def _obs_struct(size: str, obs_type: str):
    from kinetix.env import EnvConfig, KinetixEnv
    from kinetix.level import empty_level

    env = KinetixEnv(EnvConfig(size=size, obs_type=obs_type))
    obs, _ = jax.eval_shape(env.reset, jax.random.PRNGKey(0), empty_level(size))
    return obs_to_tree(obs, obs_type)


def observation_avals(size: str, obs_type: str, batch: Any = None):
    """The observation argument of a program for env ``size`` (``s``/``m``/``l``): a pytree of
    ``jax.ShapeDtypeStruct`` with leading axis ``batch`` (an int or a symbolic dim; ``None``: no
    batch axis, one env). Taken from the env itself (``jax.eval_shape`` of a reset)."""
    size = str(getattr(size, "name", size))
    lead = () if batch is None else (batch,)
    return jax.tree.map(
        lambda s: jax.ShapeDtypeStruct((*lead, *s.shape), s.dtype), _obs_struct(size, obs_type)
    )


def action_avals(action_type: str, output: str = "action", batch: Any = None):
    """The result of a program: the action (``output="action"``) or the per-head logits
    (``"logits"``) of B = ``batch`` envs, as ``jax.ShapeDtypeStruct`` (see the module doc)."""
    from baselines.networks.registry import action_head_dims
    from kinetix.actions import action_space

    lead = () if batch is None else (batch,)
    if output == "action":
        space = action_space(action_type)
        return jax.ShapeDtypeStruct((*lead, *space.shape), np.dtype(space.dtype))
    if output != "logits":
        raise ValueError(f"output {output!r}: expected one of {', '.join(OUTPUTS)}")
    if action_type == "continuous":
        raise ValueError("output 'logits': continuous actions have no logits; return the action")
    n, nvec = action_head_dims(action_type)
    if nvec:
        return [jax.ShapeDtypeStruct((*lead, k), np.float32) for k in nvec]
    return jax.ShapeDtypeStruct((*lead, n), np.float32)


def key_avals(batch: Any = None):
    """The keys argument: uint32 (B, 2) (``(2,)`` for one env)."""
    lead = () if batch is None else (batch,)
    return jax.ShapeDtypeStruct((*lead, 2), np.uint32)


def obs_to_tree(obs, obs_type: str):
    """An env observation (``EntityObservation``, ``PixelObservation`` or an array) as the
    program's plain pytree (a dict of arrays, or the array for ``flat``); batch axes kept."""
    if obs_type == "flat":
        return obs
    return {f.name: getattr(obs, f.name) for f in dataclasses.fields(obs)}


def obs_from_tree(tree, obs_type: str):
    """The inverse of :func:`obs_to_tree`: the env's observation type again."""
    from kinetix.observations import EntityObservation, PixelObservation

    if obs_type == "flat":
        return tree
    cls = PixelObservation if obs_type == "pixels" else EntityObservation
    return cls(**tree)


def sample_logits(logits, keys, action_type: str):
    """Actions (B, ...) drawn from per-head ``logits`` with one key per env (``keys`` (B, 2)),
    exactly as the registered networks' distributions draw them."""
    from baselines.networks import Categorical, MultiCategorical

    if action_type == "multi_discrete":
        flat = jnp.concatenate([jnp.asarray(x, jnp.float32) for x in logits], axis=-1)
        nvec = tuple(int(x.shape[-1]) for x in logits)
        return jax.vmap(lambda k, lg: MultiCategorical(lg, nvec).sample(k))(keys, flat)
    return jax.vmap(lambda k, lg: Categorical(lg).sample(k))(keys, jnp.asarray(logits))


def sanitize_actions(action, action_type: str):
    """Continuous actions with NaN set to 0 and clipped to [-1, 1] (what the env would apply
    to finite values anyway); discrete actions unchanged (the env maps them into range)."""
    if action_type != "continuous":
        return jnp.asarray(action, jnp.int32)
    return jnp.clip(jnp.nan_to_num(jnp.asarray(action, jnp.float32)), -1.0, 1.0)


def call_in_batches(fn: Callable, batch_size: int | None, *args):
    """``fn(*args)`` over leading axis N of every leaf of ``args``, for a program that takes
    exactly ``batch_size`` rows (``None``: any number, one call). Pads N up to a multiple of it
    (repeating the last row), runs the groups in a ``lax.map`` and drops the padding."""
    if batch_size is None:
        return fn(*args)
    n = jax.tree.leaves(args)[0].shape[0]
    groups = -(-n // batch_size)
    pad = groups * batch_size - n

    def grouped(x):
        x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) if pad else x
        return x.reshape(groups, batch_size, *x.shape[1:])

    out = jax.lax.map(lambda a: fn(*a), jax.tree.map(grouped, args))
    return jax.tree.map(lambda y: y.reshape(groups * batch_size, *y.shape[2:])[:n], out)


@dataclasses.dataclass(frozen=True, eq=False)
class BatchedPolicy:
    """A policy over a batch of envs, as the evaluation engine calls it.

    Attributes:
        act: ``act(params, obs, keys, carry) -> (action, carry)``: ``obs`` the env-native
            observation of B envs (leaves (B, ...)), ``keys`` uint32 (B, 2), ``carry`` the
            policy state (leaves (B, ...); ``()`` for stateless policies); ``action`` (B, ...)
            in the env's action space (sampled from logits already, sanitised).
        init_carry: ``init_carry(B)``: the state at the start of an episode.
        obs_type: the observation type it reads.
        action_type: the action type it writes.
        identity: a stable id of the policy's behaviour (program and parameters sha256), the
            cache key of its results; ``""``: never cached.
        description: one line for messages.
    """

    act: Callable
    init_carry: Callable[[int], Any]
    obs_type: str
    action_type: str
    identity: str = ""
    description: str = "policy"
