"""Export of a :class:`~kinetix.level.Level` as Kinetix level JSON (re-exported by
:mod:`kinetix.kinetix_json`, which holds the import side and describes the format).

Export writes every key Kinetix's loader reads, so the Kinetix editors open the file: vectors and
matrices as index-keyed objects (``{"0": x, "1": y}``), polygon vertices back in Kinetix's
clockwise order, ``collision_matrix`` ((P + C, P + C) bool, False for shapes joined through a
chain of joints), empty contact caches (``acc_rr_manifolds``: 2 per polygon pair not both static,
``acc_cr_manifolds``: C x P, ``acc_cc_manifolds``: C (C - 1) / 2) and ``gravity`` in m/s^2. The
``env_params`` written are Kinetix's defaults (:data:`KINETIX_ENV_PARAMS`; ``dt`` in seconds)
except ``dense_reward_scale`` 0.2 (ours). A level with fewer than 2 circle slots or no joint or
thruster slot is written with inactive slots added (Jax2D cannot build such a scene); its hash is
unchanged.
"""

from __future__ import annotations

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.level import Level, pad_level
from kinetix.observations import jointed_matrix, kinetix_vertex_order
from kinetix.sizes import NUM_MOTOR_BINDINGS, NUM_STATIC_POLYGONS, NUM_THRUSTER_BINDINGS, EnvSize

__all__ = ["KINETIX_ENV_PARAMS", "level_to_kinetix_dict", "save_kinetix_json"]

KINETIX_ENV_PARAMS = {
    "dt": 1.0 / 60.0,
    "slop": 0.01,
    "baumgarte_coefficient_joints_v": 2.0,
    "baumgarte_coefficient_joints_p": 0.7,
    "baumgarte_coefficient_fjoint_av": 2.0,
    "baumgarte_coefficient_rjoint_limit_av": 5.0,
    "baumgarte_coefficient_collision": 0.2,
    "joint_stiffness": 0.6,
    "clip_position": 15,
    "clip_velocity": 100,
    "clip_angular_velocity": 50,
    "base_motor_speed": 6.0,
    "base_motor_power": 900.0,
    "base_thruster_power": 10.0,
    "motor_decay_coefficient": 0.1,
    "motor_joint_limit": 0.1,
    "base_friction": 0.4,
    "max_timesteps": 256,
    "pixels_per_unit": 100,
    "dense_reward_scale": 0.2,
    "num_shape_roles": 4,
}


def _ix(values) -> dict:
    """A vector or nested matrix as index-keyed objects."""
    out = {}
    for i, v in enumerate(values):
        out[str(i)] = _ix(v) if isinstance(v, (list, tuple, np.ndarray)) else _py(v)
    return out


def _py(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    f = float(v)
    return f if math.isfinite(f) else 0.0


def _empty_manifold() -> dict:
    return {
        "normal": {"0": 0.0, "1": 0.0},
        "penetration": 0.0,
        "collision_point": {"0": 0.0, "1": 0.0},
        "active": False,
        "acc_impulse_normal": 0.0,
        "acc_impulse_tangent": 0.0,
        "restitution_velocity_target": 0.0,
    }


def level_to_kinetix_dict(level: Level) -> dict:
    """The Kinetix JSON object of one level (see the module docstring)."""
    size = level.size
    # Jax2D cannot build a scene with zero joints or thrusters or fewer than 2 circles (its
    # pair tables index empty arrays): give Kinetix (inactive) slots.
    kinetix_size = EnvSize(
        size.num_polygons,
        max(size.num_circles, 2),
        max(size.num_joints, 1),
        max(size.num_thrusters, 1),
        size.max_polygon_vertices,
    )
    if kinetix_size != size:
        level, size = pad_level(level, kinetix_size), kinetix_size
    lv = jax.tree.map(np.asarray, level)
    sc = lv.scene
    P, C, J, T, V = (
        size.num_polygons,
        size.num_circles,
        size.num_joints,
        size.num_thrusters,
        size.max_polygon_vertices,
    )

    def body(b, i, role, density, highlighted_kind):
        if highlighted_kind == "polygon":
            verts = np.asarray(
                kinetix_vertex_order(jnp.asarray(b.vertices[i]), jnp.asarray(b.n_vertices[i]))
            )
            n_vertices = int(b.n_vertices[i])
        else:
            verts, n_vertices = np.zeros((V, 2), np.float32), int(b.n_vertices[i])
        return {
            "position": _ix(b.position[i]),
            "rotation": _py(b.rotation[i]),
            "velocity": _ix(b.velocity[i]),
            "angular_velocity": _py(b.angular_velocity[i]),
            "inverse_mass": _py(b.inverse_mass[i]),
            "inverse_inertia": _py(b.inverse_inertia[i]),
            "friction": _py(b.friction[i]),
            "restitution": _py(b.restitution[i]),
            "collision_mode": _py(b.collision_mode[i]),
            "active": _py(b.active[i]),
            "n_vertices": n_vertices,
            "vertices": _ix(verts),
            "radius": _py(b.radius[i]),
            "role": _py(role[i]),
            "density": _py(density[i]),
            "highlighted": False,
        }

    jt, th = sc.joint, sc.thruster
    joints = [
        {
            "a_index": _py(jt.a_index[i]),
            "b_index": _py(jt.b_index[i]),
            "a_relative_pos": _ix(jt.a_anchor[i]),
            "b_relative_pos": _ix(jt.b_anchor[i]),
            "global_position": _ix(jt.position[i]),
            "active": _py(jt.active[i]),
            "acc_impulse": _ix(jt.accumulated_impulse[i]),
            "acc_r_impulse": _py(jt.accumulated_angular_impulse[i]),
            "motor_speed": _py(jt.motor_speed[i]),
            "motor_power": _py(jt.motor_power[i]),
            "motor_on": _py(jt.motor_on[i]),
            "motor_has_joint_limits": _py(jt.has_limits[i]),
            "min_rotation": _py(jt.min_angle[i]),
            "max_rotation": _py(jt.max_angle[i]),
            "is_fixed_joint": _py(jt.is_fixed[i]),
            "rotation": _py(jt.reference_angle[i]),
            "motor_binding": _py(lv.motor_bindings[i]),
        }
        for i in range(J)
    ]
    thrusters = [
        {
            "object_index": _py(th.shape_index[i]),
            "relative_position": _ix(th.relative_position[i]),
            "rotation": _py(th.rotation[i]),
            "power": _py(th.power[i]),
            "global_position": _ix(th.position[i]),
            "active": _py(th.active[i]),
            "thruster_binding": _py(lv.thruster_bindings[i]),
        }
        for i in range(T)
    ]
    collision_matrix = ~np.asarray(jointed_matrix(level.scene))
    n_static = min(NUM_STATIC_POLYGONS, P)
    nrr = P * (P - 1) // 2 - n_static * (n_static - 1) // 2
    env_state = {
        "polygon": [
            body(sc.polygon, i, lv.polygon_roles, lv.polygon_densities, "polygon") for i in range(P)
        ],
        "circle": [
            body(sc.circle, i, lv.circle_roles, lv.circle_densities, "circle") for i in range(C)
        ],
        "joint": joints,
        "thruster": thrusters,
        "collision_matrix": _ix(collision_matrix.tolist()),
        "acc_rr_manifolds": [_empty_manifold() for _ in range(2 * nrr)],
        "acc_cr_manifolds": [_empty_manifold() for _ in range(C * P)],
        "acc_cc_manifolds": [_empty_manifold() for _ in range(C * (C - 1) // 2)],
        "gravity": _ix(sc.gravity),
    }
    static = {
        "num_polygons": P,
        "num_circles": C,
        "num_joints": J,
        "num_thrusters": T,
        "max_polygon_vertices": V,
        "num_solver_iterations": 10,
        "solver_batch_size": 16,
        "do_warm_starting": True,
        "num_static_fixated_polys": NUM_STATIC_POLYGONS,
        "screen_dim": {"0": 500, "1": 500},
        "downscale": 4,
        "frame_skip": 2,
        "max_shape_size": 2,
        "num_motor_bindings": NUM_MOTOR_BINDINGS,
        "num_thruster_bindings": NUM_THRUSTER_BINDINGS,
    }
    return {
        "env_state": env_state,
        "env_params": dict(KINETIX_ENV_PARAMS),
        "static_env_params": static,
    }


def save_kinetix_json(level: Level, path: str | os.PathLike) -> None:
    """Writes one level as a Kinetix JSON file (opens in the Kinetix editors). The level is
    converted first and the file is replaced atomically, so a failure leaves any existing file
    as it was."""
    from kinetix.atomic_io import atomic_write

    data = json.dumps(level_to_kinetix_dict(level)).encode("utf-8")
    atomic_write(path, lambda f: f.write(data))
