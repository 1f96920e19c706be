"""Helpers the kinetix tests import by name (a module name no other test folder uses).

``shared_level_path``: the shared Kinetix levels. ``build_level``: hand-made levels (all size S,
built with the jax2d builders; the arena floor's top is y = 0.4):

* ``success``: blue floor; a green disc (r 0.3) 0.3 m above it falls and lands (+1).
* ``death``: red floor; the same falling green disc (-1); a static blue disc sits up high.
* ``tie``: red floor and a static blue box, the green disc overlaps both at the start.
* ``rest``: grey floor, the green disc rests on it; a static blue disc up high (timeout).
* ``fall``: grey floor, the green disc falls 1 m and rests; a static blue disc to the side.
* ``thrust``: grey floor, the green disc rests on it with an upward thruster (binding 0).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import jax2d
import kinetix as kx

SHARED_LEVELS = os.environ.get(
    "KINETIX_SHARED_LEVELS",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "kinetix-levels"),
)


def shared_level_path(name: str) -> str:
    """Path of a shared Kinetix level (``"s/h0_weak_thrust"``); skips the test if missing."""
    path = os.path.join(SHARED_LEVELS, name + ".json")
    if not os.path.isfile(path):
        pytest.skip(f"shared Kinetix level {name} not available ({SHARED_LEVELS})")
    return path


def build_level(kind: str) -> kx.Level:
    lv = kx.empty_level("s")
    sc = lv.scene
    floor_role = {"success": 2, "death": 3, "tie": 3}.get(kind, 0)
    if kind in ("success", "death"):
        sc, green = jax2d.add_circle(sc, (2.5, 1.0), 0.3)
    elif kind == "tie":
        sc, green = jax2d.add_circle(sc, (2.5, 0.6), 0.3)
    elif kind in ("rest", "thrust"):
        sc, green = jax2d.add_circle(sc, (1.0, 0.7), 0.3)
    elif kind == "fall":
        sc, green = jax2d.add_circle(sc, (1.0, 1.7), 0.3)
    else:
        raise ValueError(kind)
    if kind == "tie":
        sc, blue = jax2d.add_rectangle(sc, (2.9, 0.7), 0.4, 0.4, static=True)
    elif kind == "success":
        blue = 0
    else:
        sc, blue = jax2d.add_circle(sc, (4.0, 3.5), 0.2, static=True)
    if kind == "thrust":
        sc, _ = jax2d.add_thruster(sc, int(green), rotation=np.pi / 2, power=0.5)
    lv = lv.replace(scene=sc)
    lv = kx.set_role(lv, 0, floor_role)
    lv = kx.set_role(lv, int(green), kx.ROLE_GREEN)
    lv = kx.set_role(lv, int(blue), kx.ROLE_BLUE)
    return kx.validate_level(lv)
