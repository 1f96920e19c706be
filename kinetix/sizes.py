"""Environment sizes: the fixed entity capacities of a Kinetix environment.

Kinetix compiles one program per size. Polygon counts include the 4 static arena polygons
(floor, left wall, right wall, ceiling in slots 0-3):

====  ========  =======  ======  =========
size  polygons  circles  joints  thrusters
====  ========  =======  ======  =========
S     5         2        1       1
M     6         3        2       2
L     12        4        6       2
====  ========  =======  ======  =========

Any other capacities make a *custom* size. The action space does not depend on the size: there are
always :data:`NUM_MOTOR_BINDINGS` motor and :data:`NUM_THRUSTER_BINDINGS` thruster bindings.
"""

from __future__ import annotations

import dataclasses

from jax2d import SceneSize
from kinetix.errors import EnvConfigError

__all__ = [
    "EnvSize",
    "SIZE_S",
    "SIZE_M",
    "SIZE_L",
    "SIZES",
    "env_size",
    "NUM_MOTOR_BINDINGS",
    "NUM_THRUSTER_BINDINGS",
    "NUM_ROLES",
    "NUM_STATIC_POLYGONS",
]

NUM_MOTOR_BINDINGS = 4
NUM_THRUSTER_BINDINGS = 2
NUM_ROLES = 4  # 0 grey (neutral), 1 green, 2 blue (goal), 3 red (death)
NUM_STATIC_POLYGONS = 4  # arena polygons in slots 0..3


@dataclasses.dataclass(frozen=True)
class EnvSize:
    """Entity capacities of an environment (static; hashable).

    Attributes:
        num_polygons: polygon slots, the 4 arena polygons included.
        num_circles: circle slots.
        num_joints: joint slots.
        num_thrusters: thruster slots.
        max_polygon_vertices: vertex slots per polygon (Kinetix: 4).
    """

    num_polygons: int
    num_circles: int
    num_joints: int
    num_thrusters: int
    max_polygon_vertices: int = 4

    def __post_init__(self):
        for f in ("num_polygons", "num_circles", "num_joints", "num_thrusters"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise EnvConfigError(f"EnvSize.{f} must be an int >= 0, got {v!r}")
        if self.max_polygon_vertices not in (3, 4):
            raise EnvConfigError(
                f"EnvSize.max_polygon_vertices must be 3 or 4, got {self.max_polygon_vertices!r}"
            )

    @property
    def name(self) -> str:
        """``"s"``, ``"m"`` or ``"l"`` for the standard sizes, else ``"custom"``."""
        for k, v in SIZES.items():
            if v == self:
                return k
        return "custom"

    @property
    def num_shapes(self) -> int:
        """N = P + C (global shape indices run over polygons, then circles)."""
        return self.num_polygons + self.num_circles

    @property
    def scene_size(self) -> SceneSize:
        """The matching :class:`jax2d.SceneSize`."""
        return SceneSize(
            num_polygons=self.num_polygons,
            num_circles=self.num_circles,
            num_joints=self.num_joints,
            num_thrusters=self.num_thrusters,
            max_polygon_vertices=self.max_polygon_vertices,
        )

    def fits_in(self, other: EnvSize) -> bool:
        """True when a level of this size can be padded into ``other`` (every capacity <=)."""
        return (
            self.num_polygons <= other.num_polygons
            and self.num_circles <= other.num_circles
            and self.num_joints <= other.num_joints
            and self.num_thrusters <= other.num_thrusters
            and self.max_polygon_vertices == other.max_polygon_vertices
        )

    def union(self, other: EnvSize) -> EnvSize:
        """The smallest size both fit in (element-wise maximum)."""
        if self.max_polygon_vertices != other.max_polygon_vertices:
            raise EnvConfigError("sizes with different max_polygon_vertices cannot be combined")
        return EnvSize(
            max(self.num_polygons, other.num_polygons),
            max(self.num_circles, other.num_circles),
            max(self.num_joints, other.num_joints),
            max(self.num_thrusters, other.num_thrusters),
            self.max_polygon_vertices,
        )

    @staticmethod
    def from_scene_size(size: SceneSize) -> EnvSize:
        return EnvSize(
            size.num_polygons,
            size.num_circles,
            size.num_joints,
            size.num_thrusters,
            size.max_polygon_vertices,
        )

    def __str__(self) -> str:
        dims = f"{self.num_polygons}/{self.num_circles}/{self.num_joints}/{self.num_thrusters}"
        return f"{self.name} ({dims})"


SIZE_S = EnvSize(5, 2, 1, 1)
SIZE_M = EnvSize(6, 3, 2, 2)
SIZE_L = EnvSize(12, 4, 6, 2)
SIZES: dict[str, EnvSize] = {"s": SIZE_S, "m": SIZE_M, "l": SIZE_L}


def env_size(size: str | EnvSize) -> EnvSize:
    """Returns the :class:`EnvSize` called ``size`` (``"s"``, ``"m"``, ``"l"``) or ``size``."""
    if isinstance(size, EnvSize):
        return size
    if isinstance(size, str) and size.lower() in SIZES:
        return SIZES[size.lower()]
    raise EnvConfigError(f"unknown env size {size!r}; expected one of s, m, l or an EnvSize")
