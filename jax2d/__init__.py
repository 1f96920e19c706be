"""jax2d: a 2D rigid-body physics engine in JAX.

A scene is a pytree of fixed-capacity arrays with ``active`` masks, so batches of different
scenes of one size share one compiled program (``jax.vmap(jax2d.step)``).
"""

from jax2d.builders import (
    ARENA_SIZE,
    FLOOR_TOP,
    add_circle,
    add_fixed_joint,
    add_polygon,
    add_rectangle,
    add_revolute_joint,
    add_thruster,
    empty_arena,
    validate_polygon,
)
from jax2d.errors import InvalidShapeError, SceneError, SceneFullError
from jax2d.mass import (
    MAX_INVERSE_INERTIA,
    MAX_INVERSE_MASS,
    circle_mass,
    polygon_centroid,
    polygon_mass,
)
from jax2d.pairs import PairTable, pair_table
from jax2d.params import (
    PHYSICS_SETTINGS,
    PhysicsConfig,
    PhysicsSetting,
    SceneSize,
    SimParams,
    physics_setting,
)
from jax2d.scene import Bodies, ContactCache, Joints, Scene, Thrusters, num_pairs
from jax2d.step import StepInfo, contact_manifolds, make_step, mode_compatible, step

__version__ = "0.1.1"

__all__ = [
    "ARENA_SIZE",
    "FLOOR_TOP",
    "PHYSICS_SETTINGS",
    "Bodies",
    "ContactCache",
    "InvalidShapeError",
    "Joints",
    "PairTable",
    "PhysicsConfig",
    "PhysicsSetting",
    "Scene",
    "SceneError",
    "SceneFullError",
    "SceneSize",
    "SimParams",
    "StepInfo",
    "Thrusters",
    "add_circle",
    "add_fixed_joint",
    "add_polygon",
    "add_rectangle",
    "add_revolute_joint",
    "add_thruster",
    "circle_mass",
    "MAX_INVERSE_MASS",
    "MAX_INVERSE_INERTIA",
    "contact_manifolds",
    "empty_arena",
    "num_pairs",
    "pair_table",
    "physics_setting",
    "polygon_centroid",
    "polygon_mass",
    "make_step",
    "mode_compatible",
    "step",
    "validate_polygon",
]
