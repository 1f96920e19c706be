"""What an adversarial level is drawn from: the base spec and the families that push it to an edge.

:func:`draw_spec` returns a *spec*: every free shape of the size in one set of arrays (rows:
polygons then circles), the joints, the thrusters and the roles, as plain dicts of arrays; the
families (:data:`FAMILIES`, documented in :mod:`kinetix.adversarial`) each map a valid spec to a
valid spec. :mod:`kinetix.adversarial` assembles a spec into a level. Pure JAX; units m, rad,
kg/m^2, m/s, rad/s. Imports nothing from :mod:`kinetix.adversarial`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from kinetix.errors import EnvConfigError
from kinetix.sizes import (
    NUM_MOTOR_BINDINGS,
    NUM_STATIC_POLYGONS,
    NUM_THRUSTER_BINDINGS,
    EnvSize,
)

__all__ = ["FAMILIES", "family_index", "draw_spec"]

FAMILIES = (
    "coincident",
    "sliver",
    "touching",
    "interpenetrating",
    "joint_limits",
    "extreme_power",
    "clamp_velocity",
    "density",
    "mixed",
)

_PI = math.pi
_ARENA = 5.0
_FLOOR = 0.4
_CLIP_V = 100.0  # SimParams.clip_velocity, m/s
_CLIP_W = 50.0  # SimParams.clip_angular_velocity, rad/s
_CLIP_P = 15.0  # SimParams.clip_position, m
_MIN_AREA = 1e-6  # jax2d.validate_polygon: smallest area, m^2
_MIN_EDGE = 1e-5  # jax2d.validate_polygon: shortest edge, m


def family_index(name: str) -> int:
    """The index of family ``name`` in :data:`FAMILIES`."""
    try:
        return FAMILIES.index(name)
    except ValueError:
        raise EnvConfigError(
            f"unknown adversarial family {name!r}; expected one of {', '.join(FAMILIES)}"
        ) from None


class _Keys:
    """An endless supply of independent keys from one key."""

    def __init__(self, key):
        self.key = key
        self.i = 0

    def __call__(self):
        self.i += 1
        return jax.random.fold_in(self.key, self.i)


def _u(k: _Keys, shape, lo=0.0, hi=1.0):
    return jax.random.uniform(k(), shape, jnp.float32, lo, hi)


def _bern(k: _Keys, shape, p):
    return jax.random.uniform(k(), shape) < p


def _int(k: _Keys, shape, lo, hi):
    return jax.random.randint(k(), shape, lo, hi, jnp.int32)


def _log_u(k: _Keys, shape, lo_exp, hi_exp, p_ends=0.0):
    """10 ** U[lo_exp, hi_exp]; with probability ``p_ends`` exactly one of the two ends."""
    e = _u(k, shape, lo_exp, hi_exp)
    end = jnp.where(_bern(k, shape, 0.5), lo_exp, hi_exp)
    return (10.0 ** jnp.where(_bern(k, shape, p_ends), end, e)).astype(jnp.float32)


def _sel(c, a, b):
    """``where`` on two specs (dicts of arrays) with a scalar or per-row condition."""

    def pick(x, y):
        cc = jnp.asarray(c)
        cc = cc.reshape(cc.shape + (1,) * (x.ndim - cc.ndim))
        return jnp.where(cc, x, y)

    return jax.tree.map(pick, a, b)


def _box(hx, hy):
    """(..., 4, 2) counter-clockwise box vertices."""
    return jnp.stack(
        [jnp.stack([-hx, -hy], -1), jnp.stack([hx, -hy], -1), jnp.stack([hx, hy], -1),
         jnp.stack([-hx, hy], -1)],
        axis=-2,
    )  # fmt: skip


def _tri(p0, p1, p2):
    """(..., 4, 2) vertices of a counter-clockwise triangle (slot 3 zero)."""
    z = jnp.zeros_like(p0)
    return jnp.stack([p0, p1, p2, z], axis=-2)


def _xy(x, y):
    return jnp.stack([x, y], -1)


# ----------------------------------------------------------------------------------------------
# The spec: every free shape in one set of arrays (F = P - 4 + C rows, polygons first, as in
# global indices), joints (J) and thrusters (T). Positions are the reference points the vertices
# are given relative to (the assembly centres polygons on their centroid, as the builders do).


def _base(k: _Keys, size: EnvSize) -> dict:
    nP = size.num_polygons - NUM_STATIC_POLYGONS
    C, J, T = size.num_circles, size.num_joints, size.num_thrusters
    F = nP + C
    hx, hy = _u(k, (F,), 0.05, 0.5), _u(k, (F,), 0.05, 0.5)
    tri = _bern(k, (F,), 0.3)
    apex = _u(k, (F,), -1.0, 1.0) * hx
    verts = jnp.where(
        tri[:, None, None],
        _tri(_xy(-hx, -hy), _xy(hx, -hy), _xy(apex, hy)),
        _box(hx, hy),
    )
    shapes = dict(
        verts=verts,
        nv=jnp.where(tri, 3, 4).astype(jnp.int32),
        radius=_u(k, (F,), 0.05, 0.5),
        pos=_xy(_u(k, (F,), 0.5, 4.5), _u(k, (F,), 0.7, 4.5)),
        rot=_u(k, (F,), -_PI, _PI),
        vel=jnp.zeros((F, 2), jnp.float32),
        ang=jnp.zeros((F,), jnp.float32),
        dens=jnp.ones((F,), jnp.float32),
        static=_bern(k, (F,), 0.15),
        fric=_u(k, (F,), 0.0, 1.0),
        rest=jnp.where(_bern(k, (F,), 0.3), _u(k, (F,), 0.0, 1.0), 0.0),
        mode=jnp.ones((F,), jnp.int32),
        circle=jnp.arange(F) >= nP,
    )
    # joints between distinct free shapes (rows of the spec; -1 = the floor)
    ja = _int(k, (J,), 0, F)
    jb = (ja + _int(k, (J,), 1, F)) % F
    lo, hi = _u(k, (J,), -_PI, 0.0), _u(k, (J,), 0.0, _PI)
    joints = dict(
        a=jnp.where(_bern(k, (J,), 0.1), -1, ja),
        b=jb,
        anchor_mode=_int(k, (J,), 0, 3),  # 0 centre of a, 1 centre of b, 2 midpoint
        anchor_offset=_u(k, (J, 2), -0.05, 0.05),
        fixed=_bern(k, (J,), 0.25),
        motor_on=_bern(k, (J,), 0.8),
        speed=_u(k, (J,), 0.4, 3.0),
        power=_u(k, (J,), 1.0, 3.0),
        limits=_bern(k, (J,), 0.4),
        lo=lo,
        hi=hi,
        auto=_bern(k, (J,), 0.1),
        binding=_int(k, (J,), 0, NUM_MOTOR_BINDINGS),
    )
    thrusters = dict(
        shape=_int(k, (T,), 0, F),
        rel=jnp.where(_bern(k, (T, 1), 0.5), _u(k, (T, 2), -0.2, 0.2), 0.0),
        rot=_u(k, (T,), -_PI, _PI),
        power=_u(k, (T,), 0.5, 3.0),
        binding=_int(k, (T,), 0, NUM_THRUSTER_BINDINGS),
    )
    green = _int(k, (), 0, F)
    blue = (green + _int(k, (), 1, F)) % F
    rows = jnp.arange(F)
    roles = jnp.where(_bern(k, (F,), 0.15), 3, 0)
    roles = jnp.where(rows == green, 1, jnp.where(rows == blue, 2, roles)).astype(jnp.int32)
    floor_role = jnp.array([0, 3, 2], jnp.int32)[jnp.sum(_u(k, ()) > jnp.array([0.8, 0.95]))]
    return dict(
        shapes=shapes, joints=joints, thrusters=thrusters, roles=roles, floor_role=floor_role
    )


def _extents(spec):
    """(min_x, max_x, min_y, max_y) of each shape relative to its reference point (rotation 0)."""
    s = spec["shapes"]
    used = jnp.arange(4)[None, :] < s["nv"][:, None]
    vx = jnp.where(used, s["verts"][..., 0], jnp.nan)
    vy = jnp.where(used, s["verts"][..., 1], jnp.nan)
    circ = s["circle"]
    r = s["radius"]
    return (
        jnp.where(circ, -r, jnp.nanmin(vx, 1)),
        jnp.where(circ, r, jnp.nanmax(vx, 1)),
        jnp.where(circ, -r, jnp.nanmin(vy, 1)),
        jnp.where(circ, r, jnp.nanmax(vy, 1)),
    )


def _with(spec, part, **values):
    out = dict(spec)
    out[part] = {**spec[part], **values}
    return out


# ----------------------------------------------------------------------------------------------
# families: each maps a valid spec to a valid spec


def _coincident(k: _Keys, spec):
    s = spec["shapes"]
    F = s["nv"].shape[0]
    c = _xy(_u(k, (), 1.0, 4.0), _u(k, (), 1.0, 4.0))
    pos = jnp.broadcast_to(c, (F, 2))
    same = _bern(k, (), 0.5)  # identical shapes: every polygon as the first, every circle too
    verts = jnp.where(same, jnp.broadcast_to(s["verts"][0], s["verts"].shape), s["verts"])
    nv = jnp.where(same, jnp.broadcast_to(s["nv"][0], s["nv"].shape), s["nv"])
    radius = jnp.where(same, jnp.broadcast_to(s["radius"][-1], (F,)), s["radius"])
    rot = jnp.where(_bern(k, (), 0.5), jnp.zeros((F,)), s["rot"])
    static = jnp.where(_bern(k, (), 0.7), jnp.zeros((F,), bool), s["static"])
    return _with(spec, "shapes", pos=pos, verts=verts, nv=nv, radius=radius, rot=rot,
                 static=static)  # fmt: skip


def _sliver(k: _Keys, spec):
    s = spec["shapes"]
    F = s["nv"].shape[0]
    area = _MIN_AREA * _u(k, (F,), 1.05, 2.0)
    edge = _MIN_EDGE * _u(k, (F,), 1.05, 2.0)
    length = _u(k, (F,), 0.2, 3.0)
    # 0: thin triangle (area at the limit, up to 3 m long)
    h = 2.0 * area / length
    ax = _u(k, (F,), -0.5, 0.5) * length
    thin = _tri(_xy(-length / 2, 0.0 * h), _xy(length / 2, 0.0 * h), _xy(ax, h))  # base on y = 0
    # 1: square with the smallest area
    side = jnp.sqrt(area)
    square = _box(side / 2, side / 2)
    # 2: trapezoid whose top edge is at the edge limit
    bw, th = _u(k, (F,), 0.1, 1.0), _u(k, (F,), 0.05, 1.0)
    trap = jnp.stack(
        [_xy(-bw / 2, -th / 2), _xy(bw / 2, -th / 2), _xy(edge / 2, th / 2),
         _xy(-edge / 2, th / 2)],
        axis=-2,
    )  # fmt: skip
    # 3: needle: a rectangle one edge-limit wide (area >= the limit: long enough)
    nlen = jnp.maximum(length, 1.1 * _MIN_AREA / edge)
    needle = _box(nlen / 2, edge / 2)
    # 4: near-collinear quad: the second vertex 1e-6..1e-4 below the chord of the first and third
    w, top = _u(k, (F,), 0.2, 1.0), _u(k, (F,), 0.05, 0.5)
    dip = _log_u(k, (F,), -6.0, -4.0)
    flat = jnp.stack([_xy(-w, 0.0 * w), _xy(0.0 * w, -dip), _xy(w, 0.0 * w), _xy(0.0 * w, top)],
                     axis=-2)  # fmt: skip
    kind = _int(k, (F,), 0, 5)
    choices = jnp.stack([thin, square, trap, needle, flat])  # (5, F, 4, 2)
    verts = jnp.take_along_axis(choices, kind[None, :, None, None], axis=0)[0]
    nv = jnp.where(kind == 0, 3, 4).astype(jnp.int32)
    use = _bern(k, (F,), 0.8)
    radius = jnp.where(_bern(k, (F,), 0.6), _log_u(k, (F,), -4.0, -2.0, 0.3), s["radius"])
    return _with(
        spec,
        "shapes",
        verts=jnp.where(use[:, None, None], verts, s["verts"]),
        nv=jnp.where(use, nv, s["nv"]),
        radius=radius,
    )


def _touching(k: _Keys, spec):
    s = spec["shapes"]
    F = s["nv"].shape[0]
    zero = jnp.zeros((F,), jnp.float32)
    x0, x1, y0, y1 = _extents(spec)
    w, hgt = x1 - x0, y1 - y0
    rows = jnp.arange(F)
    earlier = rows[None, :] < rows[:, None]
    # stacks: each shape in one of three columns, resting on the shape below it
    col = _int(k, (F,), 0, 3)
    below = (col[None, :] == col[:, None]) & earlier
    bottom = _FLOOR + jnp.sum(jnp.where(below, hgt[None, :], 0.0), axis=1)
    cx = jnp.array([1.0, 2.5, 4.0])[col]
    wall = _int(k, (F,), 0, 4)  # 0, 1: in the column; 2 against the left wall; 3 the right
    sx = jnp.where(wall == 2, -x0, jnp.where(wall == 3, _ARENA - x1, cx))
    stack = _xy(sx, bottom - y0)
    # a row, side by side from the left wall, on the floor or against the ceiling; shapes that
    # do not fit in the arena's width go to their stack
    left = jnp.sum(jnp.where(earlier, w[None, :], 0.0), axis=1)
    fits = left + w <= _ARENA
    ceiling = _bern(k, (), 0.3)
    row = _xy(left - x0, jnp.where(ceiling, _ARENA - y1, _FLOOR - y0))
    in_row = _bern(k, (), 0.5) & fits
    pos = jnp.where(in_row[:, None], row, stack)
    return _with(spec, "shapes", pos=pos, rot=zero, vel=jnp.zeros((F, 2)), ang=zero)


def _interpenetrating(k: _Keys, spec):
    s = spec["shapes"]
    F = s["nv"].shape[0]
    grow = _u(k, (F,), 1.0, 1.6)
    verts, radius = s["verts"] * grow[:, None, None], s["radius"] * grow
    c = _xy(_u(k, (), 1.0, 4.0), _u(k, (), 1.0, 4.0))
    cluster = c + _u(k, (F, 2), -0.15, 0.15)
    floor = _xy(_u(k, (F,), 0.5, 4.5), _u(k, (F,), -0.4, 0.45))  # some wholly inside the floor
    side = _bern(k, (F,), 0.5)
    wall = _xy(
        jnp.where(side, _u(k, (F,), -0.4, 0.3), _u(k, (F,), 4.7, 5.4)), _u(k, (F,), 0.6, 4.5)
    )
    ceiling = _xy(_u(k, (F,), 0.5, 4.5), _u(k, (F,), 4.7, 5.4))
    where = _int(k, (F,), 0, 4)
    pos = jnp.stack([cluster, floor, wall, ceiling])[where, jnp.arange(F)]
    return _with(spec, "shapes", pos=pos, verts=verts, radius=radius)


def _joint_limits(k: _Keys, spec):
    j = spec["joints"]
    J = j["a"].shape[0]
    if J == 0:
        return spec
    kind = _int(k, (J,), 0, 6)
    at = _u(k, (J,), -_PI, _PI)
    off = _u(k, (J,), 0.2, 1.0) * jnp.where(_bern(k, (J,), 0.5), 1.0, -1.0)
    width = _u(k, (J,), 0.0, 0.5)
    lo = jnp.stack([
        jnp.zeros((J,)),  # 0 locked at the start angle
        at,  # 1 locked elsewhere (starts outside its limits)
        jnp.minimum(off, off + width),  # 2 a range that excludes the start angle
        jnp.zeros((J,)),  # 3 a 1e-4 rad range
        jnp.full((J,), -_PI),  # 4 the full circle
        jnp.full((J,), -2 * _PI),  # 5 two full turns
    ])[kind, jnp.arange(J)]  # fmt: skip
    hi = jnp.stack([
        jnp.zeros((J,)), at, jnp.maximum(off, off + width), jnp.full((J,), 1e-4),
        jnp.full((J,), _PI), jnp.full((J,), 2 * _PI),
    ])[kind, jnp.arange(J)]  # fmt: skip
    a = jnp.where(_bern(k, (J,), 0.25), -1, j["a"])  # to the floor
    b = j["b"]
    repeat = _bern(k, (J,), 0.3) & (jnp.arange(J) > 0)  # the same pair as joint 0 (redundant)
    swap = _bern(k, (J,), 0.5)
    ra = jnp.where(swap, b[0], a[0])
    rb = jnp.where(swap, a[0], b[0])
    ok = ra != rb
    a = jnp.where(repeat & ok, ra, a)
    b = jnp.where(repeat & ok, rb, b)
    far = _bern(k, (J,), 0.3)
    offset = jnp.where(far[:, None], _u(k, (J, 2), -3.0, 3.0), j["anchor_offset"])
    joints = {
        **j,
        "a": a,
        "b": b,
        "lo": lo,
        "hi": hi,
        "limits": ~_bern(k, (J,), 0.1),
        "fixed": _bern(k, (J,), 0.2),
        "motor_on": _bern(k, (J,), 0.9),
        "auto": _bern(k, (J,), 0.3),
        "anchor_offset": offset,
    }
    static = spec["shapes"]["static"] & _bern(k, spec["shapes"]["static"].shape, 0.3)
    out = _with(spec, "shapes", static=static)
    out["joints"] = joints
    return out


def _extreme_power(k: _Keys, spec):
    j, t = spec["joints"], spec["thrusters"]
    J, T = j["a"].shape[0], t["shape"].shape[0]
    out = dict(spec)
    out["joints"] = {
        **j,
        "power": _log_u(k, (J,), -3.0, 4.0, 0.4),
        "speed": _log_u(k, (J,), -3.0, 3.0, 0.4),
        "motor_on": _bern(k, (J,), 0.95),
        "auto": _bern(k, (J,), 0.3),
    }
    out["thrusters"] = {**t, "power": _log_u(k, (T,), -3.0, 5.0, 0.4)}
    s = spec["shapes"]
    light = _bern(k, s["dens"].shape, 0.3)
    out["shapes"] = {
        **s,
        "dens": jnp.where(light, _log_u(k, s["dens"].shape, -3.0, 0.0), s["dens"]),
    }
    return out


def _clamp_velocity(k: _Keys, spec):
    s = spec["shapes"]
    F = s["nv"].shape[0]
    sign = jnp.where(_bern(k, (F, 2), 0.5), 1.0, -1.0)
    full = _bern(k, (F, 2), 0.7)
    vel = jnp.where(full, sign * _CLIP_V, _u(k, (F, 2), -_CLIP_V, _CLIP_V))
    ang = jnp.where(_bern(k, (F,), 0.5), _CLIP_W, -_CLIP_W) * jnp.where(
        _bern(k, (F,), 0.8), 1.0, _u(k, (F,), 0.0, 1.0)
    )
    moving_static = _bern(k, (F,), 0.2)
    still = s["static"] & ~moving_static
    vel = jnp.where(still[:, None], 0.0, vel)
    ang = jnp.where(still, 0.0, ang)
    at_clip = _bern(k, (F,), 0.1)
    corner = jnp.where(_bern(k, (F, 2), 0.5), _CLIP_P, -_CLIP_P)
    pos = jnp.where(at_clip[:, None], jnp.where(_bern(k, (F, 1), 0.5), corner, s["pos"]), s["pos"])
    return _with(spec, "shapes", vel=vel, ang=ang, pos=pos)


def _density(k: _Keys, spec):
    s = spec["shapes"]
    F = s["nv"].shape[0]
    dens = _log_u(k, (F,), -4.0, 4.0, 0.5)
    static = s["static"] & _bern(k, (F,), 0.5)
    return _with(spec, "shapes", dens=dens, static=static)


_FAMILY_FNS = (
    _coincident,
    _sliver,
    _touching,
    _interpenetrating,
    _joint_limits,
    _extreme_power,
    _clamp_velocity,
    _density,
)


def _mixed(k: _Keys, spec):
    s = spec["shapes"]
    F = s["nv"].shape[0]
    spec = _with(spec, "shapes", mode=_int(k, (F,), 0, 3))
    for fn in _FAMILY_FNS:
        spec = _sel(_bern(k, (), 0.4), fn(k, spec), spec)
    return spec


def draw_spec(key, family, size: EnvSize) -> dict:
    """The spec of one adversarial level: the base drawn from ``key``, then family ``family``
    (an int index into :data:`FAMILIES`, may be traced; clipped to the valid range)."""
    spec = _base(_Keys(key), size)
    kf = jax.random.fold_in(key, 10_000)
    branches = [lambda sp, fn=fn: fn(_Keys(kf), sp) for fn in (*_FAMILY_FNS, _mixed)]
    family = jnp.clip(jnp.asarray(family, jnp.int32), 0, len(branches) - 1)
    return jax.lax.switch(family, branches, spec)
