"""Mass, centroid and inertia of built shapes against closed forms."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jax2d

SIZE = jax2d.SceneSize(num_polygons=2, num_circles=1, num_joints=0, num_thrusters=0)


def _one_polygon(vertices, position=(1.0, 2.0), rotation=0.0, density=1.0, setting="default"):
    scene, idx = jax2d.add_polygon(
        jax2d.Scene.empty(SIZE),
        position,
        vertices,
        rotation=rotation,
        density=density,
        setting=setting,
    )
    assert int(idx) == 0
    p = scene.polygon
    return dict(
        position=np.asarray(p.position[0], np.float64),
        mass=1.0 / float(p.inverse_mass[0]),
        inertia=1.0 / float(p.inverse_inertia[0]),
        vertices=np.asarray(p.vertices[0, : int(p.n_vertices[0])], np.float64),
    )


def _signed_area(v):
    x, y = v[:, 0], v[:, 1]
    return 0.5 * np.sum(x * np.roll(y, -1) - y * np.roll(x, -1))


def _green(v):
    """Area, area centroid and polar second moment about the origin (Green's theorem)."""
    v = np.asarray(v, np.float64)
    if _signed_area(v) < 0:
        v = v[::-1]
    x, y = v[:, 0], v[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    c = x * yn - xn * y
    area = c.sum() / 2
    cx = ((x + xn) * c).sum() / (6 * area)
    cy = ((y + yn) * c).sum() / (6 * area)
    ixx = ((y * y + y * yn + yn * yn) * c).sum() / 12  # integral of y^2
    iyy = ((x * x + x * xn + xn * xn) * c).sum() / 12  # integral of x^2
    return area, np.array([cx, cy]), ixx + iyy


# ---------------------------------------------------------------------------------------------
# Triangles


@pytest.mark.parametrize("setting", ["default", "jax2d-compat"])
def test_right_triangle(setting):
    # Legs a = 2 (x) and b = 1 (y): area ab/2, centroid (a/3, b/3) (= vertex average),
    # polar inertia about the centroid m (a^2 + b^2) / 18.
    a, b, rho = 2.0, 1.0, 2.0
    got = _one_polygon([(0, 0), (a, 0), (0, b)], density=rho, setting=setting)
    m = rho * a * b / 2
    assert got["mass"] == pytest.approx(m, rel=1e-5)
    np.testing.assert_allclose(got["position"], [1 + a / 3, 2 + b / 3], atol=1e-5)
    assert got["inertia"] == pytest.approx(m * (a * a + b * b) / 18, rel=1e-4)
    # Stored vertices are centred on the centre of mass and counter-clockwise.
    np.testing.assert_allclose(got["vertices"].mean(axis=0), [0, 0], atol=1e-5)
    assert _signed_area(got["vertices"]) == pytest.approx(a * b / 2, rel=1e-5)


def test_equilateral_triangle_clockwise_input():
    # Side s: area sqrt(3)/4 s^2, polar inertia about the centroid m s^2 / 12. Given clockwise.
    s, rho = 0.8, 3.0
    h = s * math.sqrt(3) / 2
    verts = [(0, 0), (s / 2, h), (s, 0)]  # clockwise in y-up
    got = _one_polygon(verts, position=(0, 0), density=rho)
    area = math.sqrt(3) / 4 * s * s
    assert got["mass"] == pytest.approx(rho * area, rel=1e-5)
    assert got["inertia"] == pytest.approx(rho * area * s * s / 12, rel=1e-4)
    np.testing.assert_allclose(got["position"], [s / 2, h / 3], atol=1e-5)
    assert _signed_area(got["vertices"]) > 0  # stored counter-clockwise


# ---------------------------------------------------------------------------------------------
# Trapezoids (here the area centroid and the vertex average differ)

# Symmetric trapezoid: bottom width A = 2 on y = 0, top width B = 1 on y = H = 1.
A, B, H = 2.0, 1.0, 1.0
TRAPEZOID = [(-A / 2, 0), (A / 2, 0), (B / 2, H), (-B / 2, H)]
TRAP_AREA = (A + B) / 2 * H
TRAP_CY = H * (A + 2 * B) / (3 * (A + B))  # area centroid height, 4/9
TRAP_IX = H**3 * (A * A + 4 * A * B + B * B) / (36 * (A + B))  # about the centroidal x axis
TRAP_IY = H * (A + B) * (A * A + B * B) / 48  # about the symmetry axis
TRAP_J = TRAP_IX + TRAP_IY  # polar, about the area centroid


def test_trapezoid_default_uses_area_centroid():
    rho = 1.5
    got = _one_polygon(TRAPEZOID, position=(0.0, 0.0), density=rho)
    assert got["mass"] == pytest.approx(rho * TRAP_AREA, rel=1e-5)
    np.testing.assert_allclose(got["position"], [0.0, TRAP_CY], atol=1e-5)
    assert got["inertia"] == pytest.approx(rho * TRAP_J, rel=1e-4)
    # The area centroid is 1/18 m below the vertex average: a real difference, not rounding.
    assert abs(TRAP_CY - 0.5) == pytest.approx(1 / 18)


def test_trapezoid_compat_uses_vertex_average():
    rho = 1.5
    got = _one_polygon(TRAPEZOID, position=(0.0, 0.0), density=rho, setting="jax2d-compat")
    m = rho * TRAP_AREA
    assert got["mass"] == pytest.approx(m, rel=1e-5)
    np.testing.assert_allclose(got["position"], [0.0, 0.5], atol=1e-5)
    # Inertia about the vertex average: parallel axis theorem.
    d = 0.5 - TRAP_CY
    assert got["inertia"] == pytest.approx(rho * TRAP_J + m * d * d, rel=1e-4)


def test_rotated_trapezoid_position():
    # The stored position is the given position plus the *rotated* centroid offset.
    theta = 0.7
    got = _one_polygon(TRAPEZOID, position=(1.0, -1.0), rotation=theta)
    off = np.array([-math.sin(theta) * TRAP_CY, math.cos(theta) * TRAP_CY])
    np.testing.assert_allclose(got["position"], np.array([1.0, -1.0]) + off, atol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_random_convex_quads_match_greens_theorem(seed):
    rng = np.random.default_rng(seed)
    # Four points on an ellipse at sorted random angles: always strictly convex.
    ang = np.sort(rng.uniform(0, 2 * np.pi, 4))
    while np.min(np.diff(np.concatenate([ang, [ang[0] + 2 * np.pi]]))) < 0.3:
        ang = np.sort(rng.uniform(0, 2 * np.pi, 4))
    rx, ry = rng.uniform(0.3, 1.5, 2)
    verts = np.stack([rx * np.cos(ang), ry * np.sin(ang)], axis=1) + rng.uniform(-1, 1, 2)
    rho = float(rng.uniform(0.5, 3))
    area, centroid, j_origin = _green(verts)
    j_centroid = j_origin - area * float(centroid @ centroid)
    got = _one_polygon(verts, position=(0.0, 0.0), density=rho)
    assert got["mass"] == pytest.approx(rho * area, rel=1e-5)
    np.testing.assert_allclose(got["position"], centroid, atol=2e-5)
    assert got["inertia"] == pytest.approx(rho * j_centroid, rel=2e-4)
    # compat: vertex average, inertia by the parallel axis theorem.
    comp = _one_polygon(verts, position=(0.0, 0.0), density=rho, setting="jax2d-compat")
    avg = verts.mean(axis=0)
    np.testing.assert_allclose(comp["position"], avg, atol=2e-5)
    d2 = float((avg - centroid) @ (avg - centroid))
    assert comp["inertia"] == pytest.approx(rho * (j_centroid + area * d2), rel=2e-4)


# ---------------------------------------------------------------------------------------------
# Rectangles and discs


def test_rectangle():
    w, h, rho = 1.2, 0.4, 2.5
    scene, _ = jax2d.add_rectangle(jax2d.Scene.empty(SIZE), (3.0, 1.0), w, h, density=rho)
    m = rho * w * h
    assert 1 / float(scene.polygon.inverse_mass[0]) == pytest.approx(m, rel=1e-5)
    assert 1 / float(scene.polygon.inverse_inertia[0]) == pytest.approx(
        m * (w * w + h * h) / 12, rel=1e-4
    )
    np.testing.assert_allclose(np.asarray(scene.polygon.position[0]), [3.0, 1.0], atol=1e-6)


@pytest.mark.parametrize(("setting", "factor"), [("default", 0.5), ("jax2d-compat", 0.25)])
def test_disc(setting, factor):
    r, rho = 0.3, 2.0
    scene, idx = jax2d.add_circle(
        jax2d.Scene.empty(SIZE), (1.0, 1.0), r, density=rho, setting=setting
    )
    assert int(idx) == SIZE.num_polygons  # global index: polygons first
    m = rho * math.pi * r * r
    assert 1 / float(scene.circle.inverse_mass[0]) == pytest.approx(m, rel=1e-5)
    assert 1 / float(scene.circle.inverse_inertia[0]) == pytest.approx(factor * m * r * r, rel=1e-5)


def test_mass_functions_directly():
    m, inertia = jax2d.circle_mass(jnp.float32(0.5), jnp.float32(2.0))
    assert float(m) == pytest.approx(2 * math.pi * 0.25, rel=1e-6)
    assert float(inertia) == pytest.approx(float(m) * 0.25 / 2, rel=1e-6)
    v = jnp.array(TRAPEZOID, jnp.float32)
    c = jax2d.polygon_centroid(v, 4)
    np.testing.assert_allclose(np.asarray(c), [0.0, TRAP_CY], atol=1e-6)
    np.testing.assert_allclose(np.asarray(jax2d.polygon_centroid(v, 4, False)), [0, 0.5], atol=1e-6)
    pm, pi = jax2d.polygon_mass(v - c, 4, 2.0)
    assert float(pm) == pytest.approx(2 * TRAP_AREA, rel=1e-6)
    assert float(pi) == pytest.approx(2 * TRAP_J, rel=1e-5)
    # A triangle stored in 4 slots with n_vertices = 3 ignores the padding slot.
    tri = jnp.array([(0, 0), (2, 0), (0, 1), (9, 9)], jnp.float32)
    np.testing.assert_allclose(
        np.asarray(jax2d.polygon_centroid(tri, 3)), [2 / 3, 1 / 3], atol=1e-6
    )
    tm, _ = jax2d.polygon_mass(tri, 3, 1.0)
    assert float(tm) == pytest.approx(1.0, rel=1e-6)


def test_static_bodies_have_zero_inverse_mass():
    scene, _ = jax2d.add_rectangle(jax2d.Scene.empty(SIZE), (0, 0), 1, 1, static=True)
    scene, _ = jax2d.add_circle(scene, (0, 0), 0.5, static=True)
    for b in (scene.polygon, scene.circle):
        assert float(b.inverse_mass[0]) == 0.0
        assert float(b.inverse_inertia[0]) == 0.0
