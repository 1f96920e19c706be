"""Authoring levels by hand: a few readable lines per level, validated on construction.

Example (a ball with a thruster must rise over a wall to the blue target; the floor kills)::

    from kinetix.authoring import LevelBuilder

    b = LevelBuilder("s", floor="red")
    ball = b.circle((1.0, 1.0), 0.2, role="green")
    b.thruster(ball, angle=90, power=1.5, binding=0)   # pushes the ball up (+y)
    b.rect((4.3, 2.5), 0.4, 0.4, role="blue", static=True)
    level = b.build()

Coordinates are world metres: the arena interior is x in [0, 5], y in [0.4, 5] (the floor's top
is at y = 0.4). Angles are degrees in the authoring API (``angle=90`` is +y). Every ``add``
checks its arguments at once and raises :class:`AuthoringError` naming the field (bad role,
binding out of range, non-convex polygon, more shapes than the size holds...); ``build`` then
runs :func:`kinetix.validate.validate_level` on the finished level.

Shapes are returned as :class:`Shape` handles (kind + rank among the level's shapes of that
kind), so joints and thrusters refer to shapes without knowing global indices, which depend on
the size (polygons come first, then circles).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from kinetix.errors import LevelError, LevelSizeError
from kinetix.level import Level
from kinetix.sizes import (
    NUM_MOTOR_BINDINGS,
    NUM_STATIC_POLYGONS,
    NUM_THRUSTER_BINDINGS,
    EnvSize,
    env_size,
)

__all__ = ["AuthoringError", "LevelBuilder", "Shape", "ROLE_NAMES", "parse_role"]

#: Role names accepted wherever a role is expected (ints 0..3 work too).
ROLE_NAMES = {"grey": 0, "gray": 0, "neutral": 0, "green": 1, "blue": 2, "red": 3}


class AuthoringError(LevelError):
    """A hand-authored level is invalid (the message names the field and the shape)."""


def parse_role(role, what: str = "role") -> int:
    """``"green"`` / ``1`` ... -> the role int (0 grey, 1 green, 2 blue, 3 red)."""
    if isinstance(role, str):
        key = role.strip().lower()
        if key not in ROLE_NAMES:
            raise AuthoringError(
                f"{what}: unknown role {role!r}; expected one of grey, green, blue, red or 0..3"
            )
        return ROLE_NAMES[key]
    if isinstance(role, (int, np.integer)) and not isinstance(role, bool) and 0 <= role <= 3:
        return int(role)
    raise AuthoringError(f"{what}: role must be 0..3 or grey/green/blue/red, got {role!r}")


@dataclasses.dataclass(frozen=True)
class Shape:
    """A handle to a shape added to a :class:`LevelBuilder` (``kind`` + rank within the kind)."""

    kind: str  # "polygon" or "circle"
    rank: int  # order among the builder's shapes of this kind (arena polygons excluded)
    name: str  # for messages, e.g. "circle #0 (green)"

    def __str__(self) -> str:
        return self.name


def _finite(what: str, *values) -> None:
    for v in values:
        a = np.asarray(v, np.float64)
        if not np.all(np.isfinite(a)):
            raise AuthoringError(f"{what}: NaN or infinite value in {a.tolist()}")


def _point(what: str, p) -> tuple[float, float]:
    a = np.asarray(p, np.float64)
    if a.shape != (2,):
        raise AuthoringError(f"{what}: expected an (x, y) point, got {p!r}")
    _finite(what, a)
    return float(a[0]), float(a[1])


def _positive(what: str, v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise AuthoringError(f"{what}: expected a number, got {v!r}") from None
    if not (math.isfinite(f) and f > 0):
        raise AuthoringError(f"{what}: must be > 0, got {v!r}")
    return f


def _nonneg(what: str, v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise AuthoringError(f"{what}: expected a number, got {v!r}") from None
    if not (math.isfinite(f) and f >= 0):
        raise AuthoringError(f"{what}: must be >= 0, got {v!r}")
    return f


def _binding(what: str, b, n: int) -> int:
    if isinstance(b, (int, np.integer)) and not isinstance(b, bool) and 0 <= b < n:
        return int(b)
    raise AuthoringError(f"{what}: binding must be an int in 0..{n - 1}, got {b!r}")


class LevelBuilder:
    """Builds one level of a chosen size (``"s"``, ``"m"``, ``"l"`` or an EnvSize).

    Args:
        size: the level's size; adding more shapes, joints or thrusters than it holds raises.
        floor: role of the floor (grey by default; red makes touching the floor fatal).
        gravity: (gx, gy) in m/s^2.
        name: used in error messages.
    """

    def __init__(self, size="s", *, floor="grey", gravity=(0.0, -9.81), name: str = "level"):
        try:
            self.size: EnvSize = env_size(size)
        except ValueError as e:
            raise AuthoringError(f"size: {e}") from None
        self.name = name
        self.floor_role = parse_role(floor, "floor")
        self.gravity = _point("gravity", gravity)
        self._polygons: list[dict] = []
        self._circles: list[dict] = []
        self._joints: list[dict] = []
        self._thrusters: list[dict] = []

    def floor(self, role) -> None:
        """Sets the floor's role (e.g. ``"red"``: touching the floor ends the episode)."""
        self.floor_role = parse_role(role, "floor")

    # ------------------------------------------------------------------ capacities
    @property
    def max_polygons(self) -> int:
        """Dynamic/static polygons the size holds besides the 4 arena polygons."""
        return self.size.num_polygons - NUM_STATIC_POLYGONS

    def _room(self, what: str, used: int, cap: int):
        if used >= cap:
            raise LevelSizeError(
                f"{self.name}: too many {what} for size {self.size}: it holds {cap} "
                f"{what} (use a larger size or fewer {what})"
            )

    # ------------------------------------------------------------------ shapes
    def _common(self, what, role, density, friction, restitution, static, angle):
        role = parse_role(role, f"{what}.role")
        density = _positive(f"{what}.density", density)
        friction = _nonneg(f"{what}.friction", friction)
        restitution = _nonneg(f"{what}.restitution", restitution)
        if restitution > 1:
            raise AuthoringError(f"{what}.restitution: must be in [0, 1], got {restitution}")
        _finite(f"{what}.angle", angle)
        if not isinstance(static, (bool, np.bool_)):
            raise AuthoringError(f"{what}.static: must be True or False, got {static!r}")
        return dict(
            role=role,
            density=density,
            friction=friction,
            restitution=restitution,
            static=bool(static),
            rotation=math.radians(float(angle)),
        )

    def polygon(
        self,
        position,
        vertices,
        *,
        role="grey",
        density=1.0,
        friction=1.0,
        restitution=0.0,
        static=False,
        angle=0.0,
    ) -> Shape:
        """A convex polygon (3..4 vertices, body frame relative to ``position``, any winding)."""
        from jax2d import InvalidShapeError, validate_polygon

        what = f"polygon #{len(self._polygons)}"
        self._room("polygons", len(self._polygons), self.max_polygons)
        pos = _point(f"{what}.position", position)
        v = np.asarray(vertices, np.float64)
        V = self.size.max_polygon_vertices
        if v.ndim != 2 or v.shape[1] != 2 or not 3 <= v.shape[0] <= V:
            raise AuthoringError(
                f"{what}.vertices: expected 3..{V} (x, y) vertices, got shape {v.shape}"
            )
        try:
            ccw = validate_polygon(v)
        except InvalidShapeError as e:
            raise AuthoringError(f"{what}.vertices: {str(e).split(': ', 1)[-1]}") from None
        spec = self._common(what, role, density, friction, restitution, static, angle)
        spec.update(position=pos, vertices=ccw)
        self._polygons.append(spec)
        return Shape("polygon", len(self._polygons) - 1, f"{what} ({_ROLE_STR[spec['role']]})")

    def rect(self, position, width, height, **kwargs) -> Shape:
        """A ``width`` x ``height`` rectangle centred at ``position`` (``angle`` in degrees)."""
        what = f"polygon #{len(self._polygons)}"
        w = _positive(f"{what}.width", width)
        h = _positive(f"{what}.height", height)
        verts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
        return self.polygon(position, verts, **kwargs)

    def circle(
        self,
        position,
        radius,
        *,
        role="grey",
        density=1.0,
        friction=1.0,
        restitution=0.0,
        static=False,
        angle=0.0,
    ) -> Shape:
        """A disc of ``radius`` centred at ``position``."""
        what = f"circle #{len(self._circles)}"
        self._room("circles", len(self._circles), self.size.num_circles)
        pos = _point(f"{what}.position", position)
        r = _positive(f"{what}.radius", radius)
        spec = self._common(what, role, density, friction, restitution, static, angle)
        spec.update(position=pos, radius=r)
        self._circles.append(spec)
        return Shape("circle", len(self._circles) - 1, f"{what} ({_ROLE_STR[spec['role']]})")

    # ------------------------------------------------------------------ joints, thrusters
    def _check_shape(self, what: str, s) -> Shape:
        if not isinstance(s, Shape):
            raise AuthoringError(f"{what}: expected a shape returned by this builder, got {s!r}")
        n = len(self._polygons) if s.kind == "polygon" else len(self._circles)
        if s.rank >= n:
            raise AuthoringError(f"{what}: {s} does not belong to this builder")
        return s

    def hinge(
        self,
        a: Shape,
        b: Shape,
        anchor,
        *,
        motor: bool = True,
        binding: int = 0,
        speed: float = 1.0,
        power: float = 1.0,
        limits: tuple[float, float] | None = None,
    ) -> int:
        """A revolute joint pinning ``a`` and ``b`` at the world point ``anchor``.

        With ``motor`` the joint is driven by motor action ``binding`` (0..3) at ``speed`` (x 6
        rad/s) and ``power`` (x 900). ``limits`` = (min, max) degrees of ``b``'s rotation
        relative to ``a`` from the start pose. Returns the joint's slot.
        """
        what = f"joint #{len(self._joints)}"
        self._room("joints", len(self._joints), self.size.num_joints)
        self._check_shape(f"{what}.a", a)
        self._check_shape(f"{what}.b", b)
        if a == b:
            raise AuthoringError(f"{what}: a and b are the same shape ({a})")
        spec = dict(
            a=a,
            b=b,
            anchor=_point(f"{what}.anchor", anchor),
            fixed=False,
            motor=bool(motor),
            binding=_binding(f"{what}.binding", binding, NUM_MOTOR_BINDINGS),
            speed=_positive(f"{what}.speed", speed),
            power=_positive(f"{what}.power", power),
            limits=None,
        )
        if limits is not None:
            lo, hi = (float(x) for x in limits)
            _finite(f"{what}.limits", lo, hi)
            if lo > hi:
                raise AuthoringError(f"{what}.limits: min {lo} > max {hi}")
            spec["limits"] = (math.radians(lo), math.radians(hi))
        self._joints.append(spec)
        return len(self._joints) - 1

    def weld(self, a: Shape, b: Shape, anchor=None) -> int:
        """A fixed joint welding ``a`` and ``b`` (at ``anchor``, default: ``b``'s centre)."""
        what = f"joint #{len(self._joints)}"
        self._room("joints", len(self._joints), self.size.num_joints)
        self._check_shape(f"{what}.a", a)
        self._check_shape(f"{what}.b", b)
        if a == b:
            raise AuthoringError(f"{what}: a and b are the same shape ({a})")
        if anchor is None:
            anchor = self._spec(b)["position"]
        self._joints.append(
            dict(a=a, b=b, anchor=_point(f"{what}.anchor", anchor), fixed=True, binding=0)
        )
        return len(self._joints) - 1

    def thruster(
        self, shape: Shape, *, angle: float = 90.0, power: float = 1.0, binding: int = 0, at=(0, 0)
    ) -> int:
        """A thruster on ``shape`` pushing towards ``angle`` degrees (shape frame; 90 = up at
        the start pose), force ``power`` x 10 N, driven by thruster action ``binding`` (0..1);
        ``at`` is its offset from the shape's centre (shape frame). Returns the slot."""
        what = f"thruster #{len(self._thrusters)}"
        self._room("thrusters", len(self._thrusters), self.size.num_thrusters)
        self._check_shape(f"{what}.shape", shape)
        _finite(f"{what}.angle", angle)
        self._thrusters.append(
            dict(
                shape=shape,
                rotation=math.radians(float(angle)),
                power=_positive(f"{what}.power", power),
                binding=_binding(f"{what}.binding", binding, NUM_THRUSTER_BINDINGS),
                at=_point(f"{what}.at", at),
            )
        )
        return len(self._thrusters) - 1

    def _spec(self, s: Shape) -> dict:
        return (self._polygons if s.kind == "polygon" else self._circles)[s.rank]

    # ------------------------------------------------------------------ build
    def counts(self) -> dict[str, int]:
        """Entities used so far (polygons exclude the arena)."""
        return {
            "polygons": len(self._polygons),
            "circles": len(self._circles),
            "joints": len(self._joints),
            "thrusters": len(self._thrusters),
        }

    def build(self, size=None) -> Level:
        """The finished, validated level (at the builder's size, or a larger ``size``)."""
        import jax2d
        from kinetix.level import empty_level, pad_level
        from kinetix.validate import validate_level

        sc_level = empty_level(self.size, gravity=self.gravity)
        scene = sc_level.scene
        index: dict[tuple[str, int], int] = {}
        roles: dict[int, int] = {0: self.floor_role}
        dens: dict[int, float] = {}
        for k, p in enumerate(self._polygons):
            scene, i = jax2d.add_polygon(
                scene,
                p["position"],
                p["vertices"],
                rotation=p["rotation"],
                density=p["density"],
                friction=p["friction"],
                restitution=p["restitution"],
                static=p["static"],
            )
            index[("polygon", k)] = int(i)
        for k, c in enumerate(self._circles):
            scene, i = jax2d.add_circle(
                scene,
                c["position"],
                c["radius"],
                rotation=c["rotation"],
                density=c["density"],
                friction=c["friction"],
                restitution=c["restitution"],
                static=c["static"],
            )
            index[("circle", k)] = int(i)
        for (kind, k), i in index.items():
            spec = (self._polygons if kind == "polygon" else self._circles)[k]
            roles[i] = spec["role"]
            dens[i] = spec["density"]
        motor_bindings = np.zeros(self.size.num_joints, np.int32)
        for j in self._joints:
            a, b = index[(j["a"].kind, j["a"].rank)], index[(j["b"].kind, j["b"].rank)]
            if j["fixed"]:
                scene, slot = jax2d.add_fixed_joint(scene, a, b, j["anchor"])
            else:
                lo, hi = j["limits"] if j["limits"] is not None else (-math.pi, math.pi)
                scene, slot = jax2d.add_revolute_joint(
                    scene,
                    a,
                    b,
                    j["anchor"],
                    motor_on=j["motor"],
                    motor_speed=j["speed"],
                    motor_power=j["power"],
                    has_limits=j["limits"] is not None,
                    min_angle=lo,
                    max_angle=hi,
                )
            motor_bindings[int(slot)] = j["binding"]
        thruster_bindings = np.zeros(self.size.num_thrusters, np.int32)
        for t in self._thrusters:
            i = index[(t["shape"].kind, t["shape"].rank)]
            scene, slot = jax2d.add_thruster(
                scene, i, t["at"], rotation=t["rotation"], power=t["power"]
            )
            thruster_bindings[int(slot)] = t["binding"]
        import jax.numpy as jnp

        P = self.size.num_polygons
        pr = np.zeros(P, np.int32)
        cr = np.zeros(self.size.num_circles, np.int32)
        pd = np.ones(P, np.float32)
        cd = np.ones(self.size.num_circles, np.float32)
        for i, r in roles.items():
            if i < P:
                pr[i] = r
            else:
                cr[i - P] = r
        for i, d in dens.items():
            if i < P:
                pd[i] = d
            else:
                cd[i - P] = d
        level = sc_level.replace(
            scene=scene,
            polygon_roles=jnp.asarray(pr),
            circle_roles=jnp.asarray(cr),
            polygon_densities=jnp.asarray(pd),
            circle_densities=jnp.asarray(cd),
            motor_bindings=jnp.asarray(motor_bindings),
            thruster_bindings=jnp.asarray(thruster_bindings),
        )
        try:
            validate_level(level)
        except LevelError as e:
            raise AuthoringError(f"{self.name}: {e}") from None
        if size is not None:
            level = pad_level(level, size)
        return level


_ROLE_STR = {0: "grey", 1: "green", 2: "blue", 3: "red"}
