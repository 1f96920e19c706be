"""Narrow phase: contact manifolds for circle-circle, circle-polygon and polygon-polygon pairs.

Every function works on one pair (``vmap`` it over pair lists) and returns a :class:`Manifold`
with up to two contact points, each with its own depth. Normals point from shape ``a`` to shape
``b``. ``overlap`` is the geometric test alone (activity and collision modes are applied by the
caller); a pair can overlap while no contact point survives clipping only in degenerate cases.

Polygons carry V vertex slots of which ``n`` are used, counter-clockwise, in the body frame.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from jax2d.math2d import rotate, rotate_inv, unit

__all__ = ["Manifold", "circle_circle", "circle_polygon", "polygon_polygon"]

# Hysteresis when choosing the reference face: B's face wins only if clearly better (m).
REFERENCE_FACE_TOLERANCE = 0.01
_BIG = 1e9


class Manifold(NamedTuple):
    """Contact geometry of one pair.

    Attributes:
        normal: (2,) unit normal from a to b.
        points: (2, 2) world contact points.
        depth: (2,) penetration of each point, m (>= 0 when active).
        active: (2,) bool, the point is in contact.
        overlap: () bool, the shapes overlap.
    """

    normal: jnp.ndarray
    points: jnp.ndarray
    depth: jnp.ndarray
    active: jnp.ndarray
    overlap: jnp.ndarray


def _edges(vertices, n):
    """Next vertex, edge-slot validity and outward unit normals of a CCW polygon (V slots)."""
    V = vertices.shape[0]
    idx = jnp.arange(V)
    valid = idx < n
    nxt_idx = jnp.where(idx + 1 < n, idx + 1, 0)
    nxt = vertices[nxt_idx]
    e = nxt - vertices
    normal = unit(jnp.stack([e[:, 1], -e[:, 0]], axis=-1))
    return nxt, valid, normal


def circle_circle(pos_a, r_a, pos_b, r_b) -> Manifold:
    """Two discs: one contact point on a's surface."""
    d = pos_b - pos_a
    dist = jnp.sqrt(jnp.sum(d * d))
    normal = jnp.where(dist > 1e-9, d / jnp.maximum(dist, 1e-9), jnp.array([0.0, 1.0]))
    overlap = dist < r_a + r_b
    point = pos_a + normal * r_a
    depth = r_a + r_b - dist
    zero = jnp.zeros((), bool)
    return Manifold(
        normal,
        jnp.stack([point, point]),
        jnp.stack([depth, 0.0]),
        jnp.stack([overlap, zero]),
        overlap,
    )


def circle_polygon(pos_c, r, pos_p, rot_p, verts, n, exact_depth=True) -> Manifold:
    """Disc a against convex polygon b; one contact point on the polygon's surface.

    ``exact_depth=False`` reproduces Jax2D: a centre inside the polygon gets depth ``r``.
    """
    c = rotate_inv(pos_c - pos_p, rot_p)
    nxt, valid, normals = _edges(verts, n)
    sep = jnp.where(valid, jnp.sum(normals * (c - verts), axis=-1), -_BIG)
    inside = jnp.max(sep) <= 0.0
    # Closest point on each edge segment.
    e = nxt - verts
    t = jnp.clip(jnp.sum((c - verts) * e, -1) / jnp.maximum(jnp.sum(e * e, -1), 1e-12), 0.0, 1.0)
    q = verts + t[:, None] * e
    dq = jnp.sqrt(jnp.sum((c - q) ** 2, -1))
    dq = jnp.where(valid, dq, _BIG)
    k = jnp.argmin(dq)
    d_out = dq[k]
    face = jnp.argmax(sep)
    # Outside: normal from the closest point to the centre; inside: the nearest face's normal.
    out_normal = jnp.where(d_out > 1e-9, (c - q[k]) / jnp.maximum(d_out, 1e-9), normals[face])
    local_normal = jnp.where(inside, normals[face], out_normal)
    inside_depth = r - sep[face] if exact_depth else r
    depth = jnp.where(inside, inside_depth, r - d_out)
    local_point = jnp.where(inside, c - normals[face] * sep[face], q[k])
    overlap = inside | (d_out <= r)
    normal = -rotate(local_normal, rot_p)  # from the circle (a) to the polygon (b)
    point = pos_p + rotate(local_point, rot_p)
    zero = jnp.zeros((), bool)
    return Manifold(
        normal,
        jnp.stack([point, point]),
        jnp.stack([depth, 0.0]),
        jnp.stack([overlap, zero]),
        overlap,
    )


def _max_separation(wa, na, valid_a, wb, valid_b):
    """Largest separation of b from a's faces: (separation, face index)."""
    proj = jnp.einsum("ik,jk->ij", na, wb) - jnp.sum(na * wa, -1)[:, None]  # face i, vertex j
    proj = jnp.where(valid_b[None, :], proj, _BIG)
    sep = jnp.where(valid_a, jnp.min(proj, axis=1), -_BIG)
    i = jnp.argmax(sep)
    return sep[i], i


def _clip(c1, c2, m, o):
    """Keeps the part of segment c1-c2 where m.x <= o; returns (c1, c2, nonempty)."""
    f1 = jnp.dot(m, c1) - o
    f2 = jnp.dot(m, c2) - o
    denom = jnp.where(jnp.abs(f1 - f2) > 1e-12, f1 - f2, 1.0)
    x = c1 + (c2 - c1) * (f1 / denom)
    n1 = jnp.where(f1 > 0, x, c1)
    n2 = jnp.where(f2 > 0, x, c2)
    return n1, n2, (f1 <= 0) | (f2 <= 0)


def polygon_polygon(
    pos_a, rot_a, verts_a, n_a, pos_b, rot_b, verts_b, n_b, per_point_depth=True, clip=True
) -> Manifold:
    """Two convex polygons: separating axes over both polygons' faces, reference face,
    incident edge, clipping; up to two points on the incident polygon's surface.

    ``per_point_depth=False`` gives both points the pair's depth and ``clip=False`` clamps the
    incident points along the reference face instead of clipping (Jax2D's behaviour).
    """
    wa = pos_a + rotate(verts_a, rot_a)
    wb = pos_b + rotate(verts_b, rot_b)
    nxt_a, valid_a, nrm_a = _edges(verts_a, n_a)
    nxt_b, valid_b, nrm_b = _edges(verts_b, n_b)
    nrm_a, nrm_b = rotate(nrm_a, rot_a), rotate(nrm_b, rot_b)
    vmask_a = jnp.arange(verts_a.shape[0]) < n_a
    vmask_b = jnp.arange(verts_b.shape[0]) < n_b
    sep_a, face_a = _max_separation(wa, nrm_a, valid_a, wb, vmask_b)
    sep_b, face_b = _max_separation(wb, nrm_b, valid_b, wa, vmask_a)
    overlap = jnp.maximum(sep_a, sep_b) < 0.0
    flip = sep_a + REFERENCE_FACE_TOLERANCE < sep_b  # b's face is the reference

    wn_a = pos_a + rotate(nxt_a, rot_a)
    wn_b = pos_b + rotate(nxt_b, rot_b)
    ref_v1 = jnp.where(flip, wb[face_b], wa[face_a])
    ref_v2 = jnp.where(flip, wn_b[face_b], wn_a[face_a])
    ref_n = jnp.where(flip, nrm_b[face_b], nrm_a[face_a])
    inc_w = jnp.where(flip, wa, wb)
    inc_nxt = jnp.where(flip, wn_a, wn_b)
    inc_nrm = jnp.where(flip, nrm_a, nrm_b)
    inc_valid = jnp.where(flip, valid_a, valid_b)
    k = jnp.argmin(jnp.where(inc_valid, jnp.sum(inc_nrm * ref_n, -1), _BIG))
    c1, c2 = inc_w[k], inc_nxt[k]

    tangent = unit(ref_v2 - ref_v1)
    length = jnp.dot(tangent, ref_v2 - ref_v1)
    if clip:
        c1, c2, ok1 = _clip(c1, c2, -tangent, -jnp.dot(tangent, ref_v1))
        c1, c2, ok2 = _clip(c1, c2, tangent, jnp.dot(tangent, ref_v2))
        nonempty = ok1 & ok2
        pts = jnp.stack([c1, c2])
        s = (pts - ref_v1) @ ref_n
        active = (s <= 0.0) & nonempty & overlap
    else:
        pts = jnp.stack([c1, c2])
        along = jnp.clip((pts - ref_v1) @ tangent, 0.0, length)
        s = (pts - ref_v1) @ ref_n
        pts = ref_v1 + along[:, None] * tangent + s[:, None] * ref_n
        deepest = jnp.argmin(s)
        pts = jnp.where(deepest == 0, pts, pts[::-1])
        s = jnp.where(deepest == 0, s, s[::-1])
        active = jnp.stack([overlap, overlap & (s[1] <= 0.0)])
    depth = -s if per_point_depth else jnp.broadcast_to(-jnp.maximum(sep_a, sep_b), (2,))
    normal = jnp.where(flip, -ref_n, ref_n)
    return Manifold(normal, pts, depth, active, overlap)
