"""Agent steps/s and compile time of the Kinetix environment (``kinetix-bench bench env``).

:func:`time_env` times ``jit(lax.scan over T agent steps of vmap(env.step))`` over ``B`` copies
of a hand-made level of one size (:func:`bench_level`, or a given level; auto-reset to the same
level, random MultiDiscrete actions drawn inside the scan, reward, done and the observation
summed into an accumulator so nothing is dead code), as the reference's ``handmade`` variant
does (``shared/tools/ref_bench.py``). An agent step is 2 physics steps + reward + observation.
``compile_s`` is trace + lower + XLA compile of the whole rollout; ``steps_per_s`` counts
``B * T`` agent steps per call (best of the timed repetitions after one warm-up).
"""

from __future__ import annotations

import os
import statistics
import time

from harness.bench.physics import device_info

__all__ = ["bench_level", "time_env"]


def bench_level(size: str):
    """A hand-made level that uses every kind of entity of ``size`` (wheels, hinges, a weld,
    thrusters, green/blue/red shapes), resting on the floor with room to move."""
    import numpy as np

    import jax2d
    import kinetix as kx

    lv = kx.empty_level(size)
    sc = lv.scene
    sc, body = jax2d.add_rectangle(sc, (1.5, 1.0), 0.8, 0.2)
    sc, w1 = jax2d.add_circle(sc, (1.2, 0.75), 0.15)
    sc, w2 = jax2d.add_circle(sc, (1.8, 0.75), 0.15)
    sc, j1 = jax2d.add_revolute_joint(sc, int(body), int(w1), (1.2, 0.75), motor_on=True)
    sc, t1 = jax2d.add_thruster(sc, int(body), (0.0, 0.1), rotation=np.pi / 2, power=0.5)
    roles = {int(body): 1}
    if size in ("m", "l"):
        sc, j2 = jax2d.add_revolute_joint(sc, int(body), int(w2), (1.8, 0.75), motor_on=True)
        sc, blue = jax2d.add_rectangle(sc, (4.2, 2.5), 0.4, 0.4, static=True)
        sc, t2 = jax2d.add_thruster(sc, int(w2), rotation=0.0, power=0.2)
        roles[int(blue)] = 2
    else:
        roles[int(w2)] = 2
    if size == "l":
        sc, pole = jax2d.add_rectangle(sc, (1.5, 1.6), 0.08, 1.0)
        sc, _ = jax2d.add_revolute_joint(sc, int(body), int(pole), (1.5, 1.1))
        sc, ball = jax2d.add_circle(sc, (1.5, 2.15), 0.12)
        sc, _ = jax2d.add_fixed_joint(sc, int(pole), int(ball), (1.5, 2.1))
        sc, red = jax2d.add_rectangle(sc, (3.0, 0.55), 0.3, 0.3, static=True)
        sc, arm = jax2d.add_rectangle(sc, (3.8, 1.0), 0.6, 0.1)
        sc, piv = jax2d.add_rectangle(sc, (3.8, 0.6), 0.1, 0.4, static=True)
        sc, _ = jax2d.add_revolute_joint(
            sc,
            int(piv),
            int(arm),
            (3.8, 0.95),
            motor_on=True,
            has_limits=True,
            min_angle=-0.5,
            max_angle=0.5,
        )
        for x in (2.4, 2.7):
            sc, _ = jax2d.add_rectangle(sc, (x, 0.6), 0.2, 0.4)
        roles[int(red)] = 3
    lv = lv.replace(scene=sc)
    for idx, role in roles.items():
        lv = kx.set_role(lv, idx, role)
    lv = kx.set_motor_binding(lv, int(j1), 0)
    lv = kx.set_thruster_binding(lv, int(t1), 0)
    if size in ("m", "l"):
        lv = kx.set_motor_binding(lv, int(j2), 0)
        lv = kx.set_thruster_binding(lv, int(t2), 1)
    return kx.validate_level(lv)


def _timed_reps(fn, args, min_reps: int, min_seconds: float, max_reps: int):
    import jax

    walls = []
    while True:
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        walls.append(time.perf_counter() - t0)
        if len(walls) >= max_reps or (len(walls) >= min_reps and sum(walls) >= min_seconds):
            return walls


def _warm_up_compiler() -> None:
    """Compiles a tiny scan first, so one-time start-up costs of tracing and XLA (which the
    reference's earlier reset compile absorbs) do not count as the rollout's compile time."""
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda x: jax.lax.scan(lambda c, _: (jax.vmap(jnp.sin)(c), None), x, None, 2)[0])
    jax.block_until_ready(f(jnp.ones((2, 2), jnp.float32)))


def time_env(
    size: str,
    batch: int,
    steps: int = 128,
    *,
    obs: str = "entity",
    setting: str = "default",
    level=None,
    min_reps: int = 3,
    min_seconds: float = 3.0,
    max_reps: int = 10,
) -> dict:
    """Measures env agent steps/s and compile time for one (size, batch); a JSON-able record."""
    import jax
    import jax.numpy as jnp

    import kinetix as kx

    env = kx.KinetixEnv(kx.EnvConfig(size=size, obs_type=obs, physics_setting=setting))
    level_name = "built-in" if level is None else "custom"
    level = bench_level(size) if level is None else kx.pad_level(level, size)
    levels = jax.tree.map(lambda x: jnp.broadcast_to(x, (batch, *x.shape)), level)
    _, states = jax.jit(jax.vmap(env.reset, in_axes=(None, 0)))(jax.random.PRNGKey(0), levels)
    vstep = jax.vmap(env.step, in_axes=(None, 0, 0))
    vsample = jax.vmap(env.random_action)

    def rollout(key, states):
        def body(carry, _):
            key, states, acc = carry
            key, k_act = jax.random.split(key)
            actions = vsample(jax.random.split(k_act, batch))
            obs_, states, reward, done, _ = vstep(key, states, actions)
            leaves = [jnp.sum(x.astype(jnp.float32)) for x in jax.tree.leaves(obs_)]
            acc = acc + reward.sum() + done.sum() + sum(leaves) * 1e-9
            return (key, states, acc), None

        (_, states, acc), _ = jax.lax.scan(body, (key, states, jnp.float32(0)), None, steps)
        return states, acc

    args = (jax.random.PRNGKey(1), states)
    jax.block_until_ready(args)
    _warm_up_compiler()
    fn = jax.jit(rollout)
    t0 = time.perf_counter()
    lowered = fn.lower(*args)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    final, acc = compiled(*args)
    jax.block_until_ready(acc)
    t3 = time.perf_counter()
    walls = _timed_reps(compiled, args, max(1, min_reps), min_seconds, max(1, max_reps))
    best, median = min(walls), statistics.median(walls)
    n = batch * steps
    return {
        "what": "env",
        "size": size,
        "batch": batch,
        "obs": obs,
        "action": "multi_discrete",
        "steps": steps,
        "setting": setting,
        "level": level_name,
        "steps_per_s": round(n / best, 1),
        "steps_per_s_median": round(n / median, 1),
        "physics_steps_per_s": round(2 * n / best, 1),
        "compile_s": round(t2 - t0, 3),
        "trace_lower_s": round(t1 - t0, 3),
        "xla_compile_s": round(t2 - t1, 3),
        "first_run_s": round(t3 - t2, 4),
        "best_s": round(best, 5),
        "median_s": round(median, 5),
        "reps": len(walls),
        "finite": bool(jnp.isfinite(acc)),
        **device_info(),
        "loadavg1": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
