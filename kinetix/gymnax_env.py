"""A gymnax view of the environment: ``reset(key, params)`` / ``step(key, state, action, params)``.

:class:`GymnaxKinetix` subclasses gymnax's own ``Environment`` (gymnax from PyPI, an optional
dependency: ``pip install "kinetix-bench[gymnax]"``), so gymnax's wrappers
(``gymnax.wrappers.purerl.LogWrapper``, ...) and PureJaxRL-style training code run on it
unchanged. What differs from :class:`kinetix.KinetixEnv` is where the level comes from: the env
params (:class:`GymnaxParams`) hold a **level distribution**, and every reset (the first one and
each auto-reset after an episode ends) draws a fresh level from it:

* ``levels``: a stacked :class:`~kinetix.Level` batch (leading axis L: a dataset split, e.g.
  ``harness.levels.load_benchmark(...).levels``, or a bank of generated levels), drawn uniformly;
* or ``generator``: :class:`~kinetix.GeneratorParams` (static), a fresh procedural level per
  reset (:func:`kinetix.generate_level` at the env's size).

Semantics per step are :func:`kinetix.step` (frame skip, sparse and dense reward, 256 steps),
split the gymnax way (gymnax >= 1.0): ``terminated`` = solved, died or NaN; ``truncated`` = the
time limit (:meth:`GymnaxKinetix.is_truncated`, ``state.timestep >= params.env.max_timesteps``).
gymnax's ``step`` returns ``(obs, state, reward, terminated, truncated, info)`` and auto-resets
to a new draw; ``info`` holds Kinetix's per-step entries (``solved``, ``died``, ``distance``,
``episode_return``, ...) plus gymnax's own.

Spaces are gymnax's: ``Discrete`` (discrete actions), ``Box`` (continuous, flat observations) and
``Dict`` (entity and pixel observations: the observation itself is Kinetix's pytree,
``EntityObservation`` / ``PixelObservation``, whose fields the ``Dict`` names). MultiDiscrete
actions (six heads: 3, 3, 3, 3, 2, 2) are a :class:`MultiDiscreteBox`, a gymnax ``Box`` of int32
whose ``sample`` is uniform over each head and which keeps ``nvec``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.env import EnvConfig, EnvParams, EnvState
from kinetix.env import reset as _reset
from kinetix.env import step as _step
from kinetix.errors import EnvConfigError
from kinetix.generator import GeneratorParams, generate_level
from kinetix.level import Level, num_levels
from kinetix.spaces import Box, Dict, Discrete, MultiDiscrete, Space

try:
    from gymnax.environments import environment as _gx_env
    from gymnax.environments import spaces as _gx_spaces
except ImportError as e:  # pragma: no cover - depends on the install
    raise ImportError(
        "kinetix.gymnax_env needs gymnax (pip install 'kinetix-bench[gymnax]', or gymnax>=1.0.1 "
        f"and six): {e}"
    ) from e

__all__ = ["GymnaxParams", "GymnaxKinetix", "MultiDiscreteBox", "gymnax_space"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class GymnaxParams:
    """The gymnax env params: Kinetix's env params and the level distribution.

    Attributes:
        env: :class:`kinetix.EnvParams` (traced: max_timesteps 256, dense_reward_scale 0.2).
        levels: a stacked level batch (leading axis L, padded to the env's size) drawn
            uniformly at each reset, or None.
        generator: static :class:`~kinetix.GeneratorParams`: draw a procedural level at each
            reset instead (used when ``levels`` is None).
    """

    env: EnvParams = EnvParams()
    levels: Level | None = None
    generator: GeneratorParams | None = dataclasses.field(default=None, metadata=dict(static=True))

    def replace(self, **changes) -> GymnaxParams:
        return dataclasses.replace(self, **changes)


class MultiDiscreteBox(_gx_spaces.Box):
    """MultiDiscrete as a gymnax ``Box``: int32 of shape ``(len(nvec),)``, entry i in
    ``0 .. nvec[i]-1``; ``sample`` is uniform per entry; ``n`` is ``sum(nvec)`` (the logits a
    policy outputs, as in Kinetix)."""

    def __init__(self, nvec):
        self.nvec = tuple(int(n) for n in nvec)
        super().__init__(0, np.asarray(self.nvec, np.int32) - 1, (len(self.nvec),), jnp.int32)

    @property
    def n(self) -> int:
        return int(sum(self.nvec))

    def sample(self, key: jax.Array) -> jax.Array:
        hi = jnp.asarray(self.nvec, jnp.int32)
        return jax.random.randint(key, self.shape, 0, hi, jnp.int32)

    def contains(self, x) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.all((x >= 0) & (x < jnp.asarray(self.nvec)) & (x == jnp.round(x)))


def gymnax_space(space: Space):
    """A :mod:`kinetix.spaces` space as gymnax's (``Discrete``, ``Box``, ``Dict``,
    :class:`MultiDiscreteBox`)."""
    if isinstance(space, Discrete):
        return _gx_spaces.Discrete(space.n)
    if isinstance(space, MultiDiscrete):
        return MultiDiscreteBox(space.nvec)
    if isinstance(space, Box):
        return _gx_spaces.Box(space.low, space.high, tuple(space.shape), space.dtype)
    if isinstance(space, Dict):
        return _gx_spaces.Dict({k: gymnax_space(s) for k, s in space.spaces.items()})
    raise TypeError(f"no gymnax space for {type(space).__name__}")


class GymnaxKinetix(_gx_env.Environment):
    """Kinetix as a gymnax ``Environment`` (module docstring).

    Example::

        env = GymnaxKinetix(EnvConfig(size="s"))
        params = env.default_params.replace(levels=batch)  # or generator=GeneratorParams()
        obs, state = env.reset(key, params)
        obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)

    ``config``: the static :class:`kinetix.EnvConfig` (size, obs and action types, physics);
    its ``auto_reset`` is replaced by gymnax's (a new draw from the distribution).
    """

    def __init__(self, config: EnvConfig = EnvConfig()):
        super().__init__()
        if not isinstance(config, EnvConfig):
            raise EnvConfigError(f"config: expected EnvConfig, got {type(config).__name__}")
        self.config = dataclasses.replace(config, auto_reset=False)

    # gymnax jits step/reset with ``self`` static: it must hash and compare by value
    def __hash__(self) -> int:
        return hash((type(self), self.config))

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.config == self.config

    @property
    def default_params(self) -> GymnaxParams:
        """Kinetix's env params and the procedural generator (Kinetix's defaults)."""
        return GymnaxParams(generator=GeneratorParams())

    def draw_level(self, key: jax.Array, params: GymnaxParams) -> Level:
        """One level from the params' distribution (uniform over ``levels``, else the
        generator)."""
        if params.levels is not None:
            i = jax.random.randint(key, (), 0, num_levels(params.levels))
            return jax.tree.map(lambda x: x[i], params.levels)
        if params.generator is not None:
            return generate_level(key, self.config.size, params.generator)
        raise EnvConfigError("GymnaxParams: give levels (a stacked batch) or generator")

    def reset_env(self, key: jax.Array, params: GymnaxParams) -> tuple[Any, EnvState]:
        """Draws a level and starts an episode on it: ``(obs, state)``."""
        k_level, k_reset = jax.random.split(key)
        return _reset(k_reset, self.draw_level(k_level, params), self.config, params.env)

    def step_env(self, key, state: EnvState, action, params: GymnaxParams):
        """One Kinetix step without auto-reset: ``(obs, state, reward, terminated, info)``;
        ``terminated`` excludes the time limit (that is :meth:`is_truncated`)."""
        obs, state, reward, done, info = _step(key, state, action, self.config, params.env)
        return obs, state, reward, done & ~info["timeout"], info

    def is_truncated(self, state: EnvState, params: GymnaxParams) -> jax.Array:
        return state.timestep >= params.env.max_timesteps

    def is_terminated(self, state: EnvState, params: GymnaxParams) -> jax.Array:
        raise NotImplementedError("terminated comes from the step (solved, died or NaN)")

    @property
    def name(self) -> str:
        return f"Kinetix-{self.config.size.name}-{self.config.obs_type}-{self.config.action_type}"

    @property
    def num_actions(self) -> int:
        """Discrete: the actions; MultiDiscrete: the heads (6); Continuous: the dimensions."""
        space = self.action_space()
        return space.n if isinstance(space, _gx_spaces.Discrete) else int(space.shape[0])

    def action_space(self, params: GymnaxParams | None = None):
        from kinetix.actions import action_space

        return gymnax_space(action_space(self.config.action_type))

    def observation_space(self, params: GymnaxParams | None = None):
        from kinetix.observations import observation_space

        return gymnax_space(observation_space(self.config.size, self.config.obs_type))
