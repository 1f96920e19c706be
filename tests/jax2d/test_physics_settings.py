"""Each behavioural fix over Jax2D, shown by comparing the ``default`` and ``jax2d-compat``
settings where it makes a difference (builder-side fixes: see test_mass_properties.py and the
rolling-disc test in test_contact_friction.py)."""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d
from jax2d.collision import polygon_polygon

DT = 1.0 / 60.0
G = 9.81
BETA, SLOP = 0.2, 0.01  # Baumgarte factor and slop (SimParams defaults)
ZERO_G = jnp.zeros(2, jnp.float32)


def _config(tools, setting):
    return tools.DEFAULT if setting == "default" else tools.COMPAT


def _bias(depth):
    return BETA / DT * max(0.0, depth - SLOP)


# ---------------------------------------------------------------------------------------------
# Restitution threshold and no energy gain


def _drop(size, e, drop=1.0, radius=0.2):
    scene = jax2d.empty_arena(size)
    scene = scene.replace(
        polygon=scene.polygon.replace(restitution=scene.polygon.restitution.at[0].set(e))
    )
    scene, _ = jax2d.add_circle(
        scene, (2.5, jax2d.FLOOR_TOP + radius + drop), radius, restitution=e
    )
    return scene


def test_elastic_ball_gains_energy_only_under_compat(sim, tools):
    drop, radius = 1.0, 0.2
    apex = {}
    for setting in ("default", "jax2d-compat"):
        traj = sim(_drop(tools.SIZE, 1.0, drop, radius), 180, config=_config(tools, setting))
        pos, vel, _, _ = traj.circle(0)
        first_up = np.nonzero(vel[:, 1] > 0)[0][0]
        apex[setting] = (pos[first_up:, 1] - radius - jax2d.FLOOR_TOP).max()
    assert apex["default"] <= drop + 0.005
    assert apex["default"] >= 0.9 * drop
    # Jax2D adds the position bias to the bounce: e = 1 rebounds higher than it fell.
    assert apex["jax2d-compat"] > drop + 0.02


@pytest.mark.parametrize("setting", ["default", "jax2d-compat"])
def test_slow_impacts_below_threshold_do_not_bounce(sim, tools, setting):
    # Equal discs, e = 1, closing at 0.5 m/s (< the 1 m/s threshold). With the threshold they
    # stick together at 0.25 m/s each; without it (Jax2D) they swap velocities.
    size = tools.SIZE
    u, r = 0.5, 0.25
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    gap = 60 * u * DT - 0.004  # first contact 4 mm deep: below the slop, no position bias
    scene, _ = jax2d.add_circle(scene, (0.0, 0.0), r, velocity=(u, 0.0), restitution=1.0)
    scene, _ = jax2d.add_circle(scene, (2 * r + gap, 0.0), r, restitution=1.0)
    traj = sim(scene, 75, config=_config(tools, setting))
    va, vb = traj.circle(0)[1][-1, 0], traj.circle(1)[1][-1, 0]
    if setting == "default":
        assert va == pytest.approx(u / 2, abs=1e-3)
        assert vb == pytest.approx(u / 2, abs=1e-3)
    else:
        assert va == pytest.approx(0.0, abs=1e-3)
        assert vb == pytest.approx(u, abs=1e-3)


@pytest.mark.parametrize("setting", ["default", "jax2d-compat"])
def test_bouncy_ball_settles_only_with_threshold(sim, tools, setting):
    # e = 0.8: Jax2D keeps micro-bouncing forever (each resting step's g dt is reflected).
    traj = sim(_drop(tools.SIZE, 0.8), 300, config=_config(tools, setting))
    vy = traj.circle(0)[1][-60:, 1]  # the fifth second
    if setting == "default":
        assert np.abs(vy).max() < 0.01
    else:
        assert np.abs(vy).max() > 0.05


# ---------------------------------------------------------------------------------------------
# Contact depth per point and incident-edge clipping


def _two_point_response(m, inertia, rx, bias):
    """Velocity (v_y, omega) of a body at rest after frictionless contact impulses along +y at
    lever arms rx (2,) that bring each point's normal velocity to at least ``bias`` (2-point
    LCP, exact)."""
    rx = np.asarray(rx, np.float64)
    b = np.asarray(bias, np.float64)
    K = 1.0 / m + np.outer(rx, rx) / inertia
    best = None
    for active in ([0, 1], [0], [1], []):
        lam = np.zeros(2)
        if active:
            idx = np.array(active)
            lam[idx] = np.linalg.solve(K[np.ix_(idx, idx)], b[idx])
        vn = K @ lam
        if np.all(lam >= -1e-12) and np.all(vn >= b - 1e-9):
            best = lam
            break
    assert best is not None
    return best.sum() / m, rx @ best / inertia


def _tilted_box_on_floor(size, theta, depth_low, friction=0.0):
    """Zero gravity, frictionless: a 1 x 0.5 box tilted by theta (left corner lower) sunk
    depth_low into a wide static slab whose top is y = 0.2. Returns scene, corner arms, depths."""
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    scene, floor = jax2d.add_rectangle(scene, (0.0, 0.0), 4.0, 0.4, static=True, friction=friction)
    c, s = math.cos(theta), math.sin(theta)
    left = np.array([-0.5 * c + 0.25 * s, -0.5 * s - 0.25 * c])  # rotated (-0.5, -0.25)
    right = np.array([0.5 * c + 0.25 * s, 0.5 * s - 0.25 * c])  # rotated (0.5, -0.25)
    centre = np.array([0.0, 0.2 - depth_low - left[1]])
    scene, box = jax2d.add_rectangle(
        scene, tuple(centre), 1.0, 0.5, rotation=theta, friction=friction
    )
    depths = 0.2 - (centre[1] + np.array([left[1], right[1]]))
    return scene, int(box), np.array([left[0], right[0]]), depths


@pytest.mark.parametrize("setting", ["default", "jax2d-compat"])
def test_each_contact_point_has_its_own_depth(sim, tools, setting):
    scene, box, arms, depths = _tilted_box_on_floor(tools.SIZE, 0.03, 0.045)
    assert depths[0] > depths[1] > SLOP  # both corners in, the left one deeper
    m = 1.0 / float(scene.polygon.inverse_mass[box])
    inertia = 1.0 / float(scene.polygon.inverse_inertia[box])
    traj = sim(scene, 1, config=_config(tools, setting))
    _, vel, _, ang = traj.polygon(box)
    if setting == "default":
        expected = _two_point_response(m, inertia, arms, [_bias(d) for d in depths])
    else:  # both points get the pair's (largest) depth: pure translation
        expected = _two_point_response(m, inertia, arms, [_bias(depths.max())] * 2)
        assert expected[1] == pytest.approx(0.0, abs=1e-9)
    assert vel[1, 1] == pytest.approx(expected[0], rel=0.02, abs=1e-4)
    assert ang[1] == pytest.approx(expected[1], rel=0.02, abs=1e-4)
    assert vel[1, 0] == pytest.approx(0.0, abs=1e-4)  # frictionless
    if setting == "default":
        assert ang[1] < -0.1  # lifts the deeper (left) corner: clockwise


def _world_box(centre, w, h, theta):
    local = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    return jnp.asarray(local, jnp.float32), jnp.asarray(centre, jnp.float32), jnp.float32(theta)


@pytest.mark.parametrize("clip", [True, False])
def test_incident_edge_clipping(clip):
    # A narrow static post (reference face y = 0.2, x in [-0.2, 0.2]) under a wide plank tilted
    # by theta whose bottom edge crosses x = 0 at depth d0: the bottom edge is the incident edge.
    # Clipping cuts it at the post's sides, where the true depth is d0 -+ 0.2 tan(theta);
    # Jax2D's clamp moves the plank's corners onto the sides but keeps the corners' depths.
    theta, d0 = 0.01, 0.02
    va, pa, ra = _world_box((0.0, 0.0), 0.4, 0.4, 0.0)
    c, s = math.cos(theta), math.sin(theta)
    # Plank 1.0 x 0.2: its bottom edge midpoint is at (0, 0.2 - d0).
    centre = np.array([0.0, 0.2 - d0]) + 0.1 * np.array([-s, c])
    vb, pb, rb = _world_box(centre, 1.0, 0.2, theta)
    m = polygon_polygon(pa, ra, va, 4, pb, rb, vb, 4, per_point_depth=True, clip=clip)
    assert bool(m.overlap)
    assert np.asarray(m.active).tolist() == [True, True]
    np.testing.assert_allclose(np.asarray(m.normal), [0.0, 1.0], atol=1e-6)
    pts, depth = np.asarray(m.points), np.asarray(m.depth)
    order = np.argsort(pts[:, 0])
    pts, depth = pts[order], depth[order]
    np.testing.assert_allclose(pts[:, 0], [-0.2, 0.2], atol=1e-4)
    if clip:
        expected = d0 - np.array([-0.2, 0.2]) * math.tan(theta)
    else:
        corner_x = np.array([-0.5, 0.5]) * c  # the plank's bottom corners (x of each end)
        expected = d0 - corner_x * math.tan(theta)
    np.testing.assert_allclose(depth, expected, atol=2e-4)
    # Contact points lie on the incident (plank) surface when clipping, i.e. at their depth.
    if clip:
        np.testing.assert_allclose(pts[:, 1], 0.2 - expected, atol=2e-4)


@pytest.mark.parametrize("setting", ["default", "jax2d-compat"])
def test_circle_inside_polygon_is_pushed_out_by_its_true_depth(sim, tools, setting):
    # Disc r = 0.2 whose centre is 0.3 inside a static 2 x 2 box (nearest face x = 1): the true
    # depth is r + 0.3 = 0.5; Jax2D used r. One step of the position bias (beta / dt)(d - slop).
    scene = jax2d.Scene.empty(tools.SIZE).replace(gravity=ZERO_G)
    scene, _ = jax2d.add_rectangle(scene, (0.0, 0.0), 2.0, 2.0, static=True)
    scene, _ = jax2d.add_circle(scene, (0.7, 0.1), 0.2)
    # A disc with its centre outside (depth r - 0.1 = 0.1): the same in both settings.
    scene, _ = jax2d.add_circle(scene, (-0.2, -1.1), 0.2)
    traj = sim(scene, 1, config=_config(tools, setting))
    inside = _bias(0.5) if setting == "default" else _bias(0.2)
    np.testing.assert_allclose(traj.circle(0)[1][1], [inside, 0.0], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(traj.circle(1)[1][1], [0.0, -_bias(0.1)], rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Joint effective mass


@pytest.mark.parametrize("setting", ["default", "jax2d-compat"])
def test_pendulum_is_not_sensitive_to_rounding(sim, tools, setting):
    # A pendulum is not chaotic: moving the bob by one float32 ulp (2.4e-7 m) must keep the two
    # motions within a few ulps (we allow 1e-5 m) for a second. Jax2D's joint impulse uses one
    # scalar effective mass along the direction of the relative velocity at the pin, which is
    # rounding noise once the joint has converged: the 1-ulp change grows to ~1e-4 .. 1e-3 m.
    # The default setting solves the pin's 2x2 effective-mass system instead.
    size = tools.SIZE
    y0 = np.float32(3.0)

    def pendulum(y):
        scene = jax2d.Scene.empty(size)
        scene, post = jax2d.add_rectangle(scene, (3.5, 3.0), 0.1, 0.1, static=True)
        scene, bob = jax2d.add_circle(scene, (4.0, float(y)), 0.15)
        scene, _ = jax2d.add_revolute_joint(
            scene, int(post), int(bob), a_anchor=(0.0, 0.0), b_anchor=(-0.5, 0.0)
        )
        return scene

    config = _config(tools, setting)
    a = sim(pendulum(y0), 60, config=config).circle(0)[0]
    b = sim(pendulum(np.nextafter(y0, np.float32(4.0))), 60, config=config).circle(0)[0]
    spread = np.abs(a - b).max()
    if setting == "default":
        assert spread < 1e-5
    else:
        assert spread > 1e-5


# ---------------------------------------------------------------------------------------------
# Plain defects of Jax2D (not switchable): slot-based statics, scalar cross


def test_static_is_inverse_mass_not_slot(sim, tools):
    # Floor only (walls off): the first dynamic box lands in slot 1, a Jax2D "static slot", and
    # fell through the floor there. A static box added in the last slot holds a box too.
    size = tools.SIZE
    scene = jax2d.empty_arena(size, left_wall=False, right_wall=False, ceiling=False)
    scene, a = jax2d.add_rectangle(scene, (1.0, 1.0), 0.4, 0.4)
    scene, b = jax2d.add_rectangle(scene, (3.0, 1.0), 0.4, 0.4)
    scene, _ = jax2d.add_rectangle(scene, (4.0, -1.0), 0.1, 0.1)  # filler
    scene, _ = jax2d.add_rectangle(scene, (4.5, -1.0), 0.1, 0.1)  # filler
    scene, shelf = jax2d.add_rectangle(scene, (-3.0, 1.0), 1.0, 0.2, static=True)
    assert (int(a), int(shelf)) == (1, size.num_polygons - 1)
    scene, ball = jax2d.add_circle(scene, (-3.0, 1.5), 0.2)
    traj = sim(scene, 90)
    rest = jax2d.FLOOR_TOP + 0.2
    for slot in (int(a), int(b)):
        assert traj.polygon(slot)[0][-1, 1] == pytest.approx(rest, abs=0.012)
    assert traj.circle(0)[0][-1, 1] == pytest.approx(1.1 + 0.2, abs=0.012)
    np.testing.assert_array_equal(traj.polygon(int(shelf))[0][-1], [-3.0, 1.0])


def test_step_does_not_use_deprecated_2d_cross(tools):
    scene = jax2d.empty_arena(tools.SIZE)
    scene, _ = jax2d.add_circle(scene, (2.5, 1.0), 0.2)
    acts = jnp.zeros(tools.SIZE.num_joints + tools.SIZE.num_thrusters)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        jax.make_jaxpr(lambda s: jax2d.step(s, acts))(scene)


def test_restitution_threshold_is_a_traced_parameter(sim, tools):
    # The same slow impact (0.5 m/s, e = 1) bounces when the threshold is lowered to 0.1 m/s,
    # with the compiled program of the default parameters (SimParams is traced).
    size = tools.SIZE
    u, r = 0.5, 0.25
    scene = jax2d.Scene.empty(size).replace(gravity=ZERO_G)
    gap = 60 * u * DT - 0.004
    scene, _ = jax2d.add_circle(scene, (0.0, 0.0), r, velocity=(u, 0.0), restitution=1.0)
    scene, _ = jax2d.add_circle(scene, (2 * r + gap, 0.0), r, restitution=1.0)
    params = jax2d.SimParams(restitution_threshold=0.1)
    traj = sim(scene, 75, params=params)
    assert traj.circle(0)[1][-1, 0] == pytest.approx(0.0, abs=1e-3)
    assert traj.circle(1)[1][-1, 0] == pytest.approx(u, abs=1e-3)
