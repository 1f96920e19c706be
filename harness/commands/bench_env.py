"""``kinetix-bench bench env``: agent steps/s and compile time of the Kinetix environment.

One measurement times ``jit(lax.scan over T agent steps of vmap(env.step))`` over ``B`` copies
of a hand-made level of one size (auto-reset to the same level, random MultiDiscrete actions
drawn inside the scan, reward, done and the observation summed into an accumulator so nothing
is dead code), as the reference's ``handmade`` variant does (``shared/tools/ref_bench.py``).
An agent step is 2 physics steps + reward + observation. ``compile_s`` is trace + lower + XLA
compile of the whole rollout; ``steps_per_s`` counts ``B * T`` agent steps per call (best of the
timed repetitions after one warm-up).

This module adds the ``env`` target to the ``bench`` command group (registered after
:mod:`harness.commands.bench` in :data:`harness.cli.COMMAND_MODULES`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from harness.commands import CommandError, add_json_flag, comma_list, positive_int

SIZE_CHOICES = ("s", "m", "l")
OBS_CHOICES = ("entity", "flat", "pixels")
DEFAULT_BATCHES = (256, 4096)


def _size(text: str) -> str:
    key = text.strip().lower()
    if key not in SIZE_CHOICES:
        raise ValueError(f"choose from {', '.join(SIZE_CHOICES)}")
    return key


def _bench_targets(subparsers):
    """The ``bench`` group's target sub-parsers (added by :mod:`harness.commands.bench`)."""
    bench = subparsers.choices.get("bench")
    if bench is None:
        raise RuntimeError("harness.commands.bench must be registered before bench_env")
    for action in bench._actions:  # argparse keeps sub-parser actions here
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the bench command has no targets")


def register(subparsers) -> None:
    from jax2d.params import PHYSICS_SETTINGS

    p = _bench_targets(subparsers).add_parser(
        "env",
        help="Kinetix env agent steps/s and compile time per env size and batch size",
        description="Times jit(lax.scan over STEPS agent steps of vmap(env.step)) over BATCH "
        "copies of a hand-made level of each size (auto-reset, random MultiDiscrete actions, "
        "reward and observation included; an agent step is 2 physics steps). steps_per_s "
        "counts BATCH*STEPS agent steps per call (best of >= 3 repetitions after a warm-up); "
        "compile_s is trace + lower + XLA compile.",
    )
    p.add_argument(
        "--size",
        dest="sizes",
        action="extend",
        type=comma_list(_size, "size"),
        metavar="S[,M,L]",
        help="env sizes (default: all)",
    )
    p.add_argument(
        "--batch",
        dest="batches",
        action="extend",
        type=comma_list(positive_int, "batch"),
        metavar="N[,N]",
        help="batch sizes (default: 256,4096)",
    )
    p.add_argument("--obs", choices=OBS_CHOICES, default="entity", help="observation type")
    p.add_argument("--steps", type=positive_int, default=128, help="agent steps per call")
    p.add_argument(
        "--setting", choices=sorted(PHYSICS_SETTINGS), default="default", help="physics setting"
    )
    p.add_argument(
        "--level",
        default=None,
        help="a Kinetix level JSON to run instead of the built-in hand-made level "
        "(padded to --size)",
    )
    p.add_argument("--min-reps", type=positive_int, default=3)
    p.add_argument("--min-time", type=float, default=3.0)
    p.add_argument("--max-reps", type=positive_int, default=10)
    p.add_argument(
        "--compilation-cache", action="store_true", help="allow jax's persistent compilation cache"
    )
    add_json_flag(p)
    p.set_defaults(func=run_env)


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
    from harness import bench

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
        **bench.device_info(),
        "loadavg1": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def run_env(args) -> int:
    from harness import bench

    level = None
    if args.level is not None:
        if not os.path.isfile(args.level):
            raise CommandError(f"level file not found: {args.level}")
        from kinetix import load_kinetix_json

        level = load_kinetix_json(args.level)
    if not args.compilation_cache:
        bench.disable_persistent_cache()
    sizes = list(dict.fromkeys(args.sizes or SIZE_CHOICES))
    batches = list(dict.fromkeys(args.batches or DEFAULT_BATCHES))
    ok = True
    for size in sizes:
        for batch in batches:
            rec = time_env(
                size,
                batch,
                args.steps,
                obs=args.obs,
                setting=args.setting,
                level=level,
                min_reps=args.min_reps,
                min_seconds=args.min_time,
                max_reps=args.max_reps,
            )
            ok = ok and rec["finite"]
            if args.json:
                print(json.dumps(rec), flush=True)
            else:
                print(
                    f"size {size} batch {batch:5d} obs {args.obs}: "
                    f"{rec['steps_per_s']:>12,.0f} agent steps/s, compile {rec['compile_s']:.1f} s",
                    flush=True,
                )
    if not ok:
        print("error: the rollout produced NaN or infinite values", file=sys.stderr)
        return 1
    return 0
