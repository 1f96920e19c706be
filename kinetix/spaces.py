"""Action and observation spaces (gymnax-like, jit-friendly ``sample``).

Each space knows its ``shape`` and ``dtype``, samples with a PRNG key and checks membership.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Space", "Discrete", "MultiDiscrete", "Box", "Dict"]


class Space:
    """Base class: ``shape``, ``dtype``, ``sample(key)``, ``contains(x)``."""

    shape: tuple
    dtype: Any

    def sample(self, key: jax.Array):  # pragma: no cover - abstract
        raise NotImplementedError

    def contains(self, x) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Discrete(Space):
    """Integers ``0 .. n-1`` (shape ``()``, int32)."""

    n: int

    @property
    def shape(self) -> tuple:
        return ()

    @property
    def dtype(self):
        return jnp.int32

    def sample(self, key):
        return jax.random.randint(key, (), 0, self.n, jnp.int32)

    def contains(self, x):
        x = jnp.asarray(x)
        return (x >= 0) & (x < self.n)


@dataclasses.dataclass(frozen=True)
class MultiDiscrete(Space):
    """One categorical per entry: entry i in ``0 .. nvec[i]-1`` (shape ``(len(nvec),)``, int32).

    ``n`` is the total number of logits a policy outputs (``sum(nvec)``), as in Kinetix.
    """

    nvec: tuple[int, ...]

    @property
    def shape(self) -> tuple:
        return (len(self.nvec),)

    @property
    def dtype(self):
        return jnp.int32

    @property
    def n(self) -> int:
        return int(sum(self.nvec))

    def sample(self, key):
        return jax.random.randint(key, self.shape, 0, jnp.asarray(self.nvec, jnp.int32), jnp.int32)

    def contains(self, x):
        x = jnp.asarray(x)
        return jnp.all((x >= 0) & (x < jnp.asarray(self.nvec)))


@dataclasses.dataclass(frozen=True)
class Box(Space):
    """A box ``[low, high]`` of the given shape and dtype (bounds are scalars)."""

    low: float
    high: float
    shape: tuple
    dtype: Any = jnp.float32

    def sample(self, key):
        if jnp.issubdtype(self.dtype, jnp.bool_):
            return jax.random.bernoulli(key, 0.5, self.shape)
        if jnp.issubdtype(self.dtype, jnp.integer):
            return jax.random.randint(
                key, self.shape, int(self.low), int(self.high) + 1, self.dtype
            )
        lo = self.low if np.isfinite(self.low) else -1.0
        hi = self.high if np.isfinite(self.high) else 1.0
        return jax.random.uniform(key, self.shape, self.dtype, lo, hi)

    def contains(self, x):
        x = jnp.asarray(x)
        return (x.shape == tuple(self.shape)) & jnp.all((x >= self.low) & (x <= self.high))


@dataclasses.dataclass(frozen=True)
class Dict(Space):
    """A dictionary of named spaces; ``shape``/``dtype`` are dicts of the members'."""

    spaces: dict

    def __hash__(self):
        return hash(tuple(sorted(self.spaces.items())))

    @property
    def shape(self) -> dict:
        return {k: s.shape for k, s in self.spaces.items()}

    @property
    def dtype(self) -> dict:
        return {k: s.dtype for k, s in self.spaces.items()}

    def sample(self, key):
        keys = jax.random.split(key, len(self.spaces))
        return {k: s.sample(kk) for (k, s), kk in zip(self.spaces.items(), keys, strict=True)}

    def contains(self, x):
        return jnp.all(jnp.stack([jnp.all(s.contains(x[k])) for k, s in self.spaces.items()]))

    def __getitem__(self, k):
        return self.spaces[k]
