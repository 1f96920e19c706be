"""Batch-last ("lane") programs under ``jax.vmap``.

The engine's hot kernels are written for pytrees whose leaves carry the scene batch as their LAST
axis (lanes). :func:`lane_vmap` wraps such a function with ``custom_vmap``: under ``jax.vmap``
(at any nesting depth) the mapped axis is folded into the trailing lane axis, the function runs
once on the wider lanes, and the result is unfolded, instead of JAX batching the body op by op
(which would put the batch first and give XLA narrow, strided loops).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

__all__ = ["lane_vmap"]


def lane_vmap(core):
    """``core(tree) -> tree`` (leaves with a trailing lane axis) made vmap-aware as above."""
    wrapped = custom_vmap(core)

    @wrapped.def_vmap
    def _rule(axis_size, in_batched, tree):
        (batched,) = in_batched

        def fold(x, b):
            x = x if b else jnp.broadcast_to(x, (axis_size, *x.shape))
            x = jnp.moveaxis(x, 0, -1)
            return x.reshape(*x.shape[:-2], x.shape[-2] * axis_size)

        out = wrapped(jax.tree_util.tree_map(fold, tree, batched))

        def unfold(x):
            x = x.reshape(*x.shape[:-1], x.shape[-1] // axis_size, axis_size)
            return jnp.moveaxis(x, -1, 0)

        out = jax.tree_util.tree_map(unfold, out)
        return out, jax.tree_util.tree_map(lambda _: True, out)

    return wrapped
