"""The Kinetix environment: a functional, gymnax-style API on jax2d.

``reset(key, level, config) -> (obs, state)`` and
``step(key, state, action, config, params) -> (obs, state, reward, done, info)`` are pure and
jit-/vmap-able (``config`` is static). :class:`KinetixEnv` bundles a config with them.

One agent step (Kinetix HEAD semantics, ``kinetix_spec.md`` §1.5-§1.8):

1. the action maps to per-entity actuator commands through the level's bindings;
2. ``frame_skip`` (2) physics steps with that command; after each, the frame's sparse reward
   (+1 green touches blue, -1 green touches red, death wins) and distance
   (:mod:`kinetix.reward`);
3. if any frame was terminal (reward != 0) the FIRST terminal frame gives the sparse reward and
   the info, otherwise the last frame's info (reward 0); the physics ran all frames anyway;
4. ``done`` = a terminal frame, or NaN in the scene, or ``timestep >= max_timesteps`` (256);
5. dense shaping ``-dense_reward_scale * (distance - last_distance)`` (0.2; NaN/inf -> 0), not
   on an episode's first step; ``last_distance`` resets to -1 on done;
6. on done the state auto-resets to the episode's own level (``state.level``); reward, done and
   info are those of the step that ended the episode, obs and state the fresh episode's.

``info`` (all scalars): ``solved`` (the decisive frame had reward +1), ``died`` (-1),
``distance`` (m), ``sparse_reward``, ``episode_return`` and ``episode_length`` (of the episode
so far, including this step; final values when ``done``), ``timeout``, ``nan``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

import jax2d
from jax2d import PhysicsConfig, Scene, SimParams, physics_setting
from kinetix.actions import (
    action_space,
    check_action_type,
    entity_actions,
    noop_action,
    random_action,
    to_unified_action,
)
from kinetix.errors import EnvConfigError, LevelSizeError
from kinetix.level import Level, pad_level
from kinetix.observations import check_obs_type, observation_space, observe
from kinetix.reward import frame_reward, green_blue_distance
from kinetix.sizes import EnvSize, env_size
from kinetix.spaces import Space

__all__ = [
    "EnvConfig",
    "EnvParams",
    "EnvState",
    "KinetixEnv",
    "KINETIX_PARITY_SETTING",
    "aggregate_frames",
    "make_env",
    "reset",
    "step",
]

#: The physics setting under which our engine reproduces Jax2D (and so Kinetix) behaviour.
KINETIX_PARITY_SETTING = "jax2d-compat"


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """Static configuration (hashable; changing it compiles a new program).

    Attributes:
        size: env size (``"s"``, ``"m"``, ``"l"`` or an :class:`EnvSize`); levels are padded to it.
        obs_type: ``"entity"`` (default), ``"flat"`` or ``"pixels"``.
        action_type: ``"multi_discrete"`` (default), ``"discrete"`` or ``"continuous"``.
        physics_setting: jax2d physics setting name; ``None`` means ``"default"``, or
            ``"jax2d-compat"`` when ``kinetix_parity`` is set.
        kinetix_parity: run the engine as Jax2D does (``"jax2d-compat"``), for numbers
            comparable with Kinetix's own (e.g. scoring Kinetix's published checkpoints).
        solver: jax2d solver (``"parallel"`` or ``"sequential"``); ``None`` means
            ``"sequential"`` (Gauss-Seidel in Jax2D's order) under the ``jax2d-compat`` setting
            and the engine's default otherwise.
        frame_skip: physics steps per agent step (Kinetix: 2).
        num_solver_iterations: solver iterations per physics step (Kinetix: 10).
        warm_starting: warm-start the solver from the last step (Kinetix: True).
        auto_reset: reset to the episode's level when an episode ends.
    """

    size: EnvSize | str = "l"
    obs_type: str = "entity"
    action_type: str = "multi_discrete"
    physics_setting: str | None = None
    kinetix_parity: bool = False
    solver: str | None = None
    frame_skip: int = 2
    num_solver_iterations: int = 10
    warm_starting: bool = True
    auto_reset: bool = True

    def __post_init__(self):
        object.__setattr__(self, "size", env_size(self.size))
        check_obs_type(self.obs_type)
        check_action_type(self.action_type)
        if self.kinetix_parity and self.physics_setting not in (None, KINETIX_PARITY_SETTING):
            raise EnvConfigError(
                f"EnvConfig.physics_setting: {self.physics_setting!r} contradicts "
                f"kinetix_parity=True (which means {KINETIX_PARITY_SETTING!r})"
            )
        try:
            physics_setting(self.setting)
        except ValueError as e:
            raise EnvConfigError(f"EnvConfig.physics_setting: {e}") from None
        if self.solver not in (None, "parallel", "sequential"):
            raise EnvConfigError(
                f"EnvConfig.solver: must be 'parallel' or 'sequential', got {self.solver!r}"
            )
        if not isinstance(self.frame_skip, int) or self.frame_skip < 1:
            raise EnvConfigError(
                f"EnvConfig.frame_skip: must be an int >= 1, got {self.frame_skip!r}"
            )

    @property
    def setting(self) -> str:
        """The physics setting name actually used."""
        if self.physics_setting is not None:
            return self.physics_setting
        return KINETIX_PARITY_SETTING if self.kinetix_parity else "default"

    @property
    def solver_name(self) -> str:
        """The jax2d solver actually used."""
        if self.solver is not None:
            return self.solver
        if self.setting == KINETIX_PARITY_SETTING:
            return "sequential"
        return PhysicsConfig().solver

    @property
    def physics_config(self) -> PhysicsConfig:
        return PhysicsConfig(
            num_solver_iterations=self.num_solver_iterations,
            warm_starting=self.warm_starting,
            setting=physics_setting(self.setting),
            solver=self.solver_name,
        )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class EnvParams:
    """Traced parameters (changing them never recompiles).

    Attributes:
        sim: engine parameters (dt 1/60 s, ...).
        max_timesteps: agent steps per episode (256).
        dense_reward_scale: shaping per metre of green-blue distance gained (0.2).
    """

    sim: SimParams = SimParams()
    max_timesteps: int = 256
    dense_reward_scale: float = 0.2

    def replace(self, **changes) -> EnvParams:
        return dataclasses.replace(self, **changes)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class EnvState:
    """State of one environment (stack leaves for a batch).

    Attributes:
        scene: the current physics scene.
        level: the episode's start level (auto-reset target; roles, bindings, densities).
        timestep: () int32 agent steps taken in this episode.
        last_distance: () float32 green-blue distance after the previous step; -1 = none yet.
        episode_return: () float32 reward summed over this episode so far.
    """

    scene: Scene
    level: Level
    timestep: jax.Array
    last_distance: jax.Array
    episode_return: jax.Array

    def replace(self, **changes) -> EnvState:
        return dataclasses.replace(self, **changes)


def _fit_level(level: Level, config: EnvConfig) -> Level:
    size = level.size
    if size == config.size:
        return level
    if not size.fits_in(config.size):
        raise LevelSizeError(
            f"a level of size {size} does not fit the env size {config.size}; use a larger "
            "EnvConfig.size"
        )
    return pad_level(level, config.size)


def _has_nan(tree) -> jax.Array:
    flags = [
        jnp.any(jnp.isnan(x))
        for x in jax.tree.leaves(tree)
        if jnp.issubdtype(x.dtype, jnp.floating)
    ]
    return jnp.any(jnp.stack(flags)) if flags else jnp.bool_(False)


def aggregate_frames(rewards, goals, distances):
    """Combines the per-frame results of one agent step (each (F,)), Kinetix HEAD style.

    If any frame was terminal (reward != 0), the FIRST terminal frame gives the reward, goal
    flag and distance; otherwise the reward is the (zero) sum and the last frame gives the rest.
    Returns ``(sparse_reward, goal, distance, any_terminal)``.
    """
    terminal = rewards != 0
    any_terminal = jnp.any(terminal)
    first = jnp.argmax(terminal)
    pick = jnp.where(any_terminal, first, rewards.shape[0] - 1)
    sparse = jnp.where(any_terminal, rewards[first], jnp.sum(rewards))
    return sparse, goals[pick], distances[pick], any_terminal


def reset(
    key: jax.Array, level: Level, config: EnvConfig = EnvConfig(), params: EnvParams | None = None
):
    """Starts an episode exactly at ``level`` (padded to ``config.size``); returns (obs, state).

    ``key`` is unused (the physics is deterministic); it is kept for the gymnax signature.
    """
    del key, params
    level = _fit_level(level, config)
    state = EnvState(
        scene=level.scene,
        level=level,
        timestep=jnp.int32(0),
        last_distance=jnp.float32(-1.0),
        episode_return=jnp.float32(0.0),
    )
    return observe(level.scene, level, config.obs_type), state


def step(
    key: jax.Array,
    state: EnvState,
    action,
    config: EnvConfig = EnvConfig(),
    params: EnvParams | None = None,
):
    """One agent step; returns (obs, state, reward, done, info) (see the module docstring)."""
    del key
    params = EnvParams() if params is None else params
    level = state.level
    commands = entity_actions(to_unified_action(action, config.action_type), level)
    physics = jax2d.make_step(config.physics_config)

    def frame(scene, _):
        scene, info = physics(scene, commands, params.sim)
        return scene, frame_reward(scene, info.touching, level)

    scene, (rewards, goals, distances) = jax.lax.scan(
        frame, state.scene, None, length=config.frame_skip
    )
    sparse, goal, distance, any_terminal = aggregate_frames(rewards, goals, distances)

    timestep = state.timestep + 1
    nan = _has_nan(scene)
    timeout = timestep >= params.max_timesteps
    done = any_terminal | nan | timeout

    dense = -(distance - state.last_distance) * params.dense_reward_scale
    dense = jnp.nan_to_num(dense, nan=0.0, posinf=0.0, neginf=0.0)
    no_shaping = (state.last_distance == -1.0) | (params.dense_reward_scale == 0.0)
    reward = (sparse + jnp.where(no_shaping, 0.0, dense)).astype(jnp.float32)
    episode_return = state.episode_return + reward

    info = {
        "solved": goal & any_terminal,
        "died": any_terminal & (sparse < 0),
        "distance": distance,
        "sparse_reward": sparse,
        "episode_return": episode_return,
        "episode_length": timestep,
        "timeout": timeout & ~any_terminal & ~nan,
        "nan": nan,
    }
    stepped = EnvState(
        scene=scene,
        level=level,
        timestep=timestep,
        last_distance=jnp.where(done, -1.0, distance).astype(jnp.float32),
        episode_return=episode_return,
    )
    if config.auto_reset:

        def pick(fresh, current):
            return jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, current)

        stepped = EnvState(
            scene=pick(level.scene, scene),
            level=level,
            timestep=jnp.where(done, 0, timestep).astype(jnp.int32),
            last_distance=stepped.last_distance,  # already -1 when done
            episode_return=jnp.where(done, 0.0, episode_return).astype(jnp.float32),
        )
    obs = observe(stepped.scene, level, config.obs_type)
    return obs, stepped, reward, done, info


@dataclasses.dataclass(frozen=True)
class KinetixEnv:
    """A config bound to the functional API (hashable; ``jax.jit(env.step)`` works).

    Example::

        env = KinetixEnv(EnvConfig(size="m"))
        obs, state = env.reset(key, level)
        obs, state, reward, done, info = env.step(key, state, env.noop_action())
    """

    config: EnvConfig = EnvConfig()

    def reset(self, key, level: Level, params: EnvParams | None = None):
        return reset(key, level, self.config, params)

    def step(self, key, state: EnvState, action, params: EnvParams | None = None):
        return step(key, state, action, self.config, params)

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    @property
    def size(self) -> EnvSize:
        return self.config.size

    def action_space(self) -> Space:
        return action_space(self.config.action_type)

    def observation_space(self) -> Space:
        return observation_space(self.config.size, self.config.obs_type)

    def noop_action(self):
        return noop_action(self.config.action_type)

    def random_action(self, key):
        return random_action(key, self.config.action_type)

    def distance(self, state: EnvState) -> jax.Array:
        """Current green-blue distance of a state (m)."""
        return green_blue_distance(state.scene, state.level)


def make_env(size: EnvSize | str = "l", **config) -> KinetixEnv:
    """``KinetixEnv(EnvConfig(size=size, **config))``."""
    return KinetixEnv(EnvConfig(size=size, **config))
