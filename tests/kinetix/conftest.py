"""Shared fixtures of the kinetix tests: small hand-made S levels and the shared Kinetix levels.

Hand-made levels (all size S, built with the jax2d builders; the arena floor's top is y = 0.4):

* ``success``: blue floor; a green disc (r 0.3) 0.3 m above it falls and lands (+1).
* ``death``: red floor; the same falling green disc (-1); a static blue disc sits up high.
* ``tie``: red floor and a static blue box, the green disc overlaps both at the start.
* ``rest``: grey floor, the green disc rests on it; a static blue disc up high (timeout).
* ``fall``: grey floor, the green disc falls 1 m and rests; a static blue disc to the side.
* ``thrust``: grey floor, the green disc rests on it with an upward thruster (binding 0).
"""

from __future__ import annotations

import pytest
from kinetix_helpers import build_level

import kinetix as kx


@pytest.fixture(scope="session")
def hand_levels() -> dict[str, kx.Level]:
    return {k: build_level(k) for k in ("success", "death", "tie", "rest", "fall", "thrust")}
