"""Kinetix's per-physics-frame sparse reward and distance (``kinetix_spec.md`` §1.6).

For every candidate shape pair except the arena-arena pairs (both polygons in slots 0-3, which
Kinetix never lists), with ``r`` = role x active of each shape:

* ``pos`` = number of touching pairs with ``r_a * r_b == 2`` (green-blue),
* ``neg`` = number of touching pairs with ``r_a * r_b == 3`` (green-red),
* reward = -1 if ``neg > 0``, else +1 if ``pos > 0``, else 0 (death wins ties);
* distance = the sum, over ALL green-blue pairs (touching or not), of the distance between the
  two centres of mass, measured on the scene *after* the physics step.

``touching`` is the engine's flag, computed at the start of the physics step (before
integration): overlap, both active, collision modes compatible; joints are not consulted.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jax2d import Scene, pair_table
from kinetix.level import Level
from kinetix.sizes import NUM_STATIC_POLYGONS

__all__ = ["reward_pairs", "frame_reward", "green_blue_distance"]


@functools.cache
def reward_pairs(num_polygons: int, num_circles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, keep): global indices of every candidate pair (jax2d pair order) and whether
    Kinetix lists it (False for arena-arena pairs)."""
    pt = pair_table(num_polygons, num_circles)
    P = num_polygons
    arena = NUM_STATIC_POLYGONS
    keep = ~((pt.a < P) & (pt.b < P) & (pt.a < arena) & (pt.b < arena))
    return pt.a, pt.b, keep


def _role_products(scene: Scene, level: Level):
    P = scene.polygon.active.shape[0]
    C = scene.circle.active.shape[0]
    a, b, keep = reward_pairs(P, C)
    roles = jnp.concatenate(
        [
            level.polygon_roles * scene.polygon.active.astype(jnp.int32),
            level.circle_roles * scene.circle.active.astype(jnp.int32),
        ]
    )
    return a, b, keep, roles[a] * roles[b]


def green_blue_distance(scene: Scene, level: Level) -> jax.Array:
    """Sum of centre distances over all green-blue pairs (float32 scalar, m)."""
    a, b, keep, prod = _role_products(scene, level)
    if a.shape[0] == 0:
        return jnp.float32(0.0)
    pos = jnp.concatenate([scene.polygon.position, scene.circle.position])
    d = jnp.linalg.norm(pos[a] - pos[b], axis=-1)
    return jnp.sum(jnp.where((prod == 2) & keep, d, 0.0)).astype(jnp.float32)


def frame_reward(scene: Scene, touching: jax.Array, level: Level):
    """Reward of one physics frame.

    Args:
        scene: the scene after the physics step (for the distance).
        touching: (K,) bool from :class:`jax2d.StepInfo` of that step.
        level: roles of the shapes.
    Returns:
        (reward float32 in {-1, 0, 1}, goal bool (reward > 0), distance float32).
    """
    a, b, keep, prod = _role_products(scene, level)
    if a.shape[0] == 0:
        z = jnp.float32(0.0)
        return z, jnp.bool_(False), z
    t = touching & jnp.asarray(keep)
    pos_hits = jnp.sum(t & (prod == 2))
    neg_hits = jnp.sum(t & (prod == 3))
    reward = jnp.where(neg_hits > 0, -1.0, jnp.where(pos_hits > 0, 1.0, 0.0)).astype(jnp.float32)
    return reward, reward > 0, green_blue_distance(scene, level)
