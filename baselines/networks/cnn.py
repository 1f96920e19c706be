"""Kinetix's pixel CNN (``impala_fast``) on :class:`kinetix.PixelObservation` batches.

``Conv_0``: 16 filters 8x8 stride 4, ReLU; ``Conv_1``: 32 filters 4x4 stride 2, ReLU (SAME
padding, HWIO kernels): (125, 125, 3) -> (32, 32, 16) -> (16, 16, 32); flattened row-major
(H, W, C) to 8192, ``global_info`` (1) appended, then the actor-critic head.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from baselines.networks.configs import PixelsCNNConfig
from baselines.networks.layers import head_from_config

__all__ = ["PixelsCNNNet"]


class PixelsCNNNet(nn.Module):
    """``__call__(hidden, obs, dones) -> (hidden, distribution, value (T, B))``; ``obs.image``
    (T, B, 125, 125, 3) in [0, 1], ``obs.global_info`` (T, B, 1)."""

    config: PixelsCNNConfig
    action_type: str
    action_dim: int
    nvec: tuple[int, ...]

    @nn.compact
    def __call__(self, hidden, obs, dones):
        x = obs.image
        x = nn.relu(nn.Conv(16, kernel_size=(8, 8), strides=(4, 4), name="Conv_0")(x))
        x = nn.relu(nn.Conv(32, kernel_size=(4, 4), strides=(2, 2), name="Conv_1")(x))
        emb = x.reshape(*x.shape[:-3], -1)
        emb = jnp.concatenate([emb, obs.global_info.astype(emb.dtype)], axis=-1)
        head = head_from_config(self.config, self.action_type, self.action_dim, self.nvec)
        return head(hidden, dones, emb)
