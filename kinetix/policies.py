"""Parameter-free policies: ``noop`` and ``random``.

A policy is a pure function ``policy(key, obs) -> action`` for ONE environment (vmap it for a
batch); the action matches the env's action type. ``make_policy(name, action_type)`` returns
the registered one.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

from kinetix.actions import check_action_type, noop_action, random_action
from kinetix.errors import EnvConfigError

__all__ = ["Policy", "POLICIES", "noop_policy", "random_policy", "make_policy"]

Policy = Callable[[jax.Array, object], jax.Array]


def noop_policy(action_type: str = "multi_discrete") -> Policy:
    """Always the no-op action (drives no motor or thruster)."""
    check_action_type(action_type)

    def policy(key, obs):
        del key, obs
        return noop_action(action_type)

    return policy


def random_policy(action_type: str = "multi_discrete") -> Policy:
    """Uniformly random actions (Kinetix's ``random_action`` distribution)."""
    check_action_type(action_type)

    def policy(key, obs):
        del obs
        return random_action(key, action_type)

    return policy


POLICIES: dict[str, Callable[[str], Policy]] = {"noop": noop_policy, "random": random_policy}


def make_policy(name: str, action_type: str = "multi_discrete") -> Policy:
    """The registered parameter-free policy ``name`` for ``action_type``."""
    try:
        factory = POLICIES[name]
    except KeyError:
        raise EnvConfigError(
            f"unknown policy {name!r}; known: {', '.join(sorted(POLICIES))}"
        ) from None
    return factory(action_type)
