"""Physics throughput and compile time of :func:`jax2d.step` (what ``kinetix-bench bench`` runs).

One measurement times ``jit(lax.scan over T steps of vmap(step))`` over ``B`` different scenes
of one size (:mod:`harness.bench.scenes`) with fixed random actions per scene; it counts
``B * T`` physics steps per call. The protocol follows the reference measurement
(``../shared/tools/ref_bench.py``) so the two can be compared side by side:

* ``compile_s`` is trace + lower + XLA compile of the whole rollout, measured with
  ``jit(f).lower(...)`` then ``.compile()`` (the reference reports ``trace_lower_s`` and
  ``compile_s`` apart; we report their sum as ``compile_s`` and both parts separately);
* one warm-up call, then repetitions until at least ``min_reps`` and ``min_seconds`` of runs
  (at most ``max_reps``); ``steps_per_s`` uses the best repetition, ``steps_per_s_median`` the
  median.

The persistent compilation cache would turn ``compile_s`` into a cache read; the CLI switches
it off unless asked (``--compilation-cache``), and every record says whether it was on.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

import jax2d
from harness.bench import scenes as bench_scenes

__all__ = ["time_physics", "device_info", "persistent_cache_enabled", "disable_persistent_cache"]


def persistent_cache_enabled() -> bool:
    """Whether jax will read and write its persistent compilation cache in this process."""
    return bool(jax.config.jax_enable_compilation_cache and jax.config.jax_compilation_cache_dir)


def disable_persistent_cache() -> None:
    """Switches the persistent compilation cache off for this process.

    jax decides once per process, at the first compile, whether the cache is used; call this
    before compiling anything.
    """
    jax.config.update("jax_enable_compilation_cache", False)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _host_cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info() -> dict:
    """Where the measurement runs: device kind, backend, versions, host."""
    dev = jax.devices()[0]
    return {
        "device": dev.device_kind,
        "backend": jax.default_backend(),
        "num_devices": jax.device_count(),
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "kinetix_bench": _version("kinetix-bench"),
        "host_cpu": _host_cpu(),
        "cpu_count": os.cpu_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "compilation_cache": persistent_cache_enabled(),
    }


def _rollout(config: jax2d.PhysicsConfig, steps: int) -> Callable:
    """``f(scenes, actions, params) -> scenes`` stepping a batch ``steps`` times."""
    vstep = jax.vmap(functools.partial(jax2d.step, config=config), in_axes=(0, 0, None))

    def rollout(scenes, actions, params):
        def body(s, _):
            s, _info = vstep(s, actions, params)
            return s, None

        final, _ = jax.lax.scan(body, scenes, None, length=steps)
        return final

    return rollout


@functools.cache
def _warm_up_compiler() -> None:
    """Compiles a tiny scan once per process, so that one-time start-up costs of tracing and
    XLA (as the reference's earlier reset compile absorbs them) do not count as compile time."""
    f = jax.jit(lambda x: jax.lax.scan(lambda c, _: (jax.vmap(jnp.sin)(c), None), x, None, 2)[0])
    jax.block_until_ready(f(jnp.ones((2, 2), jnp.float32)))


def _timed_reps(fn: Callable, args, min_reps: int, min_seconds: float, max_reps: int):
    walls, cpus = [], []
    while True:
        c0, t0 = time.process_time(), time.perf_counter()
        jax.block_until_ready(fn(*args))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if len(walls) >= max_reps or (len(walls) >= min_reps and sum(walls) >= min_seconds):
            return walls, cpus


def time_physics(
    size: str,
    batch: int,
    steps: int = 128,
    *,
    setting: str = "default",
    solver_iterations: int | None = None,
    seed: int = 0,
    min_reps: int = 3,
    min_seconds: float = 3.0,
    max_reps: int = 10,
) -> dict:
    """Measures physics steps/s and compile time for one (size, batch); returns a JSON-able record.

    Args:
        size: ``"s"``, ``"m"`` or ``"l"`` (see :data:`harness.bench.scenes.SIZES`).
        batch: number of scenes stepped together (vmap), >= 1.
        steps: steps per call (the length of the ``lax.scan``), >= 1.
        setting: physics setting (``default`` or ``jax2d-compat``).
        solver_iterations: override of ``PhysicsConfig.num_solver_iterations``.
        seed: seed of the scenes and actions.
        min_reps, min_seconds, max_reps: how many timed repetitions to run (after one warm-up).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    key = bench_scenes.parse_size(size)
    phys = jax2d.physics_setting(setting)
    config = jax2d.PhysicsConfig(setting=phys)
    if solver_iterations is not None:
        config = jax2d.PhysicsConfig(num_solver_iterations=solver_iterations, setting=phys)
    scenes = bench_scenes.scene_batch(key, batch, seed=seed, setting=phys.name)
    actions = bench_scenes.scene_actions(key, batch, seed=seed)
    params = jax2d.SimParams()
    args = (scenes, actions, params)
    jax.block_until_ready(args)

    _warm_up_compiler()
    fn = jax.jit(_rollout(config, steps))
    t0 = time.perf_counter()
    lowered = fn.lower(*args)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    out = compiled(*args)
    jax.block_until_ready(out)
    t3 = time.perf_counter()
    finite = bool(
        jnp.all(jnp.isfinite(out.polygon.position)) & jnp.all(jnp.isfinite(out.circle.position))
    )
    walls, cpus = _timed_reps(compiled, args, max(1, min_reps), min_seconds, max(1, max_reps))
    best, median = min(walls), statistics.median(walls)
    n = batch * steps
    sz = bench_scenes.SIZES[key]
    return {
        "what": "physics",
        "size": key,
        "batch": batch,
        "steps": steps,
        "setting": phys.name,
        "solver_iterations": config.num_solver_iterations,
        "steps_per_s": round(n / best, 1),
        "steps_per_s_median": round(n / median, 1),
        "compile_s": round(t2 - t0, 3),
        "trace_lower_s": round(t1 - t0, 3),
        "xla_compile_s": round(t2 - t1, 3),
        "first_run_s": round(t3 - t2, 4),
        "best_s": round(best, 5),
        "median_s": round(median, 5),
        "cpu_s_best": round(min(cpus), 5),
        "reps": len(walls),
        "finite": finite,
        "num_polygons": sz.num_polygons,
        "num_circles": sz.num_circles,
        "num_joints": sz.num_joints,
        "num_thrusters": sz.num_thrusters,
        "seed": seed,
        **device_info(),
        "loadavg1": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
