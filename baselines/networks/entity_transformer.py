"""The Kinetix paper's entity transformer (``kinetix_checkpoints.md`` §3), size-agnostic.

Forward pass for one observation (the module maps over any leading axes, (T, B) by convention):

1. encoders: ``c = act(Dense_0(circles))``, ``p = act(Dense_1(polygons))`` (width E - 1), each
   with a constant type column appended (circles 0, polygons 1; 0 for both with
   ``legacy_entity_id``); ``jenc = act(Dense_2(joints))``, ``tenc = act(Dense_3(thrusters))`` (E);
2. tokens ``[dummy (all ones); polygons; circles]`` (no dummy in ``"mean"`` mode); masks: the
   observation's 4 attention groups (dummy row and column all true), restricted to valid tokens,
   each group repeated for ``num_heads / 4`` consecutive heads; joint/thruster indexes + 1;
3. ``transformer_depth`` blocks (``Transformer_0``): pre-LayerNorm attention, GRU gate, LayerNorm
   -> Dense (or FFN), GRU gate, then joint and thruster messages added to their "from" / parent
   tokens (both computed from the same post-attention tokens);
4. pooling: the mean over valid tokens (dummy included), or the dummy token alone;
5. the shared actor-critic head (:class:`baselines.networks.layers.ActorCriticHead`).

Inactive entities never influence the output, so the result does not depend on padding.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.linen.initializers import constant, orthogonal

from baselines.networks.configs import EntityTransformerConfig
from baselines.networks.layers import Dense, activation_fn, head_from_config

__all__ = ["EntityTransformerNet", "Gating", "TransformerBlock", "MessageBlock"]

_NUM_MASK_GROUPS = 4


def _gather_rows(x, idx):
    """``x`` (..., N, D), ``idx`` (..., R) int -> (..., R, D)."""
    return jnp.take_along_axis(x, idx[..., None].astype(jnp.int32), axis=-2)


def _scatter_add_rows(x, idx, rows):
    """``x`` (..., N, D) with ``rows`` (..., R, D) added at ``idx`` (..., R) (duplicates sum)."""
    lead = x.shape[:-2]
    n = int(np.prod(lead)) if lead else 1
    xf = x.reshape(n, *x.shape[-2:])
    out = jax.vmap(lambda a, i, r: a.at[i].add(r))(
        xf, idx.reshape(n, idx.shape[-1]), rows.reshape(n, *rows.shape[-2:])
    )
    return out.reshape(x.shape)


class Gating(nn.Module):
    """GTrXL/GRU-style gate on the residual stream ``x`` with input ``y`` (no Dense biases).

    ``r = sigmoid(y W0 + x W1)``, ``z = sigmoid(y W2 + x W3 - gating_bias)``,
    ``h = tanh(y W4 + (r * x) W5)``, ``out = (1 - z) * x + z * h``.
    """

    features: int

    @nn.compact
    def __call__(self, x, y):
        def dense(i):
            return Dense(self.features, use_bias=False, name=f"Dense_{i}")

        r = jax.nn.sigmoid(dense(0)(y) + dense(1)(x))
        bias = self.param("gating_bias", constant(0.0), (self.features,))
        z = jax.nn.sigmoid(dense(2)(y) + dense(3)(x) - bias)
        h = jnp.tanh(dense(4)(y) + dense(5)(r * x))
        return (1 - z) * x + z * h


class TransformerBlock(nn.Module):
    """One attention block (``tf_layers_l``): ``ln1``, ``attention1``, ``gate1``, ``ln2``,
    ``dense1`` (+ ``dense2`` with the FFN), ``gate2``. ``x`` (..., N, E), ``mask`` (..., H, N, N).
    """

    num_heads: int
    qkv_features: int
    features: int
    ffn: bool

    @nn.compact
    def __call__(self, x, mask):
        att = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads,
            qkv_features=self.qkv_features,
            out_features=self.features,
            name="attention1",
        )(nn.LayerNorm(name="ln1")(x), mask=mask)
        y = Gating(self.features, name="gate1")(x, jax.nn.relu(att))
        yn = nn.LayerNorm(name="ln2")(y)
        if self.ffn:
            e = jax.nn.relu(Dense(4 * self.features, name="dense1")(yn))
            e = Dense(self.features, name="dense2")(e)
        else:
            e = Dense(self.features, name="dense1")(yn)
        return Gating(self.features, name="gate2")(y, jax.nn.relu(e))


class MessageBlock(nn.Module):
    """The multi-layer joint/thruster message: ReLU after every Dense (``Dense_0..L-1``)."""

    features: int
    hidden: int
    num_layers: int

    @nn.compact
    def __call__(self, x):
        for i in range(self.num_layers - 1):
            x = jax.nn.relu(Dense(self.hidden, name=f"Dense_{i}")(x))
        return jax.nn.relu(Dense(self.features, name=f"Dense_{self.num_layers - 1}")(x))


class _Transformer(nn.Module):
    """``Transformer_0``: the blocks and their message layers."""

    config: EntityTransformerConfig

    @nn.compact
    def __call__(self, tokens, mask, jenc, joint_mask, joint_idx, tenc, thruster_mask, thr_idx):
        cfg = self.config
        E = cfg.transformer_encoder_size
        for layer in range(cfg.transformer_depth):
            tokens = TransformerBlock(
                cfg.num_heads, cfg.transformer_size, E, cfg.transformer_ffn,
                name=f"tf_layers_{layer}",
            )(tokens, mask)  # fmt: skip
            if cfg.multilayer_joint_thruster_mixing:
                hid = E * cfg.joint_thruster_block_hidden_dim_multiplication
                n = cfg.joint_thruster_block_num_layers
                joint_layer = MessageBlock(E, hid, n, name=f"joint_layers_{layer}")
                thruster_layer = MessageBlock(E, hid, n, name=f"thruster_layers_{layer}")
            else:
                joint_layer = Dense(E, name=f"joint_layers_{layer}")
                thruster_layer = Dense(E, name=f"thruster_layers_{layer}")
            joint_in = jnp.concatenate(
                [_gather_rows(tokens, joint_idx[..., 0]), _gather_rows(tokens, joint_idx[..., 1]),
                 jenc], axis=-1,
            )  # fmt: skip
            joint_msg = joint_layer(joint_in) * joint_mask[..., None]
            thr_in = jnp.concatenate([_gather_rows(tokens, thr_idx), tenc], axis=-1)
            thr_msg = thruster_layer(thr_in) * thruster_mask[..., None]
            tokens = _scatter_add_rows(tokens, joint_idx[..., 0], joint_msg)
            tokens = _scatter_add_rows(tokens, thr_idx, thr_msg)
        return tokens


class EntityTransformerNet(nn.Module):
    """Actor-critic entity transformer on :class:`kinetix.EntityObservation` batches.

    ``__call__(hidden, obs, dones) -> (hidden, distribution, value)``: ``obs`` fields carry
    leading (T, B) axes, ``dones`` is bool (T, B), ``value`` float32 (T, B).
    """

    config: EntityTransformerConfig
    action_type: str
    action_dim: int
    nvec: tuple[int, ...]

    @nn.compact
    def __call__(self, hidden, obs, dones):
        cfg = self.config
        act = activation_fn(cfg.activation)
        E = cfg.transformer_encoder_size

        def encoder(i, width):
            return Dense(
                width,
                kernel_init=orthogonal(np.sqrt(2)),
                bias_init=constant(0.0),
                name=f"Dense_{i}",
            )

        def with_flag(enc, flag):
            col = jnp.full((*enc.shape[:-1], 1), 0.0 if cfg.legacy_entity_id else flag, enc.dtype)
            return jnp.concatenate([enc, col], axis=-1)

        circles = with_flag(act(encoder(0, E - 1)(obs.circles)), 0.0)
        polygons = with_flag(act(encoder(1, E - 1)(obs.polygons)), 1.0)
        jenc = act(encoder(2, E)(obs.joints))
        tenc = act(encoder(3, E)(obs.thrusters))

        tokens = jnp.concatenate([polygons, circles], axis=-2)
        valid = jnp.concatenate([obs.polygon_mask, obs.circle_mask], axis=-1).astype(bool)
        groups = obs.attention_mask.astype(bool)
        joint_idx = obs.joint_indexes.astype(jnp.int32)
        thr_idx = obs.thruster_indexes.astype(jnp.int32)
        if cfg.aggregate_mode != "mean":
            lead = tokens.shape[:-2]
            tokens = jnp.concatenate([jnp.ones((*lead, 1, E), tokens.dtype), tokens], axis=-2)
            valid = jnp.concatenate([jnp.ones((*lead, 1), bool), valid], axis=-1)
            groups = jnp.pad(groups, [(0, 0)] * (groups.ndim - 2) + [(1, 0), (1, 0)],
                             constant_values=True)  # fmt: skip
            joint_idx = joint_idx + 1
            thr_idx = thr_idx + 1
        pair = valid[..., None, :, None] & valid[..., None, None, :]
        if cfg.full_attention_mask:
            groups = jnp.broadcast_to(pair, groups.shape)
        else:
            groups = groups & pair
        mask = jnp.repeat(groups, cfg.num_heads // _NUM_MASK_GROUPS, axis=-3)

        tokens = _Transformer(cfg, name="Transformer_0")(
            tokens, mask, jenc, obs.joint_mask, joint_idx, tenc, obs.thruster_mask, thr_idx
        )
        if cfg.aggregate_mode == "dummy":
            embedding = tokens[..., 0, :]
        else:
            embedding = jnp.mean(tokens, axis=-2, where=valid[..., None])
        head = head_from_config(cfg, self.action_type, self.action_dim, self.nvec)
        return head(hidden, dones, embedding)
