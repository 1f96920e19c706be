"""Resume checkpoints: the whole training carry in one safetensors file, written atomically.

Tensors are named by their pytree path (``jax.tree_util.keystr``); the level pool is left out
(it is rebuilt from the config). Metadata (JSON strings): the update counter and the config.
Restoring needs a template carry of the same structure (a fresh ``init`` of the same config);
every name, shape and dtype is checked, and each leaf keeps the template's sharding (a host
template, e.g. a gathered multi-process runner, gets numpy leaves).
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np

from kinetix.atomic_io import atomic_write_bytes

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "CHECKPOINT_FILE"]

CHECKPOINT_FILE = "checkpoint.safetensors"


class CheckpointError(ValueError):
    """A checkpoint that does not match the run (the message names the tensor)."""


def _named_leaves(tree):
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    out = []
    for path, leaf in flat:
        name = jax.tree_util.keystr(path)
        if ".sampler.pool" in name or name.startswith(".sampler.pool"):
            continue
        out.append((name, leaf))
    return out


def save_checkpoint(path, runner, metadata: dict) -> None:
    """Writes ``runner`` (any pytree of arrays) and JSON ``metadata`` to ``path``."""
    from safetensors.numpy import save

    tensors = {}
    for name, leaf in _named_leaves(runner):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        tensors[name] = np.ascontiguousarray(np.asarray(leaf))
    meta = {k: json.dumps(v) for k, v in metadata.items()}
    atomic_write_bytes(Path(path), save(tensors, metadata=meta))


def load_checkpoint(path, template):
    """``(runner, metadata)``: ``template`` with its leaves replaced by the stored ones."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    with safe_open(str(path), framework="numpy") as f:
        stored = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
    flat, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for p, leaf in flat:
        name = jax.tree_util.keystr(p)
        if ".sampler.pool" in name:
            leaves.append(leaf)
            continue
        if name not in stored:
            raise CheckpointError(f"{path}: tensor {name!r} missing")
        value = stored.pop(name)
        if leaf.shape == () and value.shape == (1,):
            value = value.reshape(())  # safetensors stores scalars as one-element vectors
        if value.shape != leaf.shape or value.dtype != np.dtype(leaf.dtype):
            raise CheckpointError(
                f"{path}: tensor {name!r} is {value.dtype}{list(value.shape)}, the run expects "
                f"{np.dtype(leaf.dtype)}{list(leaf.shape)}"
            )
        leaves.append(jax.device_put(value, leaf.sharding) if hasattr(leaf, "sharding") else value)
    if stored:
        raise CheckpointError(f"{path}: unexpected tensors {sorted(stored)[:3]}")
    return jax.tree_util.tree_unflatten(treedef, leaves), meta
