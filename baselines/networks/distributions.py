"""Small pure-JAX action distributions (no distrax): sample, log_prob, entropy, mode.

Each is a pytree (jit/vmap friendly) with a batch shape given by its parameters' leading axes
(``(T, B)`` when returned by a network):

* :class:`Categorical`: ``logits`` (..., n) (raw; normalised internally); actions int32 (...).
* :class:`MultiCategorical`: ``logits`` (..., sum(nvec)), one independent categorical per slice
  of ``nvec`` (Kinetix's MultiDiscrete: ``(3, 3, 3, 3, 2, 2)``); actions int32 (..., len(nvec));
  ``log_prob`` and ``entropy`` are sums over the slices. Sampling splits the key into
  ``len(nvec)`` keys, slice i drawing with key i (``jax.random.categorical``), which reproduces
  Kinetix's draws for the same key.
* :class:`DiagGaussian`: ``mean`` (..., d) and a state-independent ``log_std`` (d,); actions
  float32 (..., d), ``sample = mean + exp(log_std) * N(0, 1)``.

Log-probabilities are in nats.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

__all__ = ["Categorical", "MultiCategorical", "DiagGaussian", "Distribution"]


def _log_softmax(logits):
    return logits - jax.nn.logsumexp(logits, axis=-1, keepdims=True)


def _cat_log_prob(logits, action):
    logp = _log_softmax(logits)
    a = jnp.asarray(action, jnp.int32)[..., None]
    return jnp.take_along_axis(logp, a, axis=-1)[..., 0]


def _cat_entropy(logits):
    logp = _log_softmax(logits)
    p = jnp.exp(logp)
    return -jnp.sum(jnp.where(p > 0, p * logp, 0.0), axis=-1)


def _cat_sample(key, logits, temperature: float = 1.0):
    if temperature != 1.0:
        logits = logits / temperature
    return jax.random.categorical(key, _log_softmax(logits), axis=-1).astype(jnp.int32)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Categorical:
    """A categorical over the last axis of ``logits``."""

    logits: jax.Array

    def log_probs(self) -> jax.Array:
        """Normalised log-probabilities (..., n)."""
        return _log_softmax(self.logits)

    def sample(self, key, temperature: float = 1.0) -> jax.Array:
        return _cat_sample(key, self.logits, temperature)

    def log_prob(self, action) -> jax.Array:
        return _cat_log_prob(self.logits, action)

    def entropy(self) -> jax.Array:
        return _cat_entropy(self.logits)

    def mode(self) -> jax.Array:
        return jnp.argmax(self.logits, axis=-1).astype(jnp.int32)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class MultiCategorical:
    """Independent categoricals on consecutive logit slices of widths ``nvec``."""

    logits: jax.Array
    nvec: tuple[int, ...] = dataclasses.field(
        metadata=dict(static=True), default=(3,) * 4 + (2,) * 2
    )

    def _slices(self):
        start = 0
        for n in self.nvec:
            yield self.logits[..., start : start + n]
            start += n

    def log_probs(self) -> list[jax.Array]:
        """Per-slice normalised log-probabilities (Kinetix's sub-distributions' ``logits``)."""
        return [_log_softmax(s) for s in self._slices()]

    def sample(self, key, temperature: float = 1.0) -> jax.Array:
        keys = jax.random.split(key, len(self.nvec))
        draws = [_cat_sample(k, s, temperature) for k, s in zip(keys, self._slices(), strict=True)]
        return jnp.stack(draws, axis=-1)

    def log_prob_per_slice(self, action) -> jax.Array:
        a = jnp.asarray(action, jnp.int32)
        return jnp.stack([_cat_log_prob(s, a[..., i]) for i, s in enumerate(self._slices())], -1)

    def log_prob(self, action) -> jax.Array:
        a = jnp.asarray(action, jnp.int32)
        out = 0.0
        for i, s in enumerate(self._slices()):
            out = out + _cat_log_prob(s, a[..., i])
        return out

    def entropy(self) -> jax.Array:
        out = 0.0
        for s in self._slices():
            out = out + _cat_entropy(s)
        return out

    def mode(self) -> jax.Array:
        return jnp.stack([jnp.argmax(s, axis=-1) for s in self._slices()], -1).astype(jnp.int32)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class DiagGaussian:
    """A diagonal Gaussian with mean ``mean`` (..., d) and std ``exp(log_std)`` (d,)."""

    mean: jax.Array
    log_std: jax.Array

    def sample(self, key, temperature: float = 1.0) -> jax.Array:
        del temperature
        noise = jax.random.normal(key, self.mean.shape, self.mean.dtype)
        return self.mean + jnp.exp(self.log_std) * noise

    def log_prob(self, action) -> jax.Array:
        z = (jnp.asarray(action, self.mean.dtype) - self.mean) * jnp.exp(-self.log_std)
        per_dim = -0.5 * z * z - self.log_std - 0.5 * math.log(2 * math.pi)
        return jnp.sum(per_dim, axis=-1)

    def entropy(self) -> jax.Array:
        per_dim = self.log_std + 0.5 * (1.0 + math.log(2 * math.pi))
        return jnp.sum(jnp.broadcast_to(per_dim, self.mean.shape), axis=-1)

    def mode(self) -> jax.Array:
        return self.mean


Distribution = Categorical | MultiCategorical | DiagGaussian
