"""Adversarial levels: valid levels at the edges of what validation accepts, for fuzzing.

``adversarial_level(key, family, size, setting)`` builds one level (pure JAX, jit- and vmap-able;
``family`` may be traced, an int in ``0 .. len(FAMILIES) - 1``); ``make_adversarial(size,
setting)`` is the cached ``jit(vmap(...))``: ``f(keys (B, 2), families (B,) int32) -> Level``
batch (leading axis B). Every output passes :func:`kinetix.validate.validate_level`
(``tests/kinetix/test_fuzz_regressions.py`` checks it). ``benchmarks/fuzz_physics.py`` steps
them under random actions.

Every free slot of the size is filled (``P - 4`` polygons besides the arena, ``C`` circles, ``J``
joints, ``T`` thrusters), starting from a plain random level (boxes and triangles with half
extents 0.05-0.5 m and circles of radius 0.05-0.5 m anywhere in the arena, density 1 kg/m^2,
some static; revolute joints with motors and limits, some fixed; thrusters of power 0.5-3;
random roles with one green and one blue shape, random bindings), then one family pushes it to
an edge (units: m, rad, kg/m^2, m/s, rad/s):

==================  ==================================================================
family              what it does
==================  ==================================================================
coincident          every free shape centred on one point; often identical shapes too
sliver              polygons at the validation limits: area 1.05-2 x 1e-6 m^2 (thin
                    triangles up to 3 m long, 1 mm squares), edges of 1.05-2 x 1e-5 m,
                    needles 1e-5 m wide, near-collinear quads; circles of radius 1e-4-1e-2
touching            shapes resting exactly on the floor, on each other (stacks) or side
                    by side in a row, against the walls or the ceiling (zero gap)
interpenetrating    deep overlaps: a tight cluster, shapes sunk into the floor (some
                    wholly inside it), into the walls or the ceiling
joint_limits        revolute joints locked (min = max), starting outside their limits,
                    with a 1e-4 rad range or 2 pi wide; anchors at a centre or 3 m away;
                    joints to the floor, repeated pairs (redundant joints), fixed joints
extreme_power       motor power and speed multipliers log-uniform in [1e-3, 1e4] and
                    [1e-3, 1e3] (often at the ends), auto motors; thruster power
                    log-uniform in [1e-3, 1e5]
clamp_velocity      linear velocity components at +-100 m/s and angular velocities at
                    +-50 rad/s (the engine's clamps), some static (kinematic) shapes
                    moving; some shapes placed at the position clamp (+-15 m)
density             densities log-uniform in [1e-4, 1e4] kg/m^2, half of them at the ends
mixed               each of the families above applied with probability 0.4, in order
==================  ==================================================================

Every dynamic shape is at least as heavy as validation allows (mass >= 1e-6 kg, inertia >=
1e-10 kg m^2, :data:`jax2d.MAX_INVERSE_MASS`): where a family's density would make it lighter,
the density is raised to that floor, so the light end of every family sits at the limit.
Mass properties follow the builders of :mod:`jax2d` under ``setting`` (area centroid and disc
inertia m r^2 / 2 under ``default``; vertex average and m r^2 / 4 under ``jax2d-compat``).
Gravity is (0, -9.81) m/s^2.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jax2d.mass import (
    MAX_INVERSE_INERTIA,
    MAX_INVERSE_MASS,
    circle_mass,
    invert_mass,
    polygon_centroid,
    polygon_mass,
)
from jax2d.math2d import rotate, rotate_inv
from jax2d.params import physics_setting
from jax2d.scene import Joints, Thrusters
from kinetix.adversarial_draws import FAMILIES, draw_spec, family_index
from kinetix.errors import EnvConfigError
from kinetix.level import Level, empty_level
from kinetix.sizes import NUM_STATIC_POLYGONS, EnvSize, env_size

__all__ = ["FAMILIES", "adversarial_level", "make_adversarial", "family_index"]

_PI = math.pi


def _floor_density(unit_mass, unit_inertia, density):
    """``density`` raised where a shape would be lighter than validation allows: mass and inertia
    scale with density, so the smallest admissible one is the larger of the two floors' (with 5%
    to spare for float32 rounding). ``unit_*``: mass and inertia at density 1."""
    need = jnp.maximum(
        1.05 / (MAX_INVERSE_MASS * jnp.maximum(unit_mass, 1e-30)),
        1.05 / (MAX_INVERSE_INERTIA * jnp.maximum(unit_inertia, 1e-30)),
    )
    return jnp.maximum(density, need).astype(jnp.float32)


def _assemble(spec, size: EnvSize, setting) -> Level:
    st = physics_setting(setting)
    level = empty_level(size)
    sc = level.scene
    P, C = size.num_polygons, size.num_circles
    J, T = size.num_joints, size.num_thrusters
    V = size.max_polygon_vertices
    nP = P - NUM_STATIC_POLYGONS
    s = spec["shapes"]
    # polygons (rows 0 .. nP-1 of the spec), centred as jax2d.add_polygon does
    nv = s["nv"][:nP]
    used = jnp.arange(V)[None, :] < nv[:, None]
    padded = jnp.where(used[..., None], s["verts"][:nP, :V], 0.0)
    centre = polygon_centroid(padded, nv, st.area_centroid)
    local = jnp.where(used[..., None], padded - centre[:, None, :], 0.0)
    p_static = s["static"][:nP]
    p_dens = _floor_density(*polygon_mass(local, nv, 1.0), s["dens"][:nP])
    m, inertia = polygon_mass(local, nv, p_dens)
    p_im, p_ii = invert_mass(m, inertia, p_static)
    p_rot = s["rot"][:nP]
    p_pos = s["pos"][:nP] + rotate(centre, p_rot)
    # circles (rows nP ..)
    r = s["radius"][nP:]
    c_dens = _floor_density(*circle_mass(r, 1.0, st.disc_inertia_factor), s["dens"][nP:])
    cm, ci = circle_mass(r, c_dens, st.disc_inertia_factor)
    c_im, c_ii = invert_mass(cm, ci, s["static"][nP:])

    def cat(arena, new):
        return jnp.concatenate([arena[:NUM_STATIC_POLYGONS], jnp.asarray(new, arena.dtype)])

    f = s["fric"]
    poly = sc.polygon.replace(
        position=cat(sc.polygon.position, p_pos),
        rotation=cat(sc.polygon.rotation, p_rot),
        velocity=cat(sc.polygon.velocity, s["vel"][:nP]),
        angular_velocity=cat(sc.polygon.angular_velocity, s["ang"][:nP]),
        inverse_mass=cat(sc.polygon.inverse_mass, p_im),
        inverse_inertia=cat(sc.polygon.inverse_inertia, p_ii),
        friction=cat(sc.polygon.friction, f[:nP]),
        restitution=cat(sc.polygon.restitution, s["rest"][:nP]),
        collision_mode=cat(sc.polygon.collision_mode, s["mode"][:nP]),
        active=jnp.ones((P,), bool),
        n_vertices=cat(sc.polygon.n_vertices, nv),
        vertices=cat(sc.polygon.vertices, local),
        radius=sc.polygon.radius,
    )
    circle = sc.circle.replace(
        position=s["pos"][nP:],
        rotation=s["rot"][nP:],
        velocity=s["vel"][nP:],
        angular_velocity=s["ang"][nP:],
        inverse_mass=c_im,
        inverse_inertia=c_ii,
        friction=f[nP:],
        restitution=s["rest"][nP:],
        collision_mode=s["mode"][nP:],
        active=jnp.ones((C,), bool),
        radius=r,
    )
    # global index of each spec row; -1 (the floor) -> 0
    gidx = jnp.concatenate([jnp.arange(nP) + NUM_STATIC_POLYGONS, jnp.arange(C) + P])

    def glob(row):
        return jnp.where(row < 0, 0, gidx[jnp.maximum(row, 0)]).astype(jnp.int32)

    all_pos = jnp.concatenate([poly.position, circle.position])
    all_rot = jnp.concatenate([poly.rotation, circle.rotation])
    joint = sc.joint
    if J:
        j = spec["joints"]
        a, b = glob(j["a"]), glob(j["b"])
        pa, pb, ra, rb = all_pos[a], all_pos[b], all_rot[a], all_rot[b]
        base = jnp.stack([pa, pb, (pa + pb) / 2])[j["anchor_mode"], jnp.arange(J)]
        w = base + j["anchor_offset"]
        fixed = j["fixed"]
        lim = j["limits"] & ~fixed
        joint = Joints(
            a_index=a,
            b_index=b,
            a_anchor=rotate_inv(w - pa, ra),
            b_anchor=rotate_inv(w - pb, rb),
            active=jnp.ones((J,), bool),
            is_fixed=fixed,
            reference_angle=rb - ra,
            motor_on=j["motor_on"] & ~fixed,
            motor_speed=jnp.where(fixed, 1.0, j["speed"]).astype(jnp.float32),
            motor_power=jnp.where(fixed, 1.0, j["power"]).astype(jnp.float32),
            has_limits=lim,
            min_angle=jnp.where(lim, j["lo"], -_PI).astype(jnp.float32),
            max_angle=jnp.where(lim, j["hi"], _PI).astype(jnp.float32),
            accumulated_impulse=jnp.zeros((J, 2), jnp.float32),
            accumulated_angular_impulse=jnp.zeros((J,), jnp.float32),
            position=w.astype(jnp.float32),
        )
    thruster = sc.thruster
    if T:
        t = spec["thrusters"]
        i = glob(t["shape"])
        thruster = Thrusters(
            shape_index=i,
            relative_position=t["rel"].astype(jnp.float32),
            rotation=t["rot"].astype(jnp.float32),
            power=t["power"].astype(jnp.float32),
            active=jnp.ones((T,), bool),
            position=(all_pos[i] + rotate(t["rel"], all_rot[i])).astype(jnp.float32),
        )
    roles = spec["roles"]
    one = jnp.ones((NUM_STATIC_POLYGONS,), jnp.float32)
    return level.replace(
        scene=sc.replace(polygon=poly, circle=circle, joint=joint, thruster=thruster),
        polygon_roles=jnp.concatenate(
            [spec["floor_role"][None], jnp.zeros((3,), jnp.int32), roles[:nP]]
        ).astype(jnp.int32),
        circle_roles=roles[nP:].astype(jnp.int32),
        polygon_densities=jnp.concatenate([one, p_dens]).astype(jnp.float32),
        circle_densities=c_dens.astype(jnp.float32),
        motor_bindings=spec["joints"]["binding"].astype(jnp.int32),
        thruster_bindings=spec["thrusters"]["binding"].astype(jnp.int32),
        motor_auto=spec["joints"]["auto"] & spec["joints"]["motor_on"] & ~spec["joints"]["fixed"],
    )


def _check_size(size) -> EnvSize:
    size = env_size(size)
    if size.num_polygons < NUM_STATIC_POLYGONS:
        raise EnvConfigError(f"EnvSize.num_polygons: the arena needs 4 slots, got {size}")
    if size.num_polygons - NUM_STATIC_POLYGONS + size.num_circles < 2:
        raise EnvConfigError(
            f"EnvSize: adversarial levels need 2 free shape slots (green, blue), got {size}"
        )
    if size.max_polygon_vertices != 4:
        raise EnvConfigError(f"EnvSize.max_polygon_vertices: adversarial levels need 4, got {size}")
    return size


def adversarial_level(key, family, size="s", setting="default") -> Level:
    """One adversarial level (no batch axis) of ``size``; ``family`` indexes :data:`FAMILIES`.

    ``size`` and ``setting`` (the builders' mass rules) are static; ``key`` and ``family`` may be
    traced. Pure JAX: jit- and vmap-able.
    """
    size = _check_size(size)
    return _assemble(draw_spec(key, family, size), size, setting)


@functools.cache
def make_adversarial(size="s", setting="default"):
    """A cached ``jit(vmap(adversarial_level))``: ``f(keys (B, 2), families (B,)) -> Level``."""
    size = _check_size(size)
    return jax.jit(jax.vmap(lambda k, f: adversarial_level(k, f, size, setting)))
