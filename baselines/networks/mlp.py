"""Kinetix's MLP families: the permutation-invariant entity MLP and the flat-observation MLP.

* :class:`PermInvariantMLPNet` (entity observations): per type ``act(Dense(encoder_size - 4))``
  (``Dense_0`` circles, ``Dense_1`` polygons, ``Dense_2`` joints, ``Dense_3`` thrusters) plus a
  4-way one-hot type (circle 0, polygon 1, joint 2, thruster 3); rows ordered polygons, circles,
  joints, thrusters, inactive rows zeroed; then ``act(MultiHeadDense_0(rows))`` (and
  ``MultiHeadDense_1`` for a separate critic embedding) -> the actor-critic head. Zeroed rows still
  add ``relu(bias)`` per head, so unlike the transformer the output depends on the padding.
* :class:`FlatMLPNet` (flat observations (T, B, F)): ``relu(Dense_0(obs))`` of width
  ``actor_width`` -> the head.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax.linen.initializers import constant, orthogonal

from baselines.networks.configs import FlatMLPConfig, PermInvariantMLPConfig
from baselines.networks.layers import Dense, MultiHeadDense, activation_fn, head_from_config

__all__ = ["PermInvariantMLPNet", "FlatMLPNet"]

_NUM_ENTITY_TYPES = 4


class PermInvariantMLPNet(nn.Module):
    """``__call__(hidden, obs, dones) -> (hidden, distribution, value (T, B))``."""

    config: PermInvariantMLPConfig
    action_type: str
    action_dim: int
    nvec: tuple[int, ...]

    @nn.compact
    def __call__(self, hidden, obs, dones):
        cfg = self.config
        act = activation_fn(cfg.activation)

        def encode(i, features, type_id):
            enc = act(
                Dense(
                    cfg.encoder_size - _NUM_ENTITY_TYPES,
                    kernel_init=orthogonal(np.sqrt(2)),
                    bias_init=constant(0.0),
                    name=f"Dense_{i}",
                )(features)
            )
            one_hot = jnp.zeros((*enc.shape[:-1], _NUM_ENTITY_TYPES), enc.dtype)
            return jnp.concatenate([enc, one_hot.at[..., type_id].set(1.0)], axis=-1)

        circles = encode(0, obs.circles, 0)
        polygons = encode(1, obs.polygons, 1)
        joints = encode(2, obs.joints, 2)
        thrusters = encode(3, obs.thrusters, 3)
        rows = jnp.concatenate([polygons, circles, joints, thrusters], axis=-2)
        mask = jnp.concatenate(
            [obs.polygon_mask, obs.circle_mask, obs.joint_mask, obs.thruster_mask], axis=-1
        ).astype(bool)
        rows = jnp.where(mask[..., None], rows, 0.0)

        per_head = cfg.symbolic_embedding_dim // cfg.num_heads

        def embed(i):
            return act(MultiHeadDense(cfg.num_heads, per_head, name=f"MultiHeadDense_{i}")(rows))

        head = head_from_config(cfg, self.action_type, self.action_dim, self.nvec)
        if cfg.separate_actor_critic:
            return head(hidden, dones, actor_embedding=embed(0), critic_embedding=embed(1))
        return head(hidden, dones, embed(0))


class FlatMLPNet(nn.Module):
    """``__call__(hidden, obs (T, B, F), dones) -> (hidden, distribution, value (T, B))``."""

    config: FlatMLPConfig
    action_type: str
    action_dim: int
    nvec: tuple[int, ...]

    @nn.compact
    def __call__(self, hidden, obs, dones):
        cfg = self.config
        emb = Dense(
            cfg.actor_width,
            kernel_init=orthogonal(np.sqrt(2)),
            bias_init=constant(0.0),
            name="Dense_0",
        )(obs)
        head = head_from_config(cfg, self.action_type, self.action_dim, self.nvec)
        return head(hidden, dones, nn.relu(emb))
