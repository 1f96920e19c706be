"""Procedural level generator: Kinetix's random level distribution (``kinetix_spec.md`` §7).

``generate_level(key, size)`` samples one level (pure JAX: jit-, vmap-able);
``make_generator(size)`` returns a cached ``jit(vmap(...))`` mapping a batch of keys to a stacked
batch of levels; ``sample_levels(key, n, size)`` is the host-side convenience. The algorithm
restates Kinetix's ``sample_kinetix_level`` (spec §7.2):

1. the empty arena; the floor is grey / green / blue / red with prob. 0.9 / 0 / 0.02 / 0.08;
2. sizes with P + C <= 7 (S) never fixate shapes and use one proposal per addition, larger
   sizes keep the best of 8 proposals: the candidate scene with the fewest contact points
   (plus 10 for a connected shape that fails the visibility check);
3. two free shapes (green and blue, by the role rule); exactly one of them is forced dynamic;
4. a forced control: motor only, thruster only, or both (uniform). The motor is a connected
   shape on a revolute joint (a free shape when no connection is possible);
5. ``P + C - 7`` extra additions: connected shape (0.35), free shape (0.35) or nothing (0.3);
6. ``T - 1`` extra thrusters, each with prob. 0.3;
7. green and blue swap with prob. 0.5 when the floor is grey; then circles, dynamic polygons,
   joints and thrusters are shuffled (indices remapped).

Roles: the first shapes take the missing green / blue roles; later shapes are grey, or red with
weight 1/3 while no red object exists (the floor counts), so a level has at most one red
object. Fixation: probability ``min(0.02 + 4 * mass, 1)``; a fixed coloured shape in the upper
half moves down 2.5 m with prob. 0.6. Joints carry motors (prob. 0.8; speed U[0.4, 3], power
U[1, 3], or 1 when a circle is involved) and limits (prob. 0.4, rectangle pairs only).
Thrusters sit on a dynamic shape with power ``2 * mass * U[0.5, 2]``.

Differences from Kinetix worth knowing: the contact count is our engine's (points of touching,
non-jointed pairs); a fixed coloured shape only moves down if it stays above the floor; green
(blue) restricted to one side samples x in [e, 2.5] ([2.5, 5 - e]).

No-op filtering (spec §7.4, optional, :class:`NoopFilter`): each output level takes the first of
``attempts`` candidates (attempt 0 uses the caller's key, so an unsolved level is the
unfiltered one) that the no-op policy does not solve within ``steps`` agent steps; when every
attempt is solved the last one is kept (rare: ``rate ** attempts``).

Modules: what is drawn (:class:`GeneratorParams`, the random choices) is
:mod:`kinetix.generator_draws`; how the drawn values become a level (placement, joints,
thrusters, proposals, the shuffle) is :mod:`kinetix.generator_assembly`; this module composes
them into a level, filters and compiles. Imports go draws <- assembly <- generator.

Versioning rule: :data:`GENERATOR_VERSION` names the output. ANY change that alters the level
produced for a given (key, size, params) -- algorithm, random-number use, defaults, the engine's
mass rules -- must bump it; refactors that keep every output bit-identical keep it.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from kinetix.errors import EnvConfigError
from kinetix.generator_assembly import (
    _best_of,
    _connected_shape,
    _free_shape,
    _shuffle,
    _thruster,
    _where,
)
from kinetix.generator_draws import GeneratorError, GeneratorParams, _Draw
from kinetix.level import ROLE_BLUE, ROLE_GREEN, ROLE_NEUTRAL, Level, empty_level
from kinetix.sizes import (
    NUM_STATIC_POLYGONS,
    EnvSize,
    env_size,
)

__all__ = [
    "GENERATOR_VERSION",
    "GeneratorError",
    "GeneratorParams",
    "NoopFilter",
    "check_generator_size",
    "generate_level",
    "make_generator",
    "sample_levels",
]

GENERATOR_VERSION = "kinetix-gen-1"


@dataclasses.dataclass(frozen=True)
class NoopFilter:
    """Drop levels the no-op policy solves (Kinetix: 64 agent steps).

    Attributes:
        attempts: candidates drawn per output level (the first unsolved one is kept).
        steps: agent steps of the no-op rollout.
        env_config: the env that judges (default ``EnvConfig(size=<generator size>)``).
    """

    attempts: int = 4
    steps: int = 64
    env_config: object = None

    def __post_init__(self):
        if not (isinstance(self.attempts, int) and self.attempts >= 1):
            raise GeneratorError(f"NoopFilter.attempts: must be an int >= 1, got {self.attempts!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise GeneratorError(f"NoopFilter.steps: must be an int >= 1, got {self.steps!r}")


def check_generator_size(size: str | EnvSize) -> EnvSize:
    """The :class:`EnvSize` for ``size``, or :class:`GeneratorError` naming the field."""
    try:
        size = env_size(size)
    except EnvConfigError as e:
        raise GeneratorError(str(e)) from None
    if size.num_polygons < NUM_STATIC_POLYGONS:
        raise GeneratorError(
            f"EnvSize.num_polygons: the arena needs {NUM_STATIC_POLYGONS} polygon slots, "
            f"got {size.num_polygons}"
        )
    free = size.num_polygons - NUM_STATIC_POLYGONS + size.num_circles
    if free < 2:
        raise GeneratorError(
            "EnvSize.num_polygons + num_circles: the generator needs at least 2 dynamic shape "
            f"slots (green and blue) besides the 4 arena polygons, got {free} "
            f"({size.num_polygons} polygons, {size.num_circles} circles)"
        )
    if size.max_polygon_vertices < 4:
        raise GeneratorError(
            "EnvSize.max_polygon_vertices: the generator builds rectangles (4 vertices), got "
            f"{size.max_polygon_vertices}"
        )
    if size.num_joints + size.num_thrusters < 1:
        raise GeneratorError(
            "EnvSize.num_joints + num_thrusters: the forced control needs a joint or a thruster "
            "slot, got 0 of each"
        )
    return size


# ----------------------------------------------------------------------------------------------
# helpers


def generate_level(
    key: jax.Array, size: str | EnvSize = "l", params: GeneratorParams = GeneratorParams()
) -> Level:
    """Samples one level (no batch axis) of ``size``; pure JAX, jit- and vmap-able.

    ``size`` and ``params`` are static. Raises :class:`GeneratorError` for a size the generator
    cannot fill (checked eagerly, before tracing).
    """
    size = check_generator_size(size)
    if not isinstance(params, GeneratorParams):
        raise GeneratorError(f"params: expected GeneratorParams, got {type(params).__name__}")
    P, C, J, T = size.num_polygons, size.num_circles, size.num_joints, size.num_thrusters
    small = P + C <= params.small_env_max_shapes
    n_prop = 1 if small else params.num_proposals
    setting = params.physics_setting

    k_main, k_add, k_thr = jax.random.split(key, 3)
    n_extra = P + C - 3 - NUM_STATIC_POLYGONS
    n_shuffle = P - NUM_STATIC_POLYGONS + C + J + T
    d = _Draw(k_main, 6 + 2 * max(n_extra, 0) + 2 * T + n_shuffle)
    level = empty_level(size)
    floor_w = (
        params.floor_prob_normal,
        params.floor_prob_green,
        params.floor_prob_blue,
        params.floor_prob_red,
    )
    floor_role = d.choice(floor_w)
    level = level.replace(polygon_roles=level.polygon_roles.at[0].set(floor_role))

    # The additions, as a table (one loop body keeps the compiled program small):
    # 0-1: green and blue (free shapes; exactly one of them forced dynamic);
    # 2: the forced control's shape: a connected shape on a revolute joint when the control has
    #    a motor (a free shape when none can connect), else a free shape;
    # 3..: connected shape / free shape / nothing.
    first_dynamic = d.bern(0.5) | (floor_role == ROLE_BLUE)
    # 0 motor, 1 thruster, 2 both (custom sizes without joint or thruster slots drop options)
    control = d.choice((float(J > 0), float(T > 0), float(J > 0 and T > 0)))
    w_add = (
        params.add_connected_shape_chance,
        params.add_shape_chance,
        params.add_no_shape_chance,
    )
    extra_kinds = [d.choice(w_add) for _ in range(max(n_extra, 0))]
    kinds = jnp.stack([jnp.int32(1), jnp.int32(1), jnp.where(control != 1, 0, 1)] + extra_kinds)
    n_add = kinds.shape[0]
    force_dyn = jnp.zeros(n_add, bool).at[0].set(first_dynamic).at[1].set(~first_dynamic)
    forced = jnp.arange(n_add) == 2  # revolute joint, fall back to a free shape

    def add(i, lv):
        k = jax.random.fold_in(k_add, i)

        def make(kk, ll):
            kc, kf = jax.random.split(kk)
            lc, okc, pen = _connected_shape(kc, ll, forced[i], params)
            lf, okf, _ = _free_shape(kf, ll, force_dyn[i], params, small)
            use_c = (kinds[i] == 0) & okc
            use_f = (kinds[i] == 1) | ((kinds[i] == 0) & ~okc & forced[i])
            out = _where(use_c, lc, _where(use_f, lf, ll))
            return out, use_c | (use_f & okf), jnp.where(use_c, pen, 0.0)

        return _best_of(make, k, lv, n_prop, setting)[0]

    level = jax.lax.fori_loop(0, n_add, add, level)

    # thrusters: the forced control's (if it has one), then T - 1 with prob. 0.3 each
    want = jnp.stack(
        [control != 0] + [d.bern(params.add_thruster_chance) for _ in range(max(T - 1, 0))]
    )

    def thruster(i, lv):
        lt, _ = _thruster(jax.random.fold_in(k_thr, i), lv, params)
        return _where(want[i], lt, lv)

    if T > 0:
        level = jax.lax.fori_loop(0, T, thruster, level)

    # green <-> blue swap on a grey floor
    swap = (floor_role == ROLE_NEUTRAL) & d.bern(0.5)

    def swapped(r):
        return jnp.where(r == ROLE_GREEN, ROLE_BLUE, jnp.where(r == ROLE_BLUE, ROLE_GREEN, r))

    level = level.replace(
        polygon_roles=jnp.where(swap, swapped(level.polygon_roles), level.polygon_roles),
        circle_roles=jnp.where(swap, swapped(level.circle_roles), level.circle_roles),
    )
    return _shuffle(d.u[d.i : d.i + n_shuffle], level)


def _filtered(key, size: EnvSize, params: GeneratorParams, flt: NoopFilter) -> Level:
    from kinetix.env import EnvConfig, KinetixEnv
    from kinetix.policies import noop_policy
    from kinetix.rollout import first_episode

    config = flt.env_config if flt.env_config is not None else EnvConfig(size=size)
    env = KinetixEnv(config)
    policy = noop_policy(config.action_type)
    keys = jnp.stack([key] + [jax.random.fold_in(key, i) for i in range(1, flt.attempts)])
    levels = jax.vmap(lambda k: generate_level(k, size, params))(keys)
    solved = jax.vmap(
        lambda lv: first_episode(env, policy, lv, key, num_steps=flt.steps)["solved"]
    )(levels)
    i = jnp.where(jnp.all(solved), flt.attempts - 1, jnp.argmax(~solved))
    return jax.tree.map(lambda x: x[i], levels)


@functools.cache
def _compiled(size: EnvSize, params: GeneratorParams, flt: NoopFilter | None):
    if flt is None:
        fn = lambda k: generate_level(k, size, params)  # noqa: E731
    else:
        fn = lambda k: _filtered(k, size, params, flt)  # noqa: E731
    return jax.jit(jax.vmap(fn))


def make_generator(
    size: str | EnvSize = "l",
    params: GeneratorParams = GeneratorParams(),
    noop_filter: NoopFilter | None = None,
):
    """A cached ``jit(vmap(...))``: ``f(keys (B, 2)) -> Level`` batch (leading axis B).

    With ``noop_filter`` levels the no-op policy solves are resampled (see :class:`NoopFilter`).
    """
    size = check_generator_size(size)
    if not isinstance(params, GeneratorParams):
        raise GeneratorError(f"params: expected GeneratorParams, got {type(params).__name__}")
    if noop_filter is not None and not isinstance(noop_filter, NoopFilter):
        raise GeneratorError(
            f"noop_filter: expected NoopFilter or None, got {type(noop_filter).__name__}"
        )
    return _compiled(size, params, noop_filter)


def sample_levels(
    key: jax.Array,
    n: int,
    size: str | EnvSize = "l",
    params: GeneratorParams = GeneratorParams(),
    noop_filter: NoopFilter | None = None,
) -> Level:
    """``n`` levels as a stacked batch: level ``i`` comes from ``jax.random.split(key, n)[i]``."""
    if not (isinstance(n, int) and n >= 1):
        raise GeneratorError(f"n: must be an int >= 1, got {n!r}")
    return make_generator(size, params, noop_filter)(jax.random.split(key, n))
