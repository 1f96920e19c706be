"""Host-side validation of a level, with errors that name the field.

Checks (for one level, on concrete values):

* every array has the shape its size implies, dtypes are numeric;
* no NaN or infinite value anywhere (a NaN would end every episode on its first step);
* active polygons have 3..V vertices forming a strictly convex, non-degenerate,
  counter-clockwise outline; active circles have a radius > 0;
* inverse mass and inertia are >= 0 and, for dynamic shapes, at most
  :data:`jax2d.MAX_INVERSE_MASS` (1e6 1/kg) and :data:`jax2d.MAX_INVERSE_INERTIA`
  (1e10 1/(kg m^2)): bodies lighter than that are beyond what the float32 solver resolves;
* collision modes are 0, 1 or 2;
* roles of active shapes are in 0..3; bindings of active joints/thrusters are in range;
* active joints and thrusters refer to existing, active shapes (and a joint to two different ones);
* at least one active green shape and one active blue shape.
"""

from __future__ import annotations

import jax
import numpy as np

from jax2d import MAX_INVERSE_INERTIA, MAX_INVERSE_MASS, InvalidShapeError, validate_polygon
from kinetix.errors import LevelValidationError
from kinetix.level import Level
from kinetix.sizes import NUM_MOTOR_BINDINGS, NUM_ROLES, NUM_THRUSTER_BINDINGS

__all__ = ["validate_level", "check_level"]


def _fail(msg: str):
    raise LevelValidationError(msg)


def _check_shapes(level: Level):
    size = level.size
    P, C, J, T = size.num_polygons, size.num_circles, size.num_joints, size.num_thrusters
    expect = {
        "polygon_roles": (P,),
        "circle_roles": (C,),
        "polygon_densities": (P,),
        "circle_densities": (C,),
        "motor_bindings": (J,),
        "thruster_bindings": (T,),
        "motor_auto": (J,),
    }
    for name, shape in expect.items():
        got = np.shape(getattr(level, name))
        if got != shape:
            _fail(f"{name}: expected shape {shape} for size {size}, got {got}")


def _check_finite(level: Level):
    leaves = jax.tree_util.tree_leaves_with_path(level)
    for path, leaf in leaves:
        a = np.asarray(leaf)
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0].tolist()
            name = jax.tree_util.keystr(path).lstrip(".")
            _fail(f"{name}{bad}: NaN or infinite value")


def validate_level(level: Level) -> Level:
    """Checks one level (no batch axis); returns it unchanged or raises LevelValidationError."""
    if np.ndim(level.polygon_roles) != 1:
        _fail("validate_level takes one level; iterate over unstack_levels(batch) for a batch")
    _check_shapes(level)
    _check_finite(level)
    sc = jax.tree.map(np.asarray, level.scene)
    P, C = sc.polygon.active.shape[0], sc.circle.active.shape[0]
    V = sc.polygon.vertices.shape[1]
    p_act, c_act = sc.polygon.active.astype(bool), sc.circle.active.astype(bool)
    shape_active = np.concatenate([p_act, c_act])
    N = P + C

    for kind, bodies, act in (("polygon", sc.polygon, p_act), ("circle", sc.circle, c_act)):
        for i in np.flatnonzero(act):
            if bodies.inverse_mass[i] < 0 or bodies.inverse_inertia[i] < 0:
                _fail(f"{kind}[{i}]: inverse_mass and inverse_inertia must be >= 0")
            if bodies.inverse_mass[i] > MAX_INVERSE_MASS:
                _fail(
                    f"{kind}[{i}].inverse_mass: {float(bodies.inverse_mass[i]):.3g} 1/kg is above "
                    f"{MAX_INVERSE_MASS:.0e} (a mass below 1 mg; the solver cannot resolve so "
                    "light a body): raise its density or its size, or make it static"
                )
            if bodies.inverse_inertia[i] > MAX_INVERSE_INERTIA:
                _fail(
                    f"{kind}[{i}].inverse_inertia: {float(bodies.inverse_inertia[i]):.3g} "
                    f"1/(kg m^2) is above {MAX_INVERSE_INERTIA:.0e} (a moment of inertia below "
                    "1e-10 kg m^2): raise its density or its size, or make it static"
                )
            if int(bodies.collision_mode[i]) not in (0, 1, 2):
                _fail(
                    f"{kind}[{i}].collision_mode: must be 0, 1 or 2, got "
                    f"{int(bodies.collision_mode[i])}"
                )
    for i in np.flatnonzero(p_act):
        n = int(sc.polygon.n_vertices[i])
        if not 3 <= n <= V:
            _fail(f"polygon[{i}].n_vertices: must be in 3..{V}, got {n}")
        v = sc.polygon.vertices[i, :n].astype(np.float64)
        try:
            ccw = validate_polygon(v)
        except InvalidShapeError as e:
            _fail(f"polygon[{i}].vertices: {str(e).split(': ', 1)[-1]}")
        if not np.allclose(ccw, v.astype(np.float32)):
            _fail(f"polygon[{i}].vertices: must be counter-clockwise (got clockwise)")
    for i in np.flatnonzero(c_act):
        if not sc.circle.radius[i] > 0:
            _fail(f"circle[{i}].radius: must be > 0, got {float(sc.circle.radius[i])}")

    roles = {
        "polygon_roles": (level.polygon_roles, p_act),
        "circle_roles": (level.circle_roles, c_act),
    }
    for name, (r, act) in roles.items():
        r = np.asarray(r)
        for i in np.flatnonzero(act):
            if not 0 <= int(r[i]) < NUM_ROLES:
                _fail(f"{name}[{i}]: role must be in 0..{NUM_ROLES - 1}, got {int(r[i])}")

    j_act = sc.joint.active.astype(bool)
    mb = np.asarray(level.motor_bindings)
    for j in np.flatnonzero(j_act):
        a, b = int(sc.joint.a_index[j]), int(sc.joint.b_index[j])
        for end, idx in (("a_index", a), ("b_index", b)):
            if not 0 <= idx < N:
                _fail(f"joint[{j}].{end}: shape index {idx} is out of range (0..{N - 1})")
            if not shape_active[idx]:
                _fail(f"joint[{j}].{end}: refers to inactive shape {idx}")
        if a == b:
            _fail(f"joint[{j}]: a_index and b_index are both {a}")
        if not 0 <= int(mb[j]) < NUM_MOTOR_BINDINGS:
            _fail(f"motor_bindings[{j}]: must be in 0..{NUM_MOTOR_BINDINGS - 1}, got {int(mb[j])}")
        if bool(sc.joint.has_limits[j]) and sc.joint.min_angle[j] > sc.joint.max_angle[j]:
            _fail(f"joint[{j}]: min_angle > max_angle")
    t_act = sc.thruster.active.astype(bool)
    tb = np.asarray(level.thruster_bindings)
    for t in np.flatnonzero(t_act):
        idx = int(sc.thruster.shape_index[t])
        if not 0 <= idx < N:
            _fail(f"thruster[{t}].shape_index: shape index {idx} is out of range (0..{N - 1})")
        if not shape_active[idx]:
            _fail(f"thruster[{t}].shape_index: refers to inactive shape {idx}")
        if not 0 <= int(tb[t]) < NUM_THRUSTER_BINDINGS:
            _fail(
                f"thruster_bindings[{t}]: must be in 0..{NUM_THRUSTER_BINDINGS - 1}, "
                f"got {int(tb[t])}"
            )

    all_roles = np.concatenate([np.asarray(level.polygon_roles), np.asarray(level.circle_roles)])
    active_roles = all_roles[shape_active]
    if not np.any(active_roles == 1):
        _fail("roles: the level has no active green shape (role 1)")
    if not np.any(active_roles == 2):
        _fail("roles: the level has no active blue shape (role 2)")
    return level


def check_level(level: Level) -> list[str]:
    """Like :func:`validate_level` but returns the problem (empty list when valid)."""
    try:
        validate_level(level)
    except LevelValidationError as e:
        return [str(e)]
    return []
