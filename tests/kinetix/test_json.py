"""Kinetix level JSON import/export."""

from __future__ import annotations

import copy
import json
import pathlib

import jax
import numpy as np
import pytest
from kinetix_helpers import shared_level_path

import kinetix as kx
from kinetix.kinetix_json import level_from_kinetix_dict, level_to_kinetix_dict

DATA = pathlib.Path(__file__).parent / "data"
SHARED = [
    "s/h0_weak_thrust", "s/h2_one_wheel_car", "s/h4_thrust_aim", "s/h8_unicycle_balance",
    "m/arm_up", "m/h1_car_left", "m/h4_thrust_the_needle", "m/h9_spin_the_right_way",
    "l/grasp_easy", "l/h4_cartpole", "l/h7_maze_1", "l/mjc_hopper",
]  # fmt: skip


def leaves_equal(a, b) -> bool:
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        np.shape(x) == np.shape(y) and np.array_equal(x, y) for x, y in zip(la, lb, strict=True)
    )


def same_json(a, b, path="", skip=()):
    """Asserts two parsed JSON values are equal (floats compared as float32)."""
    if any(path.endswith(s) for s in skip):
        return
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {set(a) ^ set(b)}"
        for k in a:
            same_json(a[k], b[k], f"{path}.{k}", skip)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same_json(x, y, f"{path}[{i}]", skip)
    elif isinstance(a, bool) or isinstance(b, bool):
        assert a is b, f"{path}: {a} != {b}"
    elif isinstance(a, float) or isinstance(b, float):
        assert np.float32(a) == np.float32(b), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a} != {b}"


@pytest.mark.parametrize("name", SHARED)
def test_shared_levels_import_and_export(name):
    path = shared_level_path(name)
    lv = kx.load_kinetix_json(path)
    kx.validate_level(lv)
    assert lv.size == kx.env_size(name[0])
    np.testing.assert_array_equal(lv.scene.gravity, np.float32([0.0, -9.81]))
    assert not np.any(lv.motor_auto)
    # Export reproduces the file's physics content (circles' unused vertex fields, contact
    # caches, the env params and editor highlights are not kept).
    with open(path) as f:
        original = json.load(f)
    exported = level_to_kinetix_dict(lv)
    for kind in ("polygon", "joint", "thruster"):
        same_json(
            exported["env_state"][kind], original["env_state"][kind], kind, skip=("highlighted",)
        )
    for i, (c, o) in enumerate(
        zip(exported["env_state"]["circle"], original["env_state"]["circle"], strict=True)
    ):
        same_json(c, o, f"circle[{i}]", skip=("vertices", "n_vertices", "highlighted"))
    same_json(
        exported["env_state"]["collision_matrix"],
        original["env_state"]["collision_matrix"],
        "collision_matrix",
    )
    for key in ("acc_rr_manifolds", "acc_cr_manifolds", "acc_cc_manifolds"):
        assert len(exported["env_state"][key]) == len(original["env_state"][key]), key
    for key in ("num_polygons", "num_circles", "num_joints", "num_thrusters", "frame_skip"):
        assert exported["static_env_params"][key] == original["static_env_params"][key]
    # Round trip.
    again = level_from_kinetix_dict(json.loads(json.dumps(exported)))
    assert leaves_equal(again, lv)
    assert kx.level_hash(again) == kx.level_hash(lv)


def test_vertices_are_counter_clockwise_and_map_back():
    lv = kx.load_kinetix_json(shared_level_path("l/h4_cartpole"))
    with open(shared_level_path("l/h4_cartpole")) as f:
        raw = json.load(f)["env_state"]["polygon"]
    for i in np.flatnonzero(np.asarray(lv.scene.polygon.active)):
        n = int(lv.scene.polygon.n_vertices[i])
        v = np.asarray(lv.scene.polygon.vertices[i, :n], np.float64)
        area = 0.5 * np.sum(v[:, 0] * np.roll(v[:, 1], -1) - v[:, 1] * np.roll(v[:, 0], -1))
        assert area > 0
        file_v0 = raw[i]["vertices"]["0"]
        assert np.float32(file_v0["0"]) == v[0, 0] and np.float32(file_v0["1"]) == v[0, 1]


def test_own_files_round_trip_exactly():
    for name, size in (("tiny_s", kx.SIZE_S), ("tiny_custom", kx.EnvSize(6, 2, 1, 1))):
        with open(DATA / f"{name}.json") as f:
            data = json.load(f)
        lv = level_from_kinetix_dict(data)
        kx.validate_level(lv)
        assert lv.size == size
        same_json(level_to_kinetix_dict(lv), data)


def test_export_pads_small_capacities_for_kinetix():
    lv = kx.empty_level(kx.EnvSize(6, 1, 0, 0))
    d = level_to_kinetix_dict(lv)
    assert d["static_env_params"]["num_circles"] == 2
    assert d["static_env_params"]["num_joints"] == 1
    assert d["static_env_params"]["num_thrusters"] == 1
    assert len(d["env_state"]["acc_cc_manifolds"]) == 1
    assert len(d["env_state"]["acc_rr_manifolds"]) == 2 * (15 - 6)


def test_import_pads_to_a_size():
    lv = kx.load_kinetix_json(DATA / "tiny_s.json", size="l")
    assert lv.size == kx.SIZE_L
    assert kx.level_hash(lv) == kx.level_hash(kx.load_kinetix_json(DATA / "tiny_s.json"))
    with pytest.raises(kx.LevelSizeError):
        kx.load_kinetix_json(DATA / "tiny_custom.json", size="s")


def test_gravity_and_env_params_are_ignored():
    with open(DATA / "tiny_s.json") as f:
        data = json.load(f)
    base = level_from_kinetix_dict(data)
    data["env_state"]["gravity"] = {"0": 1.0, "1": -2.2}
    data["env_params"]["dense_reward_scale"] = 0.1
    data["env_params"]["max_timesteps"] = 10
    lv = level_from_kinetix_dict(data)
    np.testing.assert_array_equal(lv.scene.gravity, np.float32([0.0, -9.81]))
    assert leaves_equal(lv, base)


def test_save_and_load(tmp_path):
    lv = kx.load_kinetix_json(DATA / "tiny_s.json")
    out = tmp_path / "level.json"
    kx.save_kinetix_json(lv, out)
    assert leaves_equal(kx.load_kinetix_json(out), lv)


def _edit(data, path, value):
    node = data
    for k in path[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("env_state",), _DELETE, r"env_state: missing key"),
        (
            ("static_env_params", "num_circles"),
            _DELETE,
            r"static_env_params\.num_circles: missing key",
        ),
        (
            ("env_state", "polygon", 4, "position"),
            _DELETE,
            r"env_state\.polygon\[4\]\.position: missing key",
        ),
        (
            ("env_state", "polygon", 4, "position"),
            "oops",
            r"env_state\.polygon\[4\]\.position: expected an index-keyed object",
        ),
        (
            ("env_state", "polygon", 4, "position"),
            {"0": 1.0},
            r"env_state\.polygon\[4\]\.position: expected 2 entries",
        ),
        (
            ("env_state", "polygon", 4, "position"),
            {"0": 1.0, "2": 1.0},
            r"env_state\.polygon\[4\]\.position: expected keys",
        ),
        (
            ("env_state", "circle", 0, "radius"),
            True,
            r"env_state\.circle\[0\]\.radius: expected a number",
        ),
        (
            ("env_state", "circle", 0, "role"),
            "green",
            r"env_state\.circle\[0\]\.role: expected an integer",
        ),
        (
            ("env_state", "circle", 0, "active"),
            "yes",
            r"env_state\.circle\[0\]\.active: expected true/false",
        ),
        (
            ("env_state", "joint", 0, "motor_binding"),
            _DELETE,
            r"env_state\.joint\[0\]\.motor_binding: missing key",
        ),
        (
            ("env_state", "thruster", 0, "object_index"),
            1.5,
            r"env_state\.thruster\[0\]\.object_index: expected an integer",
        ),
        (
            ("env_state", "polygon", 4, "n_vertices"),
            7,
            r"env_state\.polygon\[4\]\.n_vertices: must be in 3\.\.4",
        ),
        (
            ("static_env_params", "num_polygons"),
            3,
            r"static_env_params\.num_polygons: must be >= 4",
        ),
        (
            ("static_env_params", "num_motor_bindings"),
            3,
            r"static_env_params\.num_motor_bindings: only 4 is supported",
        ),
        (("static_env_params", "num_joints"), 2, r"env_state\.joint: expected 2 entries"),
    ],
)
def test_malformed_files_name_the_field(path, value, message):
    with open(DATA / "tiny_s.json") as f:
        data = json.load(f)
    with pytest.raises(kx.KinetixJSONError, match=message):
        level_from_kinetix_dict(_edit(copy.deepcopy(data), path, value))


def test_counter_clockwise_file_vertices_are_rejected():
    with open(DATA / "tiny_s.json") as f:
        data = json.load(f)
    v = data["env_state"]["polygon"][4]["vertices"]
    v["1"], v["3"] = v["3"], v["1"]
    with pytest.raises(kx.KinetixJSONError, match=r"polygon\[4\]\.vertices: expected a clockwise"):
        level_from_kinetix_dict(data)


def test_not_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(kx.KinetixJSONError, match="not valid JSON"):
        kx.load_kinetix_json(bad)
    with pytest.raises(kx.KinetixJSONError, match="expected an object"):
        level_from_kinetix_dict([1, 2])
