"""The renderer: pixel observation conventions, colours, order, batching, and Kinetix closeness."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from kinetix_helpers import shared_level_path

import jax2d
import kinetix as kx
from kinetix.render import (
    MOTOR_COLOURS,
    ROLE_COLOURS,
    render_image,
    render_pixels,
    to_display,
)

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "reference_pixels.npz"
WHITE = (255, 255, 255)


def args(level, scene=None):
    return (
        level.scene if scene is None else scene,
        level.polygon_roles,
        level.circle_roles,
        level.motor_bindings,
        level.thruster_bindings,
    )


def rgb(image, x, y, downscale=4):
    """uint8 colour of the observation pixel that samples world point (x, y)."""
    s = downscale / 100
    return tuple(int(v) for v in np.rint(np.asarray(image)[int(x / s), int(y / s)] * 255))


@pytest.fixture(scope="module")
def scene_level():
    """An S level: green box (dynamic), static blue box, red disc, grey floor."""
    lv = kx.empty_level("s")
    sc = lv.scene
    sc, green = jax2d.add_rectangle(sc, (1.0, 2.0), 0.6, 0.6)
    sc, blue = jax2d.add_circle(sc, (4.0, 4.0), 0.4, static=True)
    sc, red = jax2d.add_circle(sc, (3.0, 1.2), 0.3)
    lv = lv.replace(scene=sc)
    lv = kx.set_role(kx.set_role(kx.set_role(lv, green, 1), blue, 2), red, 3)
    return lv


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_shape_dtype_range(size):
    lv = kx.empty_level(size)
    img = render_pixels(*args(lv))
    assert img.shape == (125, 125, 3) and img.dtype == jnp.float32
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
    assert render_pixels(*args(lv), downscale=2).shape == (250, 250, 3)
    assert render_pixels(*args(lv), downscale=1).shape == (500, 500, 3)


def test_bad_downscale():
    lv = kx.empty_level("s")
    with pytest.raises(ValueError, match="downscale"):
        render_pixels(*args(lv), downscale=0)


def test_colours_at_known_points(scene_level):
    img = render_pixels(*args(scene_level))
    assert rgb(img, 1.0, 2.0) == tuple(ROLE_COLOURS[1])  # green box centre
    assert rgb(img, 1.0, 3.0) == WHITE  # above it: background
    assert rgb(img, 2.5, 0.2) == (80, 80, 80)  # static floor: half brightness
    assert rgb(img, 0.02, 3.0) == WHITE  # walls are not drawn
    assert rgb(img, 2.5, 4.98) == WHITE  # nor the ceiling
    # the red disc; its radius line points along the body's +y axis (rotation 0 -> up)
    assert rgb(img, 3.0, 1.0) == tuple(ROLE_COLOURS[3])
    assert rgb(img, 3.0, 1.35) == (0, 0, 0)


def test_static_shapes_are_darker(scene_level):
    img = render_pixels(*args(scene_level))
    assert rgb(img, 4.0, 3.8) == (0, 51, 102)
    lv = scene_level.replace(
        scene=scene_level.scene.replace(
            polygon=scene_level.scene.polygon.replace(
                inverse_mass=scene_level.scene.polygon.inverse_mass.at[4].set(0.0)
            )
        )
    )
    assert rgb(render_pixels(*args(lv)), 1.0, 2.0) == (0, 102, 0)  # static green


def test_axes_x_then_y():
    """Axis 0 is x (left to right), axis 1 is y (bottom to top)."""
    lv = kx.empty_level("s")
    sc, i = jax2d.add_rectangle(lv.scene, (0.5, 4.0), 0.4, 0.4)
    lv = kx.set_role(lv.replace(scene=sc), i, 1)
    img = np.asarray(render_pixels(*args(lv)))
    green = np.all(np.rint(img * 255) == ROLE_COLOURS[1], axis=-1)
    xs, ys = np.nonzero(green)
    assert xs.max() < 25 and ys.min() > 90  # small x, large y
    # to_display: y up on screen, so the box is in the top-left corner
    disp = to_display(img)
    rows, cols = np.nonzero(np.all(disp == ROLE_COLOURS[1], axis=-1))
    assert rows.max() < 35 and cols.max() < 25


def test_painters_order():
    lv = kx.empty_level("m")
    sc = lv.scene
    sc, a = jax2d.add_rectangle(sc, (2.0, 2.0), 1.0, 1.0)
    sc, b = jax2d.add_rectangle(sc, (2.4, 2.0), 1.0, 1.0)  # later slot: on top of a
    sc, c = jax2d.add_circle(sc, (2.0, 2.0), 0.2)  # circles after polygons
    lv = kx.set_role(kx.set_role(kx.set_role(lv.replace(scene=sc), a, 1), b, 2), c, 3)
    img = render_pixels(*args(lv))
    assert rgb(img, 1.7, 2.0) == tuple(ROLE_COLOURS[1])
    assert rgb(img, 2.2, 2.3) == tuple(ROLE_COLOURS[2])
    assert rgb(img, 2.0, 1.9) == tuple(ROLE_COLOURS[3])


def test_inactive_shapes_are_not_drawn(scene_level):
    sc = scene_level.scene
    sc = sc.replace(polygon=sc.polygon.replace(active=sc.polygon.active.at[4].set(False)))
    assert rgb(render_pixels(*args(scene_level, sc)), 1.0, 2.0) == WHITE


def test_joints_and_thrusters():
    lv = kx.empty_level("m")
    sc = lv.scene
    sc, a = jax2d.add_rectangle(sc, (1.5, 2.0), 1.2, 0.4)
    sc, w = jax2d.add_circle(sc, (2.0, 2.0), 0.3)
    sc, _ = jax2d.add_revolute_joint(sc, a, w, (2.0, 2.0), motor_on=True)
    sc, _ = jax2d.add_revolute_joint(sc, a, w, (1.0, 2.0))  # no motor: white
    sc, _ = jax2d.add_thruster(sc, a, (-0.4, 0.0), rotation=0.0)
    sc, _ = jax2d.add_thruster(sc, a, (0.0, 0.0), rotation=np.pi / 2)
    lv = lv.replace(scene=sc)
    lv = kx.set_motor_binding(lv, 0, 2)
    lv = kx.set_thruster_binding(kx.set_thruster_binding(lv, 0, 0), 1, 1)
    img = np.rint(np.asarray(render_pixels(*args(lv))) * 255).astype(int)
    assert rgb(img / 255, 2.0, 2.0) == tuple(MOTOR_COLOURS[2])  # cyan motor joint
    assert rgb(img / 255, 1.0, 2.0) == WHITE  # joint without motor
    colours = {tuple(c) for c in img.reshape(-1, 3)}
    assert tuple(MOTOR_COLOURS[0]) in colours  # binding-0 thruster flame: yellow
    assert tuple(MOTOR_COLOURS[1]) in colours  # binding-1 thruster flame: magenta
    # the marker points along the thrust: black plate ahead (+x for thruster 0), flame behind
    full = render_pixels(*args(lv), downscale=1)
    assert rgb(full, 1.1 + 0.08, 2.0, downscale=1) == (0, 0, 0)
    assert rgb(full, 1.1 + 0.04, 2.0, downscale=1) == (93, 93, 93)  # grey nozzle
    assert rgb(full, 1.1 - 0.005, 2.0, downscale=1) == tuple(MOTOR_COLOURS[0])  # flame core
    assert rgb(full, 1.1 - 0.07, 2.0, downscale=1) == (132, 132, 0)  # dim flame tip
    # thruster 1 (rotation pi/2 on the box) thrusts up: its plate is above, its flame below
    assert rgb(full, 1.5, 2.0 + 0.08, downscale=1) == (0, 0, 0)
    assert rgb(full, 1.5, 2.0 - 0.005, downscale=1) == tuple(MOTOR_COLOURS[1])


def test_vmap_matches_single(scene_level):
    other = kx.set_role(scene_level, 4, 2)
    other = other.replace(
        scene=other.scene.replace(
            polygon=other.scene.polygon.replace(
                position=other.scene.polygon.position.at[4].add(jnp.array([1.0, 0.5])),
                rotation=other.scene.polygon.rotation.at[4].set(0.7),
            )
        )
    )
    batch = kx.stack_levels([scene_level, other])
    imgs = jax.vmap(lambda lv: render_pixels(*args(lv)))(batch)
    assert imgs.shape == (2, 125, 125, 3)
    np.testing.assert_array_equal(imgs[0], render_pixels(*args(scene_level)))
    np.testing.assert_array_equal(imgs[1], render_pixels(*args(other)))
    assert not np.array_equal(imgs[0], imgs[1])


def test_pixel_observation_uses_renderer(scene_level):
    obs = kx.observe(scene_level.scene, scene_level, "pixels")
    np.testing.assert_array_equal(obs.image, render_pixels(*args(scene_level)))


def test_render_image(scene_level):
    img = render_image(*args(scene_level), downscale=2, supersample=2)
    assert img.shape == (250, 250, 3) and img.dtype == jnp.float32
    disp = to_display(img)
    assert disp.dtype == np.uint8 and disp.shape == (250, 250, 3)
    # green box centre (1.0, 2.0): column 1.0 / 0.02, row from the top (5 - 2.0) / 0.02
    assert tuple(disp[150, 50]) == tuple(ROLE_COLOURS[1])
    assert tuple(disp[10, 10]) == WHITE
    assert tuple(disp[245, 125]) == (80, 80, 80)  # floor at the bottom of the picture


@pytest.mark.parametrize(
    "name",
    [
        "s/h0_weak_thrust",
        "s/h2_one_wheel_car",
        "s/h4_thrust_aim",
        "s/h8_unicycle_balance",
        "m/arm_up",
        "m/h1_car_left",
        "m/h4_thrust_the_needle",
        "m/h9_spin_the_right_way",
        "l/grasp_easy",
        "l/h4_cartpole",
        "l/h7_maze_1",
        "l/mjc_hopper",
    ],
)
def test_close_to_kinetix(name):
    """Against Kinetix's own pixel observations (fixture): almost every pixel is equal.

    Measured: 29 of 187,500 pixels differ over the twelve levels, all on thruster markers or
    on ties exactly at an edge.
    """
    path = shared_level_path(name)
    ref = np.load(FIXTURE)[name].astype(int)  # 510 * value, exact
    lv = kx.load_kinetix_json(path)
    ours = np.rint(np.asarray(render_pixels(*args(lv))) * 510).astype(int)
    differ = np.any(ours != ref, axis=-1)
    assert differ.sum() <= 12, f"{differ.sum()} pixels differ"
    # padding the level to size L changes nothing
    padded = kx.pad_level(lv, "l")
    np.testing.assert_array_equal(render_pixels(*args(padded)), render_pixels(*args(lv)))
