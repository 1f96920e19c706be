"""Levels: sizes, padding, stacking, validation and the canonical hash."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from kinetix_helpers import build_level, shared_level_path

import jax2d
import kinetix as kx
from kinetix.hashing import canonical_bytes

DATA = pathlib.Path(__file__).parent / "data"


def leaves_equal(a, b) -> bool:
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        np.shape(x) == np.shape(y) and np.array_equal(x, y) for x, y in zip(la, lb, strict=True)
    )


def test_sizes():
    assert (kx.SIZE_S.num_polygons, kx.SIZE_S.num_circles) == (5, 2)
    assert (kx.SIZE_S.num_joints, kx.SIZE_S.num_thrusters) == (1, 1)
    assert kx.SIZE_M == kx.EnvSize(6, 3, 2, 2) and kx.SIZE_L == kx.EnvSize(12, 4, 6, 2)
    assert kx.env_size("S") is kx.SIZE_S and kx.SIZE_L.name == "l"
    assert kx.EnvSize(7, 1, 0, 0).name == "custom"
    assert kx.SIZE_S.fits_in(kx.SIZE_M) and not kx.SIZE_L.fits_in(kx.SIZE_M)
    assert kx.SIZE_S.union(kx.EnvSize(4, 5, 0, 0)) == kx.EnvSize(5, 5, 1, 1)
    with pytest.raises(kx.EnvConfigError, match="num_joints"):
        kx.EnvSize(5, 2, -1, 1)
    with pytest.raises(kx.EnvConfigError, match="unknown env size"):
        kx.env_size("xl")


def jointed_level() -> kx.Level:
    """S level: green circle on a polygon via a motor joint, thruster on the circle."""
    lv = kx.empty_level("s")
    sc, box = jax2d.add_rectangle(lv.scene, (2.0, 1.0), 0.6, 0.3)
    sc, wheel = jax2d.add_circle(sc, (2.3, 1.0), 0.2)
    sc, blue = jax2d.add_circle(sc, (4.0, 4.0), 0.2, static=True)
    sc, j = jax2d.add_revolute_joint(sc, int(box), int(wheel), (2.3, 1.0), motor_on=True)
    sc, t = jax2d.add_thruster(sc, int(wheel), power=0.5)
    lv = lv.replace(scene=sc)
    lv = kx.set_role(kx.set_role(lv, int(wheel), 1), int(blue), 2)
    lv = kx.set_motor_binding(lv, int(j), 2)
    return kx.set_thruster_binding(lv, int(t), 1)


def test_pad_shifts_circle_indices():
    lv = jointed_level()
    assert int(lv.scene.joint.b_index[0]) == 5 and int(lv.scene.thruster.shape_index[0]) == 5
    big = kx.pad_level(lv, "l")
    assert big.size == kx.SIZE_L
    assert int(big.scene.joint.a_index[0]) == 4  # polygon index unchanged
    assert int(big.scene.joint.b_index[0]) == 12  # circle 0 is global 12 in L
    assert int(big.scene.thruster.shape_index[0]) == 12
    assert big.scene.contacts.touching.shape == (jax2d.num_pairs(12, 4),)
    assert not np.any(big.scene.polygon.active[5:]) and not np.any(big.scene.joint.active[1:])
    np.testing.assert_array_equal(big.scene.circle.position[:2], lv.scene.circle.position)
    np.testing.assert_array_equal(big.motor_bindings[:1], [2])
    assert kx.pad_level(lv, "s") is lv


def test_pad_larger_into_smaller_is_an_error():
    with pytest.raises(kx.LevelSizeError, match="does not fit"):
        kx.pad_level(kx.empty_level("l"), "s")
    with pytest.raises(kx.LevelSizeError):
        kx.pad_level(kx.empty_level("m"), "s")


def test_pad_under_jit():
    lv = jointed_level()
    a = jax.jit(lambda x: kx.pad_level(x, "m"))(lv)
    assert leaves_equal(a, kx.pad_level(lv, "m"))


def test_stack_and_unstack():
    a, b = jointed_level(), build_level("fall")
    batch = kx.stack_levels([a, b, kx.pad_level(a, "m")])
    assert batch.size == kx.SIZE_M and batch.polygon_roles.shape == (3, 6)
    parts = kx.unstack_levels(batch)
    assert len(parts) == 3 and leaves_equal(parts[0], kx.pad_level(a, "m"))
    assert kx.level_hashes(batch)[0] == kx.level_hash(a)


def test_hash_is_stable_and_ignores_padding():
    lv = jointed_level()
    h = kx.level_hash(lv)
    assert len(h) == 64
    assert kx.level_hash(kx.pad_level(lv, "m")) == h
    assert kx.level_hash(kx.pad_level(lv, "l")) == h
    assert kx.level_hash(jax.tree.map(np.asarray, lv)) == h
    # Content changes change the hash.
    assert kx.level_hash(kx.set_role(lv, 0, 3)) != h
    assert kx.level_hash(kx.set_motor_binding(lv, 0, 1)) != h
    moved = lv.replace(scene=lv.scene.replace(gravity=jnp.array([0.0, -5.0])))
    assert kx.level_hash(moved) != h
    # Inactive-slot junk and contact caches do not enter it.
    big = kx.pad_level(lv, "m")
    sc = big.scene
    junk = big.replace(
        scene=sc.replace(
            polygon=sc.polygon.replace(position=sc.polygon.position.at[5].set(9.0)),
            circle=sc.circle.replace(radius=sc.circle.radius.at[2].set(3.0)),
            contacts=sc.contacts.replace(touching=~sc.contacts.touching),
        ),
        polygon_roles=big.polygon_roles.at[5].set(2),
    )
    assert kx.level_hash(junk) == h
    sc = lv.scene
    # -0.0 and 0.0 hash the same.
    neg = lv.replace(scene=sc.replace(polygon=sc.polygon.replace(rotation=-sc.polygon.rotation)))
    assert kx.level_hash(neg) == h


def test_hash_golden_value():
    """The canonical bytes are a contract (DESIGN §6): pin the hash of a committed level file
    (read by our importer, so it does not depend on the engine's mass rules)."""
    lv = kx.load_kinetix_json(DATA / "tiny_s.json")
    b = canonical_bytes(lv)
    assert b.startswith(b"kinetix-bench/level/v1\0")
    assert len(b) == GOLDEN_TINY_LEN
    assert kx.level_hash(lv) == GOLDEN_TINY_HASH


GOLDEN_TINY_HASH = "415997766e9048dc677bea13838a85ec2c1ff142d951b8ff25ff4dab19e4b1c9"
GOLDEN_TINY_LEN = 699


def test_hash_of_shared_level_padded():
    lv = kx.load_kinetix_json(shared_level_path("s/h0_weak_thrust"))
    assert kx.level_hash(kx.pad_level(lv, "l")) == kx.level_hash(lv)
    assert kx.level_set_hash([kx.level_hash(lv), "b"]) == kx.level_set_hash(
        ["b", kx.level_hash(lv)]
    )


def test_batch_hashes_equal_per_level_hashes():
    """level_hashes (vectorised over the batch) equals level_hash of each level: procedural
    levels of every size, the shared Kinetix levels padded to L, junk in inactive slots and
    -0.0."""
    from kinetix.batch_generation import generate_levels

    for size in ("s", "m", "l"):
        batch = generate_levels(4, np.arange(64), size, chunk=64)
        assert kx.level_hashes(batch) == [kx.level_hash(lv) for lv in kx.unstack_levels(batch)]
    names = [f"{s}/{n}" for s, n in (("s", "h0_weak_thrust"), ("m", "h1_car_left"))]
    names += ["l/grasp_easy", "l/mjc_hopper", "s/h8_unicycle_balance"]
    levels = [kx.load_kinetix_json(shared_level_path(n), size="l") for n in names]
    lv = kx.pad_level(jointed_level(), "l")
    sc = lv.scene
    levels.append(
        lv.replace(
            scene=sc.replace(
                polygon=sc.polygon.replace(
                    position=sc.polygon.position.at[9].set(7.0),
                    rotation=-sc.polygon.rotation,
                ),
                circle=sc.circle.replace(radius=sc.circle.radius.at[3].set(2.0)),
            )
        )
    )
    batch = kx.stack_levels(levels)
    assert kx.level_hashes(batch) == [kx.level_hash(lv) for lv in levels]
    assert kx.level_hashes(batch)[-1] == kx.level_hash(jointed_level())


def test_batch_hash_names_a_bad_reference():
    lv = kx.pad_level(jointed_level(), "m")  # polygon 5 is an empty slot
    jt = lv.scene.joint
    bad = lv.replace(scene=lv.scene.replace(joint=jt.replace(b_index=jt.b_index.at[0].set(5))))
    with pytest.raises(kx.LevelError, match="inactive polygon 5"):
        kx.level_hash(bad)
    with pytest.raises(kx.LevelError, match="inactive polygon 5"):
        kx.level_hashes(kx.stack_levels([lv, bad]))


# ---- validation -------------------------------------------------------------------------------


def mutate(lv: kx.Level, **scene_parts) -> kx.Level:
    return lv.replace(scene=lv.scene.replace(**scene_parts))


def test_valid_levels_pass():
    for kind in ("success", "death", "tie", "rest", "fall", "thrust"):
        kx.validate_level(build_level(kind))
    kx.validate_level(jointed_level())


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda lv: mutate(lv, joint=lv.scene.joint.replace(b_index=jnp.array([9]))),
            r"joint\[0\]\.b_index: shape index 9 is out of range",
        ),
        (
            lambda lv: mutate(
                lv, circle=lv.scene.circle.replace(active=lv.scene.circle.active.at[0].set(False))
            ),
            r"joint\[0\]\.b_index: refers to inactive shape 5",
        ),
        (
            lambda lv: mutate(lv, thruster=lv.scene.thruster.replace(shape_index=jnp.array([8]))),
            r"thruster\[0\]\.shape_index: shape index 8 is out of range",
        ),
        (
            lambda lv: mutate(lv, joint=lv.scene.joint.replace(a_index=jnp.array([5]))),
            r"joint\[0\]: a_index and b_index are both 5",
        ),
        (
            lambda lv: lv.replace(polygon_roles=lv.polygon_roles.at[4].set(7)),
            r"polygon_roles\[4\]: role must be in 0..3",
        ),
        (
            lambda lv: lv.replace(motor_bindings=jnp.array([4])),
            r"motor_bindings\[0\]: must be in 0..3",
        ),
        (
            lambda lv: lv.replace(thruster_bindings=jnp.array([2])),
            r"thruster_bindings\[0\]: must be in 0..1",
        ),
        (lambda lv: lv.replace(circle_roles=jnp.array([0, 2])), r"no active green shape"),
        (lambda lv: lv.replace(circle_roles=jnp.array([1, 0])), r"no active blue shape"),
        (
            lambda lv: mutate(
                lv,
                circle=lv.scene.circle.replace(
                    position=lv.scene.circle.position.at[0, 1].set(jnp.nan)
                ),
            ),
            r"scene\.circle\.position\[0, 1\]: NaN or infinite",
        ),
        (
            lambda lv: mutate(
                lv,
                polygon=lv.scene.polygon.replace(
                    vertices=lv.scene.polygon.vertices.at[4].set(lv.scene.polygon.vertices[4, ::-1])
                ),
            ),
            r"polygon\[4\]\.vertices: must be counter-clockwise",
        ),
        (
            lambda lv: mutate(
                lv,
                polygon=lv.scene.polygon.replace(
                    vertices=lv.scene.polygon.vertices.at[4, 2].set(jnp.array([0.0, 0.0]))
                ),
            ),
            r"polygon\[4\]\.vertices: .*convex",
        ),
        (
            lambda lv: mutate(
                lv,
                polygon=lv.scene.polygon.replace(vertices=lv.scene.polygon.vertices.at[4].set(0.0)),
            ),
            r"polygon\[4\]\.vertices: degenerate",
        ),
        (
            lambda lv: mutate(
                lv,
                polygon=lv.scene.polygon.replace(
                    n_vertices=lv.scene.polygon.n_vertices.at[4].set(2)
                ),
            ),
            r"polygon\[4\]\.n_vertices: must be in 3..4",
        ),
        (
            lambda lv: mutate(
                lv, circle=lv.scene.circle.replace(radius=lv.scene.circle.radius.at[0].set(0.0))
            ),
            r"circle\[0\]\.radius: must be > 0",
        ),
        (
            lambda lv: mutate(
                lv,
                circle=lv.scene.circle.replace(
                    collision_mode=lv.scene.circle.collision_mode.at[0].set(5)
                ),
            ),
            r"circle\[0\]\.collision_mode",
        ),
        (
            lambda lv: lv.replace(motor_auto=jnp.zeros(3, bool)),
            r"motor_auto: expected shape \(1,\)",
        ),
    ],
)
def test_validation_errors(change, message):
    with pytest.raises(kx.LevelValidationError, match=message):
        kx.validate_level(change(jointed_level()))
