"""Registry of versioned policy architectures, and the :class:`Network` wrapper.

==========================  ===========  =========================================  ===========
id                          observation  parameters (MultiDiscrete, paper options)  sizes
==========================  ===========  =========================================  ===========
``entity-transformer@v1``   entity       786,369                                     any
``perm-invariant-mlp@v1``   entity       221,521                                     any
``mlp-flat@v1``             flat         185,361 / 199,057 / 254,353 (S / M / L)     one
``pixels-cnn@v1``           pixels       2,243,265                                   any
``noop``, ``random``        any          none (parameter-free)                       any
==========================  ===========  =========================================  ===========

Every network takes all three action types (``multi_discrete``, ``discrete``, ``continuous``).
Parameters are flax variables ``{"params": {...}}`` whose flattened ``/``-joined keys are exactly
Kinetix 3.0.2's. Example::

    net = build_network("entity-transformer@v1", None, "entity", "multi_discrete")
    params = net.init(jax.random.PRNGKey(0), "l")
    hidden, dist, value = net.apply(params, net.initial_hidden(B), obs_tb, dones_tb)
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from baselines.networks.cnn import PixelsCNNNet
from baselines.networks.configs import (
    EmptyConfig,
    EntityTransformerConfig,
    FlatMLPConfig,
    NetworkConfig,
    NetworkConfigError,
    PermInvariantMLPConfig,
    PixelsCNNConfig,
)
from baselines.networks.entity_transformer import EntityTransformerNet
from baselines.networks.layers import initial_hidden
from baselines.networks.mlp import FlatMLPNet, PermInvariantMLPNet
from kinetix.actions import ACTION_TYPES, action_space
from kinetix.observations import OBS_TYPES, EntityObservation, PixelObservation, observation_space
from kinetix.sizes import EnvSize, env_size
from kinetix.spaces import MultiDiscrete

__all__ = [
    "Architecture",
    "ARCHITECTURES",
    "Network",
    "get_architecture",
    "make_config",
    "build_network",
    "init_params",
    "abstract_params",
    "param_count",
    "dummy_observation",
    "action_head_dims",
]


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A registered architecture.

    Attributes:
        id: versioned id (``"entity-transformer@v1"``); ``noop`` / ``random`` are unversioned.
        config_cls: its frozen config dataclass.
        obs_types: observation types it accepts (``kinetix.OBS_TYPES`` names).
        action_types: action types it supports.
        module_cls: the flax module (``None`` for parameter-free policies).
        size_agnostic: one set of parameters serves every env size.
        description: one line.
    """

    id: str
    config_cls: type[NetworkConfig]
    obs_types: tuple[str, ...]
    action_types: tuple[str, ...]
    module_cls: Any
    size_agnostic: bool
    description: str

    @property
    def parameter_free(self) -> bool:
        return self.module_cls is None


def _arch(id_, cfg, obs, module, agnostic, desc):
    return Architecture(id_, cfg, obs, ACTION_TYPES, module, agnostic, desc)


ARCHITECTURES: dict[str, Architecture] = {
    a.id: a
    for a in (
        _arch(
            "entity-transformer@v1", EntityTransformerConfig, ("entity",), EntityTransformerNet,
            True, "Kinetix paper entity transformer (tf-paper options by default)",
        ),
        _arch(
            "perm-invariant-mlp@v1", PermInvariantMLPConfig, ("entity",), PermInvariantMLPNet,
            True, "Kinetix permutation-invariant MLP over entities",
        ),
        _arch(
            "mlp-flat@v1", FlatMLPConfig, ("flat",), FlatMLPNet, False,
            "Kinetix MLP on the flat (symbolic) observation",
        ),
        _arch(
            "pixels-cnn@v1", PixelsCNNConfig, ("pixels",), PixelsCNNNet, True,
            "Kinetix impala_fast CNN on pixels",
        ),
        _arch("noop", EmptyConfig, OBS_TYPES, None, True, "always the no-op action"),
        _arch("random", EmptyConfig, OBS_TYPES, None, True, "uniformly random actions"),
    )
}  # fmt: skip


def get_architecture(arch_id: str) -> Architecture:
    """The registered architecture ``arch_id`` (error with close matches otherwise)."""
    try:
        return ARCHITECTURES[arch_id]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(arch_id), list(ARCHITECTURES), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise NetworkConfigError(
            f"unknown architecture {arch_id!r}; known: {', '.join(ARCHITECTURES)}.{hint}"
        ) from None


def make_config(arch_id: str, config: NetworkConfig | dict | None = None) -> NetworkConfig:
    """``config`` as ``arch_id``'s config class (``None``: defaults; dict: ``from_dict``)."""
    cls = get_architecture(arch_id).config_cls
    if config is None:
        return cls()
    if isinstance(config, dict):
        return cls.from_dict(config)
    if type(config) is not cls:
        raise NetworkConfigError(
            f"{arch_id}: expected a {cls.__name__}, got {type(config).__name__}"
        )
    return config


def action_head_dims(action_type: str) -> tuple[int, tuple[int, ...]]:
    """``(actor outputs, MultiDiscrete slice widths)``: (16, (3,3,3,3,2,2)), (11, ()), (6, ())."""
    space = action_space(action_type)
    if isinstance(space, MultiDiscrete):
        return space.n, tuple(space.nvec)
    if action_type == "discrete":
        return space.n, ()
    return int(space.shape[0]), ()


def dummy_observation(obs_type: str, size: EnvSize | str, lead: tuple[int, ...] = (1, 1)):
    """A zero observation of ``obs_type`` at ``size`` with leading axes ``lead``."""
    space = observation_space(env_size(size), obs_type)

    def zeros(box):
        return jnp.zeros((*lead, *box.shape), box.dtype)

    if obs_type == "flat":
        return zeros(space)
    fields = {k: zeros(s) for k, s in space.spaces.items()}
    return PixelObservation(**fields) if obs_type == "pixels" else EntityObservation(**fields)


@dataclasses.dataclass(frozen=True)
class Network:
    """A built network: the architecture, its config, obs and action types, the flax module.

    ``apply(params, hidden, obs, dones) -> (hidden, distribution, value)`` follows Kinetix's calling
    convention (``kinetix_checkpoints.md`` §3.1): ``obs`` leaves carry leading (T, B) axes (time,
    batch), ``dones`` is bool (T, B) (True where ``obs`` starts a new episode: a recurrent state
    is zeroed before that step), ``hidden`` a pair of float32 (B, 256) arrays
    (:meth:`initial_hidden`), ``value`` float32 (T, B) and ``distribution`` one of
    :mod:`baselines.networks.distributions` with batch shape (T, B). Hashable; jit-friendly.
    """

    architecture: Architecture
    config: NetworkConfig
    obs_type: str
    action_type: str
    module: Any

    @property
    def recurrent(self) -> bool:
        return bool(getattr(self.config, "recurrent_model", False))

    def initial_hidden(self, batch_size: int):
        """The zero hidden state for ``batch_size`` parallel sequences."""
        return initial_hidden(batch_size)

    def init(self, key: jax.Array, size: EnvSize | str = "l") -> dict:
        """Freshly initialised parameters ``{"params": ...}`` (Kinetix's initialisers)."""
        if self.module is None:
            return {}
        obs = dummy_observation(self.obs_type, size)
        variables = self.module.init(key, initial_hidden(1), obs, jnp.zeros((1, 1), bool))
        return {"params": variables["params"]}

    def apply(self, params, hidden, obs, dones):
        """One pass over (T, B) observations; see the class docstring."""
        if self.module is None:
            raise NetworkConfigError(f"{self.architecture.id} has no network to apply")
        return self.module.apply(params, hidden, obs, jnp.asarray(dones, bool))

    def step(self, params, hidden, obs, dones):
        """Single-step convenience: ``obs`` leaves (B, ...), ``dones`` (B,) ->
        ``(hidden, distribution (B,), value (B,))``."""
        obs = jax.tree.map(lambda x: x[None], obs)
        hidden, dist, value = self.apply(params, hidden, obs, jnp.asarray(dones, bool)[None])
        return hidden, jax.tree.map(lambda x: x[0], dist), value[0]


def build_network(
    arch_id: str,
    config: NetworkConfig | dict | None,
    obs_type: str = "entity",
    action_type: str = "multi_discrete",
) -> Network:
    """Builds ``arch_id`` for ``obs_type`` observations and ``action_type`` actions."""
    arch = get_architecture(arch_id)
    config = make_config(arch_id, config)
    if obs_type not in arch.obs_types:
        raise NetworkConfigError(
            f"{arch_id}: observation type {obs_type!r} not supported; expected "
            f"{' or '.join(arch.obs_types)}"
        )
    if action_type not in arch.action_types:
        raise NetworkConfigError(
            f"{arch_id}: action type {action_type!r} not supported; expected one of "
            f"{', '.join(arch.action_types)}"
        )
    module = None
    if arch.module_cls is not None:
        dim, nvec = action_head_dims(action_type)
        module = arch.module_cls(config=config, action_type=action_type, action_dim=dim, nvec=nvec)
    return Network(arch, config, obs_type, action_type, module)


def init_params(
    arch_id: str,
    config: NetworkConfig | dict | None,
    obs_type: str,
    action_type: str,
    size: EnvSize | str,
    key: jax.Array,
) -> dict:
    """Freshly initialised parameters of ``arch_id`` (``{}`` for parameter-free policies)."""
    return build_network(arch_id, config, obs_type, action_type).init(key, size)


def abstract_params(
    arch_id: str,
    config: NetworkConfig | dict | None = None,
    obs_type: str = "entity",
    action_type: str = "multi_discrete",
    size: EnvSize | str = "l",
) -> dict:
    """The parameter tree as ``jax.ShapeDtypeStruct`` leaves, computed without allocating
    (``jax.eval_shape`` of init). Size-agnostic architectures give the same tree for any size."""
    net = build_network(arch_id, config, obs_type, action_type)
    return jax.eval_shape(lambda k: net.init(k, size), jax.random.PRNGKey(0))


def param_count(params) -> int:
    """Total number of scalars in a parameter tree (arrays or ShapeDtypeStructs)."""
    return int(sum(np.prod(x.shape, dtype=np.int64) for x in jax.tree.leaves(params)))
