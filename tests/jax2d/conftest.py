"""Shared machinery of the jax2d correctness suite.

Compiling a step is the expensive part of these tests, so every test simulates through one
jitted ``lax.scan`` of ``CHUNK`` steps per (scene size, physics config, batched?) and chains
chunks for longer runs. Run lengths therefore never trigger a recompile, and the compiled
programs are shared by the whole session.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d

DT = 1.0 / 60.0
G = 9.81
CHUNK = 60

# One small capacity for almost every test: room for a floor and a stack of five boxes, three
# circles, two joints and two thrusters. Sharing it keeps the number of compiles low.
SIZE = jax2d.SceneSize(num_polygons=6, num_circles=3, num_joints=2, num_thrusters=2)

DEFAULT = jax2d.PhysicsConfig()  # default setting, default (parallel) solver
SEQUENTIAL = jax2d.PhysicsConfig(solver="sequential")
# Jax2D's behaviour as the environment runs it (EnvConfig: sequential solver under jax2d-compat).
COMPAT = jax2d.PhysicsConfig(setting=jax2d.PHYSICS_SETTINGS["jax2d-compat"], solver="sequential")


@dataclasses.dataclass
class Trajectory:
    """``states`` holds the scene before the first step and after each step (numpy leaves,
    leading axis ``n_steps + 1``); ``touching`` is StepInfo.touching of each step; ``final`` is
    the last scene as JAX arrays (ready to be stepped further)."""

    states: jax2d.Scene
    touching: np.ndarray
    final: jax2d.Scene

    def circle(self, i):
        """(position (n+1, 2), velocity (n+1, 2), rotation, angular velocity) of circle slot i."""
        c = self.states.circle
        return c.position[:, i], c.velocity[:, i], c.rotation[:, i], c.angular_velocity[:, i]

    def polygon(self, i):
        p = self.states.polygon
        return p.position[:, i], p.velocity[:, i], p.rotation[:, i], p.angular_velocity[:, i]


@functools.cache
def _chunk_program(config: jax2d.PhysicsConfig, batched: bool):
    step = jax2d.make_step(config)

    def run(scene, actions, params):
        def body(s, _):
            s, info = step(s, actions, params)
            return s, (s, info.touching)

        _, (states, touching) = jax.lax.scan(body, scene, None, length=CHUNK)
        return states, touching

    if batched:
        run = jax.vmap(run, in_axes=(0, 0, None))
    return jax.jit(run)


def _actions(scene, actions, batched):
    size = scene.size
    n = size.num_joints + size.num_thrusters
    if actions is None:
        shape = (scene.polygon.active.shape[0], n) if batched else (n,)
        return jnp.zeros(shape, jnp.float32)
    a = jnp.asarray(actions, jnp.float32)
    assert a.shape[-1] == n, f"expected {n} actions, got {a.shape}"
    return a


def rollout(
    scene,
    n_steps,
    actions=None,
    params=jax2d.SimParams(),
    config=DEFAULT,
    batched=False,
) -> Trajectory:
    """Steps ``scene`` ``n_steps`` times with constant ``actions`` (zeros by default)."""
    program = _chunk_program(config, batched)
    acts = _actions(scene, actions, batched)
    axis = 1 if batched else 0
    pieces, touches = [], []
    state = scene
    for _ in range(math.ceil(n_steps / CHUNK)):
        states, touching = program(state, acts, params)
        state = jax.tree_util.tree_map(lambda x: jnp.take(x, -1, axis=axis), states)
        pieces.append(states)
        touches.append(touching)
    first = jax.tree_util.tree_map(lambda x: np.expand_dims(np.asarray(x), axis), scene)
    rest = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, axis=axis), *pieces)
    states = jax.tree_util.tree_map(
        lambda a, b: np.concatenate([a, np.take(b, np.arange(n_steps), axis=axis)], axis=axis),
        first,
        rest,
    )
    touching = np.take(np.concatenate(touches, axis=axis), np.arange(n_steps), axis=axis)
    final = jax.tree_util.tree_map(lambda x: jnp.asarray(np.take(x, n_steps, axis=axis)), states)
    return Trajectory(states=states, touching=touching, final=final)


@pytest.fixture(scope="session")
def sim():
    """The session-wide rollout function (compiled programs are cached across modules)."""
    return rollout


def set_body(scene, kind, slot, **fields):
    """Returns ``scene`` with fields of ``scene.<kind>`` (``"polygon"``/``"circle"``) set at
    ``slot``."""
    bodies = getattr(scene, kind)
    new = bodies.replace(
        **{
            k: getattr(bodies, k).at[slot].set(jnp.asarray(v, getattr(bodies, k).dtype))
            for k, v in fields.items()
        }
    )
    return scene.replace(**{kind: new})


def permute_shapes(scene, poly_perm, circle_perm):
    """The same world with polygon slot ``i`` moved to ``poly_perm[i]`` and circle slot ``j`` to
    ``circle_perm[j]``; joints and thrusters are re-pointed at the moved shapes."""
    P = scene.polygon.active.shape[0]
    C = scene.circle.active.shape[0]
    poly_perm = np.asarray(poly_perm)
    circle_perm = np.asarray(circle_perm)
    assert sorted(poly_perm.tolist()) == list(range(P))
    assert sorted(circle_perm.tolist()) == list(range(C))
    # new[poly_perm[i]] = old[i]  <=>  new = old[inverse]
    inv_p = np.argsort(poly_perm)
    inv_c = np.argsort(circle_perm)
    glob = np.concatenate([poly_perm, P + circle_perm]).astype(np.int32)  # old global -> new
    remap = lambda idx: jnp.asarray(glob)[idx]  # noqa: E731
    return scene.replace(
        polygon=jax.tree_util.tree_map(lambda x: x[inv_p], scene.polygon),
        circle=jax.tree_util.tree_map(lambda x: x[inv_c], scene.circle),
        joint=scene.joint.replace(
            a_index=remap(scene.joint.a_index), b_index=remap(scene.joint.b_index)
        ),
        thruster=scene.thruster.replace(shape_index=remap(scene.thruster.shape_index)),
        contacts=jax2d.ContactCache.empty(scene.contacts.touching.shape[0]),
    )


def fit_acceleration(t, s):
    """Least-squares quadratic fit s = c0 + c1 t + a t^2 / 2; returns a."""
    coeffs = np.polyfit(np.asarray(t, np.float64), np.asarray(s, np.float64), 2)
    return 2.0 * coeffs[0]


@pytest.fixture(scope="session")
def tools():
    """Plain helpers for test modules (conftest is not importable under every import mode)."""
    return _Tools


class _Tools:
    DT = DT
    G = G
    SIZE = SIZE
    DEFAULT = DEFAULT
    SEQUENTIAL = SEQUENTIAL
    COMPAT = COMPAT
    CONFIGS = {"parallel": DEFAULT, "sequential": SEQUENTIAL, "jax2d-compat": COMPAT}
    set_body = staticmethod(set_body)
    permute_shapes = staticmethod(permute_shapes)
    fit_acceleration = staticmethod(fit_acceleration)
