"""The narrow phase in a batch-last, struct-of-arrays layout.

Same results as :mod:`jax2d.collision` (the readable reference), but every input is a "lane"
array whose LAST axis runs over pairs (and, under ``vmap``, scenes): 2D vectors are split into
x and y arrays, polygons' V vertex slots are unrolled in Python (``vx[j]`` is slot j's lanes) and
small reductions (argmin/argmax over slots, dot products) are written out as chains of
elementwise operations. XLA then emits wide loops over contiguous lanes instead of the narrow,
strided loops that a per-pair function vmapped over pairs and scenes produces.

:func:`narrow_phase` is what :func:`jax2d.step` uses: its core is a ``custom_vmap`` function whose
rule folds vmapped scene axes into the trailing lane axis (as :mod:`jax2d.fast_solver` does).
Per-polygon quantities (world vertices, edge normals) are computed once per body and then
gathered into the pairs; as all operations are elementwise the values are the same as when
computed per pair.

Ties in argmin/argmax over slots resolve to the first slot, as ``jnp.argmin``/``jnp.argmax`` do.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jax2d.collision import _BIG, REFERENCE_FACE_TOLERANCE, Manifold
from jax2d.lanes import lane_vmap

__all__ = ["circle_circle", "circle_polygon", "polygon_polygon", "narrow_phase"]


# --- small helpers on lanes -------------------------------------------------------------


def _unit(x, y, eps=1e-12):
    n = jnp.maximum(jnp.sqrt(x * x + y * y), eps)
    return x / n, y / n


def _pick(idx, xs):
    """``xs[idx]`` for a static list of lane arrays and an int lane array ``idx``."""
    out = xs[0]
    for j in range(1, len(xs)):
        out = jnp.where(idx == j, xs[j], out)
    return out


def _argmax(xs):
    """First index of the largest value (and the value) over a static list of lane arrays."""
    best, idx = xs[0], jnp.zeros(xs[0].shape, jnp.int32)
    for j in range(1, len(xs)):
        better = xs[j] > best
        best = jnp.where(better, xs[j], best)
        idx = jnp.where(better, j, idx)
    return best, idx


def _argmin(xs):
    best, idx = xs[0], jnp.zeros(xs[0].shape, jnp.int32)
    for j in range(1, len(xs)):
        better = xs[j] < best
        best = jnp.where(better, xs[j], best)
        idx = jnp.where(better, j, idx)
    return best, idx


def _edges(vx, vy, n):
    """Per slot: next vertex, validity and outward unit normal (body frame), as lists."""
    V = len(vx)
    valid = [n > j for j in range(V)]
    nxx = [jnp.where(n > j + 1, vx[j + 1], vx[0]) if j + 1 < V else vx[0] for j in range(V)]
    nxy = [jnp.where(n > j + 1, vy[j + 1], vy[0]) if j + 1 < V else vy[0] for j in range(V)]
    nrm = [_unit(nxy[j] - vy[j], -(nxx[j] - vx[j])) for j in range(V)]
    return nxx, nxy, valid, [u[0] for u in nrm], [u[1] for u in nrm]


def _rot(x, y, c, s):
    return c * x - s * y, s * x + c * y


def _slots(v):
    return [v[j] for j in range(v.shape[0])] if not isinstance(v, (list, tuple)) else list(v)


# --- pair functions on lanes ------------------------------------------------------------


def circle_circle(pax, pay, ra, pbx, pby, rb):
    """Two discs (see :func:`jax2d.collision.circle_circle`); returns a dict of lane arrays:
    nx, ny, p0x, p0y, p1x, p1y, d0, d1, a0, a1, overlap."""
    dx, dy = pbx - pax, pby - pay
    dist = jnp.sqrt(dx * dx + dy * dy)
    ok = dist > 1e-9
    dm = jnp.maximum(dist, 1e-9)
    nx = jnp.where(ok, dx / dm, 0.0)
    ny = jnp.where(ok, dy / dm, 1.0)
    overlap = dist < ra + rb
    px, py = pax + nx * ra, pay + ny * ra
    depth = ra + rb - dist
    return dict(
        nx=nx,
        ny=ny,
        p0x=px,
        p0y=py,
        p1x=px,
        p1y=py,
        d0=depth,
        d1=jnp.zeros_like(depth),
        a0=overlap,
        a1=jnp.zeros_like(overlap),
        overlap=overlap,
    )


def _circle_polygon(pcx, pcy, r, ppx, ppy, cos_p, sin_p, vx, vy, edges, exact_depth):
    nxx, nxy, valid, nrx, nry = edges
    V = len(vx)
    dx, dy = pcx - ppx, pcy - ppy
    cx, cy = cos_p * dx + sin_p * dy, -sin_p * dx + cos_p * dy
    sep, dq, qx, qy = [], [], [], []
    for j in range(V):
        rx, ry = cx - vx[j], cy - vy[j]
        sep.append(jnp.where(valid[j], nrx[j] * rx + nry[j] * ry, -_BIG))
        ex, ey = nxx[j] - vx[j], nxy[j] - vy[j]
        t = jnp.clip((rx * ex + ry * ey) / jnp.maximum(ex * ex + ey * ey, 1e-12), 0.0, 1.0)
        qxj, qyj = vx[j] + t * ex, vy[j] + t * ey
        ux, uy = cx - qxj, cy - qyj
        dq.append(jnp.where(valid[j], jnp.sqrt(ux * ux + uy * uy), _BIG))
        qx.append(qxj)
        qy.append(qyj)
    sep_f, face = _argmax(sep)
    inside = sep_f <= 0.0
    d_out, k = _argmin(dq)
    qkx, qky = _pick(k, qx), _pick(k, qy)
    fnx, fny = _pick(face, nrx), _pick(face, nry)
    ok = d_out > 1e-9
    dm = jnp.maximum(d_out, 1e-9)
    onx = jnp.where(ok, (cx - qkx) / dm, fnx)
    ony = jnp.where(ok, (cy - qky) / dm, fny)
    lnx, lny = jnp.where(inside, fnx, onx), jnp.where(inside, fny, ony)
    inside_depth = r - sep_f if exact_depth else r
    depth = jnp.where(inside, inside_depth, r - d_out)
    lpx = jnp.where(inside, cx - fnx * sep_f, qkx)
    lpy = jnp.where(inside, cy - fny * sep_f, qky)
    overlap = inside | (d_out <= r)
    wx, wy = _rot(lnx, lny, cos_p, sin_p)
    nx, ny = -wx, -wy
    wx, wy = _rot(lpx, lpy, cos_p, sin_p)
    px, py = ppx + wx, ppy + wy
    return dict(
        nx=nx,
        ny=ny,
        p0x=px,
        p0y=py,
        p1x=px,
        p1y=py,
        d0=depth,
        d1=jnp.zeros_like(depth),
        a0=overlap,
        a1=jnp.zeros_like(overlap),
        overlap=overlap,
    )


def circle_polygon(pcx, pcy, r, ppx, ppy, rot_p, vx, vy, n, exact_depth=True):
    """Disc a against convex polygon b (see :func:`jax2d.collision.circle_polygon`).

    ``vx``, ``vy``: (V, ...) body-frame vertex slots (or lists of V lane arrays); ``n``: used
    slots. Returns a dict of lane arrays (see :func:`circle_circle`).
    """
    vx, vy = _slots(vx), _slots(vy)
    edges = _edges(vx, vy, n)
    c, s = jnp.cos(rot_p), jnp.sin(rot_p)
    return _circle_polygon(pcx, pcy, r, ppx, ppy, c, s, vx, vy, edges, exact_depth)


def _world_polygon(px, py, rot, vx, vy, n):
    """World vertices, world next vertices, slot validity and world edge normals (lists)."""
    c, s = jnp.cos(rot), jnp.sin(rot)
    V = len(vx)
    nxx, nxy, valid, nrx, nry = _edges(vx, vy, n)
    wx, wy, wnx, wny, nx, ny = [], [], [], [], [], []
    for j in range(V):
        x, y = _rot(vx[j], vy[j], c, s)
        wx.append(px + x)
        wy.append(py + y)
        x, y = _rot(nxx[j], nxy[j], c, s)
        wnx.append(px + x)
        wny.append(py + y)
        x, y = _rot(nrx[j], nry[j], c, s)
        nx.append(x)
        ny.append(y)
    return dict(wx=wx, wy=wy, wnx=wnx, wny=wny, valid=valid, nx=nx, ny=ny)


def _max_separation(A, B):
    V = len(A["wx"])
    sep = []
    for i in range(V):
        nx, ny = A["nx"][i], A["ny"][i]
        off = nx * A["wx"][i] + ny * A["wy"][i]
        m = None
        for j in range(V):
            p = jnp.where(B["valid"][j], (nx * B["wx"][j] + ny * B["wy"][j]) - off, _BIG)
            m = p if m is None else jnp.minimum(m, p)
        sep.append(jnp.where(A["valid"][i], m, -_BIG))
    return _argmax(sep)


def _clip(c1x, c1y, c2x, c2y, mx, my, o):
    f1 = (mx * c1x + my * c1y) - o
    f2 = (mx * c2x + my * c2y) - o
    df = f1 - f2
    denom = jnp.where(jnp.abs(df) > 1e-12, df, 1.0)
    fr = f1 / denom
    xx, xy = c1x + (c2x - c1x) * fr, c1y + (c2y - c1y) * fr
    p1, p2 = f1 > 0, f2 > 0
    return (
        jnp.where(p1, xx, c1x),
        jnp.where(p1, xy, c1y),
        jnp.where(p2, xx, c2x),
        jnp.where(p2, xy, c2y),
        (f1 <= 0) | (f2 <= 0),
    )


def _polygon_polygon(A, B, per_point_depth, clip):
    V = len(A["wx"])
    sep_a, face_a = _max_separation(A, B)
    sep_b, face_b = _max_separation(B, A)
    overlap = jnp.maximum(sep_a, sep_b) < 0.0
    flip = sep_a + REFERENCE_FACE_TOLERANCE < sep_b

    def ref(key):
        return jnp.where(flip, _pick(face_b, B[key]), _pick(face_a, A[key]))

    r1x, r1y, r2x, r2y = ref("wx"), ref("wy"), ref("wnx"), ref("wny")
    rnx, rny = ref("nx"), ref("ny")

    def inc(key):
        return [jnp.where(flip, A[key][j], B[key][j]) for j in range(V)]

    inc_valid = inc("valid")
    inx, iny = inc("nx"), inc("ny")
    dots = [jnp.where(inc_valid[j], inx[j] * rnx + iny[j] * rny, _BIG) for j in range(V)]
    _, k = _argmin(dots)
    c1x, c1y = _pick(k, inc("wx")), _pick(k, inc("wy"))
    c2x, c2y = _pick(k, inc("wnx")), _pick(k, inc("wny"))

    ex, ey = r2x - r1x, r2y - r1y
    tx, ty = _unit(ex, ey)
    length = tx * ex + ty * ey
    if clip:
        c1x, c1y, c2x, c2y, ok1 = _clip(c1x, c1y, c2x, c2y, -tx, -ty, -(tx * r1x + ty * r1y))
        c1x, c1y, c2x, c2y, ok2 = _clip(c1x, c1y, c2x, c2y, tx, ty, tx * r2x + ty * r2y)
        nonempty = ok1 & ok2
        s0 = (c1x - r1x) * rnx + (c1y - r1y) * rny
        s1 = (c2x - r1x) * rnx + (c2y - r1y) * rny
        on = nonempty & overlap
        a0, a1 = (s0 <= 0.0) & on, (s1 <= 0.0) & on
        p0x, p0y, p1x, p1y = c1x, c1y, c2x, c2y
    else:
        pts = []
        for qx, qy in ((c1x, c1y), (c2x, c2y)):
            dx, dy = qx - r1x, qy - r1y
            along = jnp.clip(dx * tx + dy * ty, 0.0, length)
            s = dx * rnx + dy * rny
            pts.append(((r1x + along * tx) + s * rnx, (r1y + along * ty) + s * rny, s))
        (q0x, q0y, s0), (q1x, q1y, s1) = pts
        swap = s1 < s0  # argmin picks the first on ties
        p0x, p1x = jnp.where(swap, q1x, q0x), jnp.where(swap, q0x, q1x)
        p0y, p1y = jnp.where(swap, q1y, q0y), jnp.where(swap, q0y, q1y)
        s0, s1 = jnp.where(swap, s1, s0), jnp.where(swap, s0, s1)
        a0, a1 = overlap, overlap & (s1 <= 0.0)
    if per_point_depth:
        d0, d1 = -s0, -s1
    else:
        d0 = -jnp.maximum(sep_a, sep_b)
        d1 = d0
    return dict(
        nx=jnp.where(flip, -rnx, rnx),
        ny=jnp.where(flip, -rny, rny),
        p0x=p0x,
        p0y=p0y,
        p1x=p1x,
        p1y=p1y,
        d0=d0,
        d1=d1,
        a0=a0,
        a1=a1,
        overlap=overlap,
    )


def polygon_polygon(
    pax, pay, rot_a, vax, vay, n_a, pbx, pby, rot_b, vbx, vby, n_b, per_point_depth=True, clip=True
):
    """Two convex polygons (see :func:`jax2d.collision.polygon_polygon`) on lanes.

    ``vax``, ``vay``, ``vbx``, ``vby``: (V, ...) body-frame vertex slots (or lists of V lane
    arrays). Returns a dict of lane arrays (see :func:`circle_circle`).
    """
    A = _world_polygon(pax, pay, rot_a, _slots(vax), _slots(vay), n_a)
    B = _world_polygon(pbx, pby, rot_b, _slots(vbx), _slots(vby), n_b)
    return _polygon_polygon(A, B, per_point_depth, clip)


_KEYS = ("nx", "ny", "p0x", "p0y", "p1x", "p1y", "d0", "d1", "a0", "a1", "overlap")


def to_manifold(out) -> Manifold:
    """Stacks a dict of lane arrays (from the functions above) into a :class:`Manifold`."""
    return Manifold(
        normal=jnp.stack([out["nx"], out["ny"]], -1),
        points=jnp.stack(
            [jnp.stack([out["p0x"], out["p0y"]], -1), jnp.stack([out["p1x"], out["p1y"]], -1)],
            -2,
        ),
        depth=jnp.stack([out["d0"], out["d1"]], -1),
        active=jnp.stack([out["a0"], out["a1"]], -1),
        overlap=out["overlap"],
    )


@functools.cache
def _make_core(a, b, num_polygons, num_pp, num_cp, num_cc, per_point_depth, clip):
    a = np.asarray(a, np.int32)
    b = np.asarray(b, np.int32)
    P = num_polygons

    def box(f, *args):
        # A conditional's branches are compiled as separate computations, so its operands and
        # results are materialised. Without such boxes XLA's CPU backend fuses per-body work,
        # gathers, concatenations and the final batch-first transposes into the pair
        # computations (recomputing them per pair, in loops that cannot vectorise). The
        # predicate is always true at run time and both branches are the same computation,
        # so the result does not depend on it.
        leaf = jax.tree_util.tree_leaves(args)[0]
        pred = jnp.max(leaf) > jnp.min(leaf) - 1
        return jax.lax.cond(pred, f, f, *args)

    def per_body(tree):
        """Per-body fields (F, N, L) that the pair computations gather."""
        out = {}
        if num_pp or num_cp:
            poly = tree["poly"]
            V = poly["vx"].shape[0]
            vx = [poly["vx"][j] for j in range(V)]
            vy = [poly["vy"][j] for j in range(V)]
            n = poly["n"].astype(jnp.float32)
            cs, sn = jnp.cos(poly["rot"]), jnp.sin(poly["rot"])
            _, _, _, nrx, nry = _edges(vx, vy, n)
        if num_pp:
            wx, wy, wnrx, wnry = [], [], [], []
            for j in range(V):
                x, y = _rot(vx[j], vy[j], cs, sn)
                wx.append(poly["px"] + x)
                wy.append(poly["py"] + y)
                x, y = _rot(nrx[j], nry[j], cs, sn)
                wnrx.append(x)
                wnry.append(y)
            out["pp"] = jnp.stack([n, *wx, *wy, *wnrx, *wnry])
        if num_cp:
            fields = [n, poly["px"], poly["py"], cs, sn, *vx, *vy, *nrx, *nry]
            out["cp"] = jnp.stack(fields)
        if num_cp or num_cc:
            circ = tree["circ"]
            out["c"] = jnp.stack([circ["px"], circ["py"], circ["r"]])
        return out

    def nxt(xs, n):
        V = len(xs)
        return [jnp.where(n > j + 1, xs[j + 1], xs[0]) if j + 1 < V else xs[0] for j in range(V)]

    def pairs(g):
        """Pair computations on gathered fields g[name]: (F, K, L) -> 1-D lanes (K*L,)."""
        lanes = {k: [x[f].reshape(-1) for f in range(x.shape[0])] for k, x in g.items()}
        out = {}
        if num_pp:
            V = (len(lanes["pp_a"]) - 1) // 4
            sides = []
            for part in (lanes["pp_a"], lanes["pp_b"]):
                m, wx, wy = part[0], part[1 : 1 + V], part[1 + V : 1 + 2 * V]
                sides.append(
                    dict(
                        wx=wx,
                        wy=wy,
                        wnx=nxt(wx, m),
                        wny=nxt(wy, m),
                        valid=[m > j for j in range(V)],
                        nx=part[1 + 2 * V : 1 + 3 * V],
                        ny=part[1 + 3 * V :],
                    )
                )
            out["pp"] = _polygon_polygon(sides[0], sides[1], per_point_depth, clip)
        if num_cp:
            part = lanes["cp"]
            V = (len(part) - 5) // 4
            m, ppx, ppy, c_, s_ = part[:5]
            vx, vy = part[5 : 5 + V], part[5 + V : 5 + 2 * V]
            nrx, nry = part[5 + 2 * V : 5 + 3 * V], part[5 + 3 * V :]
            edges = (nxt(vx, m), nxt(vy, m), [m > j for j in range(V)], nrx, nry)
            out["cp"] = _circle_polygon(
                *lanes["cp_c"], ppx, ppy, c_, s_, vx, vy, edges, per_point_depth
            )
        if num_cc:
            out["cc"] = circle_circle(*lanes["cc_a"], *lanes["cc_b"])
        return out

    def core(tree):
        # Leaves: body arrays (N, L) and vertex slots (V, P, L), L the trailing scene axis.
        L = jax.tree_util.tree_leaves(tree)[0].shape[-1]
        body = box(per_body, tree)
        g = {}
        if num_pp:
            g["pp_a"], g["pp_b"] = body["pp"][:, a[:num_pp]], body["pp"][:, b[:num_pp]]
        if num_cp:
            s = slice(num_pp, num_pp + num_cp)
            g["cp"], g["cp_c"] = body["cp"][:, b[s]], body["c"][:, a[s] - P]
        if num_cc:
            s = slice(num_pp + num_cp, None)
            g["cc_a"], g["cc_b"] = body["c"][:, a[s] - P], body["c"][:, b[s] - P]
        out = box(pairs, g)
        return {c: {k: v.reshape(-1, L) for k, v in o.items()} for c, o in out.items()}

    return lane_vmap(core)


def narrow_phase(scene, table, setting) -> Manifold:
    """Manifolds of all K candidate pairs of one scene, in pair-table order.

    Same output as vmapping :mod:`jax2d.collision`'s functions over the pair lists; under
    ``jax.vmap`` over scenes the work runs on K x B lanes in batch-last layout.
    """
    poly, circ = scene.polygon, scene.circle
    core = _make_core(
        tuple(int(i) for i in table.a),
        tuple(int(i) for i in table.b),
        int(table.num_polygons),
        int(table.num_pp),
        int(table.num_cp),
        int(table.num_cc),
        bool(setting.per_point_depth),
        bool(setting.clip_incident_edge),
    )
    lane = lambda x: x[..., None]  # noqa: E731  (a trailing lane axis of 1 scene)
    tree = {}
    if table.num_pp or table.num_cp:
        verts = jnp.moveaxis(poly.vertices, 1, 0)  # (V, P, 2)
        tree["poly"] = dict(
            px=lane(poly.position[:, 0]),
            py=lane(poly.position[:, 1]),
            rot=lane(poly.rotation),
            n=lane(poly.n_vertices),
            vx=lane(verts[..., 0]),
            vy=lane(verts[..., 1]),
        )
    if table.num_cp or table.num_cc:
        tree["circ"] = dict(
            px=lane(circ.position[:, 0]), py=lane(circ.position[:, 1]), r=lane(circ.radius)
        )
    out = core(tree)
    order = [c for c in ("pp", "cp", "cc") if c in out]
    return to_manifold({k: jnp.concatenate([out[c][k][..., 0] for c in order]) for k in _KEYS})
