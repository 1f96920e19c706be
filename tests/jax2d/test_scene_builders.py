"""Scene builders: clear errors for impossible requests, any capacity >= 0 builds."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d
from jax2d import InvalidShapeError, SceneError, SceneFullError

SIZE = jax2d.SceneSize(num_polygons=5, num_circles=2, num_joints=1, num_thrusters=1)


def test_error_hierarchy():
    assert issubclass(SceneFullError, SceneError)
    assert issubclass(InvalidShapeError, SceneError)


def test_arena_layout():
    scene = jax2d.empty_arena(SIZE)
    p = scene.polygon
    assert np.asarray(p.active).tolist() == [True, True, True, True, False]
    assert np.all(np.asarray(p.inverse_mass[:4]) == 0)
    assert np.all(np.asarray(p.inverse_inertia[:4]) == 0)
    # Floor top at y = 0.4 over x in [0, 5]; inner wall faces at x = 0 and x = 5; ceiling at 5.
    world = np.asarray(p.position[:4, None, :] + p.vertices[:4])
    assert world[0, :, 1].max() == pytest.approx(jax2d.FLOOR_TOP, abs=1e-5)
    assert world[0, :, 0].min() <= 0 and world[0, :, 0].max() >= 5
    assert world[1, :, 0].max() == pytest.approx(0.0, abs=1e-5)
    assert world[2, :, 0].min() == pytest.approx(5.0, abs=1e-5)
    assert world[3, :, 1].min() == pytest.approx(5.0, abs=1e-5)
    np.testing.assert_allclose(np.asarray(scene.gravity), [0, -9.81])


def test_arena_without_walls_leaves_slots_free():
    scene = jax2d.empty_arena(SIZE, left_wall=False, right_wall=False, ceiling=False)
    assert np.asarray(scene.polygon.active).tolist() == [True, False, False, False, False]
    scene, idx = jax2d.add_rectangle(scene, (2.5, 1.0), 0.5, 0.5)
    assert int(idx) == 1


def test_arena_needs_room():
    with pytest.raises(SceneFullError):
        jax2d.empty_arena(jax2d.SceneSize(num_polygons=3))
    scene = jax2d.empty_arena(
        jax2d.SceneSize(num_polygons=1), left_wall=False, right_wall=False, ceiling=False
    )
    assert bool(scene.polygon.active[0])


def test_indices_are_global():
    scene = jax2d.Scene.empty(SIZE)
    scene, c0 = jax2d.add_circle(scene, (0, 0), 0.2)
    scene, p0 = jax2d.add_rectangle(scene, (1, 0), 0.2, 0.2)
    scene, c1 = jax2d.add_circle(scene, (2, 0), 0.2)
    assert (int(p0), int(c0), int(c1)) == (0, 5, 6)
    scene, j = jax2d.add_revolute_joint(scene, int(p0), int(c1), anchor=(1.5, 0))
    assert int(j) == 0
    assert (int(scene.joint.a_index[0]), int(scene.joint.b_index[0])) == (0, 6)
    # World anchor -> body-frame anchors.
    np.testing.assert_allclose(np.asarray(scene.joint.a_anchor[0]), [0.5, 0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(scene.joint.b_anchor[0]), [-0.5, 0], atol=1e-6)
    scene, t = jax2d.add_thruster(scene, int(c0), (0.1, 0), math.pi)
    assert int(scene.thruster.shape_index[t]) == 5


@pytest.mark.parametrize("kind", ["polygon", "circle", "joint", "thruster"])
def test_full_scene_raises(kind):
    size = jax2d.SceneSize(num_polygons=2, num_circles=1, num_joints=1, num_thrusters=1)
    scene = jax2d.Scene.empty(size)
    scene, a = jax2d.add_rectangle(scene, (0, 0), 1, 1)
    scene, b = jax2d.add_rectangle(scene, (3, 0), 1, 1)
    scene, c = jax2d.add_circle(scene, (6, 0), 0.5)
    scene, _ = jax2d.add_revolute_joint(scene, int(a), int(b), anchor=(1.5, 0))
    scene, _ = jax2d.add_thruster(scene, int(a))
    with pytest.raises(SceneFullError):
        if kind == "polygon":
            jax2d.add_rectangle(scene, (9, 0), 1, 1)
        elif kind == "circle":
            jax2d.add_circle(scene, (9, 0), 0.5)
        elif kind == "joint":
            jax2d.add_fixed_joint(scene, int(b), int(c), anchor=(4.5, 0))
        else:
            jax2d.add_thruster(scene, int(c))


@pytest.mark.parametrize("kind", ["polygon", "circle", "joint", "thruster"])
def test_zero_capacity_raises_scene_full(kind):
    size = jax2d.SceneSize(
        num_polygons=0 if kind == "polygon" else 2,
        num_circles=0 if kind == "circle" else 1,
        num_joints=0,
        num_thrusters=0,
    )
    scene = jax2d.Scene.empty(size)
    with pytest.raises(SceneFullError):
        if kind == "polygon":
            jax2d.add_rectangle(scene, (0, 0), 1, 1)
        elif kind == "circle":
            jax2d.add_circle(scene, (0, 0), 0.5)
        elif kind == "joint":
            scene, a = jax2d.add_rectangle(scene, (0, 0), 1, 1)
            scene, b = jax2d.add_rectangle(scene, (2, 0), 1, 1)
            jax2d.add_revolute_joint(scene, int(a), int(b), anchor=(1, 0))
        else:
            scene, a = jax2d.add_rectangle(scene, (0, 0), 1, 1)
            jax2d.add_thruster(scene, int(a))


BAD_POLYGONS = {
    "non_convex": [(0, 0), (2, 0), (0.5, 0.5), (0, 2)],
    "self_intersecting": [(0, 0), (1, 1), (1, 0), (0, 1)],
    "collinear": [(0, 0), (1, 0), (2, 0)],
    "collinear_quad": [(0, 0), (1, 0), (2, 0), (1, 1)],
    "repeated_vertex": [(0, 0), (1, 0), (1, 0), (0, 1)],
    "zero_area": [(0, 0), (0, 0), (0, 0)],
    "nan": [(0, 0), (1, float("nan")), (0, 1)],
    "inf": [(0, 0), (float("inf"), 0), (0, 1)],
    "two_vertices": [(0, 0), (1, 0)],
    "too_many_vertices": [(1, 0), (0.5, 0.9), (-0.5, 0.9), (-1, 0), (0, -1)],
}


@pytest.mark.parametrize("name", sorted(BAD_POLYGONS))
def test_invalid_polygon_raises(name):
    scene = jax2d.Scene.empty(SIZE)
    with pytest.raises(InvalidShapeError):
        jax2d.add_polygon(scene, (0, 0), BAD_POLYGONS[name])
    # ... and the scene passed in is untouched (pure function).
    assert not bool(scene.polygon.active.any())


@pytest.mark.parametrize(
    "call",
    [
        lambda s: jax2d.add_circle(s, (0, 0), 0.0),
        lambda s: jax2d.add_circle(s, (0, 0), -1.0),
        lambda s: jax2d.add_circle(s, (0, float("nan")), 0.5),
        lambda s: jax2d.add_circle(s, (0, 0), 0.5, velocity=(float("inf"), 0)),
        lambda s: jax2d.add_circle(s, (0, 0), 0.5, density=0.0),
        lambda s: jax2d.add_rectangle(s, (0, 0), 0.0, 1.0),
        lambda s: jax2d.add_rectangle(s, (0, 0), 1.0, -1.0),
        lambda s: jax2d.add_rectangle(s, (0, 0), 1.0, 1.0, rotation=float("nan")),
        lambda s: jax2d.add_rectangle(s, (0, 0), 1.0, 1.0, friction=-1.0),
    ],
    ids=[
        "zero_radius",
        "negative_radius",
        "nan_position",
        "inf_velocity",
        "zero_density",
        "zero_width",
        "negative_height",
        "nan_rotation",
        "negative_friction",
    ],
)
def test_invalid_body_raises(call):
    with pytest.raises(InvalidShapeError):
        call(jax2d.Scene.empty(SIZE))


def test_invalid_joints_and_thrusters_raise():
    scene = jax2d.Scene.empty(SIZE)
    scene, a = jax2d.add_rectangle(scene, (0, 0), 1, 1)
    scene, b = jax2d.add_circle(scene, (2, 0), 0.5)
    with pytest.raises(SceneError):  # same shape twice
        jax2d.add_revolute_joint(scene, int(a), int(a), anchor=(0, 0))
    with pytest.raises(SceneError):  # out of range
        jax2d.add_revolute_joint(scene, int(a), 99, anchor=(0, 0))
    with pytest.raises(SceneError):  # inactive shape (polygon slot 1 is free)
        jax2d.add_fixed_joint(scene, int(a), 1, anchor=(0, 0))
    with pytest.raises(SceneError):  # no anchor at all
        jax2d.add_revolute_joint(scene, int(a), int(b))
    with pytest.raises(SceneError):  # min > max
        jax2d.add_revolute_joint(
            scene, int(a), int(b), anchor=(1, 0), has_limits=True, min_angle=1.0, max_angle=-1.0
        )
    with pytest.raises(SceneError):
        jax2d.add_thruster(scene, 99)
    with pytest.raises(SceneError):
        jax2d.add_thruster(scene, int(a), (float("nan"), 0))


def test_traced_builder_returns_minus_one_when_full():
    size = jax2d.SceneSize(num_polygons=1, num_circles=1, num_joints=0, num_thrusters=0)
    scene, _ = jax2d.add_circle(jax2d.Scene.empty(size), (0, 0), 0.5)

    @jax.jit
    def add(scene, x):
        return jax2d.add_circle(scene, jnp.stack([x, x]), 0.25)

    new, idx = add(scene, jnp.float32(3.0))
    assert int(idx) == -1
    for old_leaf, new_leaf in zip(jax.tree_util.tree_leaves(scene), jax.tree_util.tree_leaves(new)):
        np.testing.assert_array_equal(np.asarray(old_leaf), np.asarray(new_leaf))


def test_traced_builder_matches_eager():
    size = jax2d.SceneSize(num_polygons=2, num_circles=2, num_joints=1, num_thrusters=1)

    def build(x):
        scene = jax2d.Scene.empty(size)
        scene, a = jax2d.add_rectangle(scene, jnp.stack([x, 1.0]), 1.0, 0.5, rotation=0.3)
        scene, b = jax2d.add_circle(scene, jnp.stack([x + 1.0, 1.0]), 0.25)
        scene, _ = jax2d.add_revolute_joint(scene, a, b, anchor=jnp.stack([x + 0.5, 1.0]))
        scene, _ = jax2d.add_thruster(scene, b, (0.1, 0.0), 0.5)
        return scene

    eager = build(jnp.float32(2.0))
    traced = jax.jit(build)(jnp.float32(2.0))
    for e, t in zip(jax.tree_util.tree_leaves(eager), jax.tree_util.tree_leaves(traced)):
        np.testing.assert_allclose(np.asarray(e), np.asarray(t), atol=1e-6)


@pytest.mark.parametrize(
    "size",
    [
        jax2d.SceneSize(0, 0, 0, 0),
        jax2d.SceneSize(num_polygons=0, num_circles=1, num_joints=0, num_thrusters=0),
        jax2d.SceneSize(num_polygons=1, num_circles=0, num_joints=0, num_thrusters=0),
        jax2d.SceneSize(num_polygons=4, num_circles=0, num_joints=3, num_thrusters=0),
    ],
    ids=str,
)
def test_any_capacity_builds(size):
    scene = jax2d.Scene.empty(size)
    assert scene.size == size
    n = size.num_shapes
    assert scene.contacts.touching.shape == (n * (n - 1) // 2,)
    table = jax2d.pair_table(size.num_polygons, size.num_circles)
    assert table.num_pairs == n * (n - 1) // 2


def test_pair_table_order():
    # Polygon-polygon row-major, then circle-polygon circle-major, then circle-circle.
    t = jax2d.pair_table(3, 2)
    pairs = list(zip(t.a.tolist(), t.b.tolist()))
    assert pairs == [(0, 1), (0, 2), (1, 2), (3, 0), (3, 1), (3, 2), (4, 0), (4, 1), (4, 2), (3, 4)]
    assert (t.num_pp, t.num_cp, t.num_cc) == (3, 6, 1)
