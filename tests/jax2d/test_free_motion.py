"""Bodies without contacts: free fall, projectiles, thrusters, clamps."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jax2d

DT = 1.0 / 60.0
G = 9.81


def _n(k):
    return np.arange(k + 1, dtype=np.float64)


@pytest.mark.parametrize("arena", [False, True], ids=["no_arena", "arena_without_floor"])
def test_free_fall_matches_semi_implicit_euler(sim, tools, arena):
    size = tools.SIZE
    if arena:
        scene = jax2d.empty_arena(size, floor=False)
    else:
        scene = jax2d.Scene.empty(size)
    y0 = 4.5
    scene, _ = jax2d.add_circle(scene, (1.5, y0), 0.2, angular_velocity=2.0)
    scene, pi = jax2d.add_rectangle(scene, (3.5, y0), 0.4, 0.3, rotation=0.3)
    n = 60
    traj = sim(scene, n)
    k = _n(n)
    # v += g dt; y += v dt  =>  v_n = -g dt n, y_n = y0 - g dt^2 n (n + 1) / 2.
    y_expected = y0 - G * DT * DT * k * (k + 1) / 2
    v_expected = -G * DT * k
    cp, cv, cr, cw = traj.circle(0)
    pp, pv, pr, pw = traj.polygon(int(pi))
    for pos, vel in ((cp, cv), (pp, pv)):
        np.testing.assert_allclose(pos[:, 1], y_expected, atol=2e-4)
        np.testing.assert_allclose(vel[:, 1], v_expected, atol=2e-4)
        np.testing.assert_allclose(vel[:, 0], 0.0, atol=1e-7)
    np.testing.assert_allclose(cp[:, 0], 1.5, atol=1e-6)
    np.testing.assert_allclose(pp[:, 0], 3.5, atol=1e-6)
    # Rotation integrates the (constant) angular velocity; nothing spins the box.
    np.testing.assert_allclose(cr, 2.0 * DT * k, atol=1e-5)
    np.testing.assert_allclose(cw, 2.0, atol=1e-6)
    np.testing.assert_allclose(pr, 0.3, atol=1e-6)
    # The continuous answer 0.5 g t^2 is 0.5 g t dt (8 cm) away after 1 s: we really test the
    # integrator, not just "falls about right".
    assert abs(y_expected[-1] - (y0 - 0.5 * G * 1.0)) > 0.08
    # Nothing touches anything.
    assert not traj.touching.any()


def test_projectile(sim, tools):
    scene = jax2d.Scene.empty(tools.SIZE).replace(gravity=jnp.array([0.0, -G], jnp.float32))
    vx, vy = 3.0, 5.0
    scene, _ = jax2d.add_circle(scene, (-5.0, 1.0), 0.1, velocity=(vx, vy))
    n = 30
    traj = sim(scene, n)
    k = _n(n)
    pos, vel, _, _ = traj.circle(0)
    np.testing.assert_allclose(pos[:, 0], -5.0 + vx * DT * k, atol=1e-5)
    np.testing.assert_allclose(vel[:, 0], vx, atol=1e-6)
    np.testing.assert_allclose(vel[:, 1], vy - G * DT * k, atol=1e-5)
    np.testing.assert_allclose(
        pos[:, 1], 1.0 + vy * DT * k - G * DT * DT * k * (k + 1) / 2, atol=1e-5
    )


def test_custom_gravity_vector(sim, tools):
    gx, gy = 2.0, 3.0
    scene = jax2d.Scene.empty(tools.SIZE).replace(gravity=jnp.array([gx, gy], jnp.float32))
    scene, _ = jax2d.add_rectangle(scene, (0.0, 0.0), 0.5, 0.5)
    scene, _ = jax2d.add_rectangle(scene, (5.0, 0.0), 0.5, 0.5, static=True)
    n = 20
    traj = sim(scene, n)
    k = _n(n)
    pos, _, _, _ = traj.polygon(0)
    np.testing.assert_allclose(pos[:, 0], gx * DT * DT * k * (k + 1) / 2, atol=1e-5)
    np.testing.assert_allclose(pos[:, 1], gy * DT * DT * k * (k + 1) / 2, atol=1e-5)
    # Static bodies ignore gravity.
    np.testing.assert_array_equal(traj.polygon(1)[0], np.tile([5.0, 0.0], (n + 1, 1)))


@pytest.mark.parametrize("parent", ["polygon", "circle"])
def test_thruster_impulse_and_torque(sim, tools, parent):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=jnp.zeros(2, jnp.float32))
    body_rot = 0.3
    if parent == "polygon":
        scene, idx = jax2d.add_rectangle(
            scene, (1.0, 1.0), 1.0, 0.5, rotation=body_rot, density=2.0
        )
        body = scene.polygon
        slot = int(idx)
    else:
        scene, idx = jax2d.add_circle(scene, (1.0, 1.0), 0.4, rotation=body_rot, density=2.0)
        body = scene.circle
        slot = int(idx) - size.num_polygons
    m = 1.0 / float(body.inverse_mass[slot])
    inertia = 1.0 / float(body.inverse_inertia[slot])
    rel, thr_rot, power, action = np.array([0.3, 0.2]), math.pi / 2 + 0.2, 2.0, 0.7
    scene, t = jax2d.add_thruster(scene, int(idx), tuple(rel), thr_rot, power)
    # A second, idle thruster on the same body (action 0) must do nothing.
    scene, _ = jax2d.add_thruster(scene, int(idx), (-0.3, 0.0), 0.0, 5.0)
    actions = np.zeros(size.num_joints + size.num_thrusters, np.float32)
    actions[size.num_joints + int(t)] = action
    traj = sim(scene, 1, actions=actions)
    impulse = 10.0 * power * action * DT  # base thruster power 10
    d = np.array([math.cos(body_rot + thr_rot), math.sin(body_rot + thr_rot)])
    c, s = math.cos(body_rot), math.sin(body_rot)
    r = np.array([c * rel[0] - s * rel[1], s * rel[0] + c * rel[1]])
    torque_arm = r[0] * d[1] - r[1] * d[0]
    get = traj.polygon if parent == "polygon" else traj.circle
    pos, vel, rot, ang = get(slot)
    np.testing.assert_allclose(vel[1], impulse * d / m, rtol=1e-4, atol=1e-7)
    assert ang[1] == pytest.approx(impulse * torque_arm / inertia, rel=1e-4)
    np.testing.assert_allclose(pos[1], np.array([1.0, 1.0]) + vel[1] * DT, atol=1e-6)
    assert rot[1] == pytest.approx(body_rot + ang[1] * DT, abs=1e-6)


def test_thruster_keeps_pushing(sim, tools):
    # Constant thrust through the centre of mass: a = F / m, v_n = a dt n.
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=jnp.zeros(2, jnp.float32))
    scene, idx = jax2d.add_circle(scene, (-10.0, 0.0), 0.5)
    m = 1.0 / float(scene.circle.inverse_mass[0])
    scene, _ = jax2d.add_thruster(scene, int(idx), (0.0, 0.0), 0.0, 1.0)
    actions = np.zeros(size.num_joints + size.num_thrusters, np.float32)
    actions[size.num_joints] = 1.0
    n = 30
    traj = sim(scene, n, actions=actions)
    k = _n(n)
    _, vel, _, ang = traj.circle(0)
    np.testing.assert_allclose(vel[:, 0], 10.0 / m * DT * k, rtol=1e-4)
    np.testing.assert_allclose(vel[:, 1], 0.0, atol=1e-6)
    np.testing.assert_allclose(ang, 0.0, atol=1e-6)


def test_clamps(sim, tools):
    scene = jax2d.Scene.empty(tools.SIZE).replace(gravity=jnp.zeros(2, jnp.float32))
    scene, _ = jax2d.add_circle(scene, (14.0, 0.0), 0.1, velocity=(1000.0, -500.0))
    scene, _ = jax2d.add_rectangle(scene, (0.0, 0.0), 0.2, 0.2, angular_velocity=1e4)
    scene, _ = jax2d.add_rectangle(
        scene, (-14.99, 14.99), 0.2, 0.2, velocity=(-99.0, 99.0), angular_velocity=-49.0
    )
    traj = sim(scene, 30)
    cp, cv, _, _ = traj.circle(0)
    np.testing.assert_allclose(cv[1:], np.tile([100.0, -100.0], (30, 1)))
    assert cp[1:, 0].max() == pytest.approx(15.0)
    assert cp[1:, 0].min() == pytest.approx(15.0)  # 14 + 100/60 > 15 already after one step
    assert cp[-1, 1] == pytest.approx(-15.0)
    _, _, _, w = traj.polygon(0)
    np.testing.assert_allclose(w[1:], 50.0)
    p2, v2, _, w2 = traj.polygon(1)
    np.testing.assert_allclose(p2[1:], np.tile([-15.0, 15.0], (30, 1)), atol=1e-6)
    np.testing.assert_allclose(v2[1:], np.tile([-99.0, 99.0], (30, 1)))  # within bounds: kept
    np.testing.assert_allclose(w2[1:], -49.0)
