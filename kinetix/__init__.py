"""kinetix: the Kinetix RL environment family on the jax2d engine.

Levels are pytrees (:class:`Level`: a jax2d scene plus roles, densities and actuator bindings) of
an :class:`EnvSize` (S, M, L or custom). The environment is functional and gymnax-style::

    import jax, kinetix
    level = kinetix.load_kinetix_json("level.json", size="l")
    env = kinetix.KinetixEnv(kinetix.EnvConfig(size="l"))
    obs, state = env.reset(jax.random.PRNGKey(0), level)
    obs, state, reward, done, info = env.step(key, state, env.noop_action())

Modules: :mod:`kinetix.sizes`, :mod:`kinetix.level`, :mod:`kinetix.validate`,
:mod:`kinetix.hashing`, :mod:`kinetix.actions`, :mod:`kinetix.spaces`,
:mod:`kinetix.observations`, :mod:`kinetix.reward`, :mod:`kinetix.env`,
:mod:`kinetix.policies`, :mod:`kinetix.rollout`, :mod:`kinetix.kinetix_json` (import of Kinetix
JSON; export in :mod:`kinetix.kinetix_json_export`), :mod:`kinetix.render` (rendering),
:mod:`kinetix.generator` (procedural levels), :mod:`kinetix.distributed` (several processes
or hosts through ``jax.distributed``), :mod:`kinetix.gymnax_env` (a gymnax
``Environment`` with the level distribution in its params; needs the optional gymnax).
"""

from kinetix.actions import ACTION_TYPES, action_space, noop_action, random_action
from kinetix.compiled_programs import release_compiled_programs, release_compiled_programs_if_needed
from kinetix.distributed import (
    DistributedConfig,
    DistributedError,
    ProcessLostError,
)
from kinetix.env import (
    KINETIX_PARITY_SETTING,
    EnvConfig,
    EnvParams,
    EnvState,
    KinetixEnv,
    make_env,
    reset,
    step,
)
from kinetix.errors import (
    EnvConfigError,
    KinetixError,
    KinetixJSONError,
    LevelError,
    LevelSizeError,
    LevelValidationError,
)
from kinetix.generator import (
    GENERATOR_VERSION,
    GeneratorError,
    GeneratorParams,
    NoopFilter,
    generate_level,
    make_generator,
    sample_levels,
)
from kinetix.hashing import level_hash, level_hashes, level_set_hash
from kinetix.kinetix_json import (
    level_from_kinetix_dict,
    level_to_kinetix_dict,
    load_kinetix_json,
    save_kinetix_json,
)
from kinetix.level import (
    ROLE_BLUE,
    ROLE_GREEN,
    ROLE_NEUTRAL,
    ROLE_RED,
    Level,
    empty_level,
    level_from_scene,
    pad_level,
    set_density,
    set_motor_binding,
    set_role,
    set_thruster_binding,
    stack_levels,
    unstack_levels,
)
from kinetix.observations import (
    OBS_TYPES,
    EntityObservation,
    PixelObservation,
    observation_space,
    observe,
)
from kinetix.policies import POLICIES, make_policy, noop_policy, random_policy
from kinetix.render import render_image, render_pixels, to_display
from kinetix.render_io import (
    contact_sheet,
    episode_frames,
    level_frame,
    render_frame,
    save_gif,
    save_png,
    thumbnail,
)
from kinetix.rollout import first_episode
from kinetix.sizes import SIZE_L, SIZE_M, SIZE_S, SIZES, EnvSize, env_size
from kinetix.validate import validate_level

__all__ = [
    "ACTION_TYPES",
    "DistributedConfig",
    "DistributedError",
    "EntityObservation",
    "EnvConfig",
    "EnvConfigError",
    "EnvParams",
    "EnvSize",
    "EnvState",
    "GENERATOR_VERSION",
    "GeneratorError",
    "GeneratorParams",
    "KINETIX_PARITY_SETTING",
    "KinetixEnv",
    "KinetixError",
    "KinetixJSONError",
    "Level",
    "LevelError",
    "LevelSizeError",
    "LevelValidationError",
    "NoopFilter",
    "OBS_TYPES",
    "POLICIES",
    "ProcessLostError",
    "PixelObservation",
    "ROLE_BLUE",
    "ROLE_GREEN",
    "ROLE_NEUTRAL",
    "ROLE_RED",
    "SIZES",
    "SIZE_L",
    "SIZE_M",
    "SIZE_S",
    "action_space",
    "contact_sheet",
    "empty_level",
    "env_size",
    "episode_frames",
    "first_episode",
    "generate_level",
    "level_frame",
    "level_from_kinetix_dict",
    "level_from_scene",
    "level_hash",
    "level_hashes",
    "level_set_hash",
    "level_to_kinetix_dict",
    "load_kinetix_json",
    "make_env",
    "make_generator",
    "make_policy",
    "noop_action",
    "noop_policy",
    "observation_space",
    "observe",
    "pad_level",
    "random_action",
    "random_policy",
    "release_compiled_programs",
    "release_compiled_programs_if_needed",
    "render_frame",
    "render_image",
    "render_pixels",
    "reset",
    "sample_levels",
    "save_gif",
    "save_kinetix_json",
    "save_png",
    "set_density",
    "set_motor_binding",
    "set_role",
    "set_thruster_binding",
    "stack_levels",
    "step",
    "thumbnail",
    "to_display",
    "unstack_levels",
    "validate_level",
]

#: Names of :mod:`kinetix.gymnax_env`, imported on first use: it needs the optional gymnax
#: (``pip install "kinetix-bench[gymnax]"``), so ``import kinetix`` never does.
_GYMNAX_EXPORTS = ("GymnaxKinetix", "GymnaxParams", "MultiDiscreteBox", "gymnax_space")
__all__ += list(_GYMNAX_EXPORTS)


def __getattr__(name: str):
    if name in _GYMNAX_EXPORTS:
        import kinetix.gymnax_env as _gymnax_env

        return getattr(_gymnax_env, name)
    raise AttributeError(f"module 'kinetix' has no attribute {name!r}")
