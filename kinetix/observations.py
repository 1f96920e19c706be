"""Observations with Kinetix's exact layouts: entity (default), flat and pixels.

All three are pure functions of the current scene and the level's roles, densities and bindings
(``observe(scene, level, obs_type)``); NaN in the state is zeroed (infinities become the largest
float32) before featurising, as Kinetix does.

Shared per-shape features (16): [0:2] position (m), [2:4] velocity (m/s), [4] inverse mass,
[5] inverse inertia, [6] density, [7] tanh(angular velocity / 10), [8:12] one-hot role,
[12] sin(rotation), [13] cos(rotation), [14] friction, [15] restitution.

* circle (18): + [16] radius, [17] 1.
* polygon (26): + [16] 0, [17:25] the 4 body-frame vertices (x0, y0, ..., x3, y3) in Kinetix's
  (clockwise) order, unused slots -1, [25] 1 if the polygon has <= 3 vertices.
* joint (22), one row per direction (rows k < J go from b to a, rows J + k from a to b):
  [0] active, [1] is_fixed, [2:4] anchor on the "from" shape, [4:6] anchor on the "to" shape,
  [6] sin(reference angle), [7] cos(reference angle); then, zeroed for fixed joints: [8] motor
  speed, [9] motor power, [10] motor on, [11] has limits, [12:16] one-hot motor binding,
  [16:20] sin/cos of min angle, sin/cos of max angle (times has limits), [20] (min angle -
  reference angle) * has limits, [21] (max angle - reference angle) * has limits.
* thruster (8): [0] active, [1:3] relative position, [3:5] one-hot binding, [5] sin(rotation),
  [6] cos(rotation), [7] power.

Entity observation (:class:`EntityObservation`): ``polygons`` (P, 27) and ``circles`` (C, 19)
(shape features + gravity_y / 10), ``joints`` (2J, 22), ``thrusters`` (T, 8), the four masks,
``joint_indexes`` (2J, 2) int32 (``(from, to)``; inactive rows ``(0, 0)``),
``thruster_indexes`` (T,) int32 and ``attention_mask`` (4, N, N) bool over shapes (polygons
first): [0] all pairs, [1] same jointed assembly (incl. self), [2] directly jointed (no self),
[3] touching at the start of the last physics step (row = the pair's ``a``, column = ``b``).
Every mask is restricted to active shapes.

Flat observation: polygon slots 0 and 4.. (walls and ceiling dropped) (P - 3) x 26, circles
C x 18, joints rows 0..J-1 with one-hot(from, N) and one-hot(to, N), thrusters with
one-hot(parent, N), each masked to 0 when inactive, then gravity_y / 10; clipped to [-10, 10].
Length ``(P-3)*26 + 18C + J(22 + 2N) + T(8 + N) + 1``: S 140, M 247, L 679.

Pixel observation (:class:`PixelObservation`): ``image`` (125, 125, 3) float32 in [0, 1] from
``kinetix.render.render_pixels`` (axis 0 is x, axis 1 is y) and ``global_info`` (1,) =
gravity_y / 10.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jax2d import Scene, pair_table
from kinetix.errors import EnvConfigError
from kinetix.level import Level
from kinetix.sizes import (
    NUM_MOTOR_BINDINGS,
    NUM_ROLES,
    NUM_STATIC_POLYGONS,
    NUM_THRUSTER_BINDINGS,
    EnvSize,
)
from kinetix.spaces import Box, Dict, Space

__all__ = [
    "OBS_TYPES",
    "EntityObservation",
    "PixelObservation",
    "entity_observation",
    "flat_observation",
    "pixel_observation",
    "observe",
    "observation_space",
    "flat_size",
    "jointed_matrix",
    "kinetix_vertex_order",
    "PIXEL_DOWNSCALE",
]

OBS_TYPES = ("entity", "flat", "pixels")
PIXEL_DOWNSCALE = 4
_SCREEN = 500


def check_obs_type(obs_type: str) -> str:
    if obs_type not in OBS_TYPES:
        raise EnvConfigError(
            f"EnvConfig.obs_type: unknown observation type {obs_type!r}; "
            f"expected one of {', '.join(OBS_TYPES)}"
        )
    return obs_type


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class EntityObservation:
    """Kinetix's symbolic-entity observation (field names and order as Kinetix's)."""

    circles: jax.Array
    polygons: jax.Array
    joints: jax.Array
    thrusters: jax.Array
    circle_mask: jax.Array
    polygon_mask: jax.Array
    joint_mask: jax.Array
    thruster_mask: jax.Array
    attention_mask: jax.Array
    joint_indexes: jax.Array
    thruster_indexes: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PixelObservation:
    """Kinetix's pixel observation: ``image`` (125, 125, 3) in [0, 1], ``global_info`` (1,)."""

    image: jax.Array
    global_info: jax.Array


def kinetix_vertex_order(vertices: jax.Array, n_vertices: jax.Array) -> jax.Array:
    """Reorders counter-clockwise vertices (..., V, 2) into Kinetix's clockwise order.

    Vertex 0 stays first and the others reverse: Kinetix slot i holds our slot ``(n - i) % n``.
    The map is its own inverse (the JSON importer uses it the other way). Slots >= n keep their
    content.
    """
    V = vertices.shape[-2]
    i = jnp.arange(V)
    n = jnp.asarray(n_vertices)[..., None]
    src = jnp.where(i < n, (n - i) % jnp.maximum(n, 1), i)
    return jnp.take_along_axis(vertices, src[..., None], axis=-2)


_FMAX = float(np.finfo(np.float32).max)


def _finite(x):
    """``jnp.nan_to_num`` for float32 (NaN -> 0, +-inf -> +-max), cheaper to compile."""
    return jnp.where(jnp.isnan(x), 0.0, jnp.clip(x, -_FMAX, _FMAX)).astype(x.dtype)


_BODY_FIELDS = (
    "position", "rotation", "velocity", "angular_velocity", "inverse_mass", "inverse_inertia",
    "friction", "restitution", "vertices", "radius",
)  # fmt: skip
_JOINT_FIELDS = (
    "a_anchor", "b_anchor", "reference_angle", "motor_speed", "motor_power", "min_angle",
    "max_angle",
)  # fmt: skip
_THRUSTER_FIELDS = ("relative_position", "rotation", "power")


def _clean(scene: Scene, level: Level):
    """NaN -> 0 (inf -> largest float) in every field the features read, as Kinetix does
    (it cleans the whole state before featurising; other fields do not matter)."""

    def fix(obj, fields):
        return obj.replace(**{f: _finite(getattr(obj, f)) for f in fields})

    scene = scene.replace(
        polygon=fix(scene.polygon, _BODY_FIELDS),
        circle=fix(scene.circle, _BODY_FIELDS),
        joint=fix(scene.joint, _JOINT_FIELDS),
        thruster=fix(scene.thruster, _THRUSTER_FIELDS),
        gravity=_finite(scene.gravity),
    )
    level = level.replace(
        polygon_densities=_finite(level.polygon_densities),
        circle_densities=_finite(level.circle_densities),
    )
    return scene, level


def _base_features(bodies, roles, density):
    f = jnp.float32
    return jnp.concatenate(
        [
            bodies.position,
            bodies.velocity,
            bodies.inverse_mass[:, None],
            bodies.inverse_inertia[:, None],
            density[:, None].astype(f),
            jnp.tanh(bodies.angular_velocity / 10)[:, None],
            jax.nn.one_hot(roles, NUM_ROLES, dtype=f),
            jnp.sin(bodies.rotation)[:, None],
            jnp.cos(bodies.rotation)[:, None],
            bodies.friction[:, None],
            bodies.restitution[:, None],
        ],
        axis=1,
    )


def _polygon_features(scene: Scene, level: Level):
    p = scene.polygon
    base = _base_features(p, level.polygon_roles, level.polygon_densities)
    V = p.vertices.shape[1]
    verts = kinetix_vertex_order(p.vertices, p.n_vertices)
    verts = jnp.where(jnp.arange(V)[None, :, None] < p.n_vertices[:, None, None], verts, -1.0)
    return jnp.concatenate(
        [
            base,
            jnp.zeros_like(base[:, :1]),
            verts.reshape(verts.shape[0], -1),
            (p.n_vertices <= 3).astype(jnp.float32)[:, None],
        ],
        axis=1,
    )


def _circle_features(scene: Scene, level: Level):
    c = scene.circle
    base = _base_features(c, level.circle_roles, level.circle_densities)
    return jnp.concatenate([base, c.radius[:, None], jnp.ones_like(base[:, :1])], axis=1)


def _joint_features(scene: Scene, level: Level):
    """(2J, 22) features, (2J, 2) int32 (from, to) indexes, (2J,) mask."""
    j = scene.joint
    f = jnp.float32
    hl = j.has_limits.astype(f)
    not_fixed = 1.0 - j.is_fixed.astype(f)
    rev = (
        jnp.concatenate(
            [
                j.motor_speed[:, None],
                j.motor_power[:, None],
                j.motor_on.astype(f)[:, None],
                hl[:, None],
                jax.nn.one_hot(level.motor_bindings, NUM_MOTOR_BINDINGS, dtype=f),
                (jnp.sin(j.min_angle) * hl)[:, None],
                (jnp.cos(j.min_angle) * hl)[:, None],
                (jnp.sin(j.max_angle) * hl)[:, None],
                (jnp.cos(j.max_angle) * hl)[:, None],
                ((j.min_angle - j.reference_angle) * hl)[:, None],
                ((j.max_angle - j.reference_angle) * hl)[:, None],
            ],
            axis=1,
        )
        * not_fixed[:, None]
    )

    def one_way(from_anchor, to_anchor):
        base = jnp.concatenate(
            [
                j.active.astype(f)[:, None],
                j.is_fixed.astype(f)[:, None],
                from_anchor,
                to_anchor,
                jnp.sin(j.reference_angle)[:, None],
                jnp.cos(j.reference_angle)[:, None],
            ],
            axis=1,
        )
        return jnp.concatenate([base, rev], axis=1)

    feats = jnp.concatenate([one_way(j.b_anchor, j.a_anchor), one_way(j.a_anchor, j.b_anchor)])
    act = j.active[:, None]
    a = j.a_index.astype(jnp.int32)[:, None]
    b = j.b_index.astype(jnp.int32)[:, None]
    from_b = jnp.where(act, jnp.concatenate([b, a], axis=1), 0)
    from_a = jnp.where(act, jnp.concatenate([a, b], axis=1), 0)
    idx = jnp.concatenate([from_b, from_a]).astype(jnp.int32)
    mask = jnp.concatenate([j.active, j.active]).astype(bool)
    return feats, idx, mask


def _thruster_features(scene: Scene, level: Level):
    t = scene.thruster
    f = jnp.float32
    feats = jnp.concatenate(
        [
            t.active.astype(f)[:, None],
            t.relative_position,
            jax.nn.one_hot(level.thruster_bindings, NUM_THRUSTER_BINDINGS, dtype=f),
            jnp.sin(t.rotation)[:, None],
            jnp.cos(t.rotation)[:, None],
            t.power[:, None],
        ],
        axis=1,
    )
    return feats, t.shape_index.astype(jnp.int32), t.active.astype(bool)


def _one_hot_rows(idx, n: int, valid) -> jax.Array:
    """(R, n) float32 one-hot rows of ``idx``; rows where ``valid`` is False are zero."""
    oh = jax.nn.one_hot(idx, n, dtype=jnp.float32)
    return jnp.where(jnp.asarray(valid)[:, None], oh, 0.0)


def jointed_matrix(scene: Scene) -> jax.Array:
    """(N, N) bool: shapes connected through a chain of active joints, or equal.

    This is ``not`` Jax2D's joint collision matrix (which Kinetix's attention mask [1] uses);
    computed as the reflexive-transitive closure by repeated boolean squaring.
    """
    P = scene.polygon.active.shape[0]
    N = P + scene.circle.active.shape[0]
    j = scene.joint
    eye = jnp.eye(N, dtype=bool)
    if j.active.shape[0] == 0 or N == 0:
        return eye
    act = j.active.astype(bool)
    oa = _one_hot_rows(j.a_index, N, act)
    ob = _one_hot_rows(j.b_index, N, act)
    adj = oa.T @ ob + ob.T @ oa
    reach = jnp.where(eye, 1.0, adj)
    for _ in range(max(1, int(np.ceil(np.log2(max(N, 2)))))):
        reach = (reach @ reach > 0).astype(jnp.float32)
    return reach > 0


@functools.cache
def _touching_cells(P: int, C: int) -> np.ndarray:
    """(N*N,) index into ``[touching..., False]``: the pair listed at each (row a, column b)
    cell, or K (always False) for cells with no pair or an arena-arena pair."""
    pt = pair_table(P, C)
    N, K = P + C, pt.num_pairs
    cells = np.full(N * N, K, np.int32)
    keep = ~((pt.a < P) & (pt.b < P) & (pt.a < NUM_STATIC_POLYGONS) & (pt.b < NUM_STATIC_POLYGONS))
    for k in np.flatnonzero(keep):
        cells[pt.a[k] * N + pt.b[k]] = k
    return cells


def _touching_matrix(scene: Scene) -> jax.Array:
    """(N, N) bool: pair (a, b) touched at the start of the last step (one direction), with
    the arena-arena pairs that Kinetix never lists left out."""
    P = scene.polygon.active.shape[0]
    C = scene.circle.active.shape[0]
    N = P + C
    padded = jnp.concatenate([scene.contacts.touching.astype(bool), jnp.zeros((1,), bool)])
    return padded[_touching_cells(P, C)].reshape(N, N)


def entity_observation(scene: Scene, level: Level) -> EntityObservation:
    """Kinetix's entity observation of ``scene`` (one level; vmap for batches)."""
    scene, level = _clean(scene, level)
    polys = _polygon_features(scene, level)
    circles = _circle_features(scene, level)
    g = scene.gravity[1] / 10
    polys = jnp.concatenate([polys, jnp.full((polys.shape[0], 1), g)], axis=1)
    circles = jnp.concatenate([circles, jnp.full((circles.shape[0], 1), g)], axis=1)
    joints, joint_idx, joint_mask = _joint_features(scene, level)
    thr, thr_idx, thr_mask = _thruster_features(scene, level)

    P = polys.shape[0]
    N = P + circles.shape[0]
    val = jnp.concatenate([scene.polygon.active, scene.circle.active]).astype(bool)
    vv = val[:, None] & val[None, :]
    full = jnp.ones((N, N), bool)
    assembly = jointed_matrix(scene)
    one_hop = jnp.zeros((N, N), bool)
    if joint_idx.shape[0] > 0 and N > 0:
        rows = jnp.ones(joint_idx.shape[0], bool)
        hits = _one_hot_rows(joint_idx[:, 0], N, rows).T @ _one_hot_rows(joint_idx[:, 1], N, rows)
        one_hop = (hits > 0).at[0, 0].set(False)  # inactive joints sit at (0, 0)
    touching = _touching_matrix(scene)
    attention = jnp.stack([full, assembly, one_hop, touching]) & vv[None]
    return EntityObservation(
        circles=circles.astype(jnp.float32),
        polygons=polys.astype(jnp.float32),
        joints=joints.astype(jnp.float32),
        thrusters=thr.astype(jnp.float32),
        circle_mask=scene.circle.active.astype(bool),
        polygon_mask=scene.polygon.active.astype(bool),
        joint_mask=joint_mask,
        thruster_mask=thr_mask,
        attention_mask=attention,
        joint_indexes=joint_idx,
        thruster_indexes=thr_idx,
    )


def flat_size(size: EnvSize) -> int:
    """Length of the flat observation for ``size`` (S 140, M 247, L 679)."""
    P, C, J, T = size.num_polygons, size.num_circles, size.num_joints, size.num_thrusters
    N = P + C
    kept = len(_kept_polygon_slots(P))
    return kept * 26 + C * 18 + J * (22 + 2 * N) + T * (8 + N) + 1


def _kept_polygon_slots(P: int) -> np.ndarray:
    return np.array([i for i in range(P) if i == 0 or i >= NUM_STATIC_POLYGONS], np.int32)


def flat_observation(scene: Scene, level: Level) -> jax.Array:
    """Kinetix's flat (symbolic) observation, float32 (:func:`flat_size`,)."""
    scene, level = _clean(scene, level)
    P = scene.polygon.active.shape[0]
    N = P + scene.circle.active.shape[0]
    keep = _kept_polygon_slots(P)
    polys = _polygon_features(scene, level)[keep]
    polys = jnp.where(scene.polygon.active[keep][:, None], polys, 0.0)
    circles = _circle_features(scene, level)
    circles = jnp.where(scene.circle.active[:, None], circles, 0.0)
    joints, joint_idx, joint_mask = _joint_features(scene, level)
    J = joints.shape[0] // 2
    joints = jnp.concatenate(
        [
            joints[:J],
            jax.nn.one_hot(joint_idx[:J, 0], N, dtype=jnp.float32),
            jax.nn.one_hot(joint_idx[:J, 1], N, dtype=jnp.float32),
        ],
        axis=1,
    )
    joints = jnp.where(joint_mask[:J, None], joints, 0.0)
    thr, thr_idx, thr_mask = _thruster_features(scene, level)
    thr = jnp.concatenate([thr, jax.nn.one_hot(thr_idx, N, dtype=jnp.float32)], axis=1)
    thr = jnp.where(thr_mask[:, None], thr, 0.0)
    obs = jnp.concatenate(
        [
            polys.reshape(-1),
            circles.reshape(-1),
            joints.reshape(-1),
            thr.reshape(-1),
            (scene.gravity[1] / 10)[None],
        ]
    )
    return jnp.nan_to_num(jnp.clip(obs, -10.0, 10.0)).astype(jnp.float32)


def pixel_observation(scene: Scene, level: Level) -> PixelObservation:
    """Kinetix's pixel observation (uses ``kinetix.render.render_pixels``)."""
    from kinetix.render import render_pixels  # lazy: the renderer is a separate module

    image = render_pixels(
        scene,
        level.polygon_roles,
        level.circle_roles,
        level.motor_bindings,
        level.thruster_bindings,
        downscale=PIXEL_DOWNSCALE,
    )
    return PixelObservation(
        image=jnp.asarray(image, jnp.float32),
        global_info=(scene.gravity[1:2] / 10.0).astype(jnp.float32),
    )


def observe(scene: Scene, level: Level, obs_type: str = "entity"):
    """The observation of ``obs_type`` (``"entity"``, ``"flat"`` or ``"pixels"``)."""
    check_obs_type(obs_type)
    if obs_type == "entity":
        return entity_observation(scene, level)
    if obs_type == "flat":
        return flat_observation(scene, level)
    return pixel_observation(scene, level)


def observation_space(size: EnvSize, obs_type: str = "entity") -> Space:
    """The observation space of ``obs_type`` at ``size`` (shapes and dtypes)."""
    check_obs_type(obs_type)
    P, C, J, T = size.num_polygons, size.num_circles, size.num_joints, size.num_thrusters
    N = P + C
    inf = float("inf")
    if obs_type == "flat":
        return Box(-10.0, 10.0, (flat_size(size),), jnp.float32)
    if obs_type == "pixels":
        side = _SCREEN // PIXEL_DOWNSCALE
        return Dict(
            {
                "image": Box(0.0, 1.0, (side, side, 3), jnp.float32),
                "global_info": Box(-inf, inf, (1,), jnp.float32),
            }
        )
    return Dict(
        {
            "circles": Box(-inf, inf, (C, 19), jnp.float32),
            "polygons": Box(-inf, inf, (P, 27), jnp.float32),
            "joints": Box(-inf, inf, (2 * J, 22), jnp.float32),
            "thrusters": Box(-inf, inf, (T, 8), jnp.float32),
            "circle_mask": Box(0, 1, (C,), jnp.bool_),
            "polygon_mask": Box(0, 1, (P,), jnp.bool_),
            "joint_mask": Box(0, 1, (2 * J,), jnp.bool_),
            "thruster_mask": Box(0, 1, (T,), jnp.bool_),
            "attention_mask": Box(0, 1, (4, N, N), jnp.bool_),
            "joint_indexes": Box(0, max(N - 1, 0), (2 * J, 2), jnp.int32),
            "thruster_indexes": Box(0, max(N - 1, 0), (T,), jnp.int32),
        }
    )
