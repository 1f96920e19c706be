"""Joints: connectivity for collision filtering, motors, warm start and the iterative solve.

Bodies are addressed by global index into unified arrays (polygons, then circles). The joint
model is Jax2D's, so Kinetix levels behave as authored: a point-to-point impulse at the
mass-weighted joint point with a velocity bias, a direct position projection each iteration, an
angular weld for fixed joints, and one-sided angular limits for revolute joints. Motors are a
saturating (tanh) velocity servo applied once per step.

Body lookups use one-hot rows (``(J, N)`` masks) rather than gathers and scatters: with the
small N of a scene this is cheaper on every backend and keeps the traced graph small.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jax2d.math2d import cross, cross_sv, rotate

__all__ = [
    "Bodies1",
    "JointFrame",
    "joint_frame",
    "joint_components",
    "motor_impulses",
    "joint_warm_start",
    "solve_joints",
    "joint_counts",
    "bound_joint_impulses",
    "point_mass_determinant",
]


class Bodies1(NamedTuple):
    """Unified per-body arrays used inside the step (N bodies)."""

    position: jax.Array  # (N, 2)
    rotation: jax.Array  # (N,)
    velocity: jax.Array  # (N, 2)
    angular_velocity: jax.Array  # (N,)
    inverse_mass: jax.Array  # (N,)
    inverse_inertia: jax.Array  # (N,)
    active: jax.Array  # (N,)


class JointFrame(NamedTuple):
    """Per-joint constants of one step: one-hot body rows and the bodies' mass properties."""

    one_a: jax.Array  # (J, N) float32
    one_b: jax.Array  # (J, N)
    im_a: jax.Array  # (J,)
    im_b: jax.Array
    ii_a: jax.Array
    ii_b: jax.Array
    rot_a: jax.Array
    rot_b: jax.Array
    valid: jax.Array  # (J,) bool: active, both bodies active, not both static


def _safe_inv(x):
    return jnp.where(x > 0, 1.0 / jnp.where(x > 0, x, 1.0), 0.0)


def _pick(one, x):
    """Rows of ``x`` (N, ...) selected by one-hot rows ``one`` (J, N) -> (J, ...)."""
    return jnp.tensordot(one, x, axes=1)


def joint_frame(joint, bodies: Bodies1) -> JointFrame:
    N = bodies.active.shape[0]
    ids = jnp.arange(N)
    one_a = (joint.a_index[:, None] == ids).astype(jnp.float32)
    one_b = (joint.b_index[:, None] == ids).astype(jnp.float32)
    im_a, im_b = _pick(one_a, bodies.inverse_mass), _pick(one_b, bodies.inverse_mass)
    ii_a, ii_b = _pick(one_a, bodies.inverse_inertia), _pick(one_b, bodies.inverse_inertia)
    act = bodies.active.astype(jnp.float32)
    both_active = (_pick(one_a, act) > 0) & (_pick(one_b, act) > 0)
    movable = (im_a + im_b > 0) | (ii_a + ii_b > 0)
    valid = joint.active & both_active & movable & (joint.a_index != joint.b_index)
    return JointFrame(
        one_a,
        one_b,
        im_a,
        im_b,
        ii_a,
        ii_b,
        _pick(one_a, bodies.rotation),
        _pick(one_b, bodies.rotation),
        valid,
    )


def joint_components(joint, num_shapes: int):
    """(N,) component label of each shape; shapes linked by any chain of active joints share it."""
    labels = jnp.arange(num_shapes, dtype=jnp.int32)
    J = joint.active.shape[0]
    if J == 0 or num_shapes == 0:
        return labels
    ids = jnp.arange(num_shapes)
    touches = (joint.a_index[:, None] == ids) | (joint.b_index[:, None] == ids)  # (J, N)
    touches = touches & joint.active[:, None]
    big = jnp.int32(num_shapes)

    def body(_, lab):
        m = jnp.min(jnp.where(touches, lab[None, :], big), axis=1)  # (J,) min label per joint
        m = jnp.min(jnp.where(touches, m[:, None], big), axis=0)  # (N,) min over its joints
        return jnp.minimum(lab, m)

    return jax.lax.fori_loop(0, J, body, labels)


def motor_impulses(joint, frame: JointFrame, angular_velocity, motor_actions, params):
    """Angular velocity change (N,) from the joint motors for one step."""
    iia, iib = frame.ii_a, frame.ii_b
    wa, wb = _pick(frame.one_a, angular_velocity), _pick(frame.one_b, angular_velocity)
    axial = _safe_inv(iia + iib)
    power = params.base_motor_power * joint.motor_power * params.dt * axial
    target = joint.motor_speed * motor_actions * params.base_motor_speed
    imp = power * jnp.tanh(params.motor_decay_coefficient * ((wb - wa) - target))
    # Fade out near a limit unless the motor drives away from it.
    rel = frame.rot_b - frame.rot_a - joint.reference_angle
    zone = params.motor_joint_limit
    over = jnp.maximum(rel - (joint.max_angle - zone), 0.0)
    under = jnp.maximum((joint.min_angle + zone) - rel, 0.0)
    excess = jnp.where(over > 0, over, under)
    away = ((over > 0) & (target < 0)) | ((under > 0) & (target > 0))
    scale = jnp.where(joint.has_limits & ~away, jnp.maximum(0.0, 1.0 - excess / zone), 1.0)
    on = frame.valid & joint.motor_on & ~joint.is_fixed & (motor_actions != 0)
    imp = jnp.where(on, imp * scale, 0.0)
    return (imp * iia) @ frame.one_a - (imp * iib) @ frame.one_b


def _joint_point(joint, frame: JointFrame, position):
    pa, pb = _pick(frame.one_a, position), _pick(frame.one_b, position)
    wa = pa + rotate(joint.a_anchor, frame.rot_a)
    wb = pb + rotate(joint.b_anchor, frame.rot_b)
    tot = frame.im_a + frame.im_b
    point = (frame.im_b[:, None] * wa + frame.im_a[:, None] * wb) * _safe_inv(tot)[:, None]
    point = jnp.where((tot > 0)[:, None], point, wa)
    return pa, pb, point


def joint_warm_start(joint, frame: JointFrame, position):
    """Velocity changes (dv (N,2), dw (N,)) from the joints' stored impulses."""
    pa, pb, point = _joint_point(joint, frame, position)
    ra, rb = point - pa, point - pb
    P = jnp.where(frame.valid[:, None], joint.accumulated_impulse, 0.0)
    L = jnp.where(frame.valid & joint.is_fixed, joint.accumulated_angular_impulse, 0.0)
    dv = (frame.im_a[:, None] * P).T @ frame.one_a - (frame.im_b[:, None] * P).T @ frame.one_b
    dw = (frame.ii_a * (cross(ra, P) + L)) @ frame.one_a
    dw = dw - (frame.ii_b * (cross(rb, P) + L)) @ frame.one_b
    return dv.T, dw


def bound_joint_impulses(joint, frame: JointFrame, position, acc_p, acc_l, max_dv, max_dw):
    """Clamps the impulses a joint stores for the next step's warm start.

    A stored impulse is re-applied at the start of the next step. Where the constraints cannot
    all hold (a joint pulling two shapes that contacts push apart, a body pinned at the position
    clamp) the solver adds to it every step, and it grows without bound until float32 overflows
    and the scene turns to NaN, although positions and velocities stay clamped. No impulse that
    a step can need changes the joint's relative velocity by more than ``max_dv`` (m/s) or its
    relative angular velocity by more than ``max_dw`` (rad/s), so the stored linear impulse is
    clamped to ``max_dv / k`` along its own direction (``k`` the effective inverse mass there,
    1/kg) and the weld impulse to ``max_dw / (ii_a + ii_b)``. Impulses of scenes that settle are
    far below these bounds and pass unchanged.

    Args:
        position: (N, 2) body positions the next warm start will see, m.
        acc_p: (J, 2) linear impulses, N s; acc_l: (J,) weld impulses, N m s.
    Returns:
        (acc_p, acc_l) clamped, same shapes.
    """
    pa, pb, point = _joint_point(joint, frame, position)
    ra, rb = point - pa, point - pb
    mag = jnp.sqrt(jnp.sum(acc_p * acc_p, axis=-1))
    d = acc_p / jnp.maximum(mag, 1e-30)[:, None]
    k = frame.im_a + frame.im_b + frame.ii_a * cross(ra, d) ** 2 + frame.ii_b * cross(rb, d) ** 2
    cap = max_dv * _safe_inv(k)
    scale = jnp.where(mag > cap, cap / jnp.maximum(mag, 1e-30), 1.0)
    lcap = max_dw * _safe_inv(frame.ii_a + frame.ii_b)
    return acc_p * scale[:, None], jnp.clip(acc_l, -lcap, lcap)


def point_mass_determinant(tot, iia, iib, rax, ray, rbx, rby, k11, k22, k12):
    """``det K`` of a point-to-point joint's effective-mass matrix, without cancellation.

    ``K = tot I + iia qa qa^T + iib qb qb^T`` (``q = (-r_y, r_x)``), so
    ``det K = tot^2 + tot (iia |ra|^2 + iib |rb|^2) + iia iib (ra x rb)^2``: a sum of
    non-negative terms. The textbook ``k11 k22 - k12^2`` subtracts two numbers of size
    ``(ii r^2)^2``; where one body is very light (``ii r^2 / tot`` beyond float32's 1e7) it comes
    out zero, negative or tiny and the impulse overflows. That form is kept wherever it agrees
    with this one to 1e-3 (every ordinary scene: the same value, although the extra terms may
    compile to different rounding in the fused step); elsewhere the sum is used. All arguments
    broadcast; returns their shape.
    """
    naive = k11 * k22 - k12 * k12
    arm = rax * rby - ray * rbx
    stable = tot * tot + tot * (iia * (rax * rax + ray * ray) + iib * (rbx * rbx + rby * rby))
    stable = stable + iia * iib * arm * arm
    return jnp.where(jnp.abs(naive - stable) <= 1e-3 * stable, naive, stable)


def _solve_point_mass(tot, iia, iib, ra, rb, rhs):
    """Solves ``K P = rhs`` with the 2x2 effective-mass matrix K of a point-to-point joint."""
    k11 = tot + iia * ra[..., 1] ** 2 + iib * rb[..., 1] ** 2
    k22 = tot + iia * ra[..., 0] ** 2 + iib * rb[..., 0] ** 2
    k12 = -iia * ra[..., 0] * ra[..., 1] - iib * rb[..., 0] * rb[..., 1]
    det = point_mass_determinant(
        tot, iia, iib, ra[..., 0], ra[..., 1], rb[..., 0], rb[..., 1], k11, k22, k12
    )
    inv = _safe_inv(det)
    px = (k22 * rhs[..., 0] - k12 * rhs[..., 1]) * inv
    py = (k11 * rhs[..., 1] - k12 * rhs[..., 0]) * inv
    return jnp.stack([px, py], axis=-1)


def _joint_deltas(x, pa, pb, va, vb, wa, wb, params, mass_matrix=True):
    """Velocity and position changes of one joint's two bodies (Jax2D's joint model).

    ``x`` holds the joint's constants (see :func:`_joint_constants`); returns
    ``(dpa, dpb, dva, dvb, dwa, dwb, impulse, weld_impulse, joint_point)``.
    """
    ima, imb, iia, iib, rot_a, rot_b, on, la, lb, fixed, ref, lim, lo, hi = x
    anc_a = pa + rotate(la, rot_a)
    anc_b = pb + rotate(lb, rot_b)
    tot = ima + imb
    w = _safe_inv(tot)[..., None]
    point = jnp.where(
        (tot > 0)[..., None], (imb[..., None] * anc_a + ima[..., None] * anc_b) * w, anc_a
    )
    ra, rb = point - pa, point - pb
    u = (vb + cross_sv(wb, rb)) - (va + cross_sv(wa, ra))
    un = jnp.sqrt(u[..., 0] ** 2 + u[..., 1] ** 2)
    d = u / jnp.maximum(un, 1e-9)[..., None]
    err = anc_b - anc_a
    rhs = params.joint_stiffness * (u + params.baumgarte_joint_velocity * err)
    if mass_matrix:
        P = _solve_point_mass(tot, iia, iib, ra, rb, rhs)
    else:  # Jax2D: a scalar effective mass along the relative velocity's direction
        k = tot + iia * cross(ra, d) ** 2 + iib * cross(rb, d) ** 2
        P = rhs * _safe_inv(k)[..., None]
    P = jnp.where(on[..., None], P, 0.0)
    dva, dwa = ima[..., None] * P, iia * cross(ra, P)
    dvb, dwb = -imb[..., None] * P, -iib * cross(rb, P)
    oa, ob = wa + dwa, wb + dwb
    # Weld: drive the relative angular velocity (plus an angle bias) to zero.
    irot = _safe_inv(iia + iib)
    rel = rot_b - rot_a - ref
    weld = ((ob - oa) + params.baumgarte_fixed_joint_angle * rel) * irot
    weld = jnp.where(on & fixed, weld, 0.0)
    oa, ob = oa + iia * weld, ob - iib * weld
    # Revolute limits: only resist motion that goes further outside.
    excess = rel - jnp.clip(rel, lo, hi)
    going_out = (ob - oa) * excess > 0
    lim_on = on & lim & ~fixed & (excess != 0) & going_out
    limp = jnp.where(lim_on, ((ob - oa) + params.baumgarte_joint_limit_angle * excess) * irot, 0.0)
    oa, ob = oa + iia * limp, ob - iib * limp
    # Direct position projection of the anchors towards each other.
    share = jnp.where(on[..., None], params.baumgarte_joint_position * err, 0.0)
    share = share * _safe_inv(tot)[..., None]
    dpa, dpb = share * ima[..., None], -share * imb[..., None]
    return dpa, dpb, dva, dvb, oa - wa, ob - wb, P, weld, point


def _joint_constants(joint, frame: JointFrame):
    return (
        frame.im_a,
        frame.im_b,
        frame.ii_a,
        frame.ii_b,
        frame.rot_a,
        frame.rot_b,
        frame.valid,
        joint.a_anchor,
        joint.b_anchor,
        joint.is_fixed,
        joint.reference_angle,
        joint.has_limits,
        joint.min_angle,
        joint.max_angle,
    )


def solve_joints(joint, frame: JointFrame, pos, vel, ang, acc_p, acc_l, params, mass_matrix=True):
    """One Gauss-Seidel pass over the joints (one at a time, in slot order).

    Returns (position, velocity, angular_velocity, acc_p, acc_l, joint_points (J, 2)).
    """

    def one(carry, xs):
        pos, vel, ang = carry
        oa, ob, x = xs
        dpa, dpb, dva, dvb, dwa, dwb, P, weld, point = _joint_deltas(
            x, oa @ pos, ob @ pos, oa @ vel, ob @ vel, oa @ ang, ob @ ang, params, mass_matrix
        )
        pos = pos + oa[:, None] * dpa + ob[:, None] * dpb
        vel = vel + oa[:, None] * dva + ob[:, None] * dvb
        ang = ang + oa * dwa + ob * dwb
        return (pos, vel, ang), (P, weld, point)

    xs = (frame.one_a, frame.one_b, _joint_constants(joint, frame))
    (pos, vel, ang), (P, weld, points) = jax.lax.scan(one, (pos, vel, ang), xs)
    return pos, vel, ang, acc_p + P, acc_l + weld, points


def joint_counts(frame: JointFrame):
    """(N,) number of valid joints on each body (at least 1), for mass splitting."""
    on = frame.valid.astype(jnp.float32)
    return jnp.maximum(on @ frame.one_a + on @ frame.one_b, 1.0)
