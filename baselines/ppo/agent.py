"""What the trainer needs from a policy network, and the adapter to the network registry.

The trainer only talks to an :class:`Agent`:

* ``init(key) -> params``;
* ``initial_hidden(batch) -> hidden`` (recurrent state; a dummy for feed-forward nets);
* ``apply(params, hidden, obs, done) -> (hidden, dist, value)`` with ``(T, B)`` leading axes on
  ``obs`` leaves, ``done`` (bool, True where ``obs`` starts a new episode) and ``value``;
* ``dist`` has ``sample(key)``, ``log_prob(action)`` and ``entropy()`` (batch shape ``(T, B)``).

:func:`make_agent` builds one from the registry (:mod:`baselines.networks.registry`), whose
``Network`` already follows this calling convention.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import jax

__all__ = ["Agent", "Distribution", "RegistryAgent", "make_agent"]


class Distribution(Protocol):
    def sample(self, key: jax.Array) -> jax.Array: ...
    def log_prob(self, action) -> jax.Array: ...
    def entropy(self) -> jax.Array: ...


class Agent(Protocol):
    def init(self, key: jax.Array) -> Any: ...
    def initial_hidden(self, batch_size: int) -> Any: ...
    def apply(self, params, hidden, obs, done) -> tuple[Any, Distribution, jax.Array]: ...


@dataclasses.dataclass(frozen=True)
class RegistryAgent:
    """A registered architecture (``network``: a ``baselines.networks.registry.Network``)
    bound to an env size (used to build the example observation for ``init``)."""

    network: Any
    size: str

    @property
    def arch(self) -> str:
        return self.network.architecture.id

    @property
    def arch_config(self) -> dict:
        return self.network.config.to_dict()

    def init(self, key):
        return self.network.init(key, self.size)

    def initial_hidden(self, batch_size: int):
        return self.network.initial_hidden(batch_size)

    def apply(self, params, hidden, obs, done):
        return self.network.apply(params, hidden, obs, done)


def make_agent(arch: str, arch_config, obs_type: str, action_type: str, size: str) -> RegistryAgent:
    """The registry's ``arch`` (config dict or ``None``) as an :class:`Agent`."""
    from baselines.networks.registry import build_network

    network = build_network(arch, arch_config or None, obs_type, action_type)
    if network.module is None:
        from baselines.ppo.config import ConfigError

        raise ConfigError(f"network.arch: {arch!r} has no parameters to train")
    return RegistryAgent(network, str(size))
