"""How the procedural generator assembles a level (:mod:`kinetix.generator`).

Shape placement in the first free slot, the contact count used to choose among proposals
(``_best_of``), the three additions (a free shape, a shape connected by a joint, a thruster) and
the final shuffle of slots. All pure JAX on fixed capacities. The values they use are drawn with
:mod:`kinetix.generator_draws`; :func:`kinetix.generator.generate_level` composes the additions.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jax2d.joints import joint_components
from jax2d.math2d import rotate
from jax2d.pairs import pair_table
from jax2d.params import physics_setting
from jax2d.step import contact_manifolds, mode_compatible
from kinetix.generator_draws import (
    _SQRT2,
    GeneratorParams,
    _cat,
    _Draw,
    _pick_type,
    _sample_dims,
    _sample_role,
    _View,
)
from kinetix.level import ROLE_BLUE, ROLE_GREEN, ROLE_NEUTRAL, Level
from kinetix.sizes import (
    NUM_MOTOR_BINDINGS,
    NUM_STATIC_POLYGONS,
    NUM_THRUSTER_BINDINGS,
)

_TWO_PI = 2.0 * math.pi
_ARENA = 5.0
_FLOOR = 0.4


def _where(c, a, b):
    return jax.tree.map(lambda x, y: jnp.where(c, x, y), a, b)


def _set_role(level: Level, index, role) -> Level:
    P = level.polygon_roles.shape[0]
    roles = jnp.concatenate([level.polygon_roles, level.circle_roles])
    roles = jnp.where((index >= 0) & (jnp.arange(roles.shape[0]) == index), role, roles)
    return level.replace(polygon_roles=roles[:P], circle_roles=roles[P:])


def _write(obj, mask, **values):
    """Sets ``values`` in the rows of ``obj`` where ``mask`` (N,) holds (selects, no scatter)."""
    out = {}
    for k, v in values.items():
        old = getattr(obj, k)
        m = mask.reshape(mask.shape + (1,) * (old.ndim - 1))
        out[k] = jnp.where(m, jnp.asarray(v, old.dtype), old)
    return obj.replace(**out)


def _first_free_mask(active, skip: int = 0):
    """(N,) one-hot mask of the first inactive slot at index >= skip (all False when full)."""
    free = ~active & (jnp.arange(active.shape[0]) >= skip)
    return free & (jnp.cumsum(free) == 1)


def _place(level: Level, is_circle, pos, rot, hx, hy, r, static, role, setting):
    """Adds a rectangle or a circle (density 1, friction 1) in the first free slot of its kind.

    Returns (level, global index); the index is -1 (level unchanged) when there is no slot.
    """
    sc = level.scene
    P = sc.polygon.active.shape[0]
    V = sc.polygon.vertices.shape[1]
    factor = physics_setting(setting).disc_inertia_factor
    m_rect = 4.0 * hx * hy
    i_rect = m_rect * (hx * hx + hy * hy) / 3.0
    m_circ = jnp.pi * r * r
    i_circ = factor * m_circ * r * r
    m = jnp.where(is_circle, m_circ, m_rect)
    inertia = jnp.where(is_circle, i_circ, i_rect)
    static = jnp.asarray(static, bool)
    inv_m = jnp.where(static, 0.0, 1.0 / m)
    inv_i = jnp.where(static, 0.0, 1.0 / inertia)
    rect = jnp.stack(
        [jnp.stack([-hx, -hy]), jnp.stack([hx, -hy]), jnp.stack([hx, hy]), jnp.stack([-hx, hy])]
    )
    verts = jnp.zeros((V, 2), jnp.float32).at[:4].set(rect)
    pm = _first_free_mask(sc.polygon.active, NUM_STATIC_POLYGONS) & ~is_circle
    cm = _first_free_mask(sc.circle.active) & is_circle
    common = dict(
        position=pos,
        rotation=rot,
        velocity=jnp.zeros(2),
        angular_velocity=0.0,
        inverse_mass=inv_m,
        inverse_inertia=inv_i,
        friction=1.0,
        restitution=0.0,
        collision_mode=1,
        active=True,
    )
    poly = _write(sc.polygon, pm, n_vertices=4, vertices=verts, radius=0.0, **common)
    circ = _write(sc.circle, cm, n_vertices=0, radius=r, **common)
    slots = jnp.concatenate([pm, cm])
    idx = jnp.where(jnp.any(slots), jnp.argmax(slots), -1).astype(jnp.int32)
    roles = jnp.where(slots, role, jnp.concatenate([level.polygon_roles, level.circle_roles]))
    level = level.replace(
        scene=sc.replace(polygon=poly, circle=circ), polygon_roles=roles[:P], circle_roles=roles[P:]
    )
    return level, idx


def _contact_points(level: Level, setting) -> jax.Array:
    """Contact points between touching shapes that are not jointed together."""
    sc = level.scene
    P, C = sc.polygon.active.shape[0], sc.circle.active.shape[0]
    table = pair_table(P, C)
    if table.num_pairs == 0:
        return jnp.float32(0)
    m = contact_manifolds(sc, setting)
    act = _cat(level, "active")
    mode = _cat(level, "collision_mode")
    labels = joint_components(sc.joint, P + C)
    a, b = table.a, table.b
    on = m.overlap & act[a] & act[b] & mode_compatible(mode[a], mode[b]) & (labels[a] != labels[b])
    return jnp.sum(m.active & on[:, None]).astype(jnp.float32)


def _best_of(make, key, level: Level, n: int, setting):
    """Runs ``make(key, level) -> (level, ok, penalty)`` ``n`` times; keeps the fewest contacts."""
    if n == 1:
        out, ok, _ = make(key, level)
        return out, ok
    outs, oks, pens = jax.vmap(make, in_axes=(0, None))(jax.random.split(key, n), level)
    score = jax.vmap(lambda lv: _contact_points(lv, setting))(outs) + pens
    i = jnp.argmin(score)
    return jax.tree.map(lambda x: x[i], outs), oks[i]


# ----------------------------------------------------------------------------------------------
# additions: each returns (level, ok, penalty); when not ok the level is unchanged


def _free_shape(key, level: Level, force_dynamic, params: GeneratorParams, small: bool):
    v = _View(level)
    d = _Draw(key, 16)
    force_dynamic = jnp.asarray(force_dynamic, bool)
    ok = v.free_rect | v.free_circle
    is_circle = _pick_type(d, v)
    role = _sample_role(d, v, True)
    special = role != ROLE_NEUTRAL
    gb = (role == ROLE_GREEN) | (role == ROLE_BLUE)
    hx, hy, r = _sample_dims(d, params, jnp.where(gb, params.goal_body_size_factor, 1.0))
    e = jnp.where(is_circle, r, jnp.maximum(hx, hy) * _SQRT2)
    x = d(e, _ARENA - e)
    side = d.bern(params.goal_body_opposite_side_chance)
    u_side = d()
    x = jnp.where(side & (role == ROLE_GREEN), e + u_side * (_ARENA / 2 - e), x)
    x = jnp.where(side & (role == ROLE_BLUE), _ARENA / 2 + u_side * (_ARENA / 2 - e), x)
    y = d(e + _FLOOR, _ARENA - e)
    rot = d(0.0, _TWO_PI)
    mass = jnp.where(is_circle, jnp.pi * r * r, 4.0 * hx * hy)
    p_fix = jnp.clip(
        params.fixate_chance_min + params.fixate_chance_scale * mass, 0.0, params.fixate_chance_max
    )
    fix = d.bern(p_fix) & ~force_dynamic & (not small)
    down = fix & special & d.bern(params.fixate_shape_bottom_bias_special_role)
    down = down & (y > _ARENA / 2) & (y - _ARENA / 2 >= e + _FLOOR)
    y = jnp.where(down, y - _ARENA / 2, y)
    pos = jnp.stack([x, y])
    out, _ = _place(level, is_circle, pos, rot, hx, hy, r, fix, role, params.physics_setting)
    return _where(ok, out, level), ok, jnp.float32(0)


def _extent(is_circle, half, r, anchor):
    """(farthest, nearest) boundary distance from a body-frame anchor (bounding box / disc)."""
    a = jnp.abs(anchor)
    far = jnp.where(is_circle, r, jnp.sqrt(jnp.sum((half + a) ** 2)))
    near = jnp.where(is_circle, r, jnp.min(half - a))
    return far, near


def _connected_shape(key, level: Level, force_revolute, params: GeneratorParams):
    v = _View(level)
    d = _Draw(key, 24)
    force_revolute = jnp.asarray(force_revolute, bool)
    cap = jnp.where(v.is_circle, 1.0 - v.connections, (2.0 - v.connections) / 2.0)
    w = jnp.where(v.static, params.connect_to_fixated_prob_coeff, 1.0) * jnp.maximum(cap, 0.0)
    w = jnp.where(v.active & v.non_arena, w, 0.0)
    w = jnp.where(v.is_circle & ~v.free_rect, 0.0, w)  # no circle-circle joints
    ok = v.free_joint & (v.free_rect | v.free_circle) & (jnp.sum(w) > 0)
    t = d.choice(jnp.where(jnp.sum(w) > 0, w, 1.0))
    t_circle = v.is_circle[t]
    is_circle = _pick_type(d, v) & ~t_circle
    hx, hy, r = _sample_dims(d, params, 1.0)
    half_t, r_t = v.half[t], v.radius[t]
    a_t = jnp.where(t_circle, 0.0, jnp.stack([d(-1.0, 1.0), d(-1.0, 1.0)]) * half_t)
    half_n = jnp.stack([hx, hy])
    a_n = jnp.where(is_circle, 0.0, jnp.stack([d(-1.0, 1.0), d(-1.0, 1.0)]) * half_n)
    rot = d(0.0, _TWO_PI)
    world = v.position[t] + rotate(a_t, v.rotation[t])
    pos = world - rotate(a_n, rot)
    # green/blue exist by now: grey, or red only next to a grey target
    role = _sample_role(d, v, v.roles[t] == ROLE_NEUTRAL)
    far_t, near_t = _extent(t_circle, half_t, r_t, a_t)
    far_n, near_n = _extent(is_circle, half_n, r, a_n)
    margin = params.connect_visibility_min
    hidden = (far_n + margin < near_t) | (far_t + margin < near_n)
    pen = jnp.where(hidden, params.connect_no_visibility_bias, 0.0)
    lv, idx = _place(level, is_circle, pos, rot, hx, hy, r, False, role, params.physics_setting)
    revolute = force_revolute | d.bern(0.5) | (v.n_revolute < params.min_revolute_joints)
    rect_rect = ~t_circle & ~is_circle
    motor_on = d.bern(params.motor_on_chance)
    speed = d(params.motor_min_speed, params.motor_max_speed)
    power = d(params.motor_min_power, params.motor_max_power)
    power = jnp.where(rect_rect, power, params.wheel_max_power)
    limits = rect_rect & d.bern(params.joint_limit_chance)
    lo = d(-params.joint_limit_max, 0.0)
    hi = d(0.0, params.joint_limit_max)
    binding = jnp.minimum(d() * NUM_MOTOR_BINDINGS, NUM_MOTOR_BINDINGS - 1).astype(jnp.int32)
    jm = _first_free_mask(lv.scene.joint.active)
    joint = _write(
        lv.scene.joint,
        jm,
        a_index=t,
        b_index=idx,
        a_anchor=a_t,
        b_anchor=a_n,
        active=True,
        is_fixed=~revolute,
        reference_angle=rot - v.rotation[t],
        motor_on=motor_on & revolute,
        motor_speed=jnp.where(revolute, speed, 1.0),
        motor_power=jnp.where(revolute, power, 1.0),
        has_limits=limits & revolute,
        min_angle=jnp.where(limits & revolute, lo, -jnp.pi),
        max_angle=jnp.where(limits & revolute, hi, jnp.pi),
        accumulated_impulse=jnp.zeros(2),
        accumulated_angular_impulse=0.0,
        position=world,
    )
    mb = jnp.where(jm, binding, lv.motor_bindings).astype(jnp.int32)
    lv = lv.replace(scene=lv.scene.replace(joint=joint), motor_bindings=mb)
    return _where(ok, lv, level), ok, jnp.where(ok, pen, 0.0)


def _thruster(key, level: Level, params: GeneratorParams):
    v = _View(level)
    d = _Draw(key, 12)
    cand = v.active & v.non_arena & ~v.static
    ok = v.free_thruster & jnp.any(cand)
    p = d.choice(jnp.where(jnp.any(cand), cand, True).astype(jnp.float32))
    circ = v.is_circle[p]
    box = jnp.stack([d(-1.0, 1.0), d(-1.0, 1.0)]) * v.half[p]
    ang = d(0.0, _TWO_PI)
    disc = v.radius[p] * d() * jnp.stack([jnp.cos(ang), jnp.sin(ang)])
    rel = jnp.where(circ, disc, box)
    along = jnp.arctan2(rel[1], rel[0]) + jnp.where(d.bern(0.5), jnp.pi, 0.0)
    rot = jnp.where(d.bern(params.thruster_align_com_prob), along, d(0.0, _TWO_PI))
    mass = 1.0 / jnp.maximum(v.inverse_mass[p], 1e-12)
    power = mass * params.thruster_power_multiplier * d(0.5, 2.0)
    binding = jnp.minimum(d() * NUM_THRUSTER_BINDINGS, NUM_THRUSTER_BINDINGS - 1).astype(jnp.int32)
    tm = _first_free_mask(level.scene.thruster.active)
    thr = _write(
        level.scene.thruster,
        tm,
        shape_index=p,
        relative_position=rel,
        rotation=rot,
        power=power,
        active=True,
        position=v.position[p] + rotate(rel, v.rotation[p]),
    )
    tb = jnp.where(tm, binding, level.thruster_bindings).astype(jnp.int32)
    out = level.replace(scene=level.scene.replace(thruster=thr), thruster_bindings=tb)
    return _where(ok, out, level), ok


# ----------------------------------------------------------------------------------------------
# whole levels


def _shuffle(u, level: Level) -> Level:
    """Permutes dynamic polygon slots, circles, joints and thrusters (indices remapped).

    ``u``: uniforms, one per slot of each kind (permutations are argsorts of them).
    """
    sc = level.scene
    P, C = sc.polygon.active.shape[0], sc.circle.active.shape[0]
    J, T = sc.joint.active.shape[0], sc.thruster.active.shape[0]
    S = NUM_STATIC_POLYGONS
    o = [0, P - S, P - S + C, P - S + C + J, P - S + C + J + T]
    pp = jnp.concatenate([jnp.arange(S), S + jnp.argsort(u[o[0] : o[1]])]).astype(jnp.int32)
    cp = jnp.argsort(u[o[1] : o[2]]).astype(jnp.int32)
    jp = jnp.argsort(u[o[2] : o[3]]).astype(jnp.int32)
    tp = jnp.argsort(u[o[3] : o[4]]).astype(jnp.int32)
    # new slot j holds old slot perm[j]; an old global index g moves to inverse[g]
    order = jnp.concatenate([pp, P + cp])
    inverse = jnp.zeros(P + C, jnp.int32).at[order].set(jnp.arange(P + C, dtype=jnp.int32))
    take = lambda perm: lambda x: x[perm]  # noqa: E731
    joint = jax.tree.map(take(jp), sc.joint)
    joint = joint.replace(a_index=inverse[joint.a_index], b_index=inverse[joint.b_index])
    thr = jax.tree.map(take(tp), sc.thruster)
    thr = thr.replace(shape_index=inverse[thr.shape_index])
    scene = sc.replace(
        polygon=jax.tree.map(take(pp), sc.polygon),
        circle=jax.tree.map(take(cp), sc.circle),
        joint=joint,
        thruster=thr,
    )
    return level.replace(
        scene=scene,
        polygon_roles=level.polygon_roles[pp],
        circle_roles=level.circle_roles[cp],
        polygon_densities=level.polygon_densities[pp],
        circle_densities=level.circle_densities[cp],
        motor_bindings=level.motor_bindings[jp],
        motor_auto=level.motor_auto[jp],
        thruster_bindings=level.thruster_bindings[tp],
    )
