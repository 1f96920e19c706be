"""Pictures and files: frames, thumbnails, contact sheets, atomic PNG/GIF writes, the CLI."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from kinetix_helpers import shared_level_path
from PIL import Image

import jax2d
import kinetix as kx
from harness import cli
from kinetix import render_io as rio
from kinetix.atomic_io import atomic_write
from kinetix.render import ROLE_COLOURS


@pytest.fixture(scope="module")
def level():
    lv = kx.empty_level("s")
    sc, green = jax2d.add_rectangle(lv.scene, (1.0, 2.0), 0.6, 0.6)
    sc, blue = jax2d.add_circle(sc, (4.0, 4.0), 0.4, static=True)
    return kx.set_role(kx.set_role(lv.replace(scene=sc), green, 1), blue, 2)


def test_level_frame_is_display_oriented(level):
    frame = rio.level_frame(level, downscale=4, supersample=1)
    assert frame.shape == (125, 125, 3) and frame.dtype == np.uint8
    # green box at x = 1.0, y = 2.0 -> column 25, row (5 - 2) / 0.04 = 75 from the top
    assert tuple(frame[75, 25]) == tuple(ROLE_COLOURS[1])
    assert tuple(frame[5, 5]) == (255, 255, 255)


def test_render_frames_matches_single(level):
    scenes = kx.stack_levels([level, level]).scene
    frames = rio.render_frames(
        scenes,
        level.polygon_roles,
        level.circle_roles,
        level.motor_bindings,
        level.thruster_bindings,
        downscale=4,
        supersample=1,
        chunk=4,
    )
    assert frames.shape == (2, 125, 125, 3)
    np.testing.assert_array_equal(frames[0], rio.level_frame(level, downscale=4, supersample=1))
    np.testing.assert_array_equal(frames[0], frames[1])


def test_thumbnail_and_contact_sheet(level):
    thumb = rio.thumbnail(level, 96)
    assert thumb.shape == (96, 96, 3) and thumb.dtype == np.uint8
    sheet = rio.contact_sheet([thumb] * 5, [f"level {i}" for i in range(5)], columns=3, pad=4)
    assert sheet.dtype == np.uint8
    assert sheet.shape == (2 * (96 + 14) + 3 * 4, 3 * 96 + 4 * 4, 3)
    with pytest.raises(ValueError, match="captions"):
        rio.contact_sheet([thumb] * 2, ["one"])


def test_png_round_trip_and_atomic(tmp_path, level):
    frame = rio.level_frame(level, downscale=4)
    path = tmp_path / "level.png"
    rio.save_png(path, frame)
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), frame)
    assert os.listdir(tmp_path) == ["level.png"]  # no temporary file left

    def broken(f):
        f.write(b"half a file")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, broken)
    assert os.listdir(tmp_path) == ["level.png"]  # old file kept, temporary file removed
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), frame)
    with pytest.raises(ValueError, match="uint8"):
        rio.save_png(tmp_path / "bad.png", frame.astype(np.float32))


def test_gif(tmp_path):
    frames = np.full((3, 20, 30, 3), 255, np.uint8)
    frames[1, :, :10] = ROLE_COLOURS[1]
    frames[2, :, 20:] = ROLE_COLOURS[3]
    path = tmp_path / "ep.gif"
    rio.save_gif(path, frames, fps=30)
    assert os.listdir(tmp_path) == ["ep.gif"]
    im = Image.open(path)
    assert im.n_frames == 3 and im.size == (30, 20)
    assert im.info["duration"] == 30
    im.seek(1)
    assert im.convert("RGB").getpixel((2, 2)) == tuple(int(v) for v in ROLE_COLOURS[1])


@pytest.mark.slow
def test_episode_frames_weak_thrust():
    """The no-op policy on s/h0_weak_thrust dies at agent step 19 (issue 3 parity table)."""
    lv = kx.load_kinetix_json(shared_level_path("s/h0_weak_thrust"))
    frames, summary = rio.episode_frames(lv, "noop", max_steps=40, downscale=10)
    assert summary["done"] and summary["died"] and not summary["solved"]
    assert abs(summary["steps"] - 19) <= 2
    assert frames.shape == (summary["steps"] + 1, 50, 50, 3)
    assert not np.array_equal(frames[0], frames[-1])  # the ball fell


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_render_png(tmp_path, capsys):
    level = shared_level_path("s/h2_one_wheel_car")
    out = tmp_path / "car.png"
    code, stdout, _ = run_cli(
        capsys, "render", level, "--out", str(out), "--downscale", "4", "--json"
    )
    assert code == 0
    record = json.loads(stdout)
    assert record["frames"] == 1 and record["width"] == record["height"] == 125
    assert Image.open(out).size == (125, 125)


def test_cli_render_errors(tmp_path, capsys):
    level = shared_level_path("s/h2_one_wheel_car")
    code, _, err = run_cli(capsys, "render", level, "--out", str(tmp_path / "x.jpg"))
    assert code == 2 and "png or .gif" in err
    code, _, err = run_cli(capsys, "render", str(tmp_path / "nope.json"), "--out", "a.png")
    assert code == 2 and "not found" in err
