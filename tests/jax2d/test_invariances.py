"""Invariances: batching, capacity, slot order, degenerate input, determinism, jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d

DT = 1.0 / 60.0
# Exactly what _busy_scene needs; the suite-wide size (6/3/2/2) then has spare slots of each kind.
SMALL = jax2d.SceneSize(num_polygons=4, num_circles=2, num_joints=1, num_thrusters=1)


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def _busy_scene(size, shift=0.0, spin=0.0):
    """Floor; a box resting on it with a spinning ball landing off-centre on the box; a second
    box sliding along the floor pushed by a thruster; a swinging pendulum. Plenty of contacts
    and a joint, nothing chaotic within a second."""
    scene = jax2d.empty_arena(size, left_wall=False, right_wall=False, ceiling=False)
    top = jax2d.FLOOR_TOP
    scene, _ = jax2d.add_rectangle(scene, (1.0 + shift, top + 0.25), 0.8, 0.5)
    scene, _ = jax2d.add_circle(
        scene, (1.15 + shift, 1.6), 0.2, restitution=0.3, angular_velocity=spin
    )
    scene, post = jax2d.add_rectangle(scene, (3.5, 3.0), 0.1, 0.1, static=True)
    scene, bob = jax2d.add_circle(scene, (4.0 + shift, 3.0), 0.15)
    scene, _ = jax2d.add_revolute_joint(scene, int(post), int(bob), anchor=(3.5, 3.0))
    scene, slider = jax2d.add_rectangle(
        scene, (2.5, top + 0.2 - 0.002), 0.6, 0.4, velocity=(1.5, 0.0)
    )
    scene, _ = jax2d.add_thruster(scene, int(slider), (0.0, 0.05), 0.0, 0.2)
    return scene


def _actions(size, thrust=0.8):
    a = np.zeros(size.num_joints + size.num_thrusters, np.float32)
    a[size.num_joints] = thrust
    return a


def _stack(scenes):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *scenes)


# With and without a joint: jointed motion is the most sensitive to rounding (Jax2D's joint
# model amplified it a thousandfold; see test_physics_settings.py), so it gets its own case.
WITH_JOINT = pytest.mark.parametrize("joint", [False, True], ids=["contacts", "with_joint"])


def _without_pendulum(scene):
    return scene.replace(
        joint=scene.joint.replace(active=scene.joint.active.at[0].set(False)),
        circle=scene.circle.replace(active=scene.circle.active.at[1].set(False)),
    )


def _without_slider(scene):
    p, t = scene.polygon, scene.thruster
    return scene.replace(
        polygon=p.replace(active=p.active.at[3].set(False)),
        thruster=t.replace(active=t.active.at[0].set(False)),
    )


@WITH_JOINT
def test_vmap_batch_equals_single_scenes(sim, tools, joint):
    size = SMALL
    scenes = [_busy_scene(size, 0.0), _busy_scene(size, 0.3, 2.0), _busy_scene(size, -0.4, -1.0)]
    if not joint:
        scenes = [_without_pendulum(s) for s in scenes]
    # Make the third scene structurally different: no slider (inactive box and thruster).
    scenes[2] = _without_slider(scenes[2])
    thrusts = [0.8, 0.0, 0.3]
    acts = np.stack([_actions(size, t) for t in thrusts])
    batched = sim(_stack(scenes), 45, actions=acts, batched=True)
    for i, scene in enumerate(scenes):
        alone = sim(scene, 45, actions=acts[i])
        for b, a in zip(_leaves(batched.states), _leaves(alone.states)):
            np.testing.assert_allclose(b[i], a, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(batched.touching[i], alone.touching)


def _embed(scene, big_size):
    """The same world in bigger capacities, with junk in every spare slot: inactive shapes
    overlapping the real ones, an inactive joint between two real touching shapes (it must not
    disable their contact), an inactive thruster on a real body."""
    size = scene.size
    P, C, J, T = size.num_polygons, size.num_circles, size.num_joints, size.num_thrusters
    Pb, Cb = big_size.num_polygons, big_size.num_circles
    big = jax2d.Scene.empty(big_size).replace(gravity=scene.gravity)

    def put(dst, src, n):
        return jax.tree_util.tree_map(lambda d, s: d.at[:n].set(s), dst, src)

    glob = np.concatenate([np.arange(P), Pb + np.arange(C)]).astype(np.int32)
    joint = scene.joint.replace(
        a_index=jnp.asarray(glob)[scene.joint.a_index],
        b_index=jnp.asarray(glob)[scene.joint.b_index],
    )
    thr = scene.thruster.replace(shape_index=jnp.asarray(glob)[scene.thruster.shape_index])
    big = big.replace(
        polygon=put(big.polygon, scene.polygon, P),
        circle=put(big.circle, scene.circle, C),
        joint=put(big.joint, joint, J),
        thruster=put(big.thruster, thr, T),
    )
    # Junk shapes: copies of real ones, shifted a little, dynamic, inactive.
    junk_poly = jax.tree_util.tree_map(lambda x: x[1], scene.polygon)
    for k in range(P, Pb):
        big = big.replace(
            polygon=jax.tree_util.tree_map(lambda d, s: d.at[k].set(s), big.polygon, junk_poly)
        )
    junk_circle = jax.tree_util.tree_map(lambda x: x[0], scene.circle)
    for k in range(C, Cb):
        big = big.replace(
            circle=jax.tree_util.tree_map(lambda d, s: d.at[k].set(s), big.circle, junk_circle)
        )
    p, c = big.polygon, big.circle
    big = big.replace(
        polygon=p.replace(active=p.active.at[P:].set(False), position=p.position.at[P:].add(0.05)),
        circle=c.replace(active=c.active.at[C:].set(False), position=c.position.at[C:].add(-0.05)),
    )
    # Inactive joint between the floor (0) and the box (1), which touch.
    jt = big.joint
    big = big.replace(
        joint=jt.replace(
            a_index=jt.a_index.at[J:].set(0),
            b_index=jt.b_index.at[J:].set(1),
            motor_on=jt.motor_on.at[J:].set(True),
            is_fixed=jt.is_fixed.at[J].set(True),
        )
    )
    th = big.thruster
    big = big.replace(
        thruster=th.replace(
            shape_index=th.shape_index.at[T:].set(1), power=th.power.at[T:].set(50.0)
        )
    )
    return big


@WITH_JOINT
def test_inactive_entities_change_nothing(sim, tools, joint):
    size, BIG = SMALL, tools.SIZE
    scene = _busy_scene(size)
    if not joint:
        scene = _without_pendulum(scene)
    big = _embed(scene, BIG)
    P, C = size.num_polygons, size.num_circles
    acts = _actions(size)
    big_acts = np.ones(BIG.num_joints + BIG.num_thrusters, np.float32)  # junk actions on junk
    big_acts[: size.num_joints] = acts[: size.num_joints]
    big_acts[BIG.num_joints : BIG.num_joints + size.num_thrusters] = acts[size.num_joints :]
    small = sim(scene, 60, actions=acts)
    large = sim(big, 60, actions=big_acts)
    for field in ("position", "rotation", "velocity", "angular_velocity"):
        np.testing.assert_allclose(
            getattr(large.states.polygon, field)[:, :P],
            getattr(small.states.polygon, field),
            atol=2e-5,
        )
        np.testing.assert_allclose(
            getattr(large.states.circle, field)[:, :C],
            getattr(small.states.circle, field),
            atol=2e-5,
        )
    # The same real pairs touch (map small pair slots to big ones).
    ts, tb = jax2d.pair_table(P, C), jax2d.pair_table(BIG.num_polygons, BIG.num_circles)
    glob = lambda g: g if g < P else g - P + BIG.num_polygons  # noqa: E731
    where = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(tb.a, tb.b))}
    for k, (a, b) in enumerate(zip(ts.a, ts.b)):
        np.testing.assert_array_equal(
            large.touching[:, where[(glob(a), glob(b))]], small.touching[:, k]
        )
    mask = np.zeros(tb.num_pairs, bool)
    mask[[where[(glob(a), glob(b))] for a, b in zip(ts.a, ts.b)]] = True
    assert not large.touching[:, ~mask].any()  # junk never touches anything
    # The box really is in contact with the floor (so the inactive joint mattered).
    assert small.touching[:, 0].all()


def test_permuting_shape_slots_does_not_change_physics(sim, tools):
    size = tools.SIZE
    scene = _busy_scene(size)
    acts = _actions(size)
    P, C = size.num_polygons, size.num_circles
    poly_perm = [4, 2, 5, 0, 1, 3]
    circle_perm = [2, 0, 1]
    perm_scene = tools.permute_shapes(scene, poly_perm, circle_perm)
    a = sim(scene, 60, actions=acts)
    b = sim(perm_scene, 60, actions=acts)
    # The contact solver is Gauss-Seidel, so the order in which it meets simultaneous contacts
    # (here ball-box and box-floor) may move results at the level of its convergence, far
    # below anything a slot-indexing mistake would produce.
    tolerance = {"position": 2e-4, "rotation": 1e-3, "velocity": 5e-3, "angular_velocity": 2e-2}
    for field, atol in tolerance.items():
        np.testing.assert_allclose(
            getattr(b.states.polygon, field)[:, poly_perm],
            getattr(a.states.polygon, field),
            atol=atol,
            err_msg=f"polygon {field}",
        )
        np.testing.assert_allclose(
            getattr(b.states.circle, field)[:, circle_perm],
            getattr(a.states.circle, field),
            atol=atol,
            err_msg=f"circle {field}",
        )
    # Touching pairs, as sets of shape pairs, match at every step.
    ta = jax2d.pair_table(P, C)
    glob = np.concatenate([poly_perm, P + np.asarray(circle_perm)])
    for t in range(60):
        sa = {
            frozenset((int(glob[x]), int(glob[y])))
            for x, y, on in zip(ta.a, ta.b, a.touching[t])
            if on
        }
        sb = {frozenset((int(x), int(y))) for x, y, on in zip(ta.a, ta.b, b.touching[t]) if on}
        assert sa == sb


def test_deterministic(sim, tools):
    size = SMALL
    scene = _busy_scene(size, 0.1, 1.0)
    acts = _actions(size)
    a = sim(scene, 90, actions=acts)
    b = sim(scene, 90, actions=acts)
    for x, y in zip(_leaves(a.states), _leaves(b.states)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.touching, b.touching)


@pytest.mark.slow
def test_jit_equals_eager(sim, tools):
    # Two steps (the second one warm-started) interpreted op by op, without any compilation.
    size = SMALL
    scene = _busy_scene(size, 0.0, 1.0)
    # Start with the ball already touching the box so contacts are exercised.
    scene = tools.set_body(scene, "circle", 0, position=(1.15, jax2d.FLOOR_TOP + 0.5 + 0.2 - 0.003))
    acts = jnp.asarray(_actions(size))
    n = 2
    jitted = sim(scene, n, actions=acts)
    s = scene
    with jax.disable_jit():
        for _ in range(n):
            s, info = jax2d.step(s, acts)
    for x, y in zip(_leaves(jitted.final), _leaves(s)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(jitted.touching[-1], np.asarray(info.touching))
    assert jitted.touching[-1].sum() >= 3  # box-floor, ball-box, slider-floor


def _finite_and_bounded(traj, params=jax2d.SimParams()):
    """Every float after the first step is finite and every body within the clamps."""
    for leaf in _leaves(traj.states):
        if leaf.dtype.kind == "f":
            assert np.all(np.isfinite(leaf[1:]))
    for b in (traj.states.polygon, traj.states.circle):
        assert np.abs(b.position[1:]).max() <= params.clip_position
        assert np.abs(b.velocity[1:]).max() <= params.clip_velocity
        assert np.abs(b.angular_velocity[1:]).max() <= params.clip_angular_velocity


def test_no_nan_from_coincident_centres(sim, tools):
    size = tools.SIZE
    scene = jax2d.Scene.empty(size).replace(gravity=jnp.zeros(2, jnp.float32))
    scene, _ = jax2d.add_circle(scene, (0.0, 0.0), 0.3)
    scene, _ = jax2d.add_circle(scene, (0.0, 0.0), 0.2)  # same centre as circle 0
    scene, _ = jax2d.add_rectangle(scene, (3.0, 0.0), 0.5, 0.5)
    scene, _ = jax2d.add_rectangle(scene, (3.0, 0.0), 0.5, 0.5)  # identical box on top of it
    scene, _ = jax2d.add_circle(scene, (6.0, 0.0), 0.2)
    scene, _ = jax2d.add_rectangle(scene, (6.0, 0.0), 0.6, 0.6)  # circle at the box centre
    scene, _ = jax2d.add_rectangle(scene, (-3.0, 0.0), 0.5, 0.5, static=True)
    scene, _ = jax2d.add_rectangle(scene, (-3.0, 0.0), 0.5, 0.5)  # on a static twin
    traj = sim(scene, 60)
    _finite_and_bounded(traj)
    assert traj.touching[0].sum() >= 4
    # Overlap is resolved: the dynamic twin leaves the static box.
    p = traj.states.polygon.position
    assert np.linalg.norm(p[-1, 4] - p[0, 4]) > 0.05
    np.testing.assert_array_equal(p[-1, 3], p[0, 3])  # the static twin stays put


def test_no_nan_from_touching_shapes(sim, tools):
    size = tools.SIZE
    scene = jax2d.empty_arena(size, left_wall=False, right_wall=False, ceiling=False)
    top = jax2d.FLOOR_TOP
    # Exactly touching: circle-circle, circle on a face, circle on a vertex, box on box corner,
    # box face on floor.
    scene, _ = jax2d.add_circle(scene, (1.0, top + 0.2), 0.2)
    scene, _ = jax2d.add_circle(scene, (1.4, top + 0.2), 0.2)
    scene, b = jax2d.add_rectangle(scene, (3.0, top + 0.25), 0.5, 0.5)
    scene, _ = jax2d.add_circle(scene, (3.25 + 0.2 / np.sqrt(2), top + 0.5 + 0.2 / np.sqrt(2)), 0.2)
    scene, _ = jax2d.add_rectangle(
        scene, (3.0, top + 0.5 + 0.25 * np.sqrt(2)), 0.5, 0.5, rotation=np.pi / 4
    )
    scene, _ = jax2d.add_rectangle(scene, (4.0, top + 0.1), 0.2, 0.2, rotation=0.0)
    traj = sim(scene, 60)
    _finite_and_bounded(traj)


def test_no_nan_at_the_clamps(sim, tools):
    size = tools.SIZE
    scene = jax2d.empty_arena(size, left_wall=False, right_wall=False, ceiling=False)
    scene, _ = jax2d.add_circle(scene, (2.0, 1.0), 0.2, velocity=(1e3, -1e3), angular_velocity=1e3)
    scene, _ = jax2d.add_circle(scene, (14.99, 14.99), 0.2, velocity=(100.0, 100.0))
    scene, _ = jax2d.add_rectangle(
        scene, (3.0, 1.0), 0.5, 0.5, velocity=(0.0, -100.0), angular_velocity=-50.0
    )
    scene, _ = jax2d.add_rectangle(
        scene, (-14.9, -14.9), 0.5, 0.5, velocity=(-1e6, -1e6), angular_velocity=1e6
    )
    traj = sim(scene, 60)
    _finite_and_bounded(traj)
    # Far beyond every clamp, a huge but finite velocity is still fine.
    scene = tools.set_body(
        scene,
        "circle",
        2,
        active=True,
        radius=0.1,
        position=(1.0, 3.0),
        velocity=(3e38, -3e38),
        inverse_mass=1.0,
        inverse_inertia=1.0,
    )
    _finite_and_bounded(sim(scene, 30))


@pytest.mark.parametrize(
    "size",
    [
        jax2d.SceneSize(num_polygons=2, num_circles=0, num_joints=0, num_thrusters=0),
        jax2d.SceneSize(num_polygons=0, num_circles=2, num_joints=0, num_thrusters=0),
        jax2d.SceneSize(num_polygons=1, num_circles=1, num_joints=1, num_thrusters=1),
        jax2d.SceneSize(num_polygons=0, num_circles=0, num_joints=0, num_thrusters=0),
    ],
    ids=["no_circles_joints_thrusters", "no_polygons", "one_of_each", "nothing"],
)
def test_tiny_capacities_build_and_step(size):
    step = jax.jit(jax2d.step)
    scene = jax2d.Scene.empty(size).replace(gravity=jnp.zeros(2, jnp.float32))
    P, C = size.num_polygons, size.num_circles
    if P == 2:  # a box resting on a static box under gravity
        scene = scene.replace(gravity=jnp.array([0.0, -9.81], jnp.float32))
        scene, _ = jax2d.add_rectangle(scene, (0.0, 0.0), 2.0, 0.2, static=True)
        scene, box = jax2d.add_rectangle(scene, (0.0, 0.35 - 0.002), 0.5, 0.5)
    if C == 2:  # equal discs, e = 1, head on: they swap velocities
        scene, _ = jax2d.add_circle(scene, (0.0, 0.0), 0.25, velocity=(2.0, 0.0), restitution=1.0)
        scene, _ = jax2d.add_circle(scene, (0.5 - 0.005 + 0.5, 0.0), 0.25, restitution=1.0)
    if P == 1 and C == 1:  # a thruster on a circle welded to a box
        scene, a = jax2d.add_rectangle(scene, (0.0, 0.0), 0.4, 0.4)
        scene, c = jax2d.add_circle(scene, (0.4, 0.0), 0.2)
        scene, _ = jax2d.add_fixed_joint(scene, int(a), int(c), anchor=(0.3, 0.0))
        scene, _ = jax2d.add_thruster(scene, int(c), (0.0, 0.0), 0.0)
    actions = jnp.ones(size.num_joints + size.num_thrusters, jnp.float32)
    s = scene
    for _ in range(60):
        s, info = step(s, actions)
    assert info.touching.shape == (size.num_shapes * (size.num_shapes - 1) // 2,)
    for leaf in _leaves(s):
        if leaf.dtype.kind == "f":
            assert np.all(np.isfinite(leaf))
    if P == 2:
        np.testing.assert_allclose(
            np.asarray(s.polygon.position[int(box)]), [0.0, 0.35], atol=0.012
        )
        assert bool(info.touching[0])
    if C == 2:
        np.testing.assert_allclose(
            np.asarray(s.circle.velocity), [[0.0, 0.0], [2.0, 0.0]], atol=0.01
        )
    if P == 1 and C == 1:
        # Thrust 10 N on the whole welded assembly: momentum = 10 N * 1 s.
        m = 1 / float(scene.polygon.inverse_mass[0]) + 1 / float(scene.circle.inverse_mass[0])
        p = np.asarray(s.polygon.velocity[0]) / float(scene.polygon.inverse_mass[0]) + np.asarray(
            s.circle.velocity[0]
        ) / float(scene.circle.inverse_mass[0])
        np.testing.assert_allclose(p, [10.0, 0.0], atol=0.05)
        assert m > 0
