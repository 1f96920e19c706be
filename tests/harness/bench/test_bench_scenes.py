"""The benchmark/demo scenes: full, heterogeneous, reproducible, resting in contact."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d
from harness.bench import scenes as bench_scenes

SIZES = ("s", "m", "l")


def _np(tree):
    return jax.tree.map(np.asarray, tree)


def _rot(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def _boxes(scene):
    """(B, N, 2, 2) axis-aligned bounds [[xmin, ymin], [xmax, ymax]] of every shape."""
    p, c = scene.polygon, scene.circle
    corners = p.position[..., None, :] + np.einsum("bnij,bnvj->bnvi", _rot(p.rotation), p.vertices)
    used = np.arange(p.vertices.shape[-2]) < p.n_vertices[..., None]
    lo_p = np.where(used[..., None], corners, np.inf).min(-2)
    hi_p = np.where(used[..., None], corners, -np.inf).max(-2)
    r = c.radius[..., None]
    lo = np.concatenate([lo_p, c.position - r], 1)
    hi = np.concatenate([hi_p, c.position + r], 1)
    return np.stack([lo, hi], -2)


def _gap(box_a, box_b):
    """Largest per-axis gap between two boxes (negative: they overlap)."""
    return np.max(np.maximum(box_a[0] - box_b[1], box_b[0] - box_a[1]))


@pytest.mark.parametrize("size", SIZES)
def test_every_slot_is_used(size):
    scene = bench_scenes.template(size).scene
    expected = bench_scenes.SIZES[size]
    assert scene.size == expected
    for entities in (scene.polygon, scene.circle, scene.joint, scene.thruster):
        assert bool(jnp.all(entities.active))
    assert bool(jnp.any(scene.joint.motor_on))
    if size == "l":
        assert bool(jnp.any(scene.joint.is_fixed))


def test_size_names():
    assert bench_scenes.parse_size(" S ") == "s"
    assert bench_scenes.parse_size("large") == "l"
    with pytest.raises(ValueError, match="known sizes"):
        bench_scenes.parse_size("xl")


@pytest.mark.parametrize("size", SIZES)
def test_batches_are_reproducible_heterogeneous_and_nested(size):
    a = _np(bench_scenes.scene_batch(size, 6, seed=3))
    b = _np(bench_scenes.scene_batch(size, 6, seed=3))
    small = _np(bench_scenes.scene_batch(size, 2, seed=3))
    other = _np(bench_scenes.scene_batch(size, 6, seed=4))
    jax.tree.map(np.testing.assert_array_equal, a, b)
    jax.tree.map(lambda x, y: np.testing.assert_array_equal(x[:2], y), a, small)
    assert not np.array_equal(a.polygon.position, other.polygon.position)
    # scenes differ from each other in positions and in mass properties
    pos = a.polygon.position[:, 4]
    assert len(np.unique(pos[:, 0])) == 6
    dyn = a.circle.inverse_mass[:, 0]
    assert len(np.unique(dyn)) == 6
    # static bodies stay static
    np.testing.assert_array_equal(a.polygon.inverse_mass[:, :4], 0.0)

    acts = np.asarray(bench_scenes.scene_actions(size, 6, seed=3))
    sz = bench_scenes.SIZES[size]
    assert acts.shape == (6, sz.num_joints + sz.num_thrusters)
    assert acts.dtype == np.float32
    assert np.all(np.abs(acts[:, : sz.num_joints]) <= 1)
    assert np.all((acts[:, sz.num_joints :] >= 0) & (acts[:, sz.num_joints :] <= 1))
    assert np.all(
        bench_scenes.scene_actions(size, 6, seed=3, thrusters=False)[:, sz.num_joints :] == 0
    )


@pytest.mark.parametrize("size", SIZES)
def test_jitter_keeps_joints_together(size):
    s = _np(bench_scenes.scene_batch(size, 32, seed=1, drop=0.5))
    pos = np.concatenate([s.polygon.position, s.circle.position], 1)
    rot = np.concatenate([s.polygon.rotation, s.circle.rotation], 1)
    j = s.joint
    rows = np.arange(pos.shape[0])[:, None]
    world_a = pos[rows, j.a_index] + np.einsum(
        "bjik,bjk->bji", _rot(rot[rows, j.a_index]), j.a_anchor
    )
    world_b = pos[rows, j.b_index] + np.einsum(
        "bjik,bjk->bji", _rot(rot[rows, j.b_index]), j.b_anchor
    )
    np.testing.assert_allclose(world_a, world_b, atol=1e-5)
    np.testing.assert_allclose(j.position, world_a, atol=1e-5)
    t = s.thruster
    parent = pos[rows, t.shape_index]
    expected = parent + np.einsum(
        "btik,btk->bti", _rot(rot[rows, t.shape_index]), t.relative_position
    )
    np.testing.assert_allclose(t.position, expected, atol=1e-5)


@pytest.mark.parametrize("size", SIZES)
def test_shapes_rest_in_contact_inside_the_arena(size):
    tpl = bench_scenes.template(size)
    s = _np(bench_scenes.scene_batch(size, 64, seed=0))
    boxes = _boxes(s)
    group_of = {i: g for g, grp in enumerate(tpl.groups) for i in grp.shapes}
    dynamic = np.flatnonzero(np.concatenate([s.polygon.inverse_mass[0], s.circle.inverse_mass[0]]))
    assert sorted(group_of) == dynamic.tolist()
    eps = 1e-4
    for b in range(boxes.shape[0]):
        for i in dynamic:
            lo, hi = boxes[b, i]
            assert lo[0] > -eps and hi[0] < jax2d.ARENA_SIZE + eps, "inside the walls"
            assert lo[1] > jax2d.FLOOR_TOP - eps, "above the floor"
            others = [k for k in range(boxes.shape[1]) if k != i]
            # in or near contact with something (the floor counts)
            assert min(_gap(boxes[b, i], boxes[b, k]) for k in others) < 0.02
            # never overlapping a shape of another group
            for k in dynamic:
                if group_of[k] != group_of[i]:
                    assert _gap(boxes[b, i], boxes[b, k]) > 0


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(jax2d, "step"), reason="jax2d.step not written yet")
@pytest.mark.parametrize("size", SIZES)
def test_scenes_stay_at_rest_without_actions(size):
    """With every action 0 (motors hold, thrusters off) the scenes are at rest: after 1 s
    nothing moves fast, nothing left the arena, nothing is NaN."""
    batch = 4
    scenes = bench_scenes.scene_batch(size, batch, seed=0)
    actions = jnp.zeros_like(bench_scenes.scene_actions(size, batch))
    vstep = jax.vmap(jax2d.step, in_axes=(0, 0, None))

    @jax.jit
    def run(s):
        return jax.lax.scan(
            lambda s, _: (vstep(s, actions, jax2d.SimParams())[0], None), s, None, 60
        )[0]

    start, end = _np(scenes), _np(run(scenes))
    for kind in ("polygon", "circle"):
        b0, b1 = getattr(start, kind), getattr(end, kind)
        dyn = b0.inverse_mass > 0
        assert np.all(np.isfinite(b1.position)) and np.all(np.isfinite(b1.velocity))
        moved = np.linalg.norm(b1.position - b0.position, axis=-1)
        assert np.max(np.where(dyn, moved, 0.0)) < 0.05, f"{kind} drifted"
        assert np.max(np.where(dyn, np.linalg.norm(b1.velocity, axis=-1), 0.0)) < 0.2
