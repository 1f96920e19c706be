"""The parallel solver's iterations in a batch-last, struct-of-arrays layout.

Per-scene code vmapped over scenes puts the batch axis first and keeps 2D vectors as a trailing
axis of length 2; XLA then produces narrow, strided loops. Here every array has the scene batch
as its LAST axis and vectors are split into x and y arrays, so each elementwise kernel streams
over contiguous batches. :func:`solve_parallel` is a ``custom_vmap`` function: called on one
scene it runs with a batch of 1; under ``jax.vmap`` (at any nesting depth) its rule folds the
mapped axes into the trailing batch axis instead of letting JAX batch the code op by op.

Each iteration is a Gauss-Seidel pass over the joints, one at a time (Jax2D's joint model, as in
:func:`jax2d.joints.solve_joints`; a Jacobi pass leaves chains of joints soft: an arm of three
jointed shapes crept 7-9 cm/s), then a Jacobi pass over all contact pairs (as in
:func:`jax2d.contact.solve_round`) with mass splitting: a body shared by n contacts counts n times
lighter in each of them and takes the average of their corrections.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jax2d.joints import point_mass_determinant
from jax2d.lanes import lane_vmap

__all__ = ["solve_parallel"]


def _inv(x):
    return jnp.where(x > 0, 1.0 / jnp.where(x > 0, x, 1.0), 0.0)


def _sum_axis(x, axis):
    """Sum over a short axis as a chain of additions in index order.

    Unlike a reduction, the order does not depend on shapes or vector widths, so a scene gives
    bit-identical results alone, in any batch, and at any capacity.
    """
    n = x.shape[axis]
    if n == 0:
        return jnp.zeros(x.shape[:axis] + x.shape[axis + 1 :], x.dtype)
    parts = [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(n)]
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _cross(ax, ay, bx, by):
    return ax * by - ay * bx


def _joint_pass(j, s, prm, mass_matrix):
    """Jacobi over the joints in ``j`` (per-joint constants (J, B), masses split by ``na``/``nb``);
    returns the new state and the joints' (impulse x, impulse y, weld impulse, point x, point y)."""
    oa, ob = j["one_a"], j["one_b"]  # (J, N, B)

    def pick(one, x):
        return _sum_axis(one * x[None], 1)

    def put(one, d):
        return _sum_axis(one * d[:, None], 0)

    pax, pay = pick(oa, s["px"]), pick(oa, s["py"])
    pbx, pby = pick(ob, s["px"]), pick(ob, s["py"])
    vax, vay, wa = pick(oa, s["vx"]), pick(oa, s["vy"]), pick(oa, s["w"])
    vbx, vby, wb = pick(ob, s["vx"]), pick(ob, s["vy"]), pick(ob, s["w"])
    ima, imb, iia, iib = j["ima"], j["imb"], j["iia"], j["iib"]
    on = j["on"]
    ax, ay = pax + j["lax"], pay + j["lay"]  # anchors (rotated offsets are fixed in a step)
    bx, by = pbx + j["lbx"], pby + j["lby"]
    tot = ima + imb
    itot = _inv(tot)
    has = tot > 0
    cx = jnp.where(has, (imb * ax + ima * bx) * itot, ax)
    cy = jnp.where(has, (imb * ay + ima * by) * itot, ay)
    rax, ray, rbx, rby = cx - pax, cy - pay, cx - pbx, cy - pby
    ux = (vbx - wb * rby) - (vax - wa * ray)
    uy = (vby + wb * rbx) - (vay + wa * rax)
    ex, ey = bx - ax, by - ay
    hx = jnp.where(on, prm["stiffness"], 0.0) * (ux + prm["beta_v"] * ex)
    hy = jnp.where(on, prm["stiffness"], 0.0) * (uy + prm["beta_v"] * ey)
    if mass_matrix:  # solve K P = h with the point constraint's 2x2 effective mass
        k11 = tot + iia * ray * ray + iib * rby * rby
        k22 = tot + iia * rax * rax + iib * rbx * rbx
        k12 = -iia * rax * ray - iib * rbx * rby
        idet = _inv(point_mass_determinant(tot, iia, iib, rax, ray, rbx, rby, k11, k22, k12))
        Px = (k22 * hx - k12 * hy) * idet
        Py = (k11 * hy - k12 * hx) * idet
    else:  # Jax2D: scalar effective mass along the relative velocity's direction
        un = jnp.maximum(jnp.sqrt(ux * ux + uy * uy), 1e-9)
        dx, dy = ux / un, uy / un
        k = tot + iia * _cross(rax, ray, dx, dy) ** 2 + iib * _cross(rbx, rby, dx, dy) ** 2
        Px, Py = hx * _inv(k), hy * _inv(k)
    dwa = iia * _cross(rax, ray, Px, Py)
    dwb = -iib * _cross(rbx, rby, Px, Py)
    oa_w, ob_w = wa + dwa, wb + dwb
    irot = _inv(iia + iib)
    rel = j["rel"]
    weld = jnp.where(on & j["fixed"], ((ob_w - oa_w) + prm["beta_fa"] * rel) * irot, 0.0)
    oa_w, ob_w = oa_w + iia * weld, ob_w - iib * weld
    excess = rel - jnp.clip(rel, j["lo"], j["hi"])
    lim_on = j["lim_on"] & (excess != 0) & ((ob_w - oa_w) * excess > 0)
    limp = jnp.where(lim_on, ((ob_w - oa_w) + prm["beta_la"] * excess) * irot, 0.0)
    oa_w, ob_w = oa_w + iia * limp, ob_w - iib * limp
    share = jnp.where(on, prm["beta_p"] * itot, 0.0)
    na, nb = j["na"], j["nb"]
    s = dict(s)
    s["px"] = s["px"] + put(oa, share * ex * ima / na) - put(ob, share * ex * imb / nb)
    s["py"] = s["py"] + put(oa, share * ey * ima / na) - put(ob, share * ey * imb / nb)
    s["vx"] = s["vx"] + put(oa, ima * Px / na) - put(ob, imb * Px / nb)
    s["vy"] = s["vy"] + put(oa, ima * Py / na) - put(ob, imb * Py / nb)
    s["w"] = s["w"] + put(oa, (oa_w - wa) / na) + put(ob, (ob_w - wb) / nb)
    return s, (Px, Py, weld, cx, cy)


def _joint_pass_parallel(j, s, prm, mass_matrix):
    """Jacobi over all joints at once (mass splitting), accumulating their impulses."""
    s, (Px, Py, weld, cx, cy) = _joint_pass(j, s, prm, mass_matrix)
    s["jpx"], s["jpy"] = s["jpx"] + Px, s["jpy"] + Py
    s["jl"] = s["jl"] + weld
    s["jcx"], s["jcy"] = cx, cy
    return s


def _joint_pass_sequential(j, s, prm, mass_matrix):
    """Gauss-Seidel over the joints: one joint at a time in slot order (a scan), with unsplit
    masses. Converges along chains of joints where a Jacobi pass would leave them soft."""
    xs = dict(j)
    for m, inertia, n in (("ima", "iia", "na"), ("imb", "iib", "nb")):
        xs[m], xs[inertia], xs[n] = j[m] / j[n], j[inertia] / j[n], jnp.ones_like(j[n])

    def body(s, ji):
        s, out = _joint_pass({k: v[None] for k, v in ji.items()}, s, prm, mass_matrix)
        return s, tuple(o[0] for o in out)

    s, (Px, Py, weld, cx, cy) = jax.lax.scan(body, s, xs)
    s = dict(s)
    s["jpx"], s["jpy"] = s["jpx"] + Px, s["jpy"] + Py
    s["jl"] = s["jl"] + weld
    s["jcx"], s["jcy"] = cx, cy
    return s


def _contact_pass(c, s, a_idx, b_idx, incidence):
    """One Jacobi pass over all contact pairs (2 points each, block normal solve)."""
    vax, vay, wa = s["vx"][a_idx], s["vy"][a_idx], s["w"][a_idx]
    vbx, vby, wb = s["vx"][b_idx], s["vy"][b_idx], s["w"][b_idx]
    v0 = (vax, vay, wa, vbx, vby, wb)
    nx, ny = c["nx"], c["ny"]
    tx, ty = ny, -nx
    ima, imb, iia, iib = c["ima"], c["imb"], c["iia"], c["iib"]
    on0, on1 = c["on0"], c["on1"]
    an0, an1, at0, at1 = s["an0"], s["an1"], s["at0"], s["at1"]
    r = [(c["rax0"], c["ray0"], c["rbx0"], c["rby0"]), (c["rax1"], c["ray1"], c["rbx1"], c["rby1"])]

    def rel(vax, vay, wa, vbx, vby, wb, rp):
        rax, ray, rbx, rby = rp
        return (vbx - wb * rby) - (vax - wa * ray), (vby + wb * rbx) - (vay + wa * rax)

    def apply(v, lam, dirx, diry, rp):
        vax, vay, wa, vbx, vby, wb = v
        rax, ray, rbx, rby = rp
        px, py = lam * dirx, lam * diry
        return (
            vax - ima * px,
            vay - ima * py,
            wa - iia * _cross(rax, ray, px, py),
            vbx + imb * px,
            vby + imb * py,
            wb + iib * _cross(rbx, rby, px, py),
        )

    v = v0
    dx0, dy0 = rel(*v, r[0])
    dx1, dy1 = rel(*v, r[1])
    vn0, vn1 = dx0 * nx + dy0 * ny, dx1 * nx + dy1 * ny
    k11, k22, k12 = c["k11"], c["k22"], c["k12"]
    tg0, tg1 = c["tg0"], c["tg1"]
    b1 = vn0 - tg0 - (k11 * an0 + k12 * an1)
    b2 = vn1 - tg1 - (k12 * an0 + k22 * an1)
    det = k11 * k22 - k12 * k12
    well = k11 * k11 < 1000.0 * det
    sdet = jnp.where(well, det, 1.0)
    x1b, x2b = (k12 * b2 - k22 * b1) / sdet, (k12 * b1 - k11 * b2) / sdet
    s11, s22 = jnp.where(k11 > 0, k11, 1.0), jnp.where(k22 > 0, k22, 1.0)
    x1, x2 = -b1 / s11, -b2 / s22
    ok_b = well & (x1b >= 0) & (x2b >= 0)
    ok_1 = (x1 >= 0) & (k12 * x1 + b2 >= 0)
    ok_2 = (x2 >= 0) & (k12 * x2 + b1 >= 0)
    ok_0 = (b1 >= 0) & (b2 >= 0)
    g1 = jnp.maximum(-(b1 + k12 * an1) / s11, 0.0)
    g2 = jnp.maximum(-(b2 + k12 * g1) / s22, 0.0)
    n0 = jnp.where(ok_b, x1b, jnp.where(ok_1, x1, jnp.where(ok_2 | ok_0, 0.0, g1)))
    n1 = jnp.where(ok_b, x2b, jnp.where(ok_1 | ok_0, 0.0, jnp.where(ok_2, x2, g2)))
    two = on0 & on1
    n0 = jnp.where(two, n0, jnp.maximum(an0 + c["mn0"] * (tg0 - vn0), 0.0))
    n1 = jnp.where(two, n1, jnp.maximum(an1 + c["mn1"] * (tg1 - vn1), 0.0))
    n0, n1 = jnp.where(on0, n0, an0), jnp.where(on1, n1, an1)
    v = apply(v, n0 - an0, nx, ny, r[0])
    v = apply(v, n1 - an1, nx, ny, r[1])
    new_t = []
    for p, (at, n_p, on) in enumerate(((at0, n0, on0), (at1, n1, on1))):
        dx, dy = rel(*v, r[p])
        lim = c["mu"] * n_p
        acc = jnp.clip(at - c[f"mt{p}"] * (dx * tx + dy * ty), -lim, lim)
        acc = jnp.where(on, acc, at)
        v = apply(v, acc - at, tx, ty, r[p])
        new_t.append(acc)
    na, nb = c["na"], c["nb"]

    def to_bodies(da, db):
        return _sum_axis(jnp.concatenate([da / na, db / nb])[incidence], 1)

    s = dict(s)
    s["vx"] = s["vx"] + to_bodies(v[0] - vax, v[3] - vbx)
    s["vy"] = s["vy"] + to_bodies(v[1] - vay, v[4] - vby)
    s["w"] = s["w"] + to_bodies(v[2] - wa, v[5] - wb)
    s["an0"], s["an1"], s["at0"], s["at1"] = n0, n1, new_t[0], new_t[1]
    return s


@functools.cache
def _make_core(num_iterations, a_idx, b_idx, incidence, incidence_shape, num_joints, mass_matrix):
    # numpy (not jax) constants: this factory is cached across traces.
    a_idx = np.asarray(a_idx, np.int32)
    b_idx = np.asarray(b_idx, np.int32)
    inc = np.frombuffer(incidence, np.int32).reshape(incidence_shape)
    has_k = a_idx.shape[0] > 0
    # One joint: Jacobi and Gauss-Seidel coincide, and the Jacobi pass needs no scan.
    joint_pass = _joint_pass_sequential if num_joints > 1 else _joint_pass_parallel

    def core(tree):
        j, c, s, prm = tree["joints"], tree["contacts"], tree["state"], tree["params"]

        def it(_, s):
            if num_joints:
                s = joint_pass(j, s, prm, mass_matrix)
            if has_k:
                s = _contact_pass(c, s, a_idx, b_idx, inc)
            return s

        return jax.lax.fori_loop(0, num_iterations, it, s)

    return lane_vmap(core)


def solve_parallel(
    tree, *, num_iterations, a_idx, b_idx, incidence, has_joints, joint_mass_matrix=True
):
    """Runs the parallel solver's iterations on ``tree`` (leaves with a trailing batch axis).

    ``tree`` = {"joints": per-joint constants, "contacts": per-pair constants, "state": solver
    state, "params": scalars}; see :func:`jax2d.step` for how it is built.
    """
    core = _make_core(
        int(num_iterations),
        tuple(int(i) for i in a_idx),
        tuple(int(i) for i in b_idx),
        np.asarray(incidence, np.int32).tobytes(),
        np.asarray(incidence).shape,
        int(tree["joints"]["on"].shape[0]) if has_joints else 0,
        bool(joint_mass_matrix),
    )
    return core(tree)
