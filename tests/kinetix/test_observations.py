"""Observations: shapes, spaces, Kinetix layouts (exact, against a committed fixture)."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from kinetix_helpers import shared_level_path

import jax2d
import kinetix as kx
from kinetix.observations import (
    entity_observation,
    flat_observation,
    flat_size,
    jointed_matrix,
    kinetix_vertex_order,
)

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "reference_obs.npz"
ENTITY_FIELDS = [
    "circles", "polygons", "joints", "thrusters", "circle_mask", "polygon_mask", "joint_mask",
    "thruster_mask", "attention_mask", "joint_indexes", "thruster_indexes",
]  # fmt: skip
SHAPES = {
    "s": {"polygons": (5, 27), "circles": (2, 19), "joints": (2, 22), "thrusters": (1, 8),
          "attention_mask": (4, 7, 7)},
    "m": {"polygons": (6, 27), "circles": (3, 19), "joints": (4, 22), "thrusters": (2, 8),
          "attention_mask": (4, 9, 9)},
    "l": {"polygons": (12, 27), "circles": (4, 19), "joints": (12, 22), "thrusters": (2, 8),
          "attention_mask": (4, 16, 16)},
}  # fmt: skip
FLAT = {"s": 140, "m": 247, "l": 679}


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_entity_and_flat_shapes(size):
    lv = kx.empty_level(size)
    ent = entity_observation(lv.scene, lv)
    for field, shape in SHAPES[size].items():
        assert getattr(ent, field).shape == shape, field
    space = kx.observation_space(kx.env_size(size), "entity")
    for field in ENTITY_FIELDS:
        x = getattr(ent, field)
        assert x.shape == space[field].shape and x.dtype == space[field].dtype, field
    flat = flat_observation(lv.scene, lv)
    assert flat.shape == (FLAT[size],) == (flat_size(kx.env_size(size)),)
    assert flat.dtype == jnp.float32
    assert kx.observation_space(kx.env_size(size), "flat").shape == (FLAT[size],)


def test_pixel_observation():
    pytest.importorskip("kinetix.render")
    from kinetix.render import render_pixels  # noqa: F401  (skip if the renderer is missing)

    lv = kx.empty_level("s")
    obs = kx.observe(lv.scene, lv, "pixels")
    space = kx.observation_space(kx.SIZE_S, "pixels")
    assert obs.image.shape == (125, 125, 3) == space["image"].shape
    assert obs.image.dtype == jnp.float32
    assert float(obs.image.min()) >= 0 and float(obs.image.max()) <= 1
    np.testing.assert_allclose(obs.global_info, [-0.981], rtol=1e-6)


def test_vertex_order_is_an_involution():
    v = jnp.arange(8.0).reshape(4, 2)
    for n in (3, 4):
        k = kinetix_vertex_order(v, n)
        np.testing.assert_array_equal(kinetix_vertex_order(k, n), v)
        np.testing.assert_array_equal(k[0], v[0])
        np.testing.assert_array_equal(k[1], v[n - 1])


def _sequential_collision_matrix(a, b, active, n):
    """Jax2D's algorithm restated: J passes over the joints, merging the rows/columns of
    each active joint's two shapes with a logical AND (True = may collide)."""
    cm = ~np.eye(n, dtype=bool)
    for _ in range(len(a)):
        for j in range(len(a)):
            if not active[j]:
                continue
            merged = cm[a[j]] & cm[b[j]]
            cm[a[j], :] = merged
            cm[:, b[j]] = merged
            cm[b[j], :] = merged
            cm[:, a[j]] = merged
    return cm


def test_jointed_matrix_matches_jax2d_collision_matrix():
    rng = np.random.default_rng(0)
    base = kx.empty_level("l").scene
    for _ in range(40):
        a, b = rng.integers(0, 16, 6), rng.integers(0, 16, 6)
        act = rng.random(6) < 0.7
        sc = base.replace(
            joint=base.joint.replace(
                a_index=jnp.asarray(a, jnp.int32),
                b_index=jnp.asarray(b, jnp.int32),
                active=jnp.asarray(act),
            )
        )
        expected = ~_sequential_collision_matrix(a, b, act, 16)
        np.testing.assert_array_equal(jointed_matrix(sc), expected)


def test_attention_masks_of_a_jointed_level():
    lv = kx.empty_level("s")
    sc, box = jax2d.add_rectangle(lv.scene, (2.0, 1.0), 0.6, 0.3)
    sc, wheel = jax2d.add_circle(sc, (2.3, 1.0), 0.2)
    sc, _ = jax2d.add_revolute_joint(sc, int(box), int(wheel), (2.3, 1.0))
    touching = sc.contacts.touching.at[0].set(True)  # pair (0, 1): arena-arena, never listed
    k = int(np.flatnonzero((jax2d.pair_table(5, 2).a == 5) & (jax2d.pair_table(5, 2).b == 4))[0])
    touching = touching.at[k].set(True)
    sc = sc.replace(contacts=sc.contacts.replace(touching=touching))
    lv = lv.replace(scene=sc)
    m = np.asarray(entity_observation(sc, lv).attention_mask)
    active = np.array([1, 1, 1, 1, 1, 1, 0], bool)
    np.testing.assert_array_equal(m[0], active[:, None] & active[None, :])
    assert m[1, 4, 5] and m[1, 5, 4] and m[1, 4, 4] and not m[1, 0, 4] and not m[1, 6, 6]
    assert m[2, 4, 5] and m[2, 5, 4] and not m[2, 4, 4] and m[2].sum() == 2
    assert m[3, 5, 4] and not m[3, 4, 5] and not m[3, 0, 1] and m[3].sum() == 1


def test_nan_is_zeroed():
    lv = kx.empty_level("s")
    sc = lv.scene.replace(
        polygon=lv.scene.polygon.replace(velocity=lv.scene.polygon.velocity.at[4, 0].set(jnp.nan))
    )
    ent = entity_observation(sc, lv)
    assert bool(jnp.all(jnp.isfinite(ent.polygons)))
    assert bool(jnp.all(jnp.isfinite(flat_observation(sc, lv))))


# ---- exact equality with Kinetix's own observations (fixture from make_reference_obs.py) ------


@pytest.fixture(scope="module")
def reference():
    return np.load(FIXTURE)


def _levels(reference):
    return sorted({k.split("/reset")[0] for k in reference.files if "/reset/" in k})


def _compare(reference, prefix, scene, level, exact=True):
    ent = entity_observation(scene, level)
    for f in ENTITY_FIELDS:
        ours, theirs = np.asarray(getattr(ent, f)), reference[f"{prefix}/entity/{f}"]
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, f"{prefix} {f}"
        if exact or ours.dtype != np.float32:
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{prefix} {f}")
        else:  # XLA's tanh may differ by 1 ulp between jax versions
            np.testing.assert_allclose(ours, theirs, rtol=3e-7, atol=1e-30, err_msg=f"{prefix} {f}")
    flat, ref_flat = np.asarray(flat_observation(scene, level)), reference[f"{prefix}/flat"]
    assert flat.shape == ref_flat.shape
    if exact:
        np.testing.assert_array_equal(flat, ref_flat, err_msg=f"{prefix} flat")
    else:
        np.testing.assert_allclose(flat, ref_flat, rtol=3e-7, atol=1e-30)


def test_reset_observations_equal_kinetix(reference):
    names = _levels(reference)
    assert len(names) == 12
    for name in names:
        lv = kx.load_kinetix_json(shared_level_path(name))
        _compare(reference, f"{name}/reset", lv.scene, lv)
        if f"{name}/reset_l/flat" in reference.files:
            big = kx.pad_level(lv, "l")
            _compare(reference, f"{name}/reset_l", big.scene, big)


def test_mid_episode_observations_equal_kinetix(reference):
    """After 12 random steps in Kinetix: our features of the same state, incl. the touching
    mask rebuilt from Kinetix's contact caches (poly-poly pairs skip the arena-arena pairs)."""
    names = sorted({k.split("/mid")[0] for k in reference.files if "/mid/" in k})
    assert len(names) == 3
    for name in names:
        lv = kx.load_kinetix_json(shared_level_path(name))

        def st(k, name=name):
            return jnp.asarray(reference[f"{name}/mid/state/{k}"])

        sc = lv.scene
        sc = sc.replace(
            polygon=sc.polygon.replace(
                position=st("polygon_position"),
                rotation=st("polygon_rotation"),
                velocity=st("polygon_velocity"),
                angular_velocity=st("polygon_angular_velocity"),
            ),
            circle=sc.circle.replace(
                position=st("circle_position"),
                rotation=st("circle_rotation"),
                velocity=st("circle_velocity"),
                angular_velocity=st("circle_angular_velocity"),
            ),
        )
        P, C = lv.size.num_polygons, lv.size.num_circles
        pt = jax2d.pair_table(P, C)
        touching = np.zeros(pt.num_pairs, bool)
        listed = [k for k in range(pt.num_pp) if not (pt.a[k] < 4 and pt.b[k] < 4)]
        touching[listed] = reference[f"{name}/mid/state/rr_active"].any(-1)
        touching[pt.num_pp : pt.num_pp + pt.num_cp] = reference[f"{name}/mid/state/cr_active"]
        touching[pt.num_pp + pt.num_cp :] = reference[f"{name}/mid/state/cc_active"]
        assert touching.any()
        sc = sc.replace(contacts=sc.contacts.replace(touching=jnp.asarray(touching)))
        _compare(reference, f"{name}/mid", sc, lv, exact=False)


def test_observe_under_jit_and_vmap():
    batch = kx.stack_levels([kx.empty_level("s"), kx.empty_level("s")])
    f = jax.jit(jax.vmap(lambda lv: kx.observe(lv.scene, lv, "entity")))
    assert f(batch).polygons.shape == (2, 5, 27)
    g = jax.jit(jax.vmap(lambda lv: kx.observe(lv.scene, lv, "flat")))
    assert g(batch).shape == (2, 140)
