"""Benchmark and demo scenes of the Kinetix sizes S, M and L, defined once.

Each size has one hand-placed *template* built with the :mod:`jax2d` builders inside
:func:`jax2d.empty_arena`, populated like real levels: shapes stacked and resting on each other
or on the floor, wheels on motor joints, welds (fixed joints) and thrusters, and every slot of
the size in use. Shapes are grouped into rigid *groups* (a car, a stack, an arm) that sit apart
from each other.

:func:`scene_batch` turns a template into ``B`` different scenes with a numpy RNG of fixed seed:
each group moves sideways as a whole (joints stay consistent because their anchors are in body
frames), stacked shapes shift a little against each other, and every dynamic body gets its own
friction, restitution and density. Scene ``i`` of a batch has its own RNG stream, so a batch of
256 is the first 256 scenes of a batch of 4096. ``drop`` lifts each group by a random height
so that the shapes fall (the demo uses this). :func:`scene_actions` draws fixed random actions
per scene.

Used by ``kinetix-bench bench physics``, ``kinetix-bench demo`` and the tests.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

import jax2d
from jax2d import SceneSize

__all__ = [
    "SIZES",
    "SceneGroup",
    "SceneTemplate",
    "template",
    "scene_batch",
    "scene_actions",
    "parse_size",
]

#: Kinetix's env sizes: polygons (4 of them the static arena), circles, joints, thrusters.
SIZES: dict[str, SceneSize] = {
    "s": SceneSize(num_polygons=5, num_circles=2, num_joints=1, num_thrusters=1),
    "m": SceneSize(num_polygons=6, num_circles=3, num_joints=2, num_thrusters=2),
    "l": SceneSize(num_polygons=12, num_circles=4, num_joints=6, num_thrusters=2),
}

_FLOOR = jax2d.FLOOR_TOP


_ALIASES = {"s": "s", "small": "s", "m": "m", "medium": "m", "l": "l", "large": "l"}


def parse_size(name: str) -> str:
    """Normalises a size name (``"S"``, ``"small"``, ...) to ``"s"``, ``"m"`` or ``"l"``."""
    try:
        return _ALIASES[str(name).strip().lower()]
    except KeyError:
        known = ", ".join(SIZES)
        raise ValueError(f"unknown scene size {name!r}; known sizes: {known}") from None


@dataclasses.dataclass(frozen=True)
class SceneGroup:
    """Shapes that move together when a batch is jittered.

    Attributes:
        shapes: global shape indices of the group.
        joints: joint slots whose world position moves with the group.
        thrusters: thruster slots whose world position moves with the group.
        max_shift: largest sideways shift of the whole group, m.
        wobble: shapes (a subset of ``shapes``) that also shift on their own by up to
            ``wobble_shift`` (stacked boxes that are not jointed to anything).
        wobble_shift: m.
    """

    shapes: tuple[int, ...]
    joints: tuple[int, ...] = ()
    thrusters: tuple[int, ...] = ()
    max_shift: float = 0.1
    wobble: tuple[int, ...] = ()
    wobble_shift: float = 0.0


@dataclasses.dataclass(frozen=True)
class SceneTemplate:
    """One built scene and the groups it is made of."""

    size: str
    setting: str
    scene: jax2d.Scene
    groups: tuple[SceneGroup, ...]


def _poly(scene, pos, w, h, setting, **kw):
    return jax2d.add_rectangle(scene, pos, w, h, setting=setting, **kw)


def _triangle(scene, base_centre, width, height, setting, **kw):
    """A triangle standing on its base (base centre given)."""
    hw = width / 2
    verts = [(-hw, 0.0), (hw, 0.0), (0.0, height)]
    return jax2d.add_polygon(scene, base_centre, verts, setting=setting, **kw)


def _circle(scene, pos, r, setting, **kw):
    return jax2d.add_circle(scene, pos, r, setting=setting, **kw)


def _car(scene, x, setting, *, chassis_w=1.0, wheel_r=0.2, wheel_inset=0.2):
    """Chassis box on two motorised wheels standing on the floor; returns scene and indices."""
    axle_y = _FLOOR + wheel_r
    scene, chassis = _poly(scene, (x, axle_y), chassis_w, 0.25, setting, density=1.0)
    wheels, joints = [], []
    for side in (-1.0, 1.0):
        wx = x + side * (chassis_w / 2 - wheel_inset)
        scene, wheel = _circle(scene, (wx, axle_y), wheel_r, setting, density=1.0)
        scene, j = jax2d.add_revolute_joint(
            scene, chassis, wheel, (wx, axle_y), motor_on=True, motor_speed=1.0, motor_power=1.0
        )
        wheels.append(int(wheel))
        joints.append(int(j))
    return scene, int(chassis), wheels, joints


def _build_s(setting):
    scene = jax2d.empty_arena(SIZES["s"])
    # A box on the floor with a ball resting on top and a motorised wheel pinned to its side.
    x = 2.0
    scene, box = _poly(scene, (x, _FLOOR + 0.2), 0.6, 0.4, setting)
    scene, ball = _circle(scene, (x - 0.05, _FLOOR + 0.4 + 0.2), 0.2, setting)
    wheel_r = 0.25
    wx = x + 0.35
    scene, wheel = _circle(scene, (wx, _FLOOR + wheel_r), wheel_r, setting)
    scene, j = jax2d.add_revolute_joint(scene, box, wheel, (wx, _FLOOR + wheel_r), motor_on=True)
    scene, t = jax2d.add_thruster(scene, box, (-0.3, 0.0), rotation=0.0, power=1.0)
    group = SceneGroup(
        shapes=(int(box), int(ball), int(wheel)),
        joints=(int(j),),
        thrusters=(int(t),),
        max_shift=1.4,
        wobble=(int(ball),),
        wobble_shift=0.03,
    )
    return scene, (group,)


def _build_m(setting):
    scene = jax2d.empty_arena(SIZES["m"])
    # A car with a ball on its roof, and a triangle standing beside it.
    scene, chassis, wheels, joints = _car(scene, 1.3, setting)
    roof = _FLOOR + 0.2 + 0.125
    scene, ball = _circle(scene, (1.3, roof + 0.15), 0.15, setting)
    scene, t0 = jax2d.add_thruster(scene, chassis, (-0.5, 0.0), rotation=0.0, power=1.0)
    car = SceneGroup(
        shapes=(chassis, *wheels, int(ball)),
        joints=tuple(joints),
        thrusters=(int(t0),),
        max_shift=0.5,
        wobble=(int(ball),),
        wobble_shift=0.05,
    )
    scene, tri = _triangle(scene, (3.6, _FLOOR), 0.8, 0.6, setting)
    scene, t1 = jax2d.add_thruster(scene, tri, (0.0, 0.0), rotation=np.pi / 2, power=0.5)
    tri_group = SceneGroup(shapes=(int(tri),), thrusters=(int(t1),), max_shift=0.6)
    return scene, (car, tri_group)


def _build_l(setting):
    scene = jax2d.empty_arena(SIZES["l"])
    # A car carrying a welded crate.
    scene, chassis, wheels, joints = _car(scene, 1.0, setting)
    roof = _FLOOR + 0.2 + 0.125
    scene, crate = _poly(scene, (1.0, roof + 0.15), 0.4, 0.3, setting, density=0.5)
    scene, weld = jax2d.add_fixed_joint(scene, chassis, crate, (1.0, roof))
    scene, t0 = jax2d.add_thruster(scene, chassis, (-0.5, 0.0), rotation=0.0, power=1.0)
    car = SceneGroup(
        shapes=(chassis, *wheels, int(crate)),
        joints=(*joints, int(weld)),
        thrusters=(int(t0),),
        max_shift=0.2,
    )
    # An arm: a post on the floor with a motorised arm on top that rests on its lower limit
    # (horizontal) and can lift by 1 rad; a ball welded to the arm's tip; a triangle welded to
    # the post's foot.
    px = 2.75
    scene, post = _poly(scene, (px, _FLOOR + 0.3), 0.3, 0.6, setting, density=2.0)
    pin = (px, _FLOOR + 0.6 + 0.06)
    scene, arm = _poly(scene, (px + 0.3, pin[1]), 0.8, 0.12, setting)
    scene, hinge = jax2d.add_revolute_joint(
        scene,
        post,
        arm,
        pin,
        motor_on=True,
        motor_speed=0.5,
        has_limits=True,
        min_angle=0.0,
        max_angle=1.0,
    )
    scene, tip = _circle(scene, (px + 0.7 + 0.1, pin[1]), 0.1, setting)
    scene, tip_weld = jax2d.add_fixed_joint(scene, arm, tip, (px + 0.7, pin[1]))
    scene, tri = _triangle(scene, (px - 0.45, _FLOOR), 0.5, 0.4, setting)
    scene, foot_weld = jax2d.add_fixed_joint(scene, post, tri, (px - 0.15, _FLOOR + 0.1))
    scene, t1 = jax2d.add_thruster(scene, arm, (0.3, 0.0), rotation=np.pi / 2, power=0.5)
    arm_group = SceneGroup(
        shapes=(int(post), int(arm), int(tip), int(tri)),
        joints=(int(hinge), int(tip_weld), int(foot_weld)),
        thrusters=(int(t1),),
        max_shift=0.08,
    )
    # A stack of three boxes with a ball on top.
    sx, bw, bh = 4.2, 0.5, 0.3
    boxes = []
    for k in range(3):
        scene, b = _poly(scene, (sx, _FLOOR + bh / 2 + k * bh), bw, bh, setting)
        boxes.append(int(b))
    scene, ball = _circle(scene, (sx, _FLOOR + 3 * bh + 0.15), 0.15, setting)
    stack = SceneGroup(
        shapes=(*boxes, int(ball)),
        max_shift=0.15,
        wobble=(*boxes[1:], int(ball)),
        wobble_shift=0.04,
    )
    return scene, (car, arm_group, stack)


_BUILDERS = {"s": _build_s, "m": _build_m, "l": _build_l}


def template(size: str, setting: str = "default") -> SceneTemplate:
    """The hand-placed scene of ``size`` (``"s"``, ``"m"`` or ``"l"``) built under ``setting``."""
    return _template(parse_size(size), jax2d.physics_setting(setting).name)


@functools.cache
def _template(key: str, setting: str) -> SceneTemplate:
    scene, groups = _BUILDERS[key](setting)
    return SceneTemplate(size=key, setting=setting, scene=scene, groups=tuple(groups))


def _uniforms(seed: int, stream: int, batch: int, n: int) -> np.ndarray:
    """(batch, n) uniforms in [0, 1); row ``i`` comes from its own stream ``(seed, stream, i)``,
    so a smaller batch is a prefix of a larger one."""
    out = np.empty((batch, n), np.float64)
    for i in range(batch):
        out[i] = np.random.default_rng([seed, stream, i]).random(n)
    return out


def scene_batch(
    size: str,
    batch: int,
    *,
    seed: int = 0,
    setting: str = "default",
    drop: float = 0.0,
) -> jax2d.Scene:
    """``batch`` different scenes of ``size`` stacked on a leading axis (a jax pytree).

    Scene ``i`` depends only on ``(size, setting, seed, drop, i)``: a smaller batch is a prefix
    of a larger one.

    Args:
        size: ``"s"``, ``"m"`` or ``"l"``.
        batch: number of scenes, >= 1.
        seed: seed of the numpy RNG that jitters the template.
        setting: physics setting the shapes are built under (mass properties differ).
        drop: each group is lifted by a uniform random height in ``[0, drop]`` m.
    """
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    batch = int(batch)
    tpl = template(size, setting)
    s = jax.tree.map(lambda x: np.repeat(np.asarray(x)[None], batch, axis=0), tpl.scene)
    P = s.polygon.active.shape[1]
    bodies = (s.polygon, s.circle)
    n_bodies = sum(b.active.shape[1] for b in bodies)
    n_group = sum(2 + len(g.wobble) for g in tpl.groups)
    u = iter(_uniforms(seed, 0, batch, n_group + 3 * n_bodies).T)  # one (B,) row per draw

    def move(shape, delta):
        body, i = (s.polygon, shape) if shape < P else (s.circle, shape - P)
        body.position[:, i] += delta

    for g in tpl.groups:
        dx = g.max_shift * (2 * next(u) - 1)
        dy = drop * next(u)
        shift = np.stack([dx, dy], axis=-1).astype(np.float32)  # (B, 2)
        for i in g.shapes:
            move(i, shift)
        for j in g.joints:
            s.joint.position[:, j] += shift
        for t in g.thrusters:
            s.thruster.position[:, t] += shift
        for i in g.wobble:
            move(i, np.stack([g.wobble_shift * (2 * next(u) - 1), np.zeros(batch)], -1))

    for body in bodies:
        dynamic = body.active & (body.inverse_mass > 0)
        n = dynamic.shape[1]
        draws = np.stack([np.stack([next(u) for _ in range(n)], 1) for _ in range(3)])
        density_scale = 0.5 + 1.5 * draws[0]
        body.inverse_mass[...] = np.where(dynamic, body.inverse_mass / density_scale, 0.0)
        body.inverse_inertia[...] = np.where(dynamic, body.inverse_inertia / density_scale, 0.0)
        body.friction[...] = np.where(dynamic, 0.4 + 0.6 * draws[1], body.friction)
        body.restitution[...] = np.where(dynamic, 0.3 * draws[2], body.restitution)
    return jax.tree.map(jnp.asarray, s)


def scene_actions(size: str, batch: int, *, seed: int = 0, thrusters: bool = True) -> jax.Array:
    """Fixed random actions, float32 ``(batch, J + T)``: motors in [-1, 1], thrusters in [0, 1].

    With ``thrusters=False`` the thruster actions are 0 (motors only).
    """
    sz = SIZES[parse_size(size)]
    u = _uniforms(seed, 1, int(batch), sz.num_joints + sz.num_thrusters)
    motors = 2 * u[:, : sz.num_joints] - 1
    thrust = u[:, sz.num_joints :]
    if not thrusters:
        thrust = np.zeros_like(thrust)
    return jnp.asarray(np.concatenate([motors, thrust], axis=1), jnp.float32)
