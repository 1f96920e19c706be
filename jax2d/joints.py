"""Joints: connectivity for collision filtering, motors, warm start and the iterative solve.

Bodies are addressed by global index into unified arrays (polygons, then circles). The joint
model is Jax2D's, so Kinetix levels behave as authored: a point-to-point impulse at the
mass-weighted joint point with a velocity bias, a direct position projection each iteration, an
angular weld for fixed joints, and one-sided angular limits for revolute joints. Motors are a
saturating (tanh) velocity servo applied once per step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jax2d.math2d import cross, cross_sv, rotate

__all__ = ["Bodies1", "joint_components", "motor_impulses", "joint_warm_start", "solve_joints"]


class Bodies1(NamedTuple):
    """Unified per-body arrays used inside the step (N bodies)."""

    position: jax.Array  # (N, 2)
    rotation: jax.Array  # (N,)
    velocity: jax.Array  # (N, 2)
    angular_velocity: jax.Array  # (N,)
    inverse_mass: jax.Array  # (N,)
    inverse_inertia: jax.Array  # (N,)
    active: jax.Array  # (N,)


def _safe_inv(x):
    return jnp.where(x > 0, 1.0 / jnp.where(x > 0, x, 1.0), 0.0)


def joint_valid(joint, bodies: Bodies1):
    """(J,) bool: joint active, both bodies active, not both static."""
    a, b = joint.a_index, joint.b_index
    im = bodies.inverse_mass[a] + bodies.inverse_mass[b]
    ii = bodies.inverse_inertia[a] + bodies.inverse_inertia[b]
    return joint.active & bodies.active[a] & bodies.active[b] & ((im > 0) | (ii > 0))


def joint_components(joint, num_shapes: int):
    """(N,) component label of each shape; shapes linked by any chain of active joints share it."""
    labels = jnp.arange(num_shapes, dtype=jnp.int32)
    J = joint.active.shape[0]
    if J == 0 or num_shapes == 0:
        return labels
    a, b = joint.a_index, joint.b_index

    def body(_, lab):
        m = jnp.minimum(lab[a], lab[b])
        m = jnp.where(joint.active, m, num_shapes)
        return lab.at[a].min(m).at[b].min(m)

    return jax.lax.fori_loop(0, J, body, labels)


def motor_impulses(joint, bodies: Bodies1, motor_actions, params, valid):
    """Angular velocity change (N,) from the joint motors for one step."""
    a, b = joint.a_index, joint.b_index
    iia, iib = bodies.inverse_inertia[a], bodies.inverse_inertia[b]
    wa, wb = bodies.angular_velocity[a], bodies.angular_velocity[b]
    axial = _safe_inv(iia + iib)
    power = params.base_motor_power * joint.motor_power * params.dt * axial
    target = joint.motor_speed * motor_actions * params.base_motor_speed
    imp = power * jnp.tanh(params.motor_decay_coefficient * ((wb - wa) - target))
    # Fade out near a limit unless the motor drives away from it.
    rel = bodies.rotation[b] - bodies.rotation[a] - joint.reference_angle
    zone = params.motor_joint_limit
    over = jnp.maximum(rel - (joint.max_angle - zone), 0.0)
    under = jnp.maximum((joint.min_angle + zone) - rel, 0.0)
    excess = jnp.where(over > 0, over, under)
    away = ((over > 0) & (target < 0)) | ((under > 0) & (target > 0))
    scale = jnp.where(joint.has_limits & ~away, jnp.maximum(0.0, 1.0 - excess / zone), 1.0)
    on = valid & joint.motor_on & ~joint.is_fixed & (motor_actions != 0)
    imp = jnp.where(on, imp * scale, 0.0)
    dw = jnp.zeros_like(bodies.angular_velocity)
    return dw.at[a].add(imp * iia).at[b].add(-imp * iib)


def _anchors(joint, position, rotation, im):
    a, b = joint.a_index, joint.b_index
    wa = position[a] + rotate(joint.a_anchor, rotation[a])
    wb = position[b] + rotate(joint.b_anchor, rotation[b])
    ima, imb = im[a], im[b]
    tot = ima + imb
    w = jnp.where(tot > 0, 1.0 / jnp.where(tot > 0, tot, 1.0), 0.5)
    point = (imb[..., None] * wa + ima[..., None] * wb) * w[..., None]
    point = jnp.where((tot > 0)[..., None], point, 0.5 * (wa + wb))
    return wa, wb, point


def joint_warm_start(joint, bodies: Bodies1, valid):
    """Velocity changes (dv (N,2), dw (N,)) from the joints' stored impulses."""
    a, b = joint.a_index, joint.b_index
    im, ii = bodies.inverse_mass, bodies.inverse_inertia
    _, _, point = _anchors(joint, bodies.position, bodies.rotation, im)
    ra, rb = point - bodies.position[a], point - bodies.position[b]
    P = jnp.where(valid[:, None], joint.accumulated_impulse, 0.0)
    L = jnp.where(valid & joint.is_fixed, joint.accumulated_angular_impulse, 0.0)
    dv = jnp.zeros_like(bodies.velocity)
    dv = dv.at[a].add(im[a][:, None] * P).at[b].add(-im[b][:, None] * P)
    dw = jnp.zeros_like(bodies.angular_velocity)
    dw = dw.at[a].add(ii[a] * (cross(ra, P) + L)).at[b].add(-ii[b] * (cross(rb, P) + L))
    return dv, dw


def solve_joints(joint, bodies: Bodies1, valid, acc_p, acc_l, params):
    """One Gauss-Seidel pass over the joints (one at a time, in slot order).

    Returns (position, velocity, angular_velocity, acc_p, acc_l, joint_points).
    """
    J = joint.active.shape[0]
    im, ii, rot = bodies.inverse_mass, bodies.inverse_inertia, bodies.rotation

    def one(carry, j):
        pos, vel, ang, acc_p, acc_l = carry
        a, b = joint.a_index[j], joint.b_index[j]
        ima, imb, iia, iib = im[a], im[b], ii[a], ii[b]
        on = valid[j]
        la, lb = joint.a_anchor[j], joint.b_anchor[j]
        wa = pos[a] + rotate(la, rot[a])
        wb = pos[b] + rotate(lb, rot[b])
        tot = ima + imb
        point = jnp.where(tot > 0, (imb * wa + ima * wb) / jnp.where(tot > 0, tot, 1.0), wa)
        ra, rb = point - pos[a], point - pos[b]
        va, vb, oa, ob = vel[a], vel[b], ang[a], ang[b]
        u = (vb + cross_sv(ob, rb)) - (va + cross_sv(oa, ra))
        un = jnp.sqrt(jnp.sum(u * u))
        d = jnp.where(un > 1e-9, u / jnp.maximum(un, 1e-9), jnp.zeros(2))
        k = tot + iia * cross(ra, d) ** 2 + iib * cross(rb, d) ** 2
        err = wb - wa
        P = params.joint_stiffness * (u + params.baumgarte_joint_velocity * err) * _safe_inv(k)
        P = jnp.where(on, P, 0.0)
        va, oa = va + ima * P, oa + iia * cross(ra, P)
        vb, ob = vb - imb * P, ob - iib * cross(rb, P)
        # Weld: drive the relative angular velocity (plus an angle bias) to zero.
        irot = _safe_inv(iia + iib)
        rel = rot[b] - rot[a] - joint.reference_angle[j]
        weld = ((ob - oa) + params.baumgarte_fixed_joint_angle * rel) * irot
        weld = jnp.where(on & joint.is_fixed[j], weld, 0.0)
        oa, ob = oa + iia * weld, ob - iib * weld
        # Revolute limits: only resist motion that goes further outside.
        excess = rel - jnp.clip(rel, joint.min_angle[j], joint.max_angle[j])
        going_out = (ob - oa) * excess > 0
        lim_on = on & joint.has_limits[j] & ~joint.is_fixed[j] & (excess != 0) & going_out
        lim = ((ob - oa) + params.baumgarte_joint_limit_angle * excess) * irot
        lim = jnp.where(lim_on, lim, 0.0)
        oa, ob = oa + iia * lim, ob - iib * lim
        # Direct position projection of the anchors towards each other.
        share = params.baumgarte_joint_position * err * _safe_inv(tot)
        shift_a = jnp.where(on, share * ima, 0.0)
        shift_b = jnp.where(on, share * imb, 0.0)
        pos = pos.at[a].add(shift_a).at[b].add(-shift_b)
        vel = vel.at[a].set(va).at[b].set(vb)
        ang = ang.at[a].set(oa).at[b].set(ob)
        acc_p = acc_p.at[j].add(P)
        acc_l = acc_l.at[j].add(weld)
        return (pos, vel, ang, acc_p, acc_l), point

    init = (bodies.position, bodies.velocity, bodies.angular_velocity, acc_p, acc_l)
    if J == 0:
        return (*init, jnp.zeros((0, 2), jnp.float32))
    (pos, vel, ang, acc_p, acc_l), points = jax.lax.scan(one, init, jnp.arange(J))
    return pos, vel, ang, acc_p, acc_l, points
