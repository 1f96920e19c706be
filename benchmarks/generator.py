"""Procedural generator benchmark: levels/s with and without no-op filtering, and statistics.

Prints one JSON line per measurement::

    python benchmarks/generator.py --size s,m,l --batch 1024            # levels per second
    python benchmarks/generator.py --size s --stats 4096               # no-op solve rate etc.

Rate lines: ``compile_s`` (trace + compile of ``jit(vmap(generate))``), ``levels_per_s`` (best of
``--reps`` timed calls after a warm-up), for ``filter`` none and ``noop`` (4 attempts, 64 agent
steps of the no-op policy each, as :class:`kinetix.NoopFilter`). Stats lines: over ``--stats N``
unfiltered levels, the first-episode outcome of the no-op policy (256 agent steps), the mean
counts of dynamic shapes, joints and thrusters, static fractions and the floor roles; next to
Kinetix's measured numbers (``kinetix_spec.md`` §7.3).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

import kinetix as kx
from kinetix.generator import GENERATOR_VERSION, NoopFilter, make_generator
from kinetix.policies import noop_policy
from kinetix.rollout import first_episode

KINETIX = {  # spec §7.3: no-op solve / death, dynamic shapes, joints, thrusters
    "s": {"noop_solve": 0.19, "noop_death": 0.09, "shapes": 3.0, "joints": 0.59, "thrusters": 0.70},
    "m": {"noop_solve": 0.10, "noop_death": 0.11, "shapes": 4.4, "joints": 1.20, "thrusters": 1.02},
    "l": {
        "noop_solve": 0.078,
        "noop_death": 0.125,
        "shapes": 8.9,
        "joints": 3.51,
        "thrusters": 1.0,
    },
}


def _block(x):
    return jax.block_until_ready(x)


def bench_rate(size: str, batch: int, flt: NoopFilter | None, reps: int) -> dict:
    f = make_generator(size, noop_filter=flt)
    keys = jax.random.split(jax.random.PRNGKey(0), batch)
    t = time.perf_counter()
    compiled = f.lower(keys).compile()
    compile_s = time.perf_counter() - t
    _block(compiled(keys))
    best = float("inf")
    for r in range(reps):
        k = jax.random.split(jax.random.PRNGKey(r + 1), batch)
        t = time.perf_counter()
        _block(compiled(k))
        best = min(best, time.perf_counter() - t)
    return {
        "bench": "generator",
        "version": GENERATOR_VERSION,
        "size": size,
        "batch": batch,
        "filter": "none" if flt is None else f"noop(attempts={flt.attempts},steps={flt.steps})",
        "compile_s": round(compile_s, 2),
        "levels_per_s": round(batch / best, 1),
        "backend": jax.default_backend(),
    }


def stats(size: str, n: int, chunk: int = 512) -> dict:
    gen = make_generator(size)
    env = kx.KinetixEnv(kx.EnvConfig(size=size))
    pol = noop_policy()
    roll = jax.jit(jax.vmap(lambda lv: first_episode(env, pol, lv, jax.random.PRNGKey(0))))
    acc = {k: [] for k in ("solved", "died", "length", "shapes", "joints", "thrusters", "floor")}
    static_rect, static_circ = [0, 0], [0, 0]
    keys = jax.random.split(jax.random.PRNGKey(12345), n)
    for s in range(0, n, chunk):
        b = gen(keys[s : s + chunk])
        out = jax.tree.map(np.asarray, roll(b))
        sc = jax.tree.map(np.asarray, b.scene)
        pa, ca = sc.polygon.active[:, 4:], sc.circle.active
        acc["solved"].append(out["solved"])
        acc["died"].append(out["died"])
        acc["length"].append(np.minimum(out["length"], 256))
        acc["shapes"].append(pa.sum(1) + ca.sum(1))
        acc["joints"].append(sc.joint.active.sum(1))
        acc["thrusters"].append(sc.thruster.active.sum(1))
        acc["floor"].append(np.asarray(b.polygon_roles)[:, 0])
        static_rect[0] += int(((sc.polygon.inverse_mass[:, 4:] == 0) & pa).sum())
        static_rect[1] += int(pa.sum())
        static_circ[0] += int(((sc.circle.inverse_mass == 0) & ca).sum())
        static_circ[1] += int(ca.sum())
    a = {k: np.concatenate(v) for k, v in acc.items()}
    p = float(a["solved"].mean())
    return {
        "bench": "generator_stats",
        "version": GENERATOR_VERSION,
        "size": size,
        "levels": n,
        "noop_solve": round(p, 4),
        "noop_solve_se": round(float(np.sqrt(p * (1 - p) / n)), 4),
        "noop_death": round(float(a["died"].mean()), 4),
        "noop_mean_len": round(float(a["length"].mean()), 1),
        "shapes": round(float(a["shapes"].mean()), 3),
        "joints": round(float(a["joints"].mean()), 3),
        "thrusters": round(float(a["thrusters"].mean()), 3),
        "static_frac_rect": round(static_rect[0] / max(static_rect[1], 1), 3),
        "static_frac_circle": round(static_circ[0] / max(static_circ[1], 1), 3),
        "floor_grey_green_blue_red": np.bincount(a["floor"], minlength=4).tolist(),
        "kinetix": KINETIX[size],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="s,m,l")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-filter-only", action="store_true", help="skip the filtered rate")
    ap.add_argument("--stats", type=int, default=0, metavar="N", help="statistics over N levels")
    args = ap.parse_args(argv)
    for size in args.size.split(","):
        if args.stats:
            print(json.dumps(stats(size, args.stats)), flush=True)
            continue
        print(json.dumps(bench_rate(size, args.batch, None, args.reps)), flush=True)
        if not args.no_filter_only:
            print(json.dumps(bench_rate(size, args.batch, NoopFilter(), args.reps)), flush=True)


if __name__ == "__main__":
    main()
