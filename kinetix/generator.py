"""Procedural level generator: Kinetix's random level distribution (``kinetix_spec.md`` §7).

``generate_level(key, size)`` samples one level (pure JAX: jit-, vmap-able);
``make_generator(size)`` returns a cached ``jit(vmap(...))`` mapping a batch of keys to a stacked
batch of levels; ``sample_levels(key, n, size)`` is the host-side convenience. The algorithm
restates Kinetix's ``sample_kinetix_level`` (spec §7.2):

1. the empty arena; the floor is grey / green / blue / red with prob. 0.9 / 0 / 0.02 / 0.08;
2. sizes with P + C <= 7 (S) never fixate shapes and use one proposal per addition, larger
   sizes keep the best of 8 proposals: the candidate scene with the fewest contact points
   (plus 10 for a connected shape that fails the visibility check);
3. two free shapes (green and blue, by the role rule); exactly one of them is forced dynamic;
4. a forced control: motor only, thruster only, or both (uniform). The motor is a connected
   shape on a revolute joint (a free shape when no connection is possible);
5. ``P + C - 7`` extra additions: connected shape (0.35), free shape (0.35) or nothing (0.3);
6. ``T - 1`` extra thrusters, each with prob. 0.3;
7. green and blue swap with prob. 0.5 when the floor is grey; then circles, dynamic polygons,
   joints and thrusters are shuffled (indices remapped).

Roles: the first shapes take the missing green / blue roles; later shapes are grey, or red with
weight 1/3 while no red object exists (the floor counts), so a level has at most one red
object. Fixation: probability ``min(0.02 + 4 * mass, 1)``; a fixed coloured shape in the upper
half moves down 2.5 m with prob. 0.6. Joints carry motors (prob. 0.8; speed U[0.4, 3], power
U[1, 3], or 1 when a circle is involved) and limits (prob. 0.4, rectangle pairs only).
Thrusters sit on a dynamic shape with power ``2 * mass * U[0.5, 2]``.

Differences from Kinetix worth knowing: the contact count is our engine's (points of touching,
non-jointed pairs); a fixed coloured shape only moves down if it stays above the floor; green
(blue) restricted to one side samples x in [e, 2.5] ([2.5, 5 - e]).

No-op filtering (spec §7.4, optional, :class:`NoopFilter`): each output level takes the first of
``attempts`` candidates (attempt 0 uses the caller's key, so an unsolved level is the
unfiltered one) that the no-op policy does not solve within ``steps`` agent steps; when every
attempt is solved the last one is kept (rare: ``rate ** attempts``).

Versioning rule: :data:`GENERATOR_VERSION` names the output. ANY change that alters the level
produced for a given (key, size, params) -- algorithm, random-number use, defaults, the engine's
mass rules -- must bump it; refactors that keep every output bit-identical keep it.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

from jax2d.joints import joint_components
from jax2d.math2d import rotate
from jax2d.pairs import pair_table
from jax2d.params import physics_setting
from jax2d.step import contact_manifolds, mode_compatible
from kinetix.errors import EnvConfigError
from kinetix.level import ROLE_BLUE, ROLE_GREEN, ROLE_NEUTRAL, ROLE_RED, Level, empty_level
from kinetix.sizes import (
    NUM_MOTOR_BINDINGS,
    NUM_STATIC_POLYGONS,
    NUM_THRUSTER_BINDINGS,
    EnvSize,
    env_size,
)

__all__ = [
    "GENERATOR_VERSION",
    "GeneratorError",
    "GeneratorParams",
    "NoopFilter",
    "check_generator_size",
    "generate_level",
    "make_generator",
    "sample_levels",
]

GENERATOR_VERSION = "kinetix-gen-1"

_SQRT2 = math.sqrt(2.0)
_TWO_PI = 2.0 * math.pi
_ARENA = 5.0
_FLOOR = 0.4


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


@dataclasses.dataclass(frozen=True)
class NoopFilter:
    """Drop levels the no-op policy solves (Kinetix: 64 agent steps).

    Attributes:
        attempts: candidates drawn per output level (the first unsolved one is kept).
        steps: agent steps of the no-op rollout.
        env_config: the env that judges (default ``EnvConfig(size=<generator size>)``).
    """

    attempts: int = 4
    steps: int = 64
    env_config: object = None

    def __post_init__(self):
        if not (isinstance(self.attempts, int) and self.attempts >= 1):
            raise GeneratorError(f"NoopFilter.attempts: must be an int >= 1, got {self.attempts!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise GeneratorError(f"NoopFilter.steps: must be an int >= 1, got {self.steps!r}")


def check_generator_size(size: str | EnvSize) -> EnvSize:
    """The :class:`EnvSize` for ``size``, or :class:`GeneratorError` naming the field."""
    try:
        size = env_size(size)
    except EnvConfigError as e:
        raise GeneratorError(str(e)) from None
    if size.num_polygons < NUM_STATIC_POLYGONS:
        raise GeneratorError(
            f"EnvSize.num_polygons: the arena needs {NUM_STATIC_POLYGONS} polygon slots, "
            f"got {size.num_polygons}"
        )
    free = size.num_polygons - NUM_STATIC_POLYGONS + size.num_circles
    if free < 2:
        raise GeneratorError(
            "EnvSize.num_polygons + num_circles: the generator needs at least 2 dynamic shape "
            f"slots (green and blue) besides the 4 arena polygons, got {free} "
            f"({size.num_polygons} polygons, {size.num_circles} circles)"
        )
    if size.max_polygon_vertices < 4:
        raise GeneratorError(
            "EnvSize.max_polygon_vertices: the generator builds rectangles (4 vertices), got "
            f"{size.max_polygon_vertices}"
        )
    if size.num_joints + size.num_thrusters < 1:
        raise GeneratorError(
            "EnvSize.num_joints + num_thrusters: the forced control needs a joint or a thruster "
            "slot, got 0 of each"
        )
    return size


# ----------------------------------------------------------------------------------------------
# helpers


def _where(c, a, b):
    return jax.tree.map(lambda x, y: jnp.where(c, x, y), a, b)


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


def _set_role(level: Level, index, role) -> Level:
    P = level.polygon_roles.shape[0]
    roles = jnp.concatenate([level.polygon_roles, level.circle_roles])
    roles = jnp.where((index >= 0) & (jnp.arange(roles.shape[0]) == index), role, roles)
    return level.replace(polygon_roles=roles[:P], circle_roles=roles[P:])


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


def _write(obj, mask, **values):
    """Sets ``values`` in the rows of ``obj`` where ``mask`` (N,) holds (selects, no scatter)."""
    out = {}
    for k, v in values.items():
        old = getattr(obj, k)
        m = mask.reshape(mask.shape + (1,) * (old.ndim - 1))
        out[k] = jnp.where(m, jnp.asarray(v, old.dtype), old)
    return obj.replace(**out)


def _first_free_mask(active, skip: int = 0):
    """(N,) one-hot mask of the first inactive slot at index >= skip (all False when full)."""
    free = ~active & (jnp.arange(active.shape[0]) >= skip)
    return free & (jnp.cumsum(free) == 1)


def _place(level: Level, is_circle, pos, rot, hx, hy, r, static, role, setting):
    """Adds a rectangle or a circle (density 1, friction 1) in the first free slot of its kind.

    Returns (level, global index); the index is -1 (level unchanged) when there is no slot.
    """
    sc = level.scene
    P = sc.polygon.active.shape[0]
    V = sc.polygon.vertices.shape[1]
    factor = physics_setting(setting).disc_inertia_factor
    m_rect = 4.0 * hx * hy
    i_rect = m_rect * (hx * hx + hy * hy) / 3.0
    m_circ = jnp.pi * r * r
    i_circ = factor * m_circ * r * r
    m = jnp.where(is_circle, m_circ, m_rect)
    inertia = jnp.where(is_circle, i_circ, i_rect)
    static = jnp.asarray(static, bool)
    inv_m = jnp.where(static, 0.0, 1.0 / m)
    inv_i = jnp.where(static, 0.0, 1.0 / inertia)
    rect = jnp.stack(
        [jnp.stack([-hx, -hy]), jnp.stack([hx, -hy]), jnp.stack([hx, hy]), jnp.stack([-hx, hy])]
    )
    verts = jnp.zeros((V, 2), jnp.float32).at[:4].set(rect)
    pm = _first_free_mask(sc.polygon.active, NUM_STATIC_POLYGONS) & ~is_circle
    cm = _first_free_mask(sc.circle.active) & is_circle
    common = dict(
        position=pos,
        rotation=rot,
        velocity=jnp.zeros(2),
        angular_velocity=0.0,
        inverse_mass=inv_m,
        inverse_inertia=inv_i,
        friction=1.0,
        restitution=0.0,
        collision_mode=1,
        active=True,
    )
    poly = _write(sc.polygon, pm, n_vertices=4, vertices=verts, radius=0.0, **common)
    circ = _write(sc.circle, cm, n_vertices=0, radius=r, **common)
    slots = jnp.concatenate([pm, cm])
    idx = jnp.where(jnp.any(slots), jnp.argmax(slots), -1).astype(jnp.int32)
    roles = jnp.where(slots, role, jnp.concatenate([level.polygon_roles, level.circle_roles]))
    level = level.replace(
        scene=sc.replace(polygon=poly, circle=circ), polygon_roles=roles[:P], circle_roles=roles[P:]
    )
    return level, idx


def _contact_points(level: Level, setting) -> jax.Array:
    """Contact points between touching shapes that are not jointed together."""
    sc = level.scene
    P, C = sc.polygon.active.shape[0], sc.circle.active.shape[0]
    table = pair_table(P, C)
    if table.num_pairs == 0:
        return jnp.float32(0)
    m = contact_manifolds(sc, setting)
    act = _cat(level, "active")
    mode = _cat(level, "collision_mode")
    labels = joint_components(sc.joint, P + C)
    a, b = table.a, table.b
    on = m.overlap & act[a] & act[b] & mode_compatible(mode[a], mode[b]) & (labels[a] != labels[b])
    return jnp.sum(m.active & on[:, None]).astype(jnp.float32)


def _best_of(make, key, level: Level, n: int, setting):
    """Runs ``make(key, level) -> (level, ok, penalty)`` ``n`` times; keeps the fewest contacts."""
    if n == 1:
        out, ok, _ = make(key, level)
        return out, ok
    outs, oks, pens = jax.vmap(make, in_axes=(0, None))(jax.random.split(key, n), level)
    score = jax.vmap(lambda lv: _contact_points(lv, setting))(outs) + pens
    i = jnp.argmin(score)
    return jax.tree.map(lambda x: x[i], outs), oks[i]


# ----------------------------------------------------------------------------------------------
# additions: each returns (level, ok, penalty); when not ok the level is unchanged


def _free_shape(key, level: Level, force_dynamic, params: GeneratorParams, small: bool):
    v = _View(level)
    d = _Draw(key, 16)
    force_dynamic = jnp.asarray(force_dynamic, bool)
    ok = v.free_rect | v.free_circle
    is_circle = _pick_type(d, v)
    role = _sample_role(d, v, True)
    special = role != ROLE_NEUTRAL
    gb = (role == ROLE_GREEN) | (role == ROLE_BLUE)
    hx, hy, r = _sample_dims(d, params, jnp.where(gb, params.goal_body_size_factor, 1.0))
    e = jnp.where(is_circle, r, jnp.maximum(hx, hy) * _SQRT2)
    x = d(e, _ARENA - e)
    side = d.bern(params.goal_body_opposite_side_chance)
    u_side = d()
    x = jnp.where(side & (role == ROLE_GREEN), e + u_side * (_ARENA / 2 - e), x)
    x = jnp.where(side & (role == ROLE_BLUE), _ARENA / 2 + u_side * (_ARENA / 2 - e), x)
    y = d(e + _FLOOR, _ARENA - e)
    rot = d(0.0, _TWO_PI)
    mass = jnp.where(is_circle, jnp.pi * r * r, 4.0 * hx * hy)
    p_fix = jnp.clip(
        params.fixate_chance_min + params.fixate_chance_scale * mass, 0.0, params.fixate_chance_max
    )
    fix = d.bern(p_fix) & ~force_dynamic & (not small)
    down = fix & special & d.bern(params.fixate_shape_bottom_bias_special_role)
    down = down & (y > _ARENA / 2) & (y - _ARENA / 2 >= e + _FLOOR)
    y = jnp.where(down, y - _ARENA / 2, y)
    pos = jnp.stack([x, y])
    out, _ = _place(level, is_circle, pos, rot, hx, hy, r, fix, role, params.physics_setting)
    return _where(ok, out, level), ok, jnp.float32(0)


def _extent(is_circle, half, r, anchor):
    """(farthest, nearest) boundary distance from a body-frame anchor (bounding box / disc)."""
    a = jnp.abs(anchor)
    far = jnp.where(is_circle, r, jnp.sqrt(jnp.sum((half + a) ** 2)))
    near = jnp.where(is_circle, r, jnp.min(half - a))
    return far, near


def _connected_shape(key, level: Level, force_revolute, params: GeneratorParams):
    v = _View(level)
    d = _Draw(key, 24)
    force_revolute = jnp.asarray(force_revolute, bool)
    cap = jnp.where(v.is_circle, 1.0 - v.connections, (2.0 - v.connections) / 2.0)
    w = jnp.where(v.static, params.connect_to_fixated_prob_coeff, 1.0) * jnp.maximum(cap, 0.0)
    w = jnp.where(v.active & v.non_arena, w, 0.0)
    w = jnp.where(v.is_circle & ~v.free_rect, 0.0, w)  # no circle-circle joints
    ok = v.free_joint & (v.free_rect | v.free_circle) & (jnp.sum(w) > 0)
    t = d.choice(jnp.where(jnp.sum(w) > 0, w, 1.0))
    t_circle = v.is_circle[t]
    is_circle = _pick_type(d, v) & ~t_circle
    hx, hy, r = _sample_dims(d, params, 1.0)
    half_t, r_t = v.half[t], v.radius[t]
    a_t = jnp.where(t_circle, 0.0, jnp.stack([d(-1.0, 1.0), d(-1.0, 1.0)]) * half_t)
    half_n = jnp.stack([hx, hy])
    a_n = jnp.where(is_circle, 0.0, jnp.stack([d(-1.0, 1.0), d(-1.0, 1.0)]) * half_n)
    rot = d(0.0, _TWO_PI)
    world = v.position[t] + rotate(a_t, v.rotation[t])
    pos = world - rotate(a_n, rot)
    # green/blue exist by now: grey, or red only next to a grey target
    role = _sample_role(d, v, v.roles[t] == ROLE_NEUTRAL)
    far_t, near_t = _extent(t_circle, half_t, r_t, a_t)
    far_n, near_n = _extent(is_circle, half_n, r, a_n)
    margin = params.connect_visibility_min
    hidden = (far_n + margin < near_t) | (far_t + margin < near_n)
    pen = jnp.where(hidden, params.connect_no_visibility_bias, 0.0)
    lv, idx = _place(level, is_circle, pos, rot, hx, hy, r, False, role, params.physics_setting)
    revolute = force_revolute | d.bern(0.5) | (v.n_revolute < params.min_revolute_joints)
    rect_rect = ~t_circle & ~is_circle
    motor_on = d.bern(params.motor_on_chance)
    speed = d(params.motor_min_speed, params.motor_max_speed)
    power = d(params.motor_min_power, params.motor_max_power)
    power = jnp.where(rect_rect, power, params.wheel_max_power)
    limits = rect_rect & d.bern(params.joint_limit_chance)
    lo = d(-params.joint_limit_max, 0.0)
    hi = d(0.0, params.joint_limit_max)
    binding = jnp.minimum(d() * NUM_MOTOR_BINDINGS, NUM_MOTOR_BINDINGS - 1).astype(jnp.int32)
    jm = _first_free_mask(lv.scene.joint.active)
    joint = _write(
        lv.scene.joint,
        jm,
        a_index=t,
        b_index=idx,
        a_anchor=a_t,
        b_anchor=a_n,
        active=True,
        is_fixed=~revolute,
        reference_angle=rot - v.rotation[t],
        motor_on=motor_on & revolute,
        motor_speed=jnp.where(revolute, speed, 1.0),
        motor_power=jnp.where(revolute, power, 1.0),
        has_limits=limits & revolute,
        min_angle=jnp.where(limits & revolute, lo, -jnp.pi),
        max_angle=jnp.where(limits & revolute, hi, jnp.pi),
        accumulated_impulse=jnp.zeros(2),
        accumulated_angular_impulse=0.0,
        position=world,
    )
    mb = jnp.where(jm, binding, lv.motor_bindings).astype(jnp.int32)
    lv = lv.replace(scene=lv.scene.replace(joint=joint), motor_bindings=mb)
    return _where(ok, lv, level), ok, jnp.where(ok, pen, 0.0)


def _thruster(key, level: Level, params: GeneratorParams):
    v = _View(level)
    d = _Draw(key, 12)
    cand = v.active & v.non_arena & ~v.static
    ok = v.free_thruster & jnp.any(cand)
    p = d.choice(jnp.where(jnp.any(cand), cand, True).astype(jnp.float32))
    circ = v.is_circle[p]
    box = jnp.stack([d(-1.0, 1.0), d(-1.0, 1.0)]) * v.half[p]
    ang = d(0.0, _TWO_PI)
    disc = v.radius[p] * d() * jnp.stack([jnp.cos(ang), jnp.sin(ang)])
    rel = jnp.where(circ, disc, box)
    along = jnp.arctan2(rel[1], rel[0]) + jnp.where(d.bern(0.5), jnp.pi, 0.0)
    rot = jnp.where(d.bern(params.thruster_align_com_prob), along, d(0.0, _TWO_PI))
    mass = 1.0 / jnp.maximum(v.inverse_mass[p], 1e-12)
    power = mass * params.thruster_power_multiplier * d(0.5, 2.0)
    binding = jnp.minimum(d() * NUM_THRUSTER_BINDINGS, NUM_THRUSTER_BINDINGS - 1).astype(jnp.int32)
    tm = _first_free_mask(level.scene.thruster.active)
    thr = _write(
        level.scene.thruster,
        tm,
        shape_index=p,
        relative_position=rel,
        rotation=rot,
        power=power,
        active=True,
        position=v.position[p] + rotate(rel, v.rotation[p]),
    )
    tb = jnp.where(tm, binding, level.thruster_bindings).astype(jnp.int32)
    out = level.replace(scene=level.scene.replace(thruster=thr), thruster_bindings=tb)
    return _where(ok, out, level), ok


# ----------------------------------------------------------------------------------------------
# whole levels


def _shuffle(u, level: Level) -> Level:
    """Permutes dynamic polygon slots, circles, joints and thrusters (indices remapped).

    ``u``: uniforms, one per slot of each kind (permutations are argsorts of them).
    """
    sc = level.scene
    P, C = sc.polygon.active.shape[0], sc.circle.active.shape[0]
    J, T = sc.joint.active.shape[0], sc.thruster.active.shape[0]
    S = NUM_STATIC_POLYGONS
    o = [0, P - S, P - S + C, P - S + C + J, P - S + C + J + T]
    pp = jnp.concatenate([jnp.arange(S), S + jnp.argsort(u[o[0] : o[1]])]).astype(jnp.int32)
    cp = jnp.argsort(u[o[1] : o[2]]).astype(jnp.int32)
    jp = jnp.argsort(u[o[2] : o[3]]).astype(jnp.int32)
    tp = jnp.argsort(u[o[3] : o[4]]).astype(jnp.int32)
    # new slot j holds old slot perm[j]; an old global index g moves to inverse[g]
    order = jnp.concatenate([pp, P + cp])
    inverse = jnp.zeros(P + C, jnp.int32).at[order].set(jnp.arange(P + C, dtype=jnp.int32))
    take = lambda perm: lambda x: x[perm]  # noqa: E731
    joint = jax.tree.map(take(jp), sc.joint)
    joint = joint.replace(a_index=inverse[joint.a_index], b_index=inverse[joint.b_index])
    thr = jax.tree.map(take(tp), sc.thruster)
    thr = thr.replace(shape_index=inverse[thr.shape_index])
    scene = sc.replace(
        polygon=jax.tree.map(take(pp), sc.polygon),
        circle=jax.tree.map(take(cp), sc.circle),
        joint=joint,
        thruster=thr,
    )
    return level.replace(
        scene=scene,
        polygon_roles=level.polygon_roles[pp],
        circle_roles=level.circle_roles[cp],
        polygon_densities=level.polygon_densities[pp],
        circle_densities=level.circle_densities[cp],
        motor_bindings=level.motor_bindings[jp],
        motor_auto=level.motor_auto[jp],
        thruster_bindings=level.thruster_bindings[tp],
    )


def generate_level(
    key: jax.Array, size: str | EnvSize = "l", params: GeneratorParams = GeneratorParams()
) -> Level:
    """Samples one level (no batch axis) of ``size``; pure JAX, jit- and vmap-able.

    ``size`` and ``params`` are static. Raises :class:`GeneratorError` for a size the generator
    cannot fill (checked eagerly, before tracing).
    """
    size = check_generator_size(size)
    if not isinstance(params, GeneratorParams):
        raise GeneratorError(f"params: expected GeneratorParams, got {type(params).__name__}")
    P, C, J, T = size.num_polygons, size.num_circles, size.num_joints, size.num_thrusters
    small = P + C <= params.small_env_max_shapes
    n_prop = 1 if small else params.num_proposals
    setting = params.physics_setting

    k_main, k_add, k_thr = jax.random.split(key, 3)
    n_extra = P + C - 3 - NUM_STATIC_POLYGONS
    n_shuffle = P - NUM_STATIC_POLYGONS + C + J + T
    d = _Draw(k_main, 6 + 2 * max(n_extra, 0) + 2 * T + n_shuffle)
    level = empty_level(size)
    floor_w = (
        params.floor_prob_normal,
        params.floor_prob_green,
        params.floor_prob_blue,
        params.floor_prob_red,
    )
    floor_role = d.choice(floor_w)
    level = level.replace(polygon_roles=level.polygon_roles.at[0].set(floor_role))

    # The additions, as a table (one loop body keeps the compiled program small):
    # 0-1: green and blue (free shapes; exactly one of them forced dynamic);
    # 2: the forced control's shape: a connected shape on a revolute joint when the control has
    #    a motor (a free shape when none can connect), else a free shape;
    # 3..: connected shape / free shape / nothing.
    first_dynamic = d.bern(0.5) | (floor_role == ROLE_BLUE)
    # 0 motor, 1 thruster, 2 both (custom sizes without joint or thruster slots drop options)
    control = d.choice((float(J > 0), float(T > 0), float(J > 0 and T > 0)))
    w_add = (
        params.add_connected_shape_chance,
        params.add_shape_chance,
        params.add_no_shape_chance,
    )
    extra_kinds = [d.choice(w_add) for _ in range(max(n_extra, 0))]
    kinds = jnp.stack([jnp.int32(1), jnp.int32(1), jnp.where(control != 1, 0, 1)] + extra_kinds)
    n_add = kinds.shape[0]
    force_dyn = jnp.zeros(n_add, bool).at[0].set(first_dynamic).at[1].set(~first_dynamic)
    forced = jnp.arange(n_add) == 2  # revolute joint, fall back to a free shape

    def add(i, lv):
        k = jax.random.fold_in(k_add, i)

        def make(kk, ll):
            kc, kf = jax.random.split(kk)
            lc, okc, pen = _connected_shape(kc, ll, forced[i], params)
            lf, okf, _ = _free_shape(kf, ll, force_dyn[i], params, small)
            use_c = (kinds[i] == 0) & okc
            use_f = (kinds[i] == 1) | ((kinds[i] == 0) & ~okc & forced[i])
            out = _where(use_c, lc, _where(use_f, lf, ll))
            return out, use_c | (use_f & okf), jnp.where(use_c, pen, 0.0)

        return _best_of(make, k, lv, n_prop, setting)[0]

    level = jax.lax.fori_loop(0, n_add, add, level)

    # thrusters: the forced control's (if it has one), then T - 1 with prob. 0.3 each
    want = jnp.stack(
        [control != 0] + [d.bern(params.add_thruster_chance) for _ in range(max(T - 1, 0))]
    )

    def thruster(i, lv):
        lt, _ = _thruster(jax.random.fold_in(k_thr, i), lv, params)
        return _where(want[i], lt, lv)

    if T > 0:
        level = jax.lax.fori_loop(0, T, thruster, level)

    # green <-> blue swap on a grey floor
    swap = (floor_role == ROLE_NEUTRAL) & d.bern(0.5)

    def swapped(r):
        return jnp.where(r == ROLE_GREEN, ROLE_BLUE, jnp.where(r == ROLE_BLUE, ROLE_GREEN, r))

    level = level.replace(
        polygon_roles=jnp.where(swap, swapped(level.polygon_roles), level.polygon_roles),
        circle_roles=jnp.where(swap, swapped(level.circle_roles), level.circle_roles),
    )
    return _shuffle(d.u[d.i : d.i + n_shuffle], level)


def _filtered(key, size: EnvSize, params: GeneratorParams, flt: NoopFilter) -> Level:
    from kinetix.env import EnvConfig, KinetixEnv
    from kinetix.policies import noop_policy
    from kinetix.rollout import first_episode

    config = flt.env_config if flt.env_config is not None else EnvConfig(size=size)
    env = KinetixEnv(config)
    policy = noop_policy(config.action_type)
    keys = jnp.stack([key] + [jax.random.fold_in(key, i) for i in range(1, flt.attempts)])
    levels = jax.vmap(lambda k: generate_level(k, size, params))(keys)
    solved = jax.vmap(
        lambda lv: first_episode(env, policy, lv, key, num_steps=flt.steps)["solved"]
    )(levels)
    i = jnp.where(jnp.all(solved), flt.attempts - 1, jnp.argmax(~solved))
    return jax.tree.map(lambda x: x[i], levels)


@functools.cache
def _compiled(size: EnvSize, params: GeneratorParams, flt: NoopFilter | None):
    if flt is None:
        fn = lambda k: generate_level(k, size, params)  # noqa: E731
    else:
        fn = lambda k: _filtered(k, size, params, flt)  # noqa: E731
    return jax.jit(jax.vmap(fn))


def make_generator(
    size: str | EnvSize = "l",
    params: GeneratorParams = GeneratorParams(),
    noop_filter: NoopFilter | None = None,
):
    """A cached ``jit(vmap(...))``: ``f(keys (B, 2)) -> Level`` batch (leading axis B).

    With ``noop_filter`` levels the no-op policy solves are resampled (see :class:`NoopFilter`).
    """
    size = check_generator_size(size)
    if not isinstance(params, GeneratorParams):
        raise GeneratorError(f"params: expected GeneratorParams, got {type(params).__name__}")
    if noop_filter is not None and not isinstance(noop_filter, NoopFilter):
        raise GeneratorError(
            f"noop_filter: expected NoopFilter or None, got {type(noop_filter).__name__}"
        )
    return _compiled(size, params, noop_filter)


def sample_levels(
    key: jax.Array,
    n: int,
    size: str | EnvSize = "l",
    params: GeneratorParams = GeneratorParams(),
    noop_filter: NoopFilter | None = None,
) -> Level:
    """``n`` levels as a stacked batch: level ``i`` comes from ``jax.random.split(key, n)[i]``."""
    if not (isinstance(n, int) and n >= 1):
        raise GeneratorError(f"n: must be an int >= 1, got {n!r}")
    return make_generator(size, params, noop_filter)(jax.random.split(key, n))
