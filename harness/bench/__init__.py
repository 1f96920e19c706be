"""Throughput benchmarks: what ``kinetix-bench bench`` and ``kinetix-bench demo`` measure.

* :mod:`~harness.bench.scenes`: the benchmark scenes of the Kinetix sizes S, M and L (every slot
  filled, bodies resting in or near contact) and their fixed random actions;
* :mod:`~harness.bench.physics`: :func:`time_physics` (physics steps/s and compile time of
  ``jit(lax.scan(vmap(jax2d.step)))``), :func:`device_info` and the persistent-cache switch;
* :mod:`~harness.bench.env`: :func:`time_env` (agent steps/s of the full environment step) on
  :func:`bench_level`;
* :mod:`~harness.bench.demo`: the physics demo's compiled rollout and per-scene summary.

Used by :mod:`harness.commands.bench`, :mod:`harness.commands.bench_env`,
:mod:`harness.commands.demo` and ``benchmarks/physics.py``. May import: ``jax2d`` and
``kinetix``; no other ``harness`` subpackage (none of this is scoring).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it (imported on first use, so importing the package
#: stays cheap)
_EXPORTS = {
    "SIZES": "harness.bench.scenes",
    "SceneGroup": "harness.bench.scenes",
    "SceneTemplate": "harness.bench.scenes",
    "template": "harness.bench.scenes",
    "scene_batch": "harness.bench.scenes",
    "scene_actions": "harness.bench.scenes",
    "parse_size": "harness.bench.scenes",
    "time_physics": "harness.bench.physics",
    "device_info": "harness.bench.physics",
    "persistent_cache_enabled": "harness.bench.physics",
    "disable_persistent_cache": "harness.bench.physics",
    "bench_level": "harness.bench.env",
    "time_env": "harness.bench.env",
    "scene_summaries": "harness.bench.demo",
    "simulate": "harness.bench.demo",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
