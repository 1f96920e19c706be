"""What the procedural generator draws (:mod:`kinetix.generator`): its distribution.

:class:`GeneratorParams` holds the distribution's parameters (Kinetix's ``UEDParams``);
:class:`GeneratorError` is the error for a distribution or size the generator cannot use. The
random choices a level is made of come from here too: ``_Draw`` hands out the uniforms of one
PRNG draw, ``_View`` is the read-only view of a level under construction that the choices depend
on (free slots, roles present, connections), and the samplers draw a shape's dimensions, its type
(rectangle or circle) and its role. How the drawn values become a level (placement, joints,
thrusters, the choice among proposals, the shuffle) is :mod:`kinetix.generator_assembly`.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from kinetix.errors import EnvConfigError
from kinetix.level import ROLE_BLUE, ROLE_GREEN, ROLE_NEUTRAL, ROLE_RED, Level
from kinetix.sizes import NUM_STATIC_POLYGONS

__all__ = ["GeneratorError", "GeneratorParams"]

_SQRT2 = math.sqrt(2.0)


class GeneratorError(EnvConfigError):
    """The generator cannot produce levels as asked (size too small, bad parameter)."""


@dataclasses.dataclass(frozen=True)
class GeneratorParams:
    """Parameters of the generator (Kinetix's ``UEDParams`` defaults; static, hashable).

    Probabilities are in [0, 1]; ``*_min <= *_max``. Changing a value changes the output (the
    version string names the defaults' output).
    """

    max_shape_size: float = 1.0
    goal_body_opposite_side_chance: float = 0.5
    goal_body_size_factor: float = 1.0
    min_revolute_joints: int = 2
    large_rect_dim_chance: float = 0.3
    large_rect_dim_scale: float = 2.0
    thruster_power_multiplier: float = 2.0
    thruster_align_com_prob: float = 0.8
    motor_on_chance: float = 0.8
    motor_min_speed: float = 0.4
    motor_max_speed: float = 3.0
    motor_min_power: float = 1.0
    motor_max_power: float = 3.0
    wheel_max_power: float = 1.0
    joint_limit_chance: float = 0.4
    joint_limit_max: float = math.pi
    fixate_chance_min: float = 0.02
    fixate_chance_max: float = 1.0
    fixate_chance_scale: float = 4.0
    fixate_shape_bottom_bias_special_role: float = 0.6
    circle_max_size_coeff: float = 0.8
    connect_to_fixated_prob_coeff: float = 0.05
    connect_visibility_min: float = 0.05
    connect_no_visibility_bias: float = 10.0
    add_shape_chance: float = 0.35
    add_connected_shape_chance: float = 0.35
    add_no_shape_chance: float = 0.3
    add_thruster_chance: float = 0.3
    num_proposals: int = 8
    small_env_max_shapes: int = 7
    floor_prob_normal: float = 0.9
    floor_prob_green: float = 0.0
    floor_prob_blue: float = 0.02
    floor_prob_red: float = 0.08
    physics_setting: str = "default"

    def __post_init__(self):
        probs = (
            "goal_body_opposite_side_chance",
            "large_rect_dim_chance",
            "thruster_align_com_prob",
            "motor_on_chance",
            "joint_limit_chance",
            "fixate_chance_min",
            "fixate_chance_max",
            "fixate_shape_bottom_bias_special_role",
            "add_shape_chance",
            "add_connected_shape_chance",
            "add_no_shape_chance",
            "add_thruster_chance",
            "floor_prob_normal",
            "floor_prob_green",
            "floor_prob_blue",
            "floor_prob_red",
        )
        for f in probs:
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise GeneratorError(
                    f"GeneratorParams.{f}: must be a probability in [0, 1], got {v!r}"
                )
        positive = ("max_shape_size", "goal_body_size_factor", "large_rect_dim_scale")
        for f in positive + ("thruster_power_multiplier", "wheel_max_power"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise GeneratorError(f"GeneratorParams.{f}: must be a finite number > 0, got {v!r}")
        for lo, hi in (
            ("motor_min_speed", "motor_max_speed"),
            ("motor_min_power", "motor_max_power"),
            ("fixate_chance_min", "fixate_chance_max"),
        ):
            if not getattr(self, lo) <= getattr(self, hi):
                raise GeneratorError(
                    f"GeneratorParams.{lo}: must be <= {hi} "
                    f"({getattr(self, lo)!r} > {getattr(self, hi)!r})"
                )
        if self.max_shape_size * self.goal_body_size_factor / (2 * _SQRT2) <= 0.05:
            raise GeneratorError(
                "GeneratorParams.max_shape_size: rectangles need half extents above 0.05 m, "
                f"so max_shape_size must exceed {0.1 * _SQRT2:.3f}, got {self.max_shape_size!r}"
            )
        if not (isinstance(self.num_proposals, int) and self.num_proposals >= 1):
            raise GeneratorError(
                f"GeneratorParams.num_proposals: must be an int >= 1, got {self.num_proposals!r}"
            )
        s = self.add_shape_chance + self.add_connected_shape_chance + self.add_no_shape_chance
        if s <= 0:
            raise GeneratorError("GeneratorParams.add_*_chance: the three weights sum to 0")
        f = self.floor_prob_normal + self.floor_prob_green + self.floor_prob_blue
        if f + self.floor_prob_red <= 0:
            raise GeneratorError("GeneratorParams.floor_prob_*: the four weights sum to 0")


class _Draw:
    """Hands out uniforms from ONE random draw (few PRNG calls keep the compiled program small)."""

    def __init__(self, key, n: int):
        self.u = jax.random.uniform(key, (n,), jnp.float32)
        self.n = n
        self.i = 0

    def __call__(self, lo=0.0, hi=1.0):
        if self.i >= self.n:
            raise RuntimeError("_Draw: too few uniforms drawn (generator bug)")
        x = self.u[self.i]
        self.i += 1
        return lo + (hi - lo) * x

    def bern(self, p):
        return self() < p

    def choice(self, weights):
        """Index drawn with probability proportional to ``weights`` (>= 0, not all 0)."""
        w = jnp.asarray(weights, jnp.float32)
        c = jnp.cumsum(w)
        x = self() * c[-1]
        return jnp.minimum(jnp.sum(c <= x), w.shape[0] - 1).astype(jnp.int32)


def _cat(level: Level, field: str):
    sc = level.scene
    return jnp.concatenate([getattr(sc.polygon, field), getattr(sc.circle, field)], axis=0)


class _View:
    """Per-shape arrays (N = P + C, global index order) of a level."""

    def __init__(self, level: Level):
        sc = level.scene
        P = sc.polygon.active.shape[0]
        C = sc.circle.active.shape[0]
        self.P, self.C, self.N = P, C, P + C
        self.active = _cat(level, "active")
        self.is_circle = jnp.arange(self.N) >= P
        self.non_arena = jnp.arange(self.N) >= NUM_STATIC_POLYGONS
        self.static = _cat(level, "inverse_mass") <= 0
        self.roles = jnp.concatenate([level.polygon_roles, level.circle_roles])
        self.position = _cat(level, "position")
        self.rotation = _cat(level, "rotation")
        self.inverse_mass = _cat(level, "inverse_mass")
        verts = jnp.concatenate([sc.polygon.vertices, sc.circle.vertices], axis=0)
        self.half = jnp.max(jnp.abs(verts), axis=1)  # (N, 2) rectangles: half extents
        self.radius = _cat(level, "radius")
        self.free_rect = jnp.any(~sc.polygon.active[NUM_STATIC_POLYGONS:])
        self.free_circle = jnp.any(~sc.circle.active)
        self.free_joint = jnp.any(~sc.joint.active)
        self.free_thruster = jnp.any(~sc.thruster.active)
        j = sc.joint
        ids = jnp.arange(self.N)
        touch = ((j.a_index[:, None] == ids) | (j.b_index[:, None] == ids)) & j.active[:, None]
        self.connections = jnp.sum(touch, axis=0)
        self.n_revolute = jnp.sum(j.active & ~j.is_fixed)
        live = self.active
        self.has_green = jnp.any(live & (self.roles == ROLE_GREEN))
        self.has_blue = jnp.any(live & (self.roles == ROLE_BLUE))
        self.has_red = jnp.any(live & (self.roles == ROLE_RED))


def _sample_dims(d: _Draw, params: GeneratorParams, factor):
    """Rectangle half extents (hx, hy) and circle radius (5 uniforms)."""
    s = params.max_shape_size * factor
    hmax = s / (2 * _SQRT2)
    hx, hy = d(0.05, hmax), d(0.05, hmax)
    big = d.bern(params.large_rect_dim_chance)
    axis_x = d.bern(0.5)
    scale = params.large_rect_dim_scale
    hx = jnp.where(big & axis_x, hx * scale, hx)
    hy = jnp.where(big & ~axis_x, hy * scale, hy)
    r = d(0.1, 0.5 * s * params.circle_max_size_coeff)
    return hx, hy, r


def _pick_type(d: _Draw, v: _View):
    """Circle (True) or rectangle, uniformly among the types with a free slot."""
    coin = d.bern(0.5)
    return jnp.where(v.free_rect & v.free_circle, coin, v.free_circle)


def _sample_role(d: _Draw, v: _View, allow_red):
    """Missing green/blue first (uniformly), else grey (1) or red (1/3, if none yet)."""
    missing_g, missing_b = ~v.has_green, ~v.has_blue
    gb = jnp.where(d.bern(0.5), ROLE_GREEN, ROLE_BLUE)
    gb = jnp.where(missing_g & ~missing_b, ROLE_GREEN, gb)
    gb = jnp.where(missing_b & ~missing_g, ROLE_BLUE, gb)
    red = allow_red & ~v.has_red & d.bern((1 / 3) / (1 + 1 / 3))
    other = jnp.where(red, ROLE_RED, ROLE_NEUTRAL)
    return jnp.where(missing_g | missing_b, gb, other).astype(jnp.int32)
