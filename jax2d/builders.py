"""Building scenes: the empty arena and ``add_*`` helpers.

Every helper is a pure function ``(scene, ...) -> (scene, index)``. Called eagerly with concrete
values it validates its input and raises :class:`~jax2d.errors.SceneError` (full scene,
non-convex or degenerate polygon, NaN, bad index). Called under ``jit``/``vmap`` (e.g. by a
procedural generator) it cannot raise: it writes into the first free slot and returns ``-1`` as
the index when there is none (the scene is then unchanged); traced callers must size their scenes.

Polygon vertices may be given in either winding; they are stored counter-clockwise, centred on
the centre of mass (area centroid, or vertex average under the ``jax2d-compat`` setting).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jax2d.errors import InvalidShapeError, SceneError, SceneFullError
from jax2d.mass import circle_mass, invert_mass, polygon_centroid, polygon_mass
from jax2d.math2d import rotate, rotate_inv
from jax2d.params import PhysicsSetting, SceneSize, physics_setting
from jax2d.scene import Scene

__all__ = [
    "ARENA_SIZE",
    "FLOOR_TOP",
    "empty_arena",
    "add_circle",
    "add_rectangle",
    "add_polygon",
    "add_revolute_joint",
    "add_fixed_joint",
    "add_thruster",
    "validate_polygon",
]

ARENA_SIZE = 5.0
FLOOR_TOP = 0.4


def _concrete(*xs) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(xs))


def _f32(x):
    return jnp.asarray(x, jnp.float32)


def _first_free(active, what: str):
    """Index of the first inactive slot, or -1 when full (raises when concrete)."""
    n = active.shape[0]
    if n == 0:
        if _concrete(active):
            raise SceneFullError(f"the scene has no {what} slots (capacity 0)")
        return jnp.int32(-1)
    slot = jnp.argmin(active).astype(jnp.int32)
    full = jnp.all(active)
    if _concrete(active) and bool(full):
        raise SceneFullError(f"all {n} {what} slots are in use")
    return jnp.where(full, -1, slot)


def _set(arr, slot, value):
    """Writes ``value`` at ``slot`` unless slot is -1."""
    safe = jnp.maximum(slot, 0)
    new = arr.at[safe].set(jnp.asarray(value, arr.dtype))
    return jnp.where(slot >= 0, new, arr)


def _set_fields(obj, slot, **values):
    return obj.replace(**{k: _set(getattr(obj, k), slot, v) for k, v in values.items()})


def _check_finite(name, *values):
    if _concrete(values):
        for v in values:
            a = np.asarray(v, np.float64)
            if not np.all(np.isfinite(a)):
                raise InvalidShapeError(f"{name}: NaN or infinite value in {a.tolist()}")


def validate_polygon(vertices) -> np.ndarray:
    """Checks a polygon (K, 2) and returns it counter-clockwise (numpy float32).

    Raises :class:`InvalidShapeError` for fewer than 3 vertices, NaN/inf, repeated or collinear
    vertices, zero area, or a non-convex outline.
    """
    v = np.asarray(vertices, np.float64)
    if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3:
        raise InvalidShapeError(f"polygon vertices: expected shape (K >= 3, 2), got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise InvalidShapeError("polygon vertices: NaN or infinite value")
    area = 0.5 * np.sum(v[:, 0] * np.roll(v[:, 1], -1) - v[:, 1] * np.roll(v[:, 0], -1))
    if abs(area) < 1e-6:
        raise InvalidShapeError(f"polygon vertices: degenerate polygon (area {area:.3g} m^2)")
    if area < 0:
        v = v[::-1].copy()
    e = np.roll(v, -1, axis=0) - v
    if np.any(np.linalg.norm(e, axis=1) < 1e-5):
        raise InvalidShapeError("polygon vertices: two consecutive vertices coincide")
    turns = e[:, 0] * np.roll(e[:, 1], -1) - e[:, 1] * np.roll(e[:, 0], -1)
    if np.any(turns <= 1e-9 * np.max(np.abs(turns))):
        raise InvalidShapeError(
            "polygon vertices: not strictly convex (collinear or reflex vertex)"
        )
    return v.astype(np.float32)


def empty_arena(
    size: SceneSize = SceneSize(),
    *,
    floor: bool = True,
    left_wall: bool = True,
    right_wall: bool = True,
    ceiling: bool = True,
    gravity=(0.0, -9.81),
) -> Scene:
    """A 5 m x 5 m box: static floor (top at y = 0.4), walls and ceiling, each optional.

    The arena polygons take slots 0 (floor), 1 (left wall), 2 (right wall) and 3 (ceiling), as
    in Kinetix; a disabled one leaves its slot free. They are static (inverse mass 0), collide
    with everything (collision mode 2), friction 1, restitution 0.
    """
    scene = Scene.empty(size).replace(gravity=_f32(gravity))
    s, top = ARENA_SIZE, FLOOR_TOP
    boxes = [  # (enabled, centre, half extents)
        (floor, (s / 2, top - (s + top)), (s / 2, s + top)),
        (left_wall, (-s / 2, s / 2), (s / 2, s / 2)),
        (right_wall, (s + s / 2, s / 2), (s / 2, s / 2)),
        (ceiling, (s / 2, s + (s + top)), (s / 2, s + top)),
    ]
    wanted = sum(e for e, _, _ in boxes)
    if wanted > size.num_polygons:
        raise SceneFullError(
            f"the arena needs {wanted} polygon slots but num_polygons is {size.num_polygons}"
        )
    poly = scene.polygon
    for slot, (enabled, c, h) in enumerate(boxes):
        if not enabled:
            continue
        hx, hy = h
        verts = np.zeros((size.max_polygon_vertices, 2), np.float32)
        verts[:4] = [(-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)]
        poly = _set_fields(
            poly,
            slot,
            position=c,
            vertices=verts,
            n_vertices=4,
            active=True,
            collision_mode=2,
            friction=1.0,
            restitution=0.0,
            inverse_mass=0.0,
            inverse_inertia=0.0,
        )
    return scene.replace(polygon=poly)


def _common_checks(name, position, velocity, angular_velocity, rotation, density, friction):
    _check_finite(name, position, velocity, angular_velocity, rotation, density, friction)
    if _concrete(density, friction):
        if float(density) <= 0:
            raise InvalidShapeError(f"{name}: density must be > 0, got {float(density)}")
        if float(friction) < 0:
            raise InvalidShapeError(f"{name}: friction must be >= 0, got {float(friction)}")


def add_circle(
    scene: Scene,
    position,
    radius,
    *,
    rotation=0.0,
    velocity=(0.0, 0.0),
    angular_velocity=0.0,
    density=1.0,
    friction=1.0,
    restitution=0.0,
    static=False,
    collision_mode=1,
    setting: str | PhysicsSetting = "default",
):
    """Adds a disc; returns ``(scene, global_index)`` (polygons come first in global indices)."""
    setting = physics_setting(setting)
    _common_checks("circle", position, velocity, angular_velocity, rotation, density, friction)
    if _concrete(radius) and not float(radius) > 0:
        raise InvalidShapeError(f"circle: radius must be > 0, got {float(radius)}")
    slot = _first_free(scene.circle.active, "circle")
    m, inertia = circle_mass(_f32(radius), _f32(density), setting.disc_inertia_factor)
    inv_m, inv_i = invert_mass(m, inertia, static)
    circle = _set_fields(
        scene.circle,
        slot,
        position=position,
        rotation=rotation,
        velocity=velocity,
        angular_velocity=angular_velocity,
        inverse_mass=inv_m,
        inverse_inertia=inv_i,
        friction=friction,
        restitution=restitution,
        collision_mode=collision_mode,
        active=True,
        radius=radius,
    )
    index = jnp.where(slot >= 0, slot + scene.polygon.active.shape[0], -1)
    return scene.replace(circle=circle), index


def add_polygon(
    scene: Scene,
    position,
    vertices,
    *,
    rotation=0.0,
    velocity=(0.0, 0.0),
    angular_velocity=0.0,
    density=1.0,
    friction=1.0,
    restitution=0.0,
    static=False,
    collision_mode=1,
    setting: str | PhysicsSetting = "default",
):
    """Adds a convex polygon; returns ``(scene, global_index)``.

    ``vertices`` (K, 2) with K = 3 .. max_polygon_vertices are given in the body frame relative
    to ``position`` (before centring); the stored body position is ``position`` plus the
    rotated centroid, and the stored vertices are re-centred on it.
    """
    setting = physics_setting(setting)
    _common_checks("polygon", position, velocity, angular_velocity, rotation, density, friction)
    V = scene.polygon.vertices.shape[1]
    if _concrete(vertices):
        verts = validate_polygon(vertices)
    else:
        verts = jnp.asarray(vertices, jnp.float32)  # traced: caller guarantees CCW and convexity
    k = verts.shape[0]
    if k > V:
        raise InvalidShapeError(f"polygon: {k} vertices but max_polygon_vertices is {V}")
    padded = jnp.zeros((V, 2), jnp.float32).at[:k].set(verts)
    centre = polygon_centroid(padded, k, setting.area_centroid)
    local = jnp.where((jnp.arange(V) < k)[:, None], padded - centre, 0.0)
    m, inertia = polygon_mass(local, k, _f32(density))
    inv_m, inv_i = invert_mass(m, inertia, static)
    slot = _first_free(scene.polygon.active, "polygon")
    pos = _f32(position) + rotate(centre, _f32(rotation))
    poly = _set_fields(
        scene.polygon,
        slot,
        position=pos,
        rotation=rotation,
        velocity=velocity,
        angular_velocity=angular_velocity,
        inverse_mass=inv_m,
        inverse_inertia=inv_i,
        friction=friction,
        restitution=restitution,
        collision_mode=collision_mode,
        active=True,
        n_vertices=k,
        vertices=local,
        radius=0.0,
    )
    return scene.replace(polygon=poly), slot


def add_rectangle(scene: Scene, position, width, height, **kwargs):
    """Adds a ``width`` x ``height`` box centred at ``position``; see :func:`add_polygon`."""
    if _concrete(width, height) and not (float(width) > 0 and float(height) > 0):
        raise InvalidShapeError(f"rectangle: width and height must be > 0, got {width}, {height}")
    hw, hh = _f32(width) / 2, _f32(height) / 2
    verts = jnp.stack(
        [jnp.stack([-hw, -hh]), jnp.stack([hw, -hh]), jnp.stack([hw, hh]), jnp.stack([-hw, hh])]
    )
    return add_polygon(scene, position, verts, **kwargs)


def _shape_state(scene: Scene, index):
    """(position, rotation, active, inverse_mass) of the shape with global index ``index``."""
    P = scene.polygon.active.shape[0]
    C = scene.circle.active.shape[0]
    pos = jnp.concatenate([scene.polygon.position, scene.circle.position]).reshape(P + C, 2)
    rot = jnp.concatenate([scene.polygon.rotation, scene.circle.rotation])
    act = jnp.concatenate([scene.polygon.active, scene.circle.active])
    i = jnp.clip(index, 0, max(P + C - 1, 0))
    return pos[i], rot[i], act[i]


def _check_shape_index(scene: Scene, name: str, index):
    if not _concrete(index):
        return
    n = scene.polygon.active.shape[0] + scene.circle.active.shape[0]
    i = int(index)
    if not 0 <= i < n:
        raise SceneError(f"{name}: shape index {i} is out of range (0 .. {n - 1})")
    _, _, active = _shape_state(scene, i)
    if not bool(active):
        raise SceneError(f"{name}: shape {i} is not active")


def _anchors(scene, a, b, anchor, a_anchor, b_anchor):
    if anchor is not None:
        pa, ra, _ = _shape_state(scene, a)
        pb, rb, _ = _shape_state(scene, b)
        w = _f32(anchor)
        return rotate_inv(w - pa, ra), rotate_inv(w - pb, rb)
    if a_anchor is None or b_anchor is None:
        raise SceneError("joint: give either a world `anchor` or both `a_anchor` and `b_anchor`")
    return _f32(a_anchor), _f32(b_anchor)


def _add_joint(scene, name, a, b, anchor, a_anchor, b_anchor, **fields):
    _check_shape_index(scene, f"{name}.a", a)
    _check_shape_index(scene, f"{name}.b", b)
    if _concrete(a, b) and int(a) == int(b):
        raise SceneError(f"{name}: a joint needs two different shapes, got {int(a)} twice")
    la, lb = _anchors(scene, a, b, anchor, a_anchor, b_anchor)
    _check_finite(name, la, lb)
    slot = _first_free(scene.joint.active, "joint")
    pa, _, _ = _shape_state(scene, a)
    joint = _set_fields(
        scene.joint,
        slot,
        a_index=a,
        b_index=b,
        a_anchor=la,
        b_anchor=lb,
        active=True,
        accumulated_impulse=jnp.zeros(2),
        accumulated_angular_impulse=0.0,
        position=pa + rotate(la, _shape_state(scene, a)[1]),
        **fields,
    )
    return scene.replace(joint=joint), slot


def add_revolute_joint(
    scene: Scene,
    a,
    b,
    anchor=None,
    *,
    a_anchor=None,
    b_anchor=None,
    motor_on=False,
    motor_speed=1.0,
    motor_power=1.0,
    has_limits=False,
    min_angle=-np.pi,
    max_angle=np.pi,
):
    """Pins shapes ``a`` and ``b`` (global indices) together at a point; returns (scene, slot).

    Give the pin either as a world point ``anchor`` (at the shapes' current poses) or as body-frame
    ``a_anchor`` and ``b_anchor``. Limits bound ``rotation_b - rotation_a - reference_angle``,
    where the reference angle is the current relative angle.
    """
    if _concrete(min_angle, max_angle) and has_limits and float(min_angle) > float(max_angle):
        raise SceneError(f"revolute joint: min_angle {min_angle} > max_angle {max_angle}")
    _, ra, _ = _shape_state(scene, a)
    _, rb, _ = _shape_state(scene, b)
    return _add_joint(
        scene,
        "revolute joint",
        a,
        b,
        anchor,
        a_anchor,
        b_anchor,
        is_fixed=False,
        reference_angle=rb - ra,
        motor_on=motor_on,
        motor_speed=motor_speed,
        motor_power=motor_power,
        has_limits=has_limits,
        min_angle=min_angle,
        max_angle=max_angle,
    )


def add_fixed_joint(
    scene: Scene, a, b, anchor=None, *, a_anchor=None, b_anchor=None, reference_angle=None
):
    """Welds shapes ``a`` and ``b`` at a point; the weld holds ``reference_angle`` (default: the
    current relative angle ``rotation_b - rotation_a``). Returns (scene, slot)."""
    if reference_angle is None:
        _, ra, _ = _shape_state(scene, a)
        _, rb, _ = _shape_state(scene, b)
        reference_angle = rb - ra
    return _add_joint(
        scene,
        "fixed joint",
        a,
        b,
        anchor,
        a_anchor,
        b_anchor,
        is_fixed=True,
        reference_angle=reference_angle,
        motor_on=False,
        motor_speed=1.0,
        motor_power=1.0,
        has_limits=False,
        min_angle=-np.pi,
        max_angle=np.pi,
    )


def add_thruster(scene: Scene, shape, relative_position=(0.0, 0.0), rotation=0.0, power=1.0):
    """Attaches a thruster to ``shape`` (global index); returns (scene, slot).

    ``relative_position`` is in the shape's frame (relative to its centre of mass); ``rotation``
    is the thrust direction relative to the shape (0 = the shape's +x axis).
    """
    _check_shape_index(scene, "thruster.shape", shape)
    _check_finite("thruster", relative_position, rotation, power)
    slot = _first_free(scene.thruster.active, "thruster")
    ps, rs, _ = _shape_state(scene, shape)
    thr = _set_fields(
        scene.thruster,
        slot,
        shape_index=shape,
        relative_position=relative_position,
        rotation=rotation,
        power=power,
        active=True,
        position=ps + rotate(_f32(relative_position), rs),
    )
    return scene.replace(thruster=thr), slot
