"""One physics step: the stages in order.

1. gravity;
2. narrow phase for every candidate pair (overlap flags for the caller; contact manifolds);
3. joint-motor and thruster impulses;
4. warm start from last step's accumulated impulses (contacts and joints);
5. ``num_solver_iterations`` x (joints one by one, then contact rounds);
6. store impulses for the next warm start;
7. semi-implicit Euler integration and clamps; cached joint and thruster world positions.

``step`` works on one scene; ``jax.vmap`` it for a batch of scenes of one size.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jax2d.contact import bound_contact_impulses, prepare_contacts, warm_start_impulses
from jax2d.fast_collision import narrow_phase
from jax2d.fast_solver import solve_parallel
from jax2d.joints import (
    Bodies1,
    bound_joint_impulses,
    joint_components,
    joint_counts,
    joint_frame,
    joint_warm_start,
    motor_impulses,
)
from jax2d.math2d import cross, rotate
from jax2d.pairs import pair_table
from jax2d.params import PhysicsConfig, SimParams, physics_setting
from jax2d.scene import Scene
from jax2d.sequential import sequential_iterations

__all__ = ["StepInfo", "step", "make_step", "mode_compatible", "contact_manifolds"]


class StepInfo(NamedTuple):
    """What a step reports besides the new scene.

    Attributes:
        touching: (K,) bool per candidate pair (order of :func:`jax2d.pair_table`): the two
            shapes overlapped at the start of the step, both are active and their collision
            modes allow contact. Joints are not consulted (jointed shapes may overlap).
    """

    touching: jax.Array


def mode_compatible(mode_a, mode_b):
    """Collision modes allow contact: either is 2, or both are >= 1."""
    return (mode_a == 2) | (mode_b == 2) | ((mode_a > 0) & (mode_b > 0))


def contact_manifolds(scene: Scene, setting="default"):
    """Contact manifolds of every candidate pair of ``scene`` (pair order of
    :func:`jax2d.pair_table`), geometry only: activity and collision modes are not applied.

    Returns a :class:`jax2d.collision.Manifold` with leading axis K. Useful for counting
    contacts (e.g. by a level generator) without stepping the scene.
    """
    table = pair_table(scene.polygon.active.shape[0], scene.circle.active.shape[0])
    return narrow_phase(scene, table, physics_setting(setting))


def _cat(scene: Scene, field):
    return jnp.concatenate([getattr(scene.polygon, field), getattr(scene.circle, field)], axis=0)


def step(
    scene: Scene,
    actions: jax.Array,
    params: SimParams = SimParams(),
    config: PhysicsConfig = PhysicsConfig(),
) -> tuple[Scene, StepInfo]:
    """Advances one scene by ``params.dt``.

    Args:
        scene: the scene (capacities P, C, J, T read from its array shapes).
        actions: (J + T,) float32: joint motor actions (target speed multipliers, usually in
            [-1, 1]) then thruster actions (usually in [0, 1]); applied as given.
        params: traced parameters.
        config: static configuration (solver iterations, warm starting, physics setting); it
            must be static under ``jit`` (e.g. ``jax.jit(step, static_argnames="config")``).
    Returns:
        (new scene, :class:`StepInfo`).
    """
    setting = config.setting
    parallel = config.solver == "parallel"
    P, C = scene.polygon.active.shape[0], scene.circle.active.shape[0]
    J, T = scene.joint.active.shape[0], scene.thruster.active.shape[0]
    N = P + C
    table = pair_table(P, C)
    K = table.num_pairs
    dt = params.dt
    actions = jnp.asarray(actions, jnp.float32).reshape(J + T)

    active = _cat(scene, "active")
    im = jnp.where(active, _cat(scene, "inverse_mass"), 0.0)
    ii = jnp.where(active, _cat(scene, "inverse_inertia"), 0.0)
    pos = _cat(scene, "position").reshape(N, 2)
    rot = _cat(scene, "rotation")
    vel = _cat(scene, "velocity").reshape(N, 2)
    ang = _cat(scene, "angular_velocity")
    mode = _cat(scene, "collision_mode")

    # 1. Gravity on dynamic bodies. Under the default setting bounces are measured from the
    # velocities before this step's gravity, so a bounce never returns energy gravity added.
    vel_before = vel
    vel = vel + jnp.where((im > 0)[:, None], scene.gravity * dt, 0.0)

    joint = scene.joint
    frame = joint_frame(joint, Bodies1(pos, rot, vel, ang, im, ii, active)) if J else None

    # 2. Narrow phase.
    if K:
        a_idx, b_idx = table.a, table.b
        incidence = table.incidence

        def to_bodies(on_a, on_b):
            """Sums per-pair values of side a (K, ...) and side b (K, ...) into shapes (N, ...)."""
            return jnp.sum(jnp.concatenate([on_a, on_b])[incidence], axis=1)

        m = narrow_phase(scene, table, setting)
        touching = (
            m.overlap & active[a_idx] & active[b_idx] & mode_compatible(mode[a_idx], mode[b_idx])
        )
        labels = joint_components(joint, N) if J else jnp.arange(N)
        resolve = touching & (labels[a_idx] != labels[b_idx]) & ((im[a_idx] + im[b_idx]) > 0)
        point_on = m.active & resolve[:, None]
        fric, rest = _cat(scene, "friction"), _cat(scene, "restitution")
        v_bounce = vel_before if setting.restitution_threshold else vel
        side = lambda i: (pos[i], v_bounce[i], ang[i], im[i], ii[i], fric[i], rest[i])  # noqa: E731
        prep = functools.partial(
            prepare_contacts,
            m.normal,
            m.points,
            m.depth,
            point_on,
            params=params,
            restitution_threshold=setting.restitution_threshold,
        )
        rows = prep(side(a_idx), side(b_idx))
        if parallel:
            pair_on = jnp.any(point_on, axis=1).astype(jnp.float32)
            counts = jnp.maximum(to_bodies(pair_on, pair_on), 1.0)
            na, nb = counts[a_idx], counts[b_idx]

            def split_side(i, n):
                p_, v_, w_, m_, i_, f_, r_ = side(i)
                return p_, v_, w_, m_ * n, i_ * n, f_, r_

            split_rows = prep(split_side(a_idx, na), split_side(b_idx, nb))
        inherit = point_on & scene.contacts.touching[:, None] & config.warm_starting
        acc_n = jnp.where(inherit, scene.contacts.normal_impulse, 0.0)
        acc_t = jnp.where(inherit, scene.contacts.tangent_impulse, 0.0)
    else:
        touching = jnp.zeros((0,), bool)

    # 3. Motors and thrusters.
    if J:
        ang = ang + motor_impulses(joint, frame, ang, actions[:J], params)
    if T:
        thr = scene.thruster
        one_t = (thr.shape_index[:, None] == jnp.arange(N)).astype(jnp.float32)  # (T, N)
        on = thr.active & (one_t @ active.astype(jnp.float32) > 0)
        mag = jnp.where(on, thr.power * params.base_thruster_power * actions[J:] * dt, 0.0)
        prot = one_t @ rot
        direction = rotate(jnp.array([1.0, 0.0]), prot + thr.rotation)
        arm = rotate(thr.relative_position, prot)
        vel = vel + one_t.T @ ((one_t @ im)[:, None] * direction * mag[:, None])
        ang = ang + ((one_t @ ii) * cross(arm, direction) * mag) @ one_t

    # 4. Warm start.
    acc_p = joint.accumulated_impulse
    acc_l = joint.accumulated_angular_impulse
    if config.warm_starting:
        if J:
            dv, dw = joint_warm_start(joint, frame, pos)
            vel, ang = vel + dv, ang + dw
        if K:
            dva, dwa, dvb, dwb = warm_start_impulses(rows, acc_n, acc_t)
            vel = vel + to_bodies(dva, dvb)
            ang = ang + to_bodies(dwa, dwb)
    else:
        acc_p = jnp.zeros_like(acc_p)
        acc_l = jnp.zeros_like(acc_l)

    # 5. Solver iterations: joints, then contacts.
    acc_n = acc_n if K else jnp.zeros((0, 2), jnp.float32)
    acc_t = acc_t if K else jnp.zeros((0, 2), jnp.float32)
    if parallel:
        pos, vel, ang, acc_n, acc_t, acc_p, acc_l, joint_points = _parallel_iterations(
            table, config, params, joint, frame, pos, vel, ang,
            split_rows if K else None, na if K else None, nb if K else None,
            acc_n, acc_t, acc_p, acc_l,
        )  # fmt: skip
    else:
        pos, vel, ang, acc_n, acc_t, acc_p, acc_l, joint_points = sequential_iterations(
            table, config, params, joint, frame, pos, vel, ang,
            rows if K else None, acc_n, acc_t, acc_p, acc_l,
        )  # fmt: skip

    # 6. Store impulses (back in pair order), bounded: no step needs an impulse that changes a
    # relative velocity by more than twice the span of the velocity clamps, and without a bound
    # the impulses of constraints that cannot all hold grow every step until float32 overflows.
    max_dv = 4.0 * params.clip_velocity
    max_dw = 4.0 * params.clip_angular_velocity
    if K:
        acc_n, acc_t = bound_contact_impulses(rows, acc_n, acc_t, max_dv)
        keep = point_on & config.warm_starting
        contacts = scene.contacts.replace(
            normal_impulse=jnp.where(keep, acc_n, 0.0),
            tangent_impulse=jnp.where(keep, acc_t, 0.0),
            touching=touching,
        )
    else:
        contacts = scene.contacts

    # 7. Integrate and clamp (Jax2D's order: integrate, then clamp). A rotation has no clamp of
    # its own, so the angular velocity it integrates is bounded at 20x the clamp: one step whose
    # iterations did not converge would otherwise throw it to 1e18 rad, where every joint angle
    # it enters overflows. No scene that the clamps describe turns 1000 rad/s within a step.
    spin = 20.0 * params.clip_angular_velocity
    pos = jnp.where(active[:, None], pos + vel * dt, pos)
    rot = jnp.where(active, rot + jnp.clip(ang, -spin, spin) * dt, rot)
    pos = jnp.clip(pos, -params.clip_position, params.clip_position)
    vel = jnp.clip(vel, -params.clip_velocity, params.clip_velocity)
    ang = jnp.clip(ang, -params.clip_angular_velocity, params.clip_angular_velocity)

    polygon = scene.polygon.replace(
        position=pos[:P], rotation=rot[:P], velocity=vel[:P], angular_velocity=ang[:P]
    )
    circle = scene.circle.replace(
        position=pos[P:], rotation=rot[P:], velocity=vel[P:], angular_velocity=ang[P:]
    )
    new_joint = joint
    if J:
        acc_p, acc_l = bound_joint_impulses(joint, frame, pos, acc_p, acc_l, max_dv, max_dw)
        new_joint = joint.replace(
            accumulated_impulse=jnp.where(frame.valid[:, None], acc_p, 0.0),
            accumulated_angular_impulse=jnp.where(frame.valid, acc_l, 0.0),
            position=jnp.where(frame.valid[:, None], joint_points, joint.position),
        )
    thruster = scene.thruster
    if T:
        thruster = thruster.replace(
            position=one_t @ pos + rotate(thruster.relative_position, one_t @ rot)
        )
    new_scene = scene.replace(
        polygon=polygon, circle=circle, joint=new_joint, thruster=thruster, contacts=contacts
    )
    return new_scene, StepInfo(touching=touching)


def _parallel_iterations(
    table, config, params, joint, frame, pos, vel, ang, rows, na, nb, acc_n, acc_t, acc_p, acc_l
):
    """Runs the parallel solver (see :mod:`jax2d.fast_solver`) on one scene."""
    J = joint.active.shape[0]
    K = table.num_pairs
    f32 = jnp.float32
    joints, contacts = {}, {}
    state = {"px": pos[:, 0], "py": pos[:, 1], "vx": vel[:, 0], "vy": vel[:, 1], "w": ang}
    if J:
        counts = joint_counts(frame)
        jna, jnb = frame.one_a @ counts, frame.one_b @ counts
        la = rotate(joint.a_anchor, frame.rot_a)
        lb = rotate(joint.b_anchor, frame.rot_b)
        joints = {
            "one_a": frame.one_a,
            "one_b": frame.one_b,
            "ima": frame.im_a * jna,
            "imb": frame.im_b * jnb,
            "iia": frame.ii_a * jna,
            "iib": frame.ii_b * jnb,
            "na": jna,
            "nb": jnb,
            "lax": la[:, 0],
            "lay": la[:, 1],
            "lbx": lb[:, 0],
            "lby": lb[:, 1],
            "rel": frame.rot_b - frame.rot_a - joint.reference_angle,
            "lo": joint.min_angle,
            "hi": joint.max_angle,
            "on": frame.valid,
            "fixed": joint.is_fixed,
            "lim_on": frame.valid & joint.has_limits & ~joint.is_fixed,
        }
    state.update(
        jpx=acc_p[:, 0], jpy=acc_p[:, 1], jl=acc_l, jcx=joint.position[:, 0],
        jcy=joint.position[:, 1],
    )  # fmt: skip
    if K:
        contacts = {
            "nx": rows.normal[:, 0],
            "ny": rows.normal[:, 1],
            "k11": rows.k_nn[:, 0],
            "k22": rows.k_nn[:, 1],
            "k12": rows.k_nn[:, 2],
            "mu": rows.mu,
            "ima": rows.inv_mass_a,
            "imb": rows.inv_mass_b,
            "iia": rows.inv_inertia_a,
            "iib": rows.inv_inertia_b,
            "na": na,
            "nb": nb,
        }
        for p in range(2):
            contacts.update(
                {
                    f"rax{p}": rows.r_a[:, p, 0],
                    f"ray{p}": rows.r_a[:, p, 1],
                    f"rbx{p}": rows.r_b[:, p, 0],
                    f"rby{p}": rows.r_b[:, p, 1],
                    f"mn{p}": rows.mass_n[:, p],
                    f"mt{p}": rows.mass_t[:, p],
                    f"tg{p}": rows.target[:, p],
                    f"on{p}": rows.active[:, p],
                }
            )
        state.update(an0=acc_n[:, 0], an1=acc_n[:, 1], at0=acc_t[:, 0], at1=acc_t[:, 1])
    prm = {
        "stiffness": params.joint_stiffness,
        "beta_v": params.baumgarte_joint_velocity,
        "beta_p": params.baumgarte_joint_position,
        "beta_fa": params.baumgarte_fixed_joint_angle,
        "beta_la": params.baumgarte_joint_limit_angle,
    }
    tree = {"joints": joints, "contacts": contacts, "state": state, "params": prm}
    tree = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[..., None], tree)
    out = solve_parallel(
        tree,
        num_iterations=config.num_solver_iterations,
        a_idx=table.a,
        b_idx=table.b,
        incidence=table.incidence,
        has_joints=J > 0,
        joint_mass_matrix=config.setting.joint_mass_matrix,
    )
    o = jax.tree_util.tree_map(lambda x: x[..., 0], out)
    pos = jnp.stack([o["px"], o["py"]], -1).astype(f32)
    vel = jnp.stack([o["vx"], o["vy"]], -1)
    acc_p = jnp.stack([o["jpx"], o["jpy"]], -1)
    points = jnp.stack([o["jcx"], o["jcy"]], -1)
    if K:
        acc_n = jnp.stack([o["an0"], o["an1"]], -1)
        acc_t = jnp.stack([o["at0"], o["at1"]], -1)

    return pos, vel, o["w"], acc_n, acc_t, acc_p, o["jl"], points


def make_step(config: PhysicsConfig = PhysicsConfig()):
    """Returns ``f(scene, actions, params=SimParams())`` with ``config`` bound (jit-friendly)."""

    def f(scene, actions, params=SimParams()):
        return step(scene, actions, params, config)

    return f
