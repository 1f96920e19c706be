"""Joints and motors: pendulum, motors, welds, limits, no collisions between jointed bodies."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jax2d

DT = 1.0 / 60.0
G = 9.81
ZERO_G = jnp.zeros(2, jnp.float32)


def _actions(size, joint=None, thruster=None):
    a = np.zeros(size.num_joints + size.num_thrusters, np.float32)
    for i, v in (joint or {}).items():
        a[i] = v
    for i, v in (thruster or {}).items():
        a[size.num_joints + i] = v
    return a


def _zero_crossings(t, x):
    """Times where x changes sign, linearly interpolated."""
    s = np.sign(x)
    idx = np.nonzero(s[:-1] * s[1:] < 0)[0]
    return t[idx] - x[idx] * (t[idx + 1] - t[idx]) / (x[idx + 1] - x[idx])


# ---------------------------------------------------------------------------------------------
# Pendulum


SOLVERS = pytest.mark.parametrize("solver", ["parallel", "sequential"])


@SOLVERS
@pytest.mark.parametrize("bob", ["circle", "box"])
def test_pendulum_period_and_rod_length(sim, tools, bob, solver):
    size = tools.SIZE
    L, theta0 = 1.0, 0.1
    pivot = np.array([0.0, 3.0])
    scene = jax2d.Scene.empty(size)
    scene, anchor = jax2d.add_circle(scene, tuple(pivot), 0.05, static=True)
    start = pivot + L * np.array([math.sin(theta0), -math.cos(theta0)])
    if bob == "circle":
        scene, b = jax2d.add_circle(scene, tuple(start), 0.1)
        slot, body = int(b) - size.num_polygons, scene.circle
    else:
        scene, b = jax2d.add_rectangle(scene, tuple(start), 0.2, 0.15, rotation=theta0)
        slot, body = int(b), scene.polygon
    scene, _ = jax2d.add_revolute_joint(scene, int(anchor), int(b), anchor=tuple(pivot))
    m = 1.0 / float(body.inverse_mass[slot])
    inertia = 1.0 / float(body.inverse_inertia[slot])
    # Physical pendulum: T = 2 pi sqrt(L / g) sqrt(1 + I / (m L^2)), times the finite-amplitude
    # correction 1 + theta0^2 / 16 (0.06 %).
    expected = (
        2 * math.pi * math.sqrt(L / G) * math.sqrt(1 + inertia / (m * L * L)) * (1 + theta0**2 / 16)
    )
    n = int(10.6 * expected / DT)
    traj = sim(scene, n, config=tools.CONFIGS[solver])
    pos = (traj.circle if bob == "circle" else traj.polygon)(slot)[0]
    d = pos - pivot
    angle = np.arctan2(d[:, 0], -d[:, 1])
    crossings = _zero_crossings(np.arange(n + 1) * DT, angle)
    assert crossings.size >= 21
    period = (crossings[20] - crossings[0]) / 10
    assert period == pytest.approx(expected, rel=0.01)
    length = np.linalg.norm(d, axis=1)
    assert np.abs(length - L).max() / L < 0.005
    # Small-angle swing: the amplitude neither grows nor collapses.
    late = np.abs(angle[-int(2 * expected / DT) :]).max()
    assert 0.8 * theta0 < late < 1.02 * theta0


# ---------------------------------------------------------------------------------------------
# Motors


@pytest.mark.parametrize(("speed", "action"), [(1.0, 0.5), (2.0, -0.75)])
def test_motor_reaches_target_speed_against_static_base(sim, tools, speed, action):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size)
    scene, base = jax2d.add_rectangle(scene, (0.0, 0.0), 0.2, 0.2, static=True)
    scene, wheel = jax2d.add_circle(scene, (0.0, 0.0), 0.3)
    scene, j = jax2d.add_revolute_joint(
        scene, int(base), int(wheel), anchor=(0.0, 0.0), motor_on=True, motor_speed=speed
    )
    traj = sim(scene, 60, actions=_actions(size, {int(j): action}))
    pos, _, _, w = traj.circle(0)
    target = speed * action * 6.0  # base motor speed 6 rad/s
    np.testing.assert_allclose(w[-30:], target, rtol=0.01)
    assert np.abs(pos - pos[0]).max() < 1e-3  # the pin holds against gravity


@SOLVERS
def test_motor_between_free_bodies_conserves_angular_momentum(sim, tools, solver):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    scene, a = jax2d.add_circle(scene, (0.0, 0.0), 0.3)
    scene, b = jax2d.add_rectangle(scene, (0.0, 0.0), 0.6, 0.2, density=2.0)
    scene, j = jax2d.add_revolute_joint(scene, int(a), int(b), anchor=(0.0, 0.0), motor_on=True)
    ia = 1.0 / float(scene.circle.inverse_inertia[0])
    ib = 1.0 / float(scene.polygon.inverse_inertia[int(b)])
    traj = sim(scene, 60, actions=_actions(size, {int(j): 1.0}), config=tools.CONFIGS[solver])
    wa = traj.circle(0)[3]
    wb = traj.polygon(int(b))[3]
    np.testing.assert_allclose(wb[-20:] - wa[-20:], 6.0, rtol=0.01)
    np.testing.assert_allclose(ia * wa + ib * wb, 0.0, atol=1e-4 * ib * 6.0)
    assert abs(wb[-1]) > 1.0  # both really spin (opposite ways)
    assert wa[-1] * wb[-1] < 0


def test_motor_off_or_zero_action_does_nothing(sim, tools):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    scene, base = jax2d.add_rectangle(scene, (0.0, 0.0), 0.2, 0.2, static=True)
    scene, wheel = jax2d.add_circle(scene, (0.0, 0.0), 0.3, angular_velocity=1.0)
    scene, j0 = jax2d.add_revolute_joint(
        scene, int(base), int(wheel), anchor=(0.0, 0.0), motor_on=False
    )
    traj = sim(scene, 30, actions=_actions(size, {int(j0): 1.0}))
    np.testing.assert_allclose(traj.circle(0)[3], 1.0, atol=1e-4)  # free spin, no motor


# ---------------------------------------------------------------------------------------------
# Fixed joints


@SOLVERS
def test_fixed_joint_holds_cantilever(sim, tools, solver):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size)
    scene, wall = jax2d.add_rectangle(scene, (0.0, 0.0), 0.2, 0.2, static=True)
    scene, beam = jax2d.add_rectangle(scene, (0.6, 0.0), 1.0, 0.1, density=5.0)
    scene, tip = jax2d.add_circle(scene, (1.1, 0.0), 0.1, density=5.0)
    scene, _ = jax2d.add_fixed_joint(scene, int(wall), int(beam), anchor=(0.1, 0.0))
    scene, _ = jax2d.add_fixed_joint(scene, int(beam), int(tip), anchor=(1.1, 0.0))
    traj = sim(scene, 120, config=tools.CONFIGS[solver])
    _, _, rot, _ = traj.polygon(int(beam))
    tip_pos = traj.circle(0)[0]
    assert np.abs(rot).max() < 0.02
    assert np.abs(tip_pos[:, 1]).max() < 0.03  # a 1 m lever: sag under 3 cm
    assert np.abs(tip_pos[:, 0] - 1.1).max() < 0.01
    # Control: with a revolute joint instead the same beam falls.
    free = jax2d.Scene.empty(size)
    free, wall = jax2d.add_rectangle(free, (0.0, 0.0), 0.2, 0.2, static=True)
    free, beam = jax2d.add_rectangle(free, (0.6, 0.0), 1.0, 0.1, density=5.0)
    free, _ = jax2d.add_revolute_joint(free, int(wall), int(beam), anchor=(0.1, 0.0))
    assert traj.polygon(int(beam))[2][-1] > -0.02
    assert sim(free, 30, config=tools.CONFIGS[solver]).polygon(int(beam))[2][-1] < -0.3


@SOLVERS
def test_fixed_joint_keeps_free_bodies_rigid(sim, tools, solver):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    scene, a = jax2d.add_rectangle(scene, (0.0, 0.0), 0.5, 0.5, angular_velocity=3.0)
    scene, b = jax2d.add_rectangle(scene, (0.5, 0.0), 0.5, 0.5, rotation=0.2, density=2.0)
    scene, _ = jax2d.add_fixed_joint(scene, int(a), int(b), anchor=(0.25, 0.0))
    ma = 1.0 / float(scene.polygon.inverse_mass[0])
    mb = 1.0 / float(scene.polygon.inverse_mass[1])
    traj = sim(scene, 120, config=tools.CONFIGS[solver])
    pa, va, ra, wa = traj.polygon(0)
    pb, vb, rb, wb = traj.polygon(1)
    rel = rb - ra
    assert np.abs(rel[30:] - 0.2).max() < 0.02  # the weld keeps the reference angle
    dist = np.linalg.norm(pb - pa, axis=1)
    assert np.abs(dist[30:] - 0.5).max() < 0.01
    np.testing.assert_allclose(wa[-10:], wb[-10:], atol=0.01)  # one rigid body
    # ... spinning at (angular momentum of A alone) / (inertia of the welded pair).
    ia = 1.0 / float(scene.polygon.inverse_inertia[0])
    ib = 1.0 / float(scene.polygon.inverse_inertia[1])
    com = (ma * np.array([0.0, 0.0]) + mb * np.array([0.5, 0.0])) / (ma + mb)
    i_pair = (
        ia + ib + ma * com @ com + mb * (np.array([0.5, 0.0]) - com) @ (np.array([0.5, 0.0]) - com)
    )
    assert wa[-1] == pytest.approx(ia * 3.0 / i_pair, rel=0.03)
    # Internal impulses are equal and opposite: linear momentum is conserved exactly.
    np.testing.assert_allclose(ma * va + mb * vb, 0.0, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Revolute limits


@SOLVERS
@pytest.mark.parametrize("limited", [True, False])
def test_revolute_limit_holds_against_gravity(sim, tools, limited, solver):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size)
    scene, base = jax2d.add_rectangle(scene, (0.0, 0.0), 0.1, 0.1, static=True)
    scene, bar = jax2d.add_rectangle(scene, (0.5, 0.0), 1.0, 0.1)
    scene, _ = jax2d.add_revolute_joint(
        scene,
        int(base),
        int(bar),
        anchor=(0.0, 0.0),
        has_limits=limited,
        min_angle=-0.3,
        max_angle=0.3,
    )
    traj = sim(scene, 120, config=tools.CONFIGS[solver])
    rot = traj.polygon(int(bar))[2]
    if limited:
        assert rot.min() > -0.3 - 0.06  # at most a step of overshoot
        np.testing.assert_allclose(rot[-30:], -0.3, atol=0.03)
        pivot_err = np.linalg.norm(
            traj.polygon(int(bar))[0] - 0.5 * np.stack([np.cos(rot), np.sin(rot)], axis=1),
            axis=1,
        )
        assert pivot_err.max() < 0.01
    else:  # control: free, the bar swings far past the limit
        assert rot.min() < -1.0


@SOLVERS
def test_motor_stops_at_limit(sim, tools, solver):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    scene, base = jax2d.add_rectangle(scene, (0.0, 0.0), 0.1, 0.1, static=True)
    scene, bar = jax2d.add_rectangle(scene, (0.5, 0.0), 1.0, 0.1)
    scene, j = jax2d.add_revolute_joint(
        scene,
        int(base),
        int(bar),
        anchor=(0.0, 0.0),
        motor_on=True,
        has_limits=True,
        min_angle=-0.5,
        max_angle=0.5,
    )
    traj = sim(scene, 90, actions=_actions(size, {int(j): 1.0}), config=tools.CONFIGS[solver])
    rot = traj.polygon(int(bar))[2]
    assert rot.max() < 0.5 + 0.06
    np.testing.assert_allclose(rot[-20:], 0.5, atol=0.06)
    assert np.abs(traj.polygon(int(bar))[3][-20:]).max() < 0.5


# ---------------------------------------------------------------------------------------------
# Jointed bodies never collide


def _overlapping_boxes(size, joined):
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    scene, a = jax2d.add_rectangle(scene, (0.0, 0.0), 0.5, 0.5)
    scene, b = jax2d.add_rectangle(scene, (0.25, 0.1), 0.5, 0.5)
    if joined:
        scene, _ = jax2d.add_revolute_joint(scene, int(a), int(b), anchor=(0.125, 0.05))
    return scene


@SOLVERS
@pytest.mark.parametrize("joined", [True, False])
def test_jointed_overlapping_boxes_do_not_push_apart(sim, tools, joined, solver):
    traj = sim(_overlapping_boxes(tools.SIZE, joined), 60, config=tools.CONFIGS[solver])
    pa, pb = traj.polygon(0)[0], traj.polygon(1)[0]
    gap = np.linalg.norm(pb - pa, axis=1)
    assert traj.touching[0, 0]  # they do overlap (pair (0, 1) is pair slot 0)
    if joined:
        assert np.abs(pa - pa[0]).max() < 1e-5
        assert np.abs(pb - pb[0]).max() < 1e-5
        assert np.abs(traj.states.polygon.velocity[:, :2]).max() < 1e-5
    else:  # control: unjointed, the same overlap is resolved
        assert gap[-1] - gap[0] > 0.05


def test_chain_of_joints_disables_collision_transitively(sim, tools):
    # A - B - C jointed in a chain; A and C overlap but are connected through B.
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    scene, a = jax2d.add_rectangle(scene, (0.0, 0.0), 0.5, 0.5)
    scene, b = jax2d.add_circle(scene, (0.1, 1.0), 0.2)
    scene, c = jax2d.add_rectangle(scene, (0.2, 0.0), 0.5, 0.5)
    scene, _ = jax2d.add_revolute_joint(scene, int(a), int(b), anchor=(0.0, 0.6))
    scene, _ = jax2d.add_revolute_joint(scene, int(b), int(c), anchor=(0.2, 0.6))
    traj = sim(scene, 60)
    for slot in (0, 1):
        pos = traj.polygon(slot)[0]
        assert np.abs(pos - pos[0]).max() < 1e-5
    # ... while a fourth, unjointed body overlapping C is pushed out.
    scene2, d = jax2d.add_circle(scene, (0.45, 0.0), 0.2)
    traj2 = sim(scene2, 60)
    d_slot = int(d) - size.num_polygons
    assert traj2.circle(d_slot)[0][-1, 0] - 0.45 > 0.02
