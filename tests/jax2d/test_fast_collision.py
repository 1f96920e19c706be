"""The lane (struct-of-arrays) narrow phase equals the reference one in jax2d.collision."""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d
from jax2d import collision as ref
from jax2d import fast_collision as fast
from jax2d.math2d import rotate
from jax2d.pairs import pair_table
from jax2d.scene import Bodies

SETTINGS = {
    "default": jax2d.PHYSICS_SETTINGS["default"],
    "jax2d-compat": jax2d.PHYSICS_SETTINGS["jax2d-compat"],
}
TOL = 1e-5


def _random_polygons(rng, n):
    """n random convex CCW polygons (3 or 4 vertices, V=4 slots) about the origin, incl.
    axis-aligned boxes (touching edges) and tiny ones."""
    verts = np.zeros((n, 4, 2), np.float32)
    nv = rng.integers(3, 5, n)
    for i in range(n):
        kind = rng.integers(0, 3)
        if kind == 0:  # box
            w, h = rng.choice([0.5, 1.0, 2.0]), rng.choice([0.5, 1.0])
            verts[i] = [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]
            nv[i] = 4
        else:
            # points on an ellipse in angular order: convex and CCW
            ang = np.sort(rng.uniform(0, 2 * np.pi, nv[i]))
            ax, ay = rng.uniform(0.2, 1.5, 2)
            p = np.stack([ax * np.cos(ang), ay * np.sin(ang)], -1)
            verts[i, : nv[i]] = p - p.mean(0)
    return verts, nv.astype(np.int32)


def _random_positions(rng, n, grid=True):
    """Positions on a 0.5 m grid (exact touching / coincident cases) or uniform."""
    if grid:
        return (rng.integers(-4, 5, (n, 2)) * 0.5).astype(np.float32)
    return rng.uniform(-2.0, 2.0, (n, 2)).astype(np.float32)


def _random_rotations(rng, n):
    r = rng.uniform(-np.pi, np.pi, n)
    quarter = rng.random(n) < 0.5
    r = np.where(quarter, rng.integers(-4, 5, n) * (np.pi / 2), r)
    return np.where(rng.random(n) < 0.25, 0.0, r).astype(np.float32)


def _lanes(v):
    v = jnp.asarray(v)
    return jnp.moveaxis(v[..., 0], -1, 0), jnp.moveaxis(v[..., 1], -1, 0)


def _reference(f, *args):
    """The reference on lanes in float32, and the lanes where it is ill-conditioned.

    Ties (two faces or edges equally good up to rounding, e.g. symmetric boxes with coincident
    centres) and near-degenerate normals (a circle centre within rounding of the polygon's
    surface) are decided by rounding, so any change in the order of float operations may pick
    the other, equally valid answer. Such lanes are found as those where the reference run in
    float64 disagrees with itself in float32; they are excluded from the exact comparison.
    """
    m = jax.jit(jax.vmap(f))(*args)
    with jax.enable_x64(True):
        args64 = [np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a for a in args]
        m64 = jax.tree_util.tree_map(np.asarray, jax.jit(jax.vmap(f))(*args64))
    bad = np.zeros(m.overlap.shape, bool)
    for name in m._fields:
        a, b = np.asarray(getattr(m, name)), getattr(m64, name)
        diff = a != b if a.dtype == bool else np.abs(a - b) > TOL
        bad |= diff.reshape(diff.shape[0], -1).any(-1)
    assert bad.mean() < 0.01, bad.mean()
    return m, bad


def _gap(x, axis=-1):
    """Gap between the best and second best entries (largest first) along the last axis."""
    x = np.sort(np.asarray(x), axis=axis)
    return x[..., -1] - x[..., -2]


def _pp_ties(pos_a, rot_a, verts_a, n_a, pos_b, rot_b, verts_b, n_b):
    """Lanes whose discrete choices (reference faces, flip, incident edge) are ties within
    rounding in float64: either answer is valid and rounding decides between them."""

    def scores(pos_a, rot_a, verts_a, n_a, pos_b, rot_b, verts_b, n_b):
        wa = pos_a + rotate(verts_a, rot_a)
        wb = pos_b + rotate(verts_b, rot_b)
        _, valid_a, nrm_a = ref._edges(verts_a, n_a)
        _, valid_b, nrm_b = ref._edges(verts_b, n_b)
        nrm_a, nrm_b = rotate(nrm_a, rot_a), rotate(nrm_b, rot_b)

        def seps(wa, na, valid_a, wb, valid_b):
            proj = na @ wb.T - jnp.sum(na * wa, -1)[:, None]
            proj = jnp.where(valid_b[None, :], proj, ref._BIG)
            return jnp.where(valid_a, jnp.min(proj, axis=1), -ref._BIG)

        sa = seps(wa, nrm_a, valid_a, wb, valid_b)
        sb = seps(wb, nrm_b, valid_b, wa, valid_a)
        flip = jnp.max(sa) + ref.REFERENCE_FACE_TOLERANCE < jnp.max(sb)
        ref_n = jnp.where(flip, nrm_b[jnp.argmax(sb)], nrm_a[jnp.argmax(sa)])
        inc_nrm = jnp.where(flip, nrm_a, nrm_b)
        inc_valid = jnp.where(flip, valid_a, valid_b)
        dots = jnp.where(inc_valid, -jnp.sum(inc_nrm * ref_n, -1), -ref._BIG)
        margin = jnp.max(sa) + ref.REFERENCE_FACE_TOLERANCE - jnp.max(sb)
        return sa, sb, dots, margin

    args = (pos_a, rot_a, verts_a, n_a, pos_b, rot_b, verts_b, n_b)
    with jax.enable_x64(True):
        args = [np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a for a in args]
        sa, sb, dots, margin = jax.jit(jax.vmap(scores))(*args)
        eps = 1e-5
        return (_gap(sa) < eps) | (_gap(sb) < eps) | (_gap(dots) < eps) | (np.abs(margin) < eps)


def _compare(out, m, label, ignore=None):
    got = fast.to_manifold(out)
    keep = np.ones(m.overlap.shape, bool) if ignore is None else ~ignore
    assert np.all(np.isfinite(np.asarray(got.normal))) and np.all(np.isfinite(got.depth))
    for name in ("normal", "points", "depth"):
        a, b = np.asarray(getattr(got, name))[keep], np.asarray(getattr(m, name))[keep]
        assert np.all(np.isfinite(a)), (label, name)
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0, err_msg=f"{label} {name}")
    for name in ("active", "overlap"):
        a, b = np.asarray(getattr(got, name))[keep], np.asarray(getattr(m, name))[keep]
        assert np.array_equal(a, b), (label, name, np.argwhere(a != b)[:5])


@pytest.mark.parametrize("seed", [0, 1])
def test_circle_circle(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    pa, pb = _random_positions(rng, n, seed == 0), _random_positions(rng, n, seed == 0)
    pb[:200] = pa[:200]  # coincident centres
    ra, rb = (rng.uniform(0.1, 1.0, (2, n)) * 4).round() / 4
    ra, rb = ra.astype(np.float32) + 0.25, rb.astype(np.float32)
    m, bad = _reference(ref.circle_circle, pa, ra, pb, rb)
    out = jax.jit(fast.circle_circle)(pa[:, 0], pa[:, 1], ra, pb[:, 0], pb[:, 1], rb)
    _compare(out, m, "cc", bad)


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_circle_polygon(seed, exact):
    rng = np.random.default_rng(10 + seed)
    n = 3000
    verts, nv = _random_polygons(rng, n)
    pc, pp = _random_positions(rng, n, seed == 0), _random_positions(rng, n, seed == 0)
    pc[:200] = pp[:200]  # circle centre at the polygon's centre
    rot = _random_rotations(rng, n)
    r = rng.choice([0.25, 0.5, 0.75], n).astype(np.float32)
    f = functools.partial(ref.circle_polygon, exact_depth=exact)
    m, bad = _reference(f, pc, r, pp, rot, verts, nv)
    vx, vy = _lanes(verts)
    out = jax.jit(functools.partial(fast.circle_polygon, exact_depth=exact))(
        pc[:, 0], pc[:, 1], r, pp[:, 0], pp[:, 1], rot, vx, vy, nv
    )
    _compare(out, m, "cp", bad)


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("seed", [0, 1])
def test_polygon_polygon(seed, setting):
    rng = np.random.default_rng(20 + seed)
    n = 4000
    s = SETTINGS[setting]
    va, na = _random_polygons(rng, n)
    vb, nb = _random_polygons(rng, n)
    pa, pb = _random_positions(rng, n, seed == 0), _random_positions(rng, n, seed == 0)
    pb[:200] = pa[:200]  # coincident centres
    ra, rb = _random_rotations(rng, n), _random_rotations(rng, n)
    f = functools.partial(
        ref.polygon_polygon, per_point_depth=s.per_point_depth, clip=s.clip_incident_edge
    )
    m, bad = _reference(f, pa, ra, va, na, pb, rb, vb, nb)
    bad |= _pp_ties(pa, ra, va, na, pb, rb, vb, nb)
    assert bad.mean() < 0.02
    g = functools.partial(
        fast.polygon_polygon, per_point_depth=s.per_point_depth, clip=s.clip_incident_edge
    )
    vax, vay = _lanes(va)
    vbx, vby = _lanes(vb)
    out = jax.jit(g)(pa[:, 0], pa[:, 1], ra, vax, vay, na, pb[:, 0], pb[:, 1], rb, vbx, vby, nb)
    _compare(out, m, "pp", bad)


class _Scene(NamedTuple):
    polygon: Bodies
    circle: Bodies


def _random_scenes(rng, batch, P, C):
    def bodies(n, poly):
        b = Bodies.empty(n)
        if poly:
            verts, nv = _random_polygons(rng, batch * n)
            verts, nv = verts.reshape(batch, n, 4, 2), nv.reshape(batch, n)
            radius = np.zeros((batch, n), np.float32)
        else:
            verts = np.zeros((batch, n, 4, 2), np.float32)
            nv = np.zeros((batch, n), np.int32)
            radius = rng.choice([0.25, 0.5], (batch, n)).astype(np.float32)
        pos = _random_positions(rng, batch * n).reshape(batch, n, 2)
        rot = _random_rotations(rng, batch * n).reshape(batch, n)
        b = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (batch, *x.shape)), b)
        return dataclasses.replace(
            b, position=pos, rotation=rot, vertices=verts, n_vertices=nv, radius=radius
        )

    return _Scene(bodies(P, True), bodies(C, False))


def _reference_narrow_phase(scene, table, setting):
    """The vmapped per-pair reference (what jax2d.step used before the lane version)."""
    poly, circ = scene.polygon, scene.circle
    P = table.num_polygons
    out = []
    if table.num_pp:
        ia, ib = table.a[: table.num_pp], table.b[: table.num_pp]
        f = functools.partial(
            ref.polygon_polygon,
            per_point_depth=setting.per_point_depth,
            clip=setting.clip_incident_edge,
        )
        out.append(
            jax.vmap(f)(
                *(poly.position[ia], poly.rotation[ia], poly.vertices[ia], poly.n_vertices[ia]),
                *(poly.position[ib], poly.rotation[ib], poly.vertices[ib], poly.n_vertices[ib]),
            )
        )
    if table.num_cp:
        s = slice(table.num_pp, table.num_pp + table.num_cp)
        ic, ip = table.a[s] - P, table.b[s]
        f = functools.partial(ref.circle_polygon, exact_depth=setting.per_point_depth)
        out.append(
            jax.vmap(f)(
                circ.position[ic],
                circ.radius[ic],
                poly.position[ip],
                poly.rotation[ip],
                poly.vertices[ip],
                poly.n_vertices[ip],
            )
        )
    if table.num_cc:
        s = slice(table.num_pp + table.num_cp, None)
        ia, ib = table.a[s] - P, table.b[s] - P
        out.append(
            jax.vmap(ref.circle_circle)(
                circ.position[ia], circ.radius[ia], circ.position[ib], circ.radius[ib]
            )
        )
    return jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs, axis=0), *out)


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("P,C", [(5, 3), (4, 0), (0, 3), (1, 2)])
def test_narrow_phase_batched_equals_single_and_reference(setting, P, C):
    rng = np.random.default_rng(P * 10 + C)
    s = SETTINGS[setting]
    table = pair_table(P, C)
    if table.num_pairs == 0:
        return
    batch = 24
    scenes = _random_scenes(rng, batch, P, C)
    fast_np = functools.partial(fast.narrow_phase, table=table, setting=s)
    ref_np = functools.partial(_reference_narrow_phase, table=table, setting=s)
    got = jax.jit(jax.vmap(fast_np))(scenes)
    want = jax.jit(jax.vmap(ref_np))(scenes)
    flat = jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[2:]), want)
    _compare(
        {
            "nx": got.normal[..., 0].reshape(-1),
            "ny": got.normal[..., 1].reshape(-1),
            "p0x": got.points[..., 0, 0].reshape(-1),
            "p0y": got.points[..., 0, 1].reshape(-1),
            "p1x": got.points[..., 1, 0].reshape(-1),
            "p1y": got.points[..., 1, 1].reshape(-1),
            "d0": got.depth[..., 0].reshape(-1),
            "d1": got.depth[..., 1].reshape(-1),
            "a0": got.active[..., 0].reshape(-1),
            "a1": got.active[..., 1].reshape(-1),
            "overlap": got.overlap.reshape(-1),
        },
        flat,
        "scene",
    )
    single = jax.jit(fast_np)
    nested = jax.jit(jax.vmap(jax.vmap(fast_np)))(
        jax.tree_util.tree_map(lambda x: x.reshape(4, batch // 4, *x.shape[1:]), scenes)
    )
    for i in (0, 7, batch - 1):
        one = single(jax.tree_util.tree_map(lambda x: x[i], scenes))
        for name in one._fields:
            a = np.asarray(getattr(one, name))
            b = np.asarray(getattr(got, name))[i]
            c = np.asarray(getattr(nested, name)).reshape(batch, *a.shape)[i]
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=0, err_msg=name)
            np.testing.assert_allclose(c, b, atol=1e-6, rtol=0, err_msg=name)
