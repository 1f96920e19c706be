"""Contact constraints: preparation, warm start and the sequential-impulse solve.

Contacts live in *pair slots* (one per candidate pair plus one spare, empty slot), each with two
points. The solver visits slots round by round (see :mod:`jax2d.pairs`): the pairs of one round
share no shape, so they are solved in parallel and the result equals a sequential pass.
Per point: the normal impulse (accumulated and clamped at 0), then friction (accumulated and
clamped to ``mu * normal impulse``), as in Box2D-Lite and Jax2D.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jax2d.math2d import cross, cross_sv

__all__ = ["ContactRows", "prepare_contacts", "solve_round"]


class ContactRows(NamedTuple):
    """Prepared contact constraints, leading axis = pair slots (K), second axis = points (2).

    Attributes:
        normal: (K, 2) unit normal from a to b.
        r_a, r_b: (K, 2, 2) contact point relative to each body's centre of mass.
        mass_n, mass_t: (K, 2) effective masses along the normal and the tangent.
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
    return ContactRows(
        normal=normal,
        r_a=r_a,
        r_b=r_b,
        mass_n=_inv(kn),
        mass_t=_inv(kt),
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
    new_n, new_t = [], []
    for p in range(2):
        ra, rb = rows.r_a[:, p], rows.r_b[:, p]
        on = rows.active[:, p]
        # Normal impulse.
        dv = (vb + cross_sv(wb, rb)) - (va + cross_sv(wa, ra))
        vn = jnp.sum(dv * n, -1)
        lam = rows.mass_n[:, p] * (rows.target[:, p] - vn)
        acc = jnp.maximum(acc_n[:, p] + lam, 0.0)
        lam = jnp.where(on, acc - acc_n[:, p], 0.0)
        acc_np = jnp.where(on, acc, acc_n[:, p])
        P = lam[:, None] * n
        va, vb = va - ima * P, vb + imb * P
        wa, wb = wa - iia * cross(ra, P), wb + iib * cross(rb, P)
        # Friction.
        dv = (vb + cross_sv(wb, rb)) - (va + cross_sv(wa, ra))
        vt = jnp.sum(dv * t, -1)
        lam_t = -rows.mass_t[:, p] * vt
        limit = rows.mu * acc_np
        acc = jnp.clip(acc_t[:, p] + lam_t, -limit, limit)
        lam_t = jnp.where(on, acc - acc_t[:, p], 0.0)
        acc_tp = jnp.where(on, acc, acc_t[:, p])
        P = lam_t[:, None] * t
        va, vb = va - ima * P, vb + imb * P
        wa, wb = wa - iia * cross(ra, P), wb + iib * cross(rb, P)
        new_n.append(acc_np)
        new_t.append(acc_tp)
    return jnp.stack(new_n, 1), jnp.stack(new_t, 1), va, wa, vb, wb
