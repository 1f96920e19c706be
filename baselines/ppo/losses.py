"""GAE and the clipped PPO losses: small pure functions, tested on hand-made inputs.

Conventions: time-major arrays ``(T, B)``; ``dones[t]`` is True when the step ``t`` ended an
episode (so ``values[t + 1]`` must not be bootstrapped through it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["gae", "policy_loss", "value_loss", "normalise"]


def gae(rewards, values, dones, last_value, gamma: float, lam: float):
    """Generalised advantage estimates and value targets.

    ``delta_t = r_t + gamma * V_{t+1} * (1 - d_t) - V_t`` and
    ``A_t = delta_t + gamma * lam * (1 - d_t) * A_{t+1}`` (a reverse ``lax.scan``), with
    ``V_T = last_value``. Returns ``(advantages, targets = advantages + values)``.
    """
    not_done = 1.0 - dones.astype(jnp.float32)
    next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)
    deltas = rewards + gamma * next_values * not_done - values

    def back(carry, x):
        delta, nd = x
        adv = delta + gamma * lam * nd * carry
        return adv, adv

    _, adv = jax.lax.scan(back, jnp.zeros_like(last_value), (deltas, not_done), reverse=True)
    return adv, adv + values


def normalise(x, eps: float = 1e-8):
    """``(x - mean) / (std + eps)`` over all elements."""
    return (x - x.mean()) / (x.std() + eps)


def policy_loss(log_prob, old_log_prob, advantages, clip_eps: float):
    """Clipped surrogate loss ``-mean(min(r A, clip(r, 1-e, 1+e) A))`` and the clip fraction."""
    ratio = jnp.exp(log_prob - old_log_prob)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -jnp.mean(jnp.minimum(unclipped, clipped))
    clip_frac = jnp.mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32))
    return loss, clip_frac


def value_loss(value, old_value, targets, clip_eps: float):
    """``0.5 * mean(max((V - R)^2, (V_clipped - R)^2))`` with
    ``V_clipped = old + clip(V - old, -e, e)``."""
    clipped = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
    return 0.5 * jnp.mean(jnp.maximum((value - targets) ** 2, (clipped - targets) ** 2))
