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
    """Hashes of every level of a stacked batch (or ``[level_hash(level)]`` for one level)."""
    if np.ndim(batch.polygon_roles) == 1:
        return [level_hash(batch)]
    host = jax.tree.map(np.asarray, batch)
    n = host.polygon_roles.shape[0]
    return [level_hash(jax.tree.map(lambda x, i=i: x[i], host)) for i in range(n)]


def level_set_hash(hashes) -> str:
    """sha256 of the sorted hex level hashes joined by newlines (DESIGN §6)."""
    return hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()
