"""Import and export of Kinetix level JSON (the format of Kinetix and its online editor).

Format (``kinetix_spec.md`` §5): one object ``{"env_state", "env_params",
"static_env_params"}``. Vectors and matrices are objects keyed by stringified indices
(``{"0": x, "1": y}``); lists of entities are JSON lists. ``env_state`` holds ``polygon`` and
``circle`` (rigid bodies plus ``role``, ``density``, ``highlighted``), ``joint`` (plus
``motor_binding``), ``thruster`` (plus ``thruster_binding``), ``collision_matrix``, the contact
caches ``acc_rr_manifolds`` / ``acc_cr_manifolds`` / ``acc_cc_manifolds`` and ``gravity``.

Import rules (as Kinetix's loader):

* the level keeps the file's size (``static_env_params.num_*``); pad it with
  :func:`kinetix.level.pad_level` (or pass ``size=``);
* inverse mass and inertia are taken from the file exactly (never recomputed);
* gravity is ignored: imported levels get (0, -9.81);
* ``env_params`` and the contact caches are ignored (caches start empty), ``motor_auto`` is
  False, ``highlighted`` is dropped;
* Kinetix stores polygon vertices clockwise; we store them counter-clockwise with vertex 0 first
  and the rest reversed (:func:`kinetix.observations.kinetix_vertex_order` maps back exactly);
* circles' unused vertex fields are dropped (circles get ``n_vertices`` 0).

Export (:func:`level_to_kinetix_dict`, :func:`save_kinetix_json`) lives in
:mod:`kinetix.kinetix_json_export` and is re-exported here.
A malformed file raises :class:`~kinetix.errors.KinetixJSONError` naming the field.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax.numpy as jnp
import numpy as np

from jax2d import ContactCache, Scene, num_pairs
from kinetix.errors import KinetixJSONError
from kinetix.kinetix_json_export import KINETIX_ENV_PARAMS as KINETIX_ENV_PARAMS
from kinetix.kinetix_json_export import level_to_kinetix_dict, save_kinetix_json
from kinetix.level import Level, pad_level
from kinetix.observations import kinetix_vertex_order
from kinetix.sizes import NUM_MOTOR_BINDINGS, NUM_STATIC_POLYGONS, NUM_THRUSTER_BINDINGS, EnvSize

__all__ = [
    "load_kinetix_json",
    "level_from_kinetix_dict",
    "level_to_kinetix_dict",
    "save_kinetix_json",
]

_GRAVITY = (0.0, -9.81)


# ----------------------------------------------------------------------------------------------
# Reading helpers: every accessor takes the field's path for error messages.


def _err(path: str, msg: str):
    raise KinetixJSONError(f"{path}: {msg}")


def _get(obj: Any, key: str, path: str):
    if not isinstance(obj, dict):
        _err(path, f"expected an object, got {type(obj).__name__}")
    if key not in obj:
        _err(f"{path}.{key}" if path else key, "missing key")
    return obj[key]


def _num(x: Any, path: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        _err(path, f"expected a number, got {json.dumps(x)[:40]}")
    return float(x)


def _int(x: Any, path: str) -> int:
    if isinstance(x, bool):
        _err(path, "expected an integer, got a boolean")
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if not isinstance(x, int):
        _err(path, f"expected an integer, got {json.dumps(x)[:40]}")
    return x


def _bool(x: Any, path: str) -> bool:
    if isinstance(x, bool):
        return x
    if isinstance(x, int) and x in (0, 1):
        return bool(x)
    _err(path, f"expected true/false, got {json.dumps(x)[:40]}")


def _indexed(x: Any, n: int, path: str) -> list:
    """An index-keyed object {"0": .., "1": ..} (or a list) of exactly n entries."""
    if isinstance(x, list):
        items = x
    elif isinstance(x, dict):
        keys = [str(i) for i in range(len(x))]
        if sorted(x.keys(), key=lambda k: (len(k), k)) != keys:
            _err(path, f"expected keys '0'..'{len(x) - 1}', got {sorted(x.keys())[:6]}")
        items = [x[k] for k in keys]
    else:
        _err(path, f"expected an index-keyed object, got {type(x).__name__}")
    if len(items) != n:
        _err(path, f"expected {n} entries, got {len(items)}")
    return items


def _vec(x: Any, n: int, path: str) -> list[float]:
    return [_num(v, f"{path}[{i}]") for i, v in enumerate(_indexed(x, n, path))]


def _list(x: Any, n: int, path: str) -> list:
    if not isinstance(x, list):
        _err(path, f"expected a list, got {type(x).__name__}")
    if len(x) != n:
        _err(path, f"expected {n} entries (static_env_params says so), got {len(x)}")
    return x


# ----------------------------------------------------------------------------------------------
# Import


def _read_size(static: dict) -> EnvSize:
    p = "static_env_params"
    vals = {
        k: _int(_get(static, k, p), f"{p}.{k}")
        for k in ("num_polygons", "num_circles", "num_joints", "num_thrusters")
    }
    V = _int(static.get("max_polygon_vertices", 4), f"{p}.max_polygon_vertices")
    for k, v in vals.items():
        if v < 0:
            _err(f"{p}.{k}", f"must be >= 0, got {v}")
    if V not in (3, 4):
        _err(f"{p}.max_polygon_vertices", f"must be 3 or 4, got {V}")
    if vals["num_polygons"] < NUM_STATIC_POLYGONS:
        _err(
            f"{p}.num_polygons",
            f"must be >= {NUM_STATIC_POLYGONS} (the arena), got {vals['num_polygons']}",
        )
    for k, want in (
        ("num_motor_bindings", NUM_MOTOR_BINDINGS),
        ("num_thruster_bindings", NUM_THRUSTER_BINDINGS),
        ("num_static_fixated_polys", NUM_STATIC_POLYGONS),
    ):
        if k in static and _int(static[k], f"{p}.{k}") != want:
            _err(f"{p}.{k}", f"only {want} is supported, got {static[k]}")
    return EnvSize(
        vals["num_polygons"], vals["num_circles"], vals["num_joints"], vals["num_thrusters"], V
    )


def _read_bodies(items: list, kind: str, V: int) -> dict[str, np.ndarray]:
    n = len(items)
    out = {
        "position": np.zeros((n, 2), np.float32),
        "rotation": np.zeros(n, np.float32),
        "velocity": np.zeros((n, 2), np.float32),
        "angular_velocity": np.zeros(n, np.float32),
        "inverse_mass": np.zeros(n, np.float32),
        "inverse_inertia": np.zeros(n, np.float32),
        "friction": np.zeros(n, np.float32),
        "restitution": np.zeros(n, np.float32),
        "collision_mode": np.zeros(n, np.int32),
        "active": np.zeros(n, bool),
        "n_vertices": np.zeros(n, np.int32),
        "vertices": np.zeros((n, V, 2), np.float32),
        "radius": np.zeros(n, np.float32),
        "role": np.zeros(n, np.int32),
        "density": np.zeros(n, np.float32),
    }
    for i, b in enumerate(items):
        p = f"env_state.{kind}[{i}]"
        if not isinstance(b, dict):
            _err(p, f"expected an object, got {type(b).__name__}")
        out["position"][i] = _vec(_get(b, "position", p), 2, f"{p}.position")
        out["velocity"][i] = _vec(_get(b, "velocity", p), 2, f"{p}.velocity")
        for k in (
            "rotation",
            "angular_velocity",
            "inverse_mass",
            "inverse_inertia",
            "friction",
            "restitution",
            "radius",
            "density",
        ):
            out[k][i] = _num(_get(b, k, p), f"{p}.{k}")
        out["collision_mode"][i] = _int(_get(b, "collision_mode", p), f"{p}.collision_mode")
        out["active"][i] = _bool(_get(b, "active", p), f"{p}.active")
        out["role"][i] = _int(_get(b, "role", p), f"{p}.role")
        if kind == "polygon":
            nv = _int(_get(b, "n_vertices", p), f"{p}.n_vertices")
            if out["active"][i] and not 3 <= nv <= V:
                _err(f"{p}.n_vertices", f"must be in 3..{V} for an active polygon, got {nv}")
            out["n_vertices"][i] = nv
            verts = _indexed(_get(b, "vertices", p), V, f"{p}.vertices")
            for k, v in enumerate(verts):
                out["vertices"][i, k] = _vec(v, 2, f"{p}.vertices[{k}]")
    if kind == "polygon":
        # Kinetix stores clockwise; ours is counter-clockwise (the reorder is an involution).
        nv = np.clip(out["n_vertices"], 0, V)
        out["vertices"] = np.asarray(
            kinetix_vertex_order(jnp.asarray(out["vertices"]), jnp.asarray(nv))
        )
        for i in np.flatnonzero(out["active"]):
            v = out["vertices"][i, : nv[i]].astype(np.float64)
            area = 0.5 * np.sum(v[:, 0] * np.roll(v[:, 1], -1) - v[:, 1] * np.roll(v[:, 0], -1))
            if area <= 0:
                _err(
                    f"env_state.polygon[{i}].vertices",
                    "expected a clockwise outline (Kinetix/Jax2D convention) with area > 0",
                )
    return out


def _bodies(d: dict) -> Any:
    from jax2d import Bodies

    return Bodies(**{k: jnp.asarray(v) for k, v in d.items() if k not in ("role", "density")})


def level_from_kinetix_dict(data: dict, *, size: EnvSize | str | None = None) -> Level:
    """Builds a :class:`Level` from a parsed Kinetix JSON object (see the module docstring)."""
    if not isinstance(data, dict):
        _err("(top level)", f"expected an object, got {type(data).__name__}")
    es = _get(data, "env_state", "")
    static = _get(data, "static_env_params", "")
    lsize = _read_size(static)
    P, C, J, T, V = (
        lsize.num_polygons,
        lsize.num_circles,
        lsize.num_joints,
        lsize.num_thrusters,
        lsize.max_polygon_vertices,
    )
    polys = _read_bodies(
        _list(_get(es, "polygon", "env_state"), P, "env_state.polygon"), "polygon", V
    )
    circs = _read_bodies(_list(_get(es, "circle", "env_state"), C, "env_state.circle"), "circle", V)

    jl = _list(_get(es, "joint", "env_state"), J, "env_state.joint")
    jd = {
        k: np.zeros(s, t)
        for k, s, t in (
            ("a_index", J, np.int32),
            ("b_index", J, np.int32),
            ("a_anchor", (J, 2), np.float32),
            ("b_anchor", (J, 2), np.float32),
            ("active", J, bool),
            ("is_fixed", J, bool),
            ("reference_angle", J, np.float32),
            ("motor_on", J, bool),
            ("motor_speed", J, np.float32),
            ("motor_power", J, np.float32),
            ("has_limits", J, bool),
            ("min_angle", J, np.float32),
            ("max_angle", J, np.float32),
            ("accumulated_impulse", (J, 2), np.float32),
            ("accumulated_angular_impulse", J, np.float32),
            ("position", (J, 2), np.float32),
        )
    }
    motor_bindings = np.zeros(J, np.int32)
    for i, j in enumerate(jl):
        p = f"env_state.joint[{i}]"
        jd["a_index"][i] = _int(_get(j, "a_index", p), f"{p}.a_index")
        jd["b_index"][i] = _int(_get(j, "b_index", p), f"{p}.b_index")
        jd["a_anchor"][i] = _vec(_get(j, "a_relative_pos", p), 2, f"{p}.a_relative_pos")
        jd["b_anchor"][i] = _vec(_get(j, "b_relative_pos", p), 2, f"{p}.b_relative_pos")
        jd["position"][i] = _vec(_get(j, "global_position", p), 2, f"{p}.global_position")
        jd["accumulated_impulse"][i] = _vec(_get(j, "acc_impulse", p), 2, f"{p}.acc_impulse")
        for ours, theirs in (
            ("active", "active"),
            ("is_fixed", "is_fixed_joint"),
            ("motor_on", "motor_on"),
            ("has_limits", "motor_has_joint_limits"),
        ):
            jd[ours][i] = _bool(_get(j, theirs, p), f"{p}.{theirs}")
        for ours, theirs in (
            ("reference_angle", "rotation"),
            ("motor_speed", "motor_speed"),
            ("motor_power", "motor_power"),
            ("min_angle", "min_rotation"),
            ("max_angle", "max_rotation"),
            ("accumulated_angular_impulse", "acc_r_impulse"),
        ):
            jd[ours][i] = _num(_get(j, theirs, p), f"{p}.{theirs}")
        motor_bindings[i] = _int(_get(j, "motor_binding", p), f"{p}.motor_binding")

    tl = _list(_get(es, "thruster", "env_state"), T, "env_state.thruster")
    td = {
        k: np.zeros(s, t)
        for k, s, t in (
            ("shape_index", T, np.int32),
            ("relative_position", (T, 2), np.float32),
            ("rotation", T, np.float32),
            ("power", T, np.float32),
            ("active", T, bool),
            ("position", (T, 2), np.float32),
        )
    }
    thruster_bindings = np.zeros(T, np.int32)
    for i, t in enumerate(tl):
        p = f"env_state.thruster[{i}]"
        td["shape_index"][i] = _int(_get(t, "object_index", p), f"{p}.object_index")
        td["relative_position"][i] = _vec(
            _get(t, "relative_position", p), 2, f"{p}.relative_position"
        )
        td["position"][i] = _vec(_get(t, "global_position", p), 2, f"{p}.global_position")
        td["rotation"][i] = _num(_get(t, "rotation", p), f"{p}.rotation")
        td["power"][i] = _num(_get(t, "power", p), f"{p}.power")
        td["active"][i] = _bool(_get(t, "active", p), f"{p}.active")
        thruster_bindings[i] = _int(_get(t, "thruster_binding", p), f"{p}.thruster_binding")

    from jax2d import Joints, Thrusters

    scene = Scene(
        polygon=_bodies(polys),
        circle=_bodies(circs),
        joint=Joints(**{k: jnp.asarray(v) for k, v in jd.items()}),
        thruster=Thrusters(**{k: jnp.asarray(v) for k, v in td.items()}),
        contacts=ContactCache.empty(num_pairs(P, C)),
        gravity=jnp.asarray(_GRAVITY, jnp.float32),
    )
    level = Level(
        scene=scene,
        polygon_roles=jnp.asarray(polys["role"]),
        circle_roles=jnp.asarray(circs["role"]),
        polygon_densities=jnp.asarray(polys["density"]),
        circle_densities=jnp.asarray(circs["density"]),
        motor_bindings=jnp.asarray(motor_bindings),
        thruster_bindings=jnp.asarray(thruster_bindings),
        motor_auto=jnp.zeros(J, bool),
    )
    if size is not None:
        level = pad_level(level, size)
    return level


def load_kinetix_json(path: str | os.PathLike, *, size: EnvSize | str | None = None) -> Level:
    """Reads a Kinetix level JSON file into a :class:`Level` (padded to ``size`` if given)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise KinetixJSONError(f"{os.fspath(path)}: not valid JSON ({e})") from None
    try:
        return level_from_kinetix_dict(data, size=size)
    except KinetixJSONError as e:
        raise KinetixJSONError(f"{os.fspath(path)}: {e}") from None
