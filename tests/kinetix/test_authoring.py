"""The authoring API (kinetix.authoring) and witness checks: clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from kinetix.authoring import AuthoringError, LevelBuilder
from kinetix.errors import LevelError, LevelSizeError
from kinetix.planner import WitnessError, check_witness, pad_witness


def _small(size="s"):
    b = LevelBuilder(size, floor="red")
    ball = b.circle((1.0, 1.0), 0.2, role="green")
    b.thruster(ball, angle=90, power=0.3, binding=1)
    b.rect((4.3, 2.5), 0.4, 0.4, role="blue", static=True)
    return b


def test_builds_a_valid_level():
    lv = _small().build()
    assert lv.size.name == "s"
    assert int(lv.polygon_roles[0]) == 3  # red floor
    assert int(lv.polygon_roles[4]) == 2
    assert int(lv.circle_roles[0]) == 1
    assert int(lv.thruster_bindings[0]) == 1
    assert float(lv.scene.polygon.inverse_mass[4]) == 0.0  # static


def test_build_into_a_larger_size_pads():
    lv = _small().build(size="l")
    assert lv.size.name == "l"
    assert int(lv.scene.thruster.shape_index[0]) == 12  # circle 0 after 12 polygons


def test_hinge_and_weld_bindings_and_limits():
    b = LevelBuilder("m")
    base = b.circle((2.5, 2.5), 0.1, static=True)
    arm = b.rect((3.0, 2.5), 1.0, 0.1, role="green")
    tip = b.circle((3.5, 2.5), 0.1)
    j = b.hinge(base, arm, (2.5, 2.5), binding=3, speed=0.5, power=2.0, limits=(-45, 30))
    b.weld(arm, tip)
    b.circle((1.0, 1.0), 0.2, role="blue", static=True)
    lv = b.build()
    assert int(lv.motor_bindings[j]) == 3
    assert bool(lv.scene.joint.has_limits[j])
    assert np.isclose(float(lv.scene.joint.min_angle[j]), np.radians(-45))
    assert bool(lv.scene.joint.is_fixed[1])


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda b: b.circle((1, 1), 0.2, role="purple"), "circle #0.role: unknown role"),
        (lambda b: b.circle((1, 1), 0.2, role=7), "circle #0.role: role must be 0..3"),
        (lambda b: b.circle((1, 1), -0.2), "circle #0.radius: must be > 0"),
        (lambda b: b.rect((1, 1), 0.2, 0.2, density=0), "polygon #0.density: must be > 0"),
        (lambda b: b.rect((1, np.nan), 0.2, 0.2), "polygon #0.position: NaN"),
        (
            lambda b: b.polygon((1, 1), [(0, 0), (1, 0), (0.2, 0.2), (0, 1)]),
            "polygon #0.vertices: not strictly convex",
        ),
        (lambda b: b.polygon((1, 1), [(0, 0), (1, 0)]), "polygon #0.vertices: expected 3..4"),
        (lambda b: LevelBuilder("s", floor="pink"), "floor: unknown role"),
    ],
)
def test_bad_shapes_name_the_field(make, match):
    with pytest.raises(AuthoringError, match=match):
        make(LevelBuilder("s"))


def test_bad_bindings():
    b = LevelBuilder("m")
    a = b.circle((1, 1), 0.2, role="green")
    c = b.rect((2, 1), 0.2, 0.2)
    with pytest.raises(AuthoringError, match=r"joint #0.binding: binding must be an int in 0..3"):
        b.hinge(a, c, (1.5, 1), binding=4)
    with pytest.raises(
        AuthoringError, match=r"thruster #0.binding: binding must be an int in 0..1"
    ):
        b.thruster(a, binding=2)
    with pytest.raises(AuthoringError, match="same shape"):
        b.hinge(a, a, (1, 1))
    with pytest.raises(AuthoringError, match="expected a shape"):
        b.thruster(3)


def test_too_many_shapes_for_the_size():
    b = LevelBuilder("s")
    b.rect((1, 1), 0.2, 0.2)
    with pytest.raises(LevelSizeError, match="too many polygons for size s"):
        b.rect((2, 1), 0.2, 0.2)
    b.circle((1, 2), 0.1)
    b.circle((2, 2), 0.1)
    with pytest.raises(LevelSizeError, match="too many circles"):
        b.circle((3, 2), 0.1)


def test_missing_goal_is_a_validation_error():
    b = LevelBuilder("s")
    b.circle((1, 1), 0.2, role="green")
    with pytest.raises(LevelError, match="no active blue shape"):
        b.build()


def test_witness_checks():
    ok = np.zeros((10, 6), np.int8)
    assert check_witness(ok).dtype == np.int8
    assert pad_witness(ok).shape == (256, 6)
    with pytest.raises(WitnessError, match="length must be 1..256"):
        check_witness(np.zeros((257, 6), np.int8))
    with pytest.raises(WitnessError, match=r"shape \(T, 6\)"):
        check_witness(np.zeros((10, 5), np.int8))
    with pytest.raises(WitnessError, match="integer MultiDiscrete"):
        check_witness(np.zeros((10, 6), np.float32))  # continuous actions
    with pytest.raises(WitnessError, match=r"shape \(T, 6\)"):
        check_witness(np.zeros((10,), np.int32))  # Discrete actions
    bad = ok.copy()
    bad[3, 4] = 2  # thrusters take 0..1
    with pytest.raises(WitnessError, match=r"witness\[3\]\[4\]"):
        check_witness(bad)
