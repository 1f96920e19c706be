"""Small 2D vector helpers (float32, broadcasting over leading axes)."""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["cross", "cross_sv", "rotate", "rotate_inv", "perp", "unit"]


def cross(a, b):
    """Scalar 2D cross product ``a_x b_y - a_y b_x``; a, b: (..., 2) -> (...)."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def cross_sv(w, r):
    """Cross of a scalar (angular velocity) with a vector: ``w x r = (-w r_y, w r_x)``."""
    return jnp.stack([-w * r[..., 1], w * r[..., 0]], axis=-1)


def rotate(v, angle):
    """Rotates (..., 2) vectors by ``angle`` (broadcast over the leading axes)."""
    c, s = jnp.cos(angle), jnp.sin(angle)
    return jnp.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def rotate_inv(v, angle):
    """Rotates (..., 2) vectors by ``-angle``."""
    c, s = jnp.cos(angle), jnp.sin(angle)
    return jnp.stack([c * v[..., 0] + s * v[..., 1], -s * v[..., 0] + c * v[..., 1]], axis=-1)


def perp(v):
    """Rotates (..., 2) vectors by +90 degrees."""
    return jnp.stack([-v[..., 1], v[..., 0]], axis=-1)


def unit(v, eps=1e-12):
    """Normalises (..., 2) vectors; zero vectors stay zero (no NaN)."""
    n = jnp.sqrt(jnp.sum(v * v, axis=-1, keepdims=True))
    return v / jnp.maximum(n, eps)
