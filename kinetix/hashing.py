"""Canonical level hash (DESIGN §6, schema v1).

``level_hash(level)`` is the sha256 (hex) of a canonical byte string of the level's physics
content. It is stable across runs, machines and padding:

* a header ``b"kinetix-bench/level/v1\\0"`` and the counts of active polygons, circles, joints,
  thrusters (int32);
* the gravity (2 x float32);
* every *active* polygon in slot order, then every *active* circle in slot order:
  position (2), rotation, velocity (2), angular velocity, inverse mass, inverse inertia,
  friction, restitution (float32), collision mode, role (int32), density (float32), then
  polygons: vertex count (int32) and the used vertices (n x 2 float32, counter-clockwise as
  stored); circles: radius (float32);
* every active joint in slot order: a and b as (shape kind, rank among the active shapes of that
  kind) (2 x int32 each; kind 0 polygon, 1 circle), anchors a and b (4 x float32), is_fixed,
  motor_on, has_limits, motor_auto (int32 0/1), reference angle, motor speed, motor power, min
  angle, max angle (float32), motor binding (int32);
* every active thruster in slot order: its shape as (kind, rank), relative position (2),
  rotation, power (float32), binding (int32).

Numbers are little-endian; ``-0.0`` is written as ``0.0``. Inactive slots, contact caches,
accumulated impulses and cached world positions of joints and thrusters never enter the hash, so
padding a level to a larger size keeps its hash.
"""

from __future__ import annotations

import hashlib

import jax
import numpy as np

from kinetix.errors import LevelError
from kinetix.level import Level

__all__ = ["level_hash", "level_hashes", "level_set_hash", "canonical_bytes"]

_HEADER = b"kinetix-bench/level/v1\0"


def _f32(*xs) -> bytes:
    a = np.asarray(np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in xs]), np.float32)
    a = a + np.float32(0.0)  # -0.0 -> 0.0
    return a.astype("<f4").tobytes()


def _i32(*xs) -> bytes:
    a = np.concatenate([np.ravel(np.asarray(x)).astype(np.int64) for x in xs])
    return a.astype("<i4").tobytes()


def canonical_bytes(level: Level) -> bytes:
    """The canonical byte string of one level (see the module docstring)."""
    if np.ndim(level.polygon_roles) != 1:
        raise LevelError("canonical_bytes takes one level; use level_hashes for a batch")
    lv = jax.tree.map(np.asarray, level)
    sc = lv.scene
    P = sc.polygon.active.shape[0]
    p_act = np.flatnonzero(sc.polygon.active.astype(bool))
    c_act = np.flatnonzero(sc.circle.active.astype(bool))
    j_act = np.flatnonzero(sc.joint.active.astype(bool))
    t_act = np.flatnonzero(sc.thruster.active.astype(bool))
    p_rank = {int(s): r for r, s in enumerate(p_act)}
    c_rank = {int(s): r for r, s in enumerate(c_act)}

    def ref(g: int) -> bytes:
        g = int(g)
        if g < P:
            if g not in p_rank:
                raise LevelError(f"hash: reference to inactive polygon {g}")
            return _i32(0, p_rank[g])
        if g - P not in c_rank:
            raise LevelError(f"hash: reference to inactive circle {g - P} (global index {g})")
        return _i32(1, c_rank[g - P])

    out = [_HEADER, _i32(len(p_act), len(c_act), len(j_act), len(t_act)), _f32(sc.gravity)]

    def body(b, i, role, density):
        return (
            _f32(
                b.position[i],
                b.rotation[i],
                b.velocity[i],
                b.angular_velocity[i],
                b.inverse_mass[i],
                b.inverse_inertia[i],
                b.friction[i],
                b.restitution[i],
            )
            + _i32(b.collision_mode[i], role[i])
            + _f32(density[i])
        )

    for i in p_act:
        n = int(sc.polygon.n_vertices[i])
        out.append(body(sc.polygon, i, lv.polygon_roles, lv.polygon_densities))
        out.append(_i32(n) + _f32(sc.polygon.vertices[i, :n]))
    for i in c_act:
        out.append(body(sc.circle, i, lv.circle_roles, lv.circle_densities))
        out.append(_f32(sc.circle.radius[i]))
    jt = sc.joint
    for j in j_act:
        out.append(ref(jt.a_index[j]) + ref(jt.b_index[j]))
        out.append(_f32(jt.a_anchor[j], jt.b_anchor[j]))
        out.append(_i32(jt.is_fixed[j], jt.motor_on[j], jt.has_limits[j], lv.motor_auto[j]))
        out.append(
            _f32(
                jt.reference_angle[j],
                jt.motor_speed[j],
                jt.motor_power[j],
                jt.min_angle[j],
                jt.max_angle[j],
            )
        )
        out.append(_i32(lv.motor_bindings[j]))
    th = sc.thruster
    for t in t_act:
        out.append(ref(th.shape_index[t]))
        out.append(_f32(th.relative_position[t], th.rotation[t], th.power[t]))
        out.append(_i32(lv.thruster_bindings[t]))
    return b"".join(out)


def level_hash(level: Level) -> str:
    """sha256 hex digest of :func:`canonical_bytes` of one level."""
    return hashlib.sha256(canonical_bytes(level)).hexdigest()


def level_hashes(batch: Level) -> list[str]:
    """Hashes of every level of a stacked batch (or ``[level_hash(level)]`` for one level).

    Vectorised: every level's canonical bytes are one row of 4-byte words (all fields are
    float32 or int32) with a mask of the words that are present; equals :func:`level_hash` on
    each level (``tests/kinetix/test_levels.py``).
    """
    if np.ndim(batch.polygon_roles) == 1:
        return [level_hash(batch)]
    host = jax.tree.map(np.asarray, batch)
    words, mask = _canonical_words(host)
    return [
        hashlib.sha256(_HEADER + w[m].tobytes()).hexdigest()
        for w, m in zip(words, mask, strict=True)
    ]


def _w_f32(x, n: int) -> np.ndarray:
    """(B, ...) floats -> (B, k) little-endian float32 bit patterns, ``-0.0`` as ``0.0``."""
    a = np.asarray(x, np.float64).astype(np.float32).reshape(n, -1) + np.float32(0.0)
    return a.astype("<f4").view("<u4")


def _w_i32(x, n: int) -> np.ndarray:
    return np.asarray(x).astype(np.int64).astype("<i4").reshape(n, -1).view("<u4")


def _canonical_words(lv: Level) -> tuple[np.ndarray, np.ndarray]:
    """``(words (B, W) uint32, present (B, W) bool)``: row i masked is level i's bytes."""
    sc = lv.scene
    B, P = sc.polygon.active.shape
    C = sc.circle.active.shape[1]
    V = sc.polygon.vertices.shape[2]
    p_on = sc.polygon.active.astype(bool)
    c_on = sc.circle.active.astype(bool)
    j_on = sc.joint.active.astype(bool)
    t_on = sc.thruster.active.astype(bool)
    p_rank = np.cumsum(p_on, axis=1) - 1
    c_rank = np.cumsum(c_on, axis=1) - 1
    bad = np.zeros(B, bool)

    def refs(g, on):
        """(B, K) global shape indices -> (B, K, 2) words (kind, rank); flags bad rows."""
        g = np.asarray(g).astype(np.int64)
        circ = g >= P
        pi = np.clip(g, 0, P - 1)
        ci = np.clip(g - P, 0, C - 1) if C else np.zeros_like(g)
        if C:
            c_ok = np.take_along_axis(c_on, ci, 1) & (g - P < C)
            c_r = np.take_along_axis(c_rank, ci, 1)
        else:
            c_ok, c_r = np.zeros_like(circ), np.zeros_like(g)
        p_ok = np.take_along_axis(p_on, pi, 1) & (g >= 0)
        ok = np.where(circ, c_ok, p_ok)
        bad[:] |= np.any(on & ~ok, axis=1)
        rank = np.where(circ, c_r, np.take_along_axis(p_rank, pi, 1))
        return np.stack([circ.astype(np.int64), rank], axis=-1)

    def body(b, roles, dens, n_slots):
        k = B * n_slots
        return [
            _w_f32(b.position, k),
            _w_f32(b.rotation, k),
            _w_f32(b.velocity, k),
            _w_f32(b.angular_velocity, k),
            _w_f32(b.inverse_mass, k),
            _w_f32(b.inverse_inertia, k),
            _w_f32(b.friction, k),
            _w_f32(b.restitution, k),
            _w_i32(b.collision_mode, k),
            _w_i32(roles, k),
            _w_f32(dens, k),
        ]

    parts: list[tuple[np.ndarray, np.ndarray]] = []  # (words (B, k), present (B, k))

    def add(words, present):
        parts.append((words, np.broadcast_to(present, words.shape)))

    counts = np.stack([p_on.sum(1), c_on.sum(1), j_on.sum(1), t_on.sum(1)], axis=1)
    add(_w_i32(counts, B), True)
    add(_w_f32(sc.gravity, B), True)
    nv = np.asarray(sc.polygon.n_vertices)
    poly = body(sc.polygon, lv.polygon_roles, lv.polygon_densities, P)
    poly += [_w_i32(nv, B * P), _w_f32(sc.polygon.vertices, B * P)]
    w = np.concatenate(poly, axis=1).reshape(B, P, -1)
    vert_on = np.repeat(np.arange(V)[None, None, :] < nv[:, :, None], 2, axis=2)
    m = np.concatenate([np.ones((B, P, w.shape[2] - 2 * V), bool), vert_on], axis=2)
    add(w.reshape(B, -1), (m & p_on[:, :, None]).reshape(B, -1))
    if C:
        circ = body(sc.circle, lv.circle_roles, lv.circle_densities, C)
        w = np.concatenate(circ + [_w_f32(sc.circle.radius, B * C)], axis=1).reshape(B, C, -1)
        add(w.reshape(B, -1), np.repeat(c_on[:, :, None], w.shape[2], 2).reshape(B, -1))
    jt = sc.joint
    J = jt.active.shape[1]
    if J:
        k = B * J
        w = np.concatenate(
            [
                _w_i32(refs(jt.a_index, j_on), k),
                _w_i32(refs(jt.b_index, j_on), k),
                _w_f32(jt.a_anchor, k),
                _w_f32(jt.b_anchor, k),
                _w_i32(jt.is_fixed, k),
                _w_i32(jt.motor_on, k),
                _w_i32(jt.has_limits, k),
                _w_i32(lv.motor_auto, k),
                _w_f32(jt.reference_angle, k),
                _w_f32(jt.motor_speed, k),
                _w_f32(jt.motor_power, k),
                _w_f32(jt.min_angle, k),
                _w_f32(jt.max_angle, k),
                _w_i32(lv.motor_bindings, k),
            ],
            axis=1,
        ).reshape(B, J, -1)
        add(w.reshape(B, -1), np.repeat(j_on[:, :, None], w.shape[2], 2).reshape(B, -1))
    th = sc.thruster
    T = th.active.shape[1]
    if T:
        k = B * T
        w = np.concatenate(
            [
                _w_i32(refs(th.shape_index, t_on), k),
                _w_f32(th.relative_position, k),
                _w_f32(th.rotation, k),
                _w_f32(th.power, k),
                _w_i32(lv.thruster_bindings, k),
            ],
            axis=1,
        ).reshape(B, T, -1)
        add(w.reshape(B, -1), np.repeat(t_on[:, :, None], w.shape[2], 2).reshape(B, -1))
    if bad.any():  # the per-level path names the reference
        canonical_bytes(jax.tree.map(lambda x: x[int(np.flatnonzero(bad)[0])], lv))
    words = np.ascontiguousarray(np.concatenate([p[0] for p in parts], axis=1))
    return words, np.concatenate([p[1] for p in parts], axis=1)


def level_set_hash(hashes) -> str:
    """sha256 of the sorted hex level hashes joined by newlines (DESIGN §6)."""
    return hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()
