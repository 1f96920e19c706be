"""Contact constraints: preparation, warm start and the sequential-impulse solve.

Contacts live in *pair slots* (one per candidate pair plus one spare, empty slot), each with two
points. The solver visits slots round by round (see :mod:`jax2d.pairs`): the pairs of one round
share no shape, so they are solved in parallel and the result equals a sequential pass.
Normal impulses of a two-point contact are solved together (a 2x2 linear complementarity
problem, as Box2D's block solver does), which keeps resting stacks symmetric; one-point contacts
use the scalar update. Impulses are accumulated and clamped at 0. Friction follows per point,
clamped to ``mu * normal impulse``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jax2d.math2d import cross, cross_sv

__all__ = ["ContactRows", "prepare_contacts", "solve_round", "bound_contact_impulses"]


class ContactRows(NamedTuple):
    """Prepared contact constraints, leading axis = pair slots (K), second axis = points (2).

    Attributes:
        normal: (K, 2) unit normal from a to b.
        r_a, r_b: (K, 2, 2) contact point relative to each body's centre of mass.
        mass_n, mass_t: (K, 2) effective masses along the normal and the tangent.
        k_nn: (K, 3) normal constraint matrix of the two points: k11, k22, k12.
        target: (K, 2) normal velocity the solver drives towards (bias and bounce), m/s.
        mu: (K,) friction coefficient.
        active: (K, 2) bool, the point takes part in the solve.
        inv_mass_a, inv_mass_b, inv_inertia_a, inv_inertia_b: (K,) body mass properties.
    """

    normal: jax.Array
    r_a: jax.Array
    r_b: jax.Array
    mass_n: jax.Array
    mass_t: jax.Array
    k_nn: jax.Array
    target: jax.Array
    mu: jax.Array
    active: jax.Array
    inv_mass_a: jax.Array
    inv_mass_b: jax.Array
    inv_inertia_a: jax.Array
    inv_inertia_b: jax.Array


def _tangent(n):
    return jnp.stack([n[..., 1], -n[..., 0]], axis=-1)


def _inv(x):
    return jnp.where(x > 0, 1.0 / jnp.where(x > 0, x, 1.0), 0.0)


def prepare_contacts(
    normal, points, depth, active, bodies_a, bodies_b, params, *, restitution_threshold
):
    """Builds :class:`ContactRows` from manifolds (K pairs) and the two bodies of each pair.

    ``bodies_a``/``bodies_b`` are tuples (position, velocity, angular_velocity, inverse_mass,
    inverse_inertia, friction, restitution) gathered per pair.
    """
    pa, va, wa, ima, iia, fa, ea = bodies_a
    pb, vb, wb, imb, iib, fb, eb = bodies_b
    r_a = points - pa[:, None, :]
    r_b = points - pb[:, None, :]
    n = normal[:, None, :]
    t = _tangent(n)
    rna, rnb = cross(r_a, n), cross(r_b, n)
    rta, rtb = cross(r_a, t), cross(r_b, t)
    im = (ima + imb)[:, None]
    kn = im + iia[:, None] * rna**2 + iib[:, None] * rnb**2
    kt = im + iia[:, None] * rta**2 + iib[:, None] * rtb**2
    # Relative normal velocity at generation (after gravity), for restitution.
    dv = (vb[:, None, :] + cross_sv(wb[:, None], r_b)) - (
        va[:, None, :] + cross_sv(wa[:, None], r_a)
    )
    vn = jnp.sum(dv * n, -1)
    e = jnp.minimum(ea, eb)[:, None]
    bias = params.baumgarte_collision / params.dt * jnp.maximum(depth - params.slop, 0.0)
    if restitution_threshold:
        bounce = jnp.where(vn < -params.restitution_threshold, -e * vn, 0.0)
        target = jnp.maximum(bias, bounce)
    else:
        target = bias - e * vn
    mu = params.base_friction * jnp.sqrt(fa * fa + fb * fb)
    k12 = (ima + imb) + iia * rna[:, 0] * rna[:, 1] + iib * rnb[:, 0] * rnb[:, 1]
    k_nn = jnp.stack([kn[:, 0], kn[:, 1], k12], axis=-1)
    return ContactRows(
        normal=normal,
        r_a=r_a,
        r_b=r_b,
        mass_n=_inv(kn),
        mass_t=_inv(kt),
        k_nn=k_nn,
        target=target,
        mu=mu,
        active=active,
        inv_mass_a=ima,
        inv_mass_b=imb,
        inv_inertia_a=iia,
        inv_inertia_b=iib,
    )


def warm_start_impulses(rows: ContactRows, acc_n, acc_t):
    """Velocity changes (dv_a, dw_a, dv_b, dw_b) per slot from stored impulses (K, 2)."""
    n = rows.normal[:, None, :]
    p = acc_n[..., None] * n + acc_t[..., None] * _tangent(n)
    p = jnp.where(rows.active[..., None], p, 0.0)
    dv_a = -rows.inv_mass_a[:, None] * jnp.sum(p, 1)
    dv_b = rows.inv_mass_b[:, None] * jnp.sum(p, 1)
    dw_a = -rows.inv_inertia_a * jnp.sum(cross(rows.r_a, p), 1)
    dw_b = rows.inv_inertia_b * jnp.sum(cross(rows.r_b, p), 1)
    return dv_a, dw_a, dv_b, dw_b


def bound_contact_impulses(rows: ContactRows, acc_n, acc_t, max_dv):
    """Clamps the impulses (K, 2) a contact stores for the next step's warm start.

    As :func:`jax2d.joints.bound_joint_impulses` does for joints: where contacts fight a joint
    or each other the solver adds to the stored impulses every step until float32 overflows.
    A step never needs to change a point's normal or tangent velocity by more than ``max_dv``
    (m/s), so each is clamped to ``max_dv`` times the point's effective mass (kg) along that
    axis. Returns (acc_n, acc_t).
    """
    cap_n = max_dv * rows.mass_n
    cap_t = max_dv * rows.mass_t
    return jnp.minimum(acc_n, cap_n), jnp.clip(acc_t, -cap_t, cap_t)


def _velocity_at(va, wa, vb, wb, r_a, r_b):
    return (vb + cross_sv(wb, r_b)) - (va + cross_sv(wa, r_a))


def _block_normal(rows: ContactRows, acc, vn):
    """New accumulated normal impulses (H, 2) solving the 2x2 complementarity problem
    ``vn(x) >= target, x >= 0, x . (vn(x) - target) = 0``, exactly where it is well posed."""
    k11, k22, k12 = rows.k_nn[:, 0], rows.k_nn[:, 1], rows.k_nn[:, 2]
    # Relative velocity minus target if the accumulated impulse were removed.
    b1 = vn[:, 0] - rows.target[:, 0] - (k11 * acc[:, 0] + k12 * acc[:, 1])
    b2 = vn[:, 1] - rows.target[:, 1] - (k12 * acc[:, 0] + k22 * acc[:, 1])
    det = k11 * k22 - k12 * k12
    well = k11 * k11 < 1000.0 * det
    sdet = jnp.where(well, det, 1.0)
    both = jnp.stack([(k12 * b2 - k22 * b1) / sdet, (k12 * b1 - k11 * b2) / sdet], -1)
    s11, s22 = jnp.where(k11 > 0, k11, 1.0), jnp.where(k22 > 0, k22, 1.0)
    x1 = -b1 / s11
    x2 = -b2 / s22
    only1 = jnp.stack([x1, jnp.zeros_like(x1)], -1)
    only2 = jnp.stack([jnp.zeros_like(x2), x2], -1)
    ok_both = well & (both[:, 0] >= 0) & (both[:, 1] >= 0)
    ok_1 = (x1 >= 0) & (k12 * x1 + b2 >= 0)
    ok_2 = (x2 >= 0) & (k12 * x2 + b1 >= 0)
    ok_0 = (b1 >= 0) & (b2 >= 0)
    # Fallback (ill-conditioned): one projected Gauss-Seidel sweep.
    g1 = jnp.maximum(-(b1 + k12 * acc[:, 1]) / s11, 0.0)
    g2 = jnp.maximum(-(b2 + k12 * g1) / s22, 0.0)
    x = jnp.stack([g1, g2], -1)
    x = jnp.where(ok_0[:, None], 0.0, x)
    x = jnp.where(ok_2[:, None], only2, x)
    x = jnp.where(ok_1[:, None], only1, x)
    return jnp.where(ok_both[:, None], both, x)


def solve_round(rows: ContactRows, acc_n, acc_t, va, wa, vb, wb):
    """One sequential-impulse pass over the slots of a round (H slots, disjoint bodies).

    Args:
        rows: prepared constraints with leading axis H.
        acc_n, acc_t: (H, 2) accumulated impulses.
        va, wa, vb, wb: (H, 2), (H,), (H, 2), (H,) velocities of each slot's two bodies.
    Returns:
        (acc_n, acc_t, va, wa, vb, wb) updated.
    """
    n = rows.normal
    t = _tangent(n)
    ima, imb = rows.inv_mass_a[:, None], rows.inv_mass_b[:, None]
    iia, iib = rows.inv_inertia_a, rows.inv_inertia_b
    on = rows.active
    two = on[:, 0] & on[:, 1]

    # Normal impulses: block solve for two-point contacts, scalar update otherwise.
    vn = jnp.stack(
        [
            jnp.sum(_velocity_at(va, wa, vb, wb, rows.r_a[:, p], rows.r_b[:, p]) * n, -1)
            for p in range(2)
        ],
        -1,
    )
    single = jnp.maximum(acc_n + rows.mass_n * (rows.target - vn), 0.0)
    block = _block_normal(rows, acc_n, vn)
    new_n = jnp.where(two[:, None], block, single)
    new_n = jnp.where(on, new_n, acc_n)
    lam = new_n - acc_n
    for p in range(2):
        P = lam[:, p, None] * n
        ra, rb = rows.r_a[:, p], rows.r_b[:, p]
        va, vb = va - ima * P, vb + imb * P
        wa, wb = wa - iia * cross(ra, P), wb + iib * cross(rb, P)

    # Friction, point by point.
    new_t = []
    for p in range(2):
        ra, rb = rows.r_a[:, p], rows.r_b[:, p]
        vt = jnp.sum(_velocity_at(va, wa, vb, wb, ra, rb) * t, -1)
        limit = rows.mu * new_n[:, p]
        acc = jnp.clip(acc_t[:, p] - rows.mass_t[:, p] * vt, -limit, limit)
        acc = jnp.where(on[:, p], acc, acc_t[:, p])
        P = (acc - acc_t[:, p])[:, None] * t
        va, vb = va - ima * P, vb + imb * P
        wa, wb = wa - iia * cross(ra, P), wb + iib * cross(rb, P)
        new_t.append(acc)
    return new_n, jnp.stack(new_t, 1), va, wa, vb, wb
