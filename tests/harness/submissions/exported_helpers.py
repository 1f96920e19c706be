"""Helpers of the exported-policy tests (test_exported.py, test_exported_hostile.py).

* :func:`tiny_params` / :func:`tiny_policy`: a linear policy on the flat observation of size S
  with discrete actions (params ``w`` float32 (140, 11), ``b`` (11,)); :data:`TINY_ENV` its env.
* :func:`rewrite_program`: replaces a folder's ``policy.jax_exported`` and updates the
  ``program`` entry of its ``config.json`` (bytes, sha256), so that only the check a test aims
  at fails.
* :func:`splice_module`: an ``Exported`` whose StableHLO module is another function's lowering
  (how a hostile submitter gets a host callback past ``jax.export``'s own refusal).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.env import EnvConfig

TINY_ENV = EnvConfig(size="s", obs_type="flat", action_type="discrete")


def tiny_params(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "w": rng.normal(0.0, 0.3, (140, 11)).astype(np.float32),
        "b": np.zeros(11, np.float32),
    }


def tiny_logits(params, obs):
    return obs @ params["w"] + params["b"]


def tiny_policy(params, obs, key):
    """One env: flat obs (140,), key (2,) -> a discrete action (sampled as Categorical does)."""
    from baselines.networks import Categorical

    return Categorical(tiny_logits(params, obs)).sample(key)


def rewrite_program(folder: Path, data: bytes) -> None:
    (folder / "policy.jax_exported").write_bytes(data)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["program"] = {
        "file": "policy.jax_exported",
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    cfg.pop("platforms", None)  # optional; the new program may be lowered for other ones
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))


def edit_config(folder: Path, **changes) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))


def flat_args(batch=3):
    from harness.submissions.interface import key_avals, observation_avals

    p = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), tiny_params())
    return p, observation_avals("s", "flat", batch), key_avals(batch)


def export_fn(fn, args, **kw):
    return jax.export.export(jax.jit(fn), **kw)(*args)


def splice_module(base, fn, args):
    """``base`` (an Exported) with the module of ``jax.jit(fn).lower(*args)``."""
    from jax._src.export import _export  # test-only: builds what a hostile exporter could

    module = jax.jit(fn).lower(*args).compiler_ir("stablehlo")
    return dataclasses.replace(base, mlir_module_serialized=_export._module_to_bytecode(module))


def benign_batched(params, obs, keys):
    return jnp.argmax(obs @ params["w"] + params["b"], axis=-1).astype(jnp.int32)
