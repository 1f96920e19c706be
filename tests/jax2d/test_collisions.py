"""Impacts: head-on collisions, a ball bouncing on the floor, the overlap report."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jax2d

DT = 1.0 / 60.0
G = 9.81
R = 0.25


def _head_on(size, m_ratio, u, e_a, e_b, gap):
    """Two discs of radius R on the x axis, A moving at u towards B at rest, zero gravity.

    ``gap`` is the initial surface distance; masses m_B / m_A = m_ratio via density.
    """
    scene = jax2d.Scene.empty(size).replace(gravity=jnp.zeros(2, jnp.float32))
    scene, _ = jax2d.add_circle(scene, (0.0, 1.0), R, velocity=(u, 0.0), restitution=e_a)
    scene, _ = jax2d.add_circle(scene, (2 * R + gap, 1.0), R, density=m_ratio, restitution=e_b)
    m_a = 1.0 / float(scene.circle.inverse_mass[0])
    m_b = 1.0 / float(scene.circle.inverse_mass[1])
    return scene, m_a, m_b


# The gap closes at u dt per step; 0.495 m at 2 m/s leaves 5 mm of overlap at first contact
# (below the 1 cm slop), so the position bias plays no part and the impulse is pure restitution.
GAP = 0.5 - 0.005


@pytest.mark.parametrize("solver", ["parallel", "sequential"])
def test_elastic_head_on_conserves_momentum_and_energy(sim, tools, solver):
    u = 2.0
    scene, m_a, m_b = _head_on(tools.SIZE, 3.0, u, 1.0, 1.0, GAP)
    assert m_b / m_a == pytest.approx(3.0, rel=1e-5)
    traj = sim(scene, 40, config=tools.CONFIGS[solver])
    (_, va, _, wa), (_, vb, _, wb) = traj.circle(0)[:4], traj.circle(1)[:4]
    va_end, vb_end = va[-1], vb[-1]
    # Textbook elastic result: ((m1 - m2) / (m1 + m2) u, 2 m1 / (m1 + m2) u) = (-1, 1).
    np.testing.assert_allclose(va_end, [(m_a - m_b) / (m_a + m_b) * u, 0.0], atol=5e-3)
    np.testing.assert_allclose(vb_end, [2 * m_a / (m_a + m_b) * u, 0.0], atol=5e-3)
    # Momentum at every step (impulses are equal and opposite).
    p = m_a * va + m_b * vb
    np.testing.assert_allclose(p, np.tile([m_a * u, 0.0], (41, 1)), rtol=1e-5, atol=1e-6)
    ke0 = 0.5 * m_a * u * u
    ke1 = 0.5 * m_a * va_end @ va_end + 0.5 * m_b * vb_end @ vb_end
    assert ke1 / ke0 == pytest.approx(1.0, abs=0.01)
    # A central impact spins nothing; the pair touched for the impact step(s) only.
    np.testing.assert_allclose(wa, 0.0, atol=1e-6)
    np.testing.assert_allclose(wb, 0.0, atol=1e-6)
    assert 1 <= traj.touching.sum() <= 2


def test_partially_elastic_head_on(sim, tools):
    # Equal masses, e = min(0.5, 0.8) = 0.5: v = ((1 - e) u / 2, (1 + e) u / 2) = (0.5, 1.5).
    # (The product rule would give e = 0.4 -> (0.6, 1.4); the mean 0.65 -> (0.35, 1.65).)
    u, e = 2.0, 0.5
    scene, m_a, m_b = _head_on(tools.SIZE, 1.0, u, 0.5, 0.8, GAP)
    traj = sim(scene, 40)
    va, vb = traj.circle(0)[1][-1], traj.circle(1)[1][-1]
    np.testing.assert_allclose(va, [(1 - e) * u / 2, 0.0], atol=5e-3)
    np.testing.assert_allclose(vb, [(1 + e) * u / 2, 0.0], atol=5e-3)
    assert m_a * va[0] + m_b * vb[0] == pytest.approx(m_a * u, rel=1e-5)


def test_inelastic_head_on_position_bias(sim, tools):
    # e = 0, and the discs first overlap by more than the slop: 3 m/s closes 5 cm per step, and
    # from a 0.37 m gap the first overlapping step overlaps by d = 8 * 0.05 - 0.37 = 3 cm. The
    # impulse stops the approach (common speed m_a u / (m_a + m_b)) and the Baumgarte bias
    # separates the discs at (beta / dt) (d - slop) = 0.2 * 60 * 0.02 = 0.24 m/s; no bounce.
    u, gap = 3.0, 0.37
    scene, m_a, m_b = _head_on(tools.SIZE, 2.0, u, 0.0, 0.0, gap)
    traj = sim(scene, 40)
    va, vb = traj.circle(0)[1], traj.circle(1)[1]
    p = m_a * va + m_b * vb
    np.testing.assert_allclose(p[:, 0], m_a * u, rtol=1e-5)
    np.testing.assert_allclose(p[:, 1], 0.0, atol=1e-6)
    overlap = 8 * u * DT - gap
    separation = 0.2 / DT * (overlap - 0.01)
    assert vb[-1, 0] - va[-1, 0] == pytest.approx(separation, abs=0.01)
    assert traj.touching.any() and not traj.touching[-10:].any()  # they drift apart
    dist = traj.circle(1)[0][:, 0] - traj.circle(0)[0][:, 0] - 2 * R
    assert dist.min() == pytest.approx(-overlap, abs=1e-4)


def _drop_scene(size, e, drop=1.0, radius=0.2, x=2.5):
    """A disc whose bottom is ``drop`` above the floor top; floor and disc restitution e."""
    scene = jax2d.empty_arena(size)
    scene = scene.replace(
        polygon=scene.polygon.replace(restitution=scene.polygon.restitution.at[0].set(e))
    )
    scene, _ = jax2d.add_circle(scene, (x, jax2d.FLOOR_TOP + radius + drop), radius, restitution=e)
    return scene


def _first_rebound_apex(y_bottom, vy):
    """Height of the first rebound's apex (numpy arrays over steps)."""
    up = np.nonzero(vy > 0)[0]
    assert up.size, "the ball never bounced"
    i0 = up[0]
    down = np.nonzero(vy[i0:] <= 0)[0]
    assert down.size, "the rebound never reached its apex"
    return y_bottom[i0 : i0 + down[0] + 1].max()


@pytest.mark.parametrize("e", [0.5, 0.8])
def test_ball_rebounds_to_e_squared_of_drop_height(sim, tools, e):
    drop, radius = 1.0, 0.2
    traj = sim(_drop_scene(tools.SIZE, e, drop, radius), 90)
    pos, vel, _, _ = traj.circle(0)
    bottom = pos[:, 1] - radius - jax2d.FLOOR_TOP
    apex = _first_rebound_apex(bottom, vel[:, 1])
    assert apex / drop == pytest.approx(e * e, rel=0.10)
    np.testing.assert_allclose(pos[:, 0], 2.5, atol=1e-5)  # straight up and down


@pytest.mark.parametrize("e", [0.0, 0.5, 0.8, 1.0])
def test_ball_never_bounces_higher_than_dropped(sim, tools, e):
    drop, radius = 1.0, 0.2
    traj = sim(_drop_scene(tools.SIZE, e, drop, radius), 240)
    pos, vel, _, _ = traj.circle(0)
    bottom = pos[:, 1] - radius - jax2d.FLOOR_TOP
    assert bottom.max() <= drop + 1e-5
    if e > 0:
        # After the first impact no apex may exceed the drop height (no energy gain), and with
        # e = 1 the ball still gets close to it (the bounce is not damped away).
        first_up = np.nonzero(vel[:, 1] > 0)[0][0]
        later = bottom[first_up:].max()
        assert later <= drop + 0.005
        if e == 1.0:
            assert later >= 0.9 * drop
    # It never sinks into the floor by more than one step of travel at impact speed.
    assert bottom.min() > -math.sqrt(2 * G * drop) * DT


@pytest.mark.parametrize("e", [0.0, 0.5, 0.8])
def test_ball_comes_to_rest(sim, tools, e):
    radius = 0.2
    traj = sim(_drop_scene(tools.SIZE, e, 1.0, radius), 300)
    pos, vel, _, _ = traj.circle(0)
    last = slice(-60, None)  # the fifth second
    assert np.abs(vel[last]).max() < 0.02
    bottom = pos[last, 1] - radius - jax2d.FLOOR_TOP
    # Rests on the floor, sunk by at most about the slop (1 cm).
    assert bottom.min() > -0.012
    assert bottom.max() < 0.002


def test_touching_reports_overlapping_pairs(sim, tools):
    size = tools.SIZE
    P = size.num_polygons
    scene = jax2d.empty_arena(size)  # floor 0, left wall 1, right wall 2, ceiling 3
    scene, box = jax2d.add_rectangle(scene, (2.5, jax2d.FLOOR_TOP + 0.25 - 0.002), 0.5, 0.5)
    scene, ball = jax2d.add_circle(scene, (0.2 - 0.003, 2.0), 0.2)  # against the left wall
    scene, _ = jax2d.add_circle(scene, (4.0, 3.0), 0.2)  # in the air
    table = jax2d.pair_table(P, size.num_circles)
    traj = sim(scene, 1)
    touching = traj.touching[0]
    got = {(int(a), int(b)) for a, b, t in zip(table.a, table.b, touching) if t}
    assert got == {(0, int(box)), (int(ball), 1)}
    assert ball == P + 0


def test_collision_modes(sim, tools):
    # Mode 0 collides only with mode 2 (the arena), mode 1 with modes 1 and 2, mode 2 with all.
    size = tools.SIZE
    top = jax2d.FLOOR_TOP
    scene = jax2d.empty_arena(size, left_wall=False, right_wall=False, ceiling=False)
    scene, low = jax2d.add_rectangle(scene, (1.0, top + 0.25), 0.6, 0.5)  # mode 1, on the floor
    scene, ghost = jax2d.add_circle(scene, (1.0, 1.5), 0.2, collision_mode=0)
    scene, box2 = jax2d.add_rectangle(scene, (3.0, top + 0.25), 0.6, 0.5, collision_mode=2)
    scene, ball2 = jax2d.add_circle(scene, (3.0, 1.5), 0.2, collision_mode=0)
    scene, ball3 = jax2d.add_circle(scene, (4.5, 1.5), 0.2, collision_mode=0)
    traj = sim(scene, 90)
    P = size.num_polygons
    ghost_y = traj.circle(int(ghost) - P)[0][:, 1]
    # Falls through the mode-1 box and stops on the (mode 2) floor.
    assert ghost_y[-1] == pytest.approx(top + 0.2, abs=0.012)
    # A mode-0 ball lands on a mode-2 box.
    assert traj.circle(int(ball2) - P)[0][-1, 1] == pytest.approx(top + 0.5 + 0.2, abs=0.012)
    assert traj.circle(int(ball3) - P)[0][-1, 1] == pytest.approx(top + 0.2, abs=0.012)
    table = jax2d.pair_table(P, size.num_circles)
    pairs = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(table.a, table.b))}
    # Overlap without contact is not reported as touching.
    assert not traj.touching[:, pairs[(int(ghost), int(low))]].any()
    assert traj.touching[-1, pairs[(int(ball2), int(box2))]]
