"""Policies from registered architectures, for ``kinetix.rollout`` and evaluation.

* :func:`make_policy_fn` gives a stateless ``policy(key, obs) -> action`` for ONE environment
  (``kinetix.policies.Policy``; vmap it for batches), usable with
  ``kinetix.rollout.first_episode``. Recurrent networks are refused: a stateless policy would
  reset their memory every step.
* :func:`make_recurrent_policy` gives a :class:`RecurrentPolicy` for any network: ``init_state()``
  (:func:`policy_init_state`) and ``step(state, key, obs, done) -> (state, action)``, where
  ``done`` is True when ``obs`` is the first observation of a new episode (the step before
  ended one: auto-reset), which zeroes the GRU state before it is used, as in Kinetix training.

Sampling draws from the network's action distribution with ``key`` (MultiDiscrete: the key split
in 6, one per sub-action, as Kinetix); ``deterministic=True`` takes the mode instead (the mean
for continuous actions). Continuous actions are not clipped (the env clips its commands).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from baselines.networks.configs import NetworkConfig, NetworkConfigError
from baselines.networks.layers import initial_hidden
from baselines.networks.params_io import expected_tensors, header_mismatches
from baselines.networks.registry import Network, abstract_params, build_network, get_architecture
from kinetix.env import EnvConfig
from kinetix.policies import Policy, make_policy

__all__ = ["make_policy_fn", "make_recurrent_policy", "policy_init_state", "RecurrentPolicy"]


@dataclasses.dataclass(frozen=True)
class RecurrentPolicy:
    """``init_state() -> state``; ``step(state, key, obs, done) -> (state, action)`` for ONE env.

    The state is the network's hidden pair, each float32 (1, 256) (passed through unchanged by
    non-recurrent networks, and empty for parameter-free policies).
    """

    init_state: Callable[[], object]
    step: Callable


def policy_init_state(arch_id: str, config: NetworkConfig | dict | None = None):
    """The initial policy state of ONE environment: ``()`` for parameter-free policies, else the
    zero hidden pair ``((1, 256), (1, 256))``."""
    if get_architecture(arch_id).parameter_free:
        return ()
    return initial_hidden(1)


def _checked_network(arch_id, config, params, env_config: EnvConfig) -> Network:
    net = build_network(arch_id, config, env_config.obs_type, env_config.action_type)
    expected = abstract_params(arch_id, net.config, net.obs_type, net.action_type, env_config.size)
    problems = header_mismatches(expected_tensors(params), expected)
    if problems:
        raise NetworkConfigError(
            f"params do not match {arch_id} for {env_config.obs_type} observations and "
            f"{env_config.action_type} actions at size {env_config.size}:\n  "
            + "\n  ".join(problems)
        )
    return net


def _act(net: Network, params, hidden, key, obs, done, deterministic: bool):
    obs_tb = jax.tree.map(lambda x: jnp.asarray(x)[None, None], obs)
    dones = jnp.asarray(done, bool).reshape(1, 1)
    hidden, dist, _ = net.apply(params, hidden, obs_tb, dones)
    action = dist.mode() if deterministic else dist.sample(key)
    return hidden, action[0, 0]


def make_policy_fn(
    arch_id: str,
    config: NetworkConfig | dict | None,
    params: dict,
    env_config: EnvConfig,
    deterministic: bool = False,
) -> Policy:
    """A stateless ``policy(key, obs) -> action`` for one env of ``env_config``.

    Parameter-free ids (``noop``, ``random``) give ``kinetix.policies.make_policy``'s policies.
    Raises :class:`NetworkConfigError` for recurrent networks (use
    :func:`make_recurrent_policy`) and for params that do not fit the architecture.
    """
    arch = get_architecture(arch_id)
    if arch.parameter_free:
        return make_policy(arch_id, env_config.action_type)
    net = _checked_network(arch_id, config, params, env_config)
    if net.recurrent:
        raise NetworkConfigError(
            f"{arch_id}: recurrent_model=True needs a stateful policy; use make_recurrent_policy"
        )

    def policy(key, obs):
        return _act(net, params, initial_hidden(1), key, obs, False, deterministic)[1]

    return policy


def make_recurrent_policy(
    arch_id: str,
    config: NetworkConfig | dict | None,
    params: dict,
    env_config: EnvConfig,
    deterministic: bool = False,
) -> RecurrentPolicy:
    """A stateful policy for one env (works for every architecture; see the module docstring)."""
    arch = get_architecture(arch_id)
    if arch.parameter_free:
        inner = make_policy(arch_id, env_config.action_type)

        def free_step(state, key, obs, done):
            del done
            return state, inner(key, obs)

        return RecurrentPolicy(lambda: (), free_step)
    net = _checked_network(arch_id, config, params, env_config)

    def step(state, key, obs, done):
        return _act(net, params, state, key, obs, done, deterministic)

    return RecurrentPolicy(lambda: initial_hidden(1), step)
