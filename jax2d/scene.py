"""The scene: a pytree of fixed-capacity struct-of-arrays with ``active`` masks.

Shapes are addressed by a *global index*: polygons first (``0 .. P-1``), then circles
(``P .. P+C-1``). Joints and thrusters refer to shapes by global index. Every array has a fixed
leading dimension (the capacity), so scenes of one :class:`~jax2d.params.SceneSize` share one
compiled program and can be stacked and ``vmap``-ed.

Polygon vertices are stored counter-clockwise (y up) in the body frame, relative to the body
position, which is the centre of mass. Static bodies have ``inverse_mass == 0`` and
``inverse_inertia == 0``; nothing else marks a body static.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jax2d.params import SceneSize

__all__ = ["Bodies", "Joints", "Thrusters", "ContactCache", "Scene", "num_pairs"]

_replace = dataclasses.replace


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Bodies:
    """N rigid bodies (polygons or circles). Shapes below are for one scene.

    Attributes:
        position: (N, 2) centre of mass in world space, m.
        rotation: (N,) angle, rad (never wrapped).
        velocity: (N, 2) m/s.
        angular_velocity: (N,) rad/s.
        inverse_mass: (N,) 1/kg; 0 means static.
        inverse_inertia: (N,) 1/(kg m^2); 0 means the body cannot rotate.
        friction: (N,) friction multiplier (pair friction, see ``SimParams.base_friction``).
        restitution: (N,) bounce coefficient; a pair uses the minimum of its two values.
        collision_mode: (N,) int32; 0 collides only with mode 2, 1 with modes 1 and 2, 2 with all.
        active: (N,) bool, slot in use.
        n_vertices: (N,) int32, number of used vertex slots (polygons: 3 or 4; circles: 0).
        vertices: (N, V, 2) body-frame vertices, counter-clockwise; unused slots are 0.
        radius: (N,) circle radius, m (polygons: 0).
    """

    position: jax.Array
    rotation: jax.Array
    velocity: jax.Array
    angular_velocity: jax.Array
    inverse_mass: jax.Array
    inverse_inertia: jax.Array
    friction: jax.Array
    restitution: jax.Array
    collision_mode: jax.Array
    active: jax.Array
    n_vertices: jax.Array
    vertices: jax.Array
    radius: jax.Array

    replace = _replace

    @staticmethod
    def empty(n: int, max_vertices: int = 4) -> Bodies:
        f = jnp.float32
        return Bodies(
            position=jnp.zeros((n, 2), f),
            rotation=jnp.zeros((n,), f),
            velocity=jnp.zeros((n, 2), f),
            angular_velocity=jnp.zeros((n,), f),
            inverse_mass=jnp.zeros((n,), f),
            inverse_inertia=jnp.zeros((n,), f),
            friction=jnp.ones((n,), f),
            restitution=jnp.zeros((n,), f),
            collision_mode=jnp.ones((n,), jnp.int32),
            active=jnp.zeros((n,), bool),
            n_vertices=jnp.zeros((n,), jnp.int32),
            vertices=jnp.zeros((n, max_vertices, 2), f),
            radius=jnp.zeros((n,), f),
        )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Joints:
    """J joints between two shapes (revolute, or fixed when ``is_fixed``).

    Attributes:
        a_index, b_index: (J,) int32 global shape indices.
        a_anchor, b_anchor: (J, 2) anchor in each body's frame (relative to its centre of mass), m.
        active: (J,) bool.
        is_fixed: (J,) bool; a fixed joint welds ``rotation_b - rotation_a`` to ``reference_angle``.
        reference_angle: (J,) rad; the relative angle the weld holds and joint limits refer to.
        motor_on: (J,) bool, revolute joint has a motor.
        motor_speed: (J,) multiplier on ``SimParams.base_motor_speed``.
        motor_power: (J,) multiplier on ``SimParams.base_motor_power``.
        has_limits: (J,) bool, revolute angle limits enabled.
        min_angle, max_angle: (J,) limits on ``rotation_b - rotation_a - reference_angle``, rad.
        accumulated_impulse: (J, 2) linear impulse of the last step (warm start), N s.
        accumulated_angular_impulse: (J,) angular impulse of the last step (fixed joints), N m s.
        position: (J, 2) world position of the joint point after the last step, m.
    """

    a_index: jax.Array
    b_index: jax.Array
    a_anchor: jax.Array
    b_anchor: jax.Array
    active: jax.Array
    is_fixed: jax.Array
    reference_angle: jax.Array
    motor_on: jax.Array
    motor_speed: jax.Array
    motor_power: jax.Array
    has_limits: jax.Array
    min_angle: jax.Array
    max_angle: jax.Array
    accumulated_impulse: jax.Array
    accumulated_angular_impulse: jax.Array
    position: jax.Array

    replace = _replace

    @staticmethod
    def empty(n: int) -> Joints:
        f = jnp.float32
        return Joints(
            a_index=jnp.zeros((n,), jnp.int32),
            b_index=jnp.zeros((n,), jnp.int32),
            a_anchor=jnp.zeros((n, 2), f),
            b_anchor=jnp.zeros((n, 2), f),
            active=jnp.zeros((n,), bool),
            is_fixed=jnp.zeros((n,), bool),
            reference_angle=jnp.zeros((n,), f),
            motor_on=jnp.zeros((n,), bool),
            motor_speed=jnp.ones((n,), f),
            motor_power=jnp.ones((n,), f),
            has_limits=jnp.zeros((n,), bool),
            min_angle=jnp.full((n,), -jnp.pi, f),
            max_angle=jnp.full((n,), jnp.pi, f),
            accumulated_impulse=jnp.zeros((n, 2), f),
            accumulated_angular_impulse=jnp.zeros((n,), f),
            position=jnp.zeros((n, 2), f),
        )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Thrusters:
    """T thrusters, each attached to one shape.

    Attributes:
        shape_index: (T,) int32 global index of the parent shape.
        relative_position: (T, 2) attachment point in the parent's frame, m.
        rotation: (T,) thrust direction relative to the parent's rotation, rad.
        power: (T,) multiplier on ``SimParams.base_thruster_power``.
        active: (T,) bool.
        position: (T, 2) world position after the last step, m.
    """

    shape_index: jax.Array
    relative_position: jax.Array
    rotation: jax.Array
    power: jax.Array
    active: jax.Array
    position: jax.Array

    replace = _replace

    @staticmethod
    def empty(n: int) -> Thrusters:
        f = jnp.float32
        return Thrusters(
            shape_index=jnp.zeros((n,), jnp.int32),
            relative_position=jnp.zeros((n, 2), f),
            rotation=jnp.zeros((n,), f),
            power=jnp.ones((n,), f),
            active=jnp.zeros((n,), bool),
            position=jnp.zeros((n, 2), f),
        )


def num_pairs(num_polygons: int, num_circles: int) -> int:
    """Number of candidate shape pairs: every unordered pair of distinct shapes."""
    n = num_polygons + num_circles
    return n * (n - 1) // 2


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class ContactCache:
    """Per candidate pair (K = :func:`num_pairs`), what the last step left for warm starting.

    Pairs are ordered as :func:`jax2d.pairs.candidate_pairs` lists them.

    Attributes:
        normal_impulse: (K, 2) accumulated normal impulse of each contact point, N s.
        tangent_impulse: (K, 2) accumulated friction impulse of each contact point, N s.
        touching: (K,) bool, the pair overlapped at the start of the last step.
    """

    normal_impulse: jax.Array
    tangent_impulse: jax.Array
    touching: jax.Array

    replace = _replace

    @staticmethod
    def empty(k: int) -> ContactCache:
        return ContactCache(
            normal_impulse=jnp.zeros((k, 2), jnp.float32),
            tangent_impulse=jnp.zeros((k, 2), jnp.float32),
            touching=jnp.zeros((k,), bool),
        )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Scene:
    """One 2D world. Capacities are the leading dimensions of the arrays.

    Attributes:
        polygon: polygon bodies (P).
        circle: circle bodies (C).
        joint: joints (J).
        thruster: thrusters (T).
        contacts: warm-start cache, one row per candidate shape pair.
        gravity: (2,) acceleration, m/s^2.
    """

    polygon: Bodies
    circle: Bodies
    joint: Joints
    thruster: Thrusters
    contacts: ContactCache
    gravity: jax.Array

    replace = _replace

    @staticmethod
    def empty(size: SceneSize = SceneSize()) -> Scene:
        """An empty scene (no active entity) of the given capacities, gravity (0, -9.81)."""
        return Scene(
            polygon=Bodies.empty(size.num_polygons, size.max_polygon_vertices),
            circle=Bodies.empty(size.num_circles, size.max_polygon_vertices),
            joint=Joints.empty(size.num_joints),
            thruster=Thrusters.empty(size.num_thrusters),
            contacts=ContactCache.empty(num_pairs(size.num_polygons, size.num_circles)),
            gravity=jnp.array([0.0, -9.81], jnp.float32),
        )

    @property
    def size(self) -> SceneSize:
        """The scene's capacities (read from array shapes; works on stacked batches too)."""
        return SceneSize(
            num_polygons=self.polygon.active.shape[-1],
            num_circles=self.circle.active.shape[-1],
            num_joints=self.joint.active.shape[-1],
            num_thrusters=self.thruster.active.shape[-1],
            max_polygon_vertices=self.polygon.vertices.shape[-2],
        )
