"""Engine parameters.

Two kinds of parameters exist:

* :class:`SimParams` holds numbers that may vary per call (they are traced, so changing them
  never recompiles). Defaults are Jax2D's, so levels made for Kinetix behave as their authors
  intended.
* :class:`PhysicsConfig` is static configuration (a frozen, hashable dataclass): the number of
  solver iterations and the :class:`PhysicsSetting` that switches each behavioural fix of the
  engine on or off. Changing it compiles a new program.
"""

from __future__ import annotations

import dataclasses

import jax

__all__ = [
    "SimParams",
    "PhysicsSetting",
    "PhysicsConfig",
    "PHYSICS_SETTINGS",
    "physics_setting",
    "SceneSize",
]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SimParams:
    """Traced engine parameters (units: metres, seconds, radians, kilograms).

    Attributes:
        dt: physics step length, s.
        slop: penetration allowed before the contact position bias acts, m.
        baumgarte_collision: contact position bias factor (dimensionless, per step).
        baumgarte_joint_velocity: joint linear velocity bias factor (1/s).
        baumgarte_joint_position: share of the joint anchor error removed by direct position
            projection in each solver iteration (dimensionless).
        baumgarte_fixed_joint_angle: fixed-joint angle bias factor (1/s).
        baumgarte_joint_limit_angle: revolute-limit angle bias factor (1/s).
        joint_stiffness: scale of the joint linear impulse (dimensionless).
        clip_position: per-axis bound on positions, m.
        clip_velocity: per-axis bound on linear velocities, m/s.
        clip_angular_velocity: bound on angular velocities, rad/s.
        base_motor_speed: motor target speed for ``motor_speed * action == 1``, rad/s.
        base_motor_power: motor strength multiplier (impulse per step = power * dt * axial mass).
        base_thruster_power: thruster force per unit ``power * action``, N (the impulse per
            step is ``base_thruster_power * power * action * dt``, N s).
        motor_decay_coefficient: slope of the tanh velocity servo (s/rad).
        motor_joint_limit: width of the zone inside a joint limit where the motor fades, rad.
        base_friction: friction scale; pair friction is
            ``base_friction * sqrt(friction_a**2 + friction_b**2)``.
        restitution_threshold: relative normal speeds below this do not bounce, m/s (only used
            when the physics setting enables the threshold).
    """

    dt: float = 1.0 / 60.0
    slop: float = 0.01
    baumgarte_collision: float = 0.2
    baumgarte_joint_velocity: float = 2.0
    baumgarte_joint_position: float = 0.7
    baumgarte_fixed_joint_angle: float = 2.0
    baumgarte_joint_limit_angle: float = 5.0
    joint_stiffness: float = 0.6
    clip_position: float = 15.0
    clip_velocity: float = 100.0
    clip_angular_velocity: float = 50.0
    base_motor_speed: float = 6.0
    base_motor_power: float = 900.0
    base_thruster_power: float = 10.0
    motor_decay_coefficient: float = 0.1
    motor_joint_limit: float = 0.1
    base_friction: float = 0.4
    restitution_threshold: float = 1.0

    def replace(self, **changes) -> SimParams:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class PhysicsSetting:
    """Switches for every behavioural fix over Jax2D (static; part of the compiled program).

    Attributes:
        name: the setting's registered name (recorded in results).
        per_point_depth: each polygon-polygon contact point gets its own penetration depth
            (Jax2D: both points share the pair's deepest separation). Also gives a circle whose
            centre lies inside a polygon the exact depth ``r + distance`` (Jax2D: ``r``).
        clip_incident_edge: clip the incident edge against the reference face's side planes
            (Sutherland-Hodgman); Jax2D clamps the along-face coordinate instead.
        restitution_threshold: relative normal speeds below ``SimParams.restitution_threshold``
            do not bounce, and the restitution target replaces (never adds to) the position
            bias, and the bounce is measured from the velocity before this step's gravity, so a
            bounce never gains energy (Jax2D: no threshold, bias added, post-gravity velocity).
        disc_inertia_factor: circle inertia is ``factor * m * r**2`` for circles we build
            (solid disc 0.5; Jax2D 0.25).
        area_centroid: polygons we build are centred on their area centroid (Jax2D: the
            vertex average).
        joint_mass_matrix: a joint's point impulse solves the 2x2 effective-mass system of
            the pin (Box2D's revolute point constraint). Jax2D uses one scalar effective mass
            evaluated along the relative velocity's direction, which is wrong off that
            direction and ill-defined (noise-driven) when the bodies are nearly at rest.
    """

    name: str = "default"
    per_point_depth: bool = True
    clip_incident_edge: bool = True
    restitution_threshold: bool = True
    disc_inertia_factor: float = 0.5
    area_centroid: bool = True
    joint_mass_matrix: bool = True


PHYSICS_SETTINGS: dict[str, PhysicsSetting] = {
    "default": PhysicsSetting(),
    "jax2d-compat": PhysicsSetting(
        name="jax2d-compat",
        per_point_depth=False,
        clip_incident_edge=False,
        restitution_threshold=False,
        disc_inertia_factor=0.25,
        area_centroid=False,
        joint_mass_matrix=False,
    ),
}


def physics_setting(name: str | PhysicsSetting) -> PhysicsSetting:
    """Returns the registered :class:`PhysicsSetting` called ``name`` (or ``name`` itself)."""
    if isinstance(name, PhysicsSetting):
        return name
    try:
        return PHYSICS_SETTINGS[name]
    except KeyError:
        known = ", ".join(sorted(PHYSICS_SETTINGS))
        raise ValueError(f"unknown physics setting {name!r}; known settings: {known}") from None


@dataclasses.dataclass(frozen=True)
class PhysicsConfig:
    """Static configuration of :func:`jax2d.step`.

    Attributes:
        num_solver_iterations: sequential-impulse iterations per step.
        warm_starting: apply last step's accumulated impulses before iterating.
        setting: which behavioural fixes are on (see :class:`PhysicsSetting`).
        solver: ``"parallel"`` solves the joints one by one, then all contacts at once in each
            iteration (Jacobi with mass splitting: a body shared by n contacts counts n times
            lighter in each, and takes their average correction) -- few, wide kernels, fast on
            CPU and GPU; ``"sequential"`` is Gauss-Seidel: joints one by one, then contacts in
            rounds of disjoint pairs -- converges faster per iteration and follows Jax2D's
            ordering more closely, at several times the cost.
    """

    num_solver_iterations: int = 10
    warm_starting: bool = True
    setting: PhysicsSetting = PhysicsSetting()
    solver: str = "parallel"

    def __post_init__(self):
        if isinstance(self.setting, str):
            object.__setattr__(self, "setting", physics_setting(self.setting))
        if self.solver not in ("parallel", "sequential"):
            raise ValueError(f"solver must be 'parallel' or 'sequential', got {self.solver!r}")
        if self.num_solver_iterations < 0:
            raise ValueError("num_solver_iterations must be >= 0")


@dataclasses.dataclass(frozen=True)
class SceneSize:
    """Fixed capacities of a scene. Any capacity >= 0 is allowed.

    Attributes:
        num_polygons: polygon slots (the arena's walls, floor and ceiling included).
        num_circles: circle slots.
        num_joints: joint slots (revolute and fixed).
        num_thrusters: thruster slots.
        max_polygon_vertices: vertex slots per polygon (3 or 4).
    """

    num_polygons: int = 12
    num_circles: int = 12
    num_joints: int = 12
    num_thrusters: int = 12
    max_polygon_vertices: int = 4

    def __post_init__(self):
        for f in ("num_polygons", "num_circles", "num_joints", "num_thrusters"):
            v = getattr(self, f)
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"SceneSize.{f} must be an int >= 0, got {v!r}")
        if self.max_polygon_vertices not in (3, 4):
            raise ValueError("SceneSize.max_polygon_vertices must be 3 or 4")

    @property
    def num_shapes(self) -> int:
        return self.num_polygons + self.num_circles
