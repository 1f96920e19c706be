"""The level pytree: a jax2d scene plus Kinetix's roles, densities and actuator bindings.

A level is data (a pytree of fixed-size arrays), never code. Shapes below are for one level of
size (P, C, J, T); a batch of levels stacks every leaf on a new leading axis
(:func:`stack_levels`).

Global shape indices run over polygons first (``0 .. P-1``), then circles (``P .. P+C-1``), as
in Kinetix; joints and thrusters refer to shapes by global index. Polygon slots 0-3 hold the
static arena (floor, left wall, right wall, ceiling); only the floor usually carries a role.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jax2d import ContactCache, Scene, empty_arena, num_pairs
from kinetix.errors import LevelError, LevelSizeError
from kinetix.sizes import EnvSize, env_size

__all__ = [
    "Level",
    "ROLE_NEUTRAL",
    "ROLE_GREEN",
    "ROLE_BLUE",
    "ROLE_RED",
    "empty_level",
    "level_from_scene",
    "level_size",
    "pad_level",
    "stack_levels",
    "unstack_levels",
    "num_levels",
    "set_role",
    "set_density",
    "set_motor_binding",
    "set_thruster_binding",
    "to_numpy",
]

ROLE_NEUTRAL, ROLE_GREEN, ROLE_BLUE, ROLE_RED = 0, 1, 2, 3


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Level:
    """One Kinetix level (or a stacked batch: every leaf gains a leading axis).

    Attributes:
        scene: the jax2d scene at the start of the episode (velocities usually 0, contact cache
            empty). Its gravity is the level's gravity.
        polygon_roles: (P,) int32 role of each polygon: 0 grey, 1 green, 2 blue, 3 red.
        circle_roles: (C,) int32 role of each circle.
        polygon_densities: (P,) float32 density used to (re)compute mass, kg/m^2.
        circle_densities: (C,) float32.
        motor_bindings: (J,) int32 motor action slot (0..3) that drives each joint.
        thruster_bindings: (T,) int32 thruster action slot (0..1) that drives each thruster.
        motor_auto: (J,) bool; an auto motor always receives action +1 (Kinetix editor feature).
    """

    scene: Scene
    polygon_roles: jax.Array
    circle_roles: jax.Array
    polygon_densities: jax.Array
    circle_densities: jax.Array
    motor_bindings: jax.Array
    thruster_bindings: jax.Array
    motor_auto: jax.Array

    def replace(self, **changes) -> Level:
        return dataclasses.replace(self, **changes)

    @property
    def size(self) -> EnvSize:
        """The level's capacities (read from array shapes; works on stacked batches too)."""
        return EnvSize.from_scene_size(self.scene.size)


def level_size(level: Level) -> EnvSize:
    """The :class:`EnvSize` of ``level`` (read from array shapes)."""
    return level.size


def level_from_scene(
    scene: Scene,
    *,
    polygon_roles=None,
    circle_roles=None,
    polygon_densities=None,
    circle_densities=None,
    motor_bindings=None,
    thruster_bindings=None,
    motor_auto=None,
) -> Level:
    """Wraps a scene into a level; omitted fields default to 0 / density 1 / no auto motors."""
    s = scene.size
    P, C, J, T = s.num_polygons, s.num_circles, s.num_joints, s.num_thrusters

    def arr(x, n, dtype, fill):
        if x is None:
            return jnp.full((n,), fill, dtype)
        a = jnp.asarray(x, dtype)
        if a.shape != (n,):
            raise LevelError(f"expected shape ({n},), got {a.shape}")
        return a

    return Level(
        scene=scene,
        polygon_roles=arr(polygon_roles, P, jnp.int32, 0),
        circle_roles=arr(circle_roles, C, jnp.int32, 0),
        polygon_densities=arr(polygon_densities, P, jnp.float32, 1.0),
        circle_densities=arr(circle_densities, C, jnp.float32, 1.0),
        motor_bindings=arr(motor_bindings, J, jnp.int32, 0),
        thruster_bindings=arr(thruster_bindings, T, jnp.int32, 0),
        motor_auto=arr(motor_auto, J, bool, False),
    )


def empty_level(size: str | EnvSize = "l", *, gravity=(0.0, -9.81)) -> Level:
    """The Kinetix arena (static floor, walls and ceiling in polygon slots 0-3), nothing else.

    Add shapes with the ``jax2d.add_*`` builders on ``level.scene`` and set roles with
    :func:`set_role`.
    """
    size = env_size(size)
    if size.num_polygons < 4:
        raise LevelSizeError(
            f"num_polygons is {size.num_polygons}, but the arena needs 4 polygon slots"
        )
    return level_from_scene(empty_arena(size.scene_size, gravity=gravity))


def _n_polygons(level: Level) -> int:
    return level.polygon_roles.shape[-1]


def set_role(level: Level, shape_index: int, role: int) -> Level:
    """Sets the role of the shape with global index ``shape_index`` (0 grey .. 3 red)."""
    P = _n_polygons(level)
    if shape_index < P:
        return level.replace(polygon_roles=level.polygon_roles.at[shape_index].set(role))
    return level.replace(circle_roles=level.circle_roles.at[shape_index - P].set(role))


def set_density(level: Level, shape_index: int, density: float) -> Level:
    """Records the density of a shape (the builders already used it to compute the mass)."""
    P = _n_polygons(level)
    if shape_index < P:
        return level.replace(polygon_densities=level.polygon_densities.at[shape_index].set(density))
    return level.replace(circle_densities=level.circle_densities.at[shape_index - P].set(density))


def set_motor_binding(level: Level, joint: int, binding: int, *, auto: bool = False) -> Level:
    """Binds joint slot ``joint`` to motor action ``binding`` (0..3)."""
    return level.replace(
        motor_bindings=level.motor_bindings.at[joint].set(binding),
        motor_auto=level.motor_auto.at[joint].set(auto),
    )


def set_thruster_binding(level: Level, thruster: int, binding: int) -> Level:
    """Binds thruster slot ``thruster`` to thruster action ``binding`` (0..1)."""
    return level.replace(thruster_bindings=level.thruster_bindings.at[thruster].set(binding))


def _pad_rows(x, n_add):
    """Appends ``n_add`` zero rows (zeros of the leaf's dtype) on the entity axis (last-but-k)."""
    if n_add == 0:
        return x
    pad = jnp.zeros((n_add, *x.shape[1:]), x.dtype)
    return jnp.concatenate([x, pad], axis=0)


def pad_level(level: Level, size: str | EnvSize) -> Level:
    """Pads one level (no batch axis) into a larger (or equal) size, as Kinetix does.

    New slots are inactive and all-zero (every field, as Kinetix pads); joint and thruster
    references to circles shift up by the number of added polygons; the contact cache is reset.
    Behaviour is unchanged. Works under ``jit`` (shapes are static).

    Raises:
        LevelSizeError: when the level does not fit (e.g. an L level into size S).
    """
    size = env_size(size)
    cur = level.size
    if level.polygon_roles.ndim != 1:
        raise LevelError("pad_level takes one level; use jax.vmap(pad_level) for a batch")
    if not cur.fits_in(size):
        raise LevelSizeError(
            f"a level of size {cur} does not fit into size {size}: padding only grows "
            "capacities (load it into a larger size instead)"
        )
    if cur == size:
        return level
    dp = size.num_polygons - cur.num_polygons
    dc = size.num_circles - cur.num_circles
    dj = size.num_joints - cur.num_joints
    dt = size.num_thrusters - cur.num_thrusters
    P = cur.num_polygons
    sc = level.scene

    def shift(idx):
        return jnp.where(idx >= P, idx + dp, idx).astype(idx.dtype)

    joint = jax.tree.map(lambda x: _pad_rows(x, dj), sc.joint)
    joint = joint.replace(a_index=shift(joint.a_index), b_index=shift(joint.b_index))
    thruster = jax.tree.map(lambda x: _pad_rows(x, dt), sc.thruster)
    thruster = thruster.replace(shape_index=shift(thruster.shape_index))
    scene = sc.replace(
        polygon=jax.tree.map(lambda x: _pad_rows(x, dp), sc.polygon),
        circle=jax.tree.map(lambda x: _pad_rows(x, dc), sc.circle),
        joint=joint,
        thruster=thruster,
        contacts=ContactCache.empty(num_pairs(size.num_polygons, size.num_circles)),
    )
    return Level(
        scene=scene,
        polygon_roles=_pad_rows(level.polygon_roles, dp),
        circle_roles=_pad_rows(level.circle_roles, dc),
        polygon_densities=_pad_rows(level.polygon_densities, dp),
        circle_densities=_pad_rows(level.circle_densities, dc),
        motor_bindings=_pad_rows(level.motor_bindings, dj),
        thruster_bindings=_pad_rows(level.thruster_bindings, dt),
        motor_auto=_pad_rows(level.motor_auto, dj),
    )


def stack_levels(levels, size: str | EnvSize | None = None) -> Level:
    """Stacks levels into one batched pytree (leading axis = level).

    Levels of different sizes are padded to ``size`` (default: the smallest size all fit in).
    """
    levels = list(levels)
    if not levels:
        raise LevelError("stack_levels needs at least one level")
    if size is None:
        target = levels[0].size
        for lv in levels[1:]:
            target = target.union(lv.size)
    else:
        target = env_size(size)
    padded = [pad_level(lv, target) for lv in levels]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *padded)


def num_levels(batch: Level) -> int:
    """Number of levels in a stacked batch (1-D roles mean a single level: returns 1)."""
    return 1 if batch.polygon_roles.ndim == 1 else int(batch.polygon_roles.shape[0])


def unstack_levels(batch: Level) -> list[Level]:
    """Splits a stacked batch into a list of single levels (host-side)."""
    if batch.polygon_roles.ndim == 1:
        return [batch]
    n = batch.polygon_roles.shape[0]
    return [jax.tree.map(lambda x, i=i: x[i], batch) for i in range(n)]


def to_numpy(level: Level) -> Level:
    """The same level with every leaf a numpy array (for host-side inspection and hashing)."""
    return jax.tree.map(np.asarray, level)
