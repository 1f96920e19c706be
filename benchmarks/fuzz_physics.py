"""Fuzzed physics: level-steps of random and adversarial levels, counting any NaN or Inf.

    python benchmarks/fuzz_physics.py                       # >= 1,000,000 level-steps, a table
    python benchmarks/fuzz_physics.py --steps 20000 --json  # a quick smoke run, JSON lines
    python benchmarks/fuzz_physics.py --out /tmp/fuzz.json  # also the whole record in a file

What runs: every combination of env size (``--sizes``, S/M/L), level kind (``--kinds``:
``procedural``, levels of :func:`kinetix.generate_level`; ``adversarial``, levels of
:mod:`kinetix.adversarial`, its 9 families in turn), physics setting (``--settings``:
``default``, ``jax2d-compat``) and solver (``--solvers``: ``parallel``, ``sequential``) gets
``ceil(steps / (combinations * horizon))`` levels, each stepped ``--horizon`` (256) agent steps
(frame skip 2: 512 physics steps) under uniformly random MultiDiscrete actions (the default
action type), with the entity observation. One compiled program per (size, setting, solver):
``jit(vmap over levels of lax.scan over steps of kinetix.step)``; both kinds call it, in chunks
of at most ``--batch`` levels (the last chunk is padded with repeats that are not counted).

Auto-reset is the env's: when an episode ends (terminal frame, NaN in the scene, timeout at 256
steps) the state restarts at the episode's level. The program runs the env with
``auto_reset=False`` and resets itself, so that it can look at what the step produced before the
reset: a level-step is *non-finite* when any float in the stepped physics scene, the observation
or the reward is NaN or infinite; it then also resets (the env itself resets on NaN only).

Seeds (``--seed``, default 0): procedural level ``i`` of a size comes from the key
``fold_in(PRNGKey(seed), i)`` (:func:`kinetix.batch_generation.level_keys`, as datasets are
drawn), adversarial level ``i`` from the same key with family ``i % 9``; the actions of level
``i`` from ``fold_in(PRNGKey(seed + 1), i)``, split into one key per agent step. Level indices
are ``block * 1_000_000 + j`` where ``block`` numbers the (setting, solver) pair in the order of
the options (so each pair gets different levels), ``j = 0, 1, ...``.

Output: one record per combination (``what: "fuzz_physics"``: ``size``, ``kind``, ``setting``,
``solver``, ``levels``, ``level_steps``, ``nonfinite_level_steps`` and its parts
``nonfinite_scene`` / ``_obs`` / ``_reward``, ``episodes`` ended, ``nan_done`` (episodes the env
ended for NaN), ``solved`` / ``died`` episodes, ``nonfinite_levels`` (index, family, first
non-finite step, count; at most 50), per-family figures for adversarial levels, timings in
seconds: ``generate_s``, ``compile_s``, ``run_s``, ``level_steps_per_s``), then a summary
(``what: "fuzz_physics_summary"``: ``total_level_steps``, ``nonfinite_level_steps``, ``wall_s``,
the machine). Default: a table on stdout, then the summary as JSON; ``--json``: JSON lines only
(progress on stderr); ``--out FILE``: the summary with every record under ``"combinations"``.
Exit status 0 when no level-step was non-finite, 1 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

SIZES = ("s", "m", "l")
KINDS = ("procedural", "adversarial")
SETTINGS = ("default", "jax2d-compat")
SOLVERS = ("parallel", "sequential")
BLOCK = 1_000_000  # level-index stride between (setting, solver) pairs
MAX_LISTED = 50  # non-finite levels listed per combination


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _finite(tree) -> jax.Array:
    flags = [
        jnp.all(jnp.isfinite(x))
        for x in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)
    ]
    return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)


@functools.cache
def fuzz_program(size: str, setting: str, solver: str, horizon: int):
    """``f(levels (B,), keys (B, 2)) -> dict of (B,) int32`` per-level counts (see the module
    docstring); one ``jit(vmap(lax.scan))``."""
    import kinetix as kx

    config = kx.EnvConfig(size=size, physics_setting=setting, solver=solver, auto_reset=False)
    params = kx.EnvParams()

    def one(level, key):
        obs0, fresh = kx.reset(key, level, config)
        zero = jnp.int32(0)
        stats0 = {
            "bad": zero,
            "bad_scene": zero,
            "bad_obs": zero,
            "bad_reward": zero,
            "first_bad": jnp.int32(-1),
            "episodes": zero,
            "nan_done": zero,
            "solved": zero,
            "died": zero,
            "initial_bad": (~(_finite(obs0) & _finite(fresh.scene))).astype(jnp.int32),
        }

        def body(carry, xs):
            state, st = carry
            t, k = xs
            action = kx.random_action(k, config.action_type)
            obs, new, reward, done, info = kx.step(k, state, action, config, params)
            bs, bo = ~_finite(new.scene), ~_finite(obs)
            br = ~jnp.isfinite(reward)
            bad = bs | bo | br
            end = done | bad
            i32 = lambda b: b.astype(jnp.int32)  # noqa: E731
            st = {
                **st,
                "bad": st["bad"] + i32(bad),
                "bad_scene": st["bad_scene"] + i32(bs),
                "bad_obs": st["bad_obs"] + i32(bo),
                "bad_reward": st["bad_reward"] + i32(br),
                "first_bad": jnp.where((st["first_bad"] < 0) & bad, t, st["first_bad"]),
                "episodes": st["episodes"] + i32(end),
                "nan_done": st["nan_done"] + i32(info["nan"]),
                "solved": st["solved"] + i32(done & info["solved"]),
                "died": st["died"] + i32(done & info["died"]),
            }
            state = jax.tree.map(lambda a, b: jnp.where(end, a, b), fresh, new)
            return (state, st), None

        xs = (jnp.arange(horizon, dtype=jnp.int32), jax.random.split(key, horizon))
        (_, stats), _ = jax.lax.scan(body, (fresh, stats0), xs)
        return stats

    return jax.jit(jax.vmap(one))


def _keys(seed: int, indices: np.ndarray) -> jax.Array:
    from kinetix.batch_generation import level_keys

    return level_keys(seed, indices)


def make_levels(kind: str, size: str, setting: str, indices: np.ndarray, seed: int):
    """The levels of ``indices`` (a stacked batch) for ``kind``."""
    keys = _keys(seed, indices)
    if kind == "procedural":
        from kinetix.generator import make_generator

        return make_generator(size)(keys)
    from kinetix.adversarial import FAMILIES, make_adversarial

    families = jnp.asarray(indices % len(FAMILIES), jnp.int32)
    return make_adversarial(size, setting)(keys, families)


_COMPILED: dict = {}  # (size, setting, solver, horizon, batch) -> compiled program


def run_combination(size, kind, setting, solver, block, n_levels, args) -> dict:
    from kinetix.adversarial import FAMILIES

    horizon, batch = args.horizon, min(args.batch, n_levels)
    program = fuzz_program(size, setting, solver, horizon)
    indices = block * BLOCK + np.arange(n_levels, dtype=np.int64)
    stats: dict[str, list] = {}
    generate_s = compile_s = run_s = 0.0
    for start in range(0, n_levels, batch):
        idx = indices[start : start + batch]
        real = len(idx)
        padded = np.resize(idx, batch)  # repeats fill a short last chunk (not counted)
        t = time.perf_counter()
        levels = jax.block_until_ready(make_levels(kind, size, setting, padded, args.seed))
        generate_s += time.perf_counter() - t
        keys = _keys(args.seed + 1, padded)
        ck = (size, setting, solver, horizon, batch)
        if ck not in _COMPILED:
            t = time.perf_counter()
            _COMPILED[ck] = program.lower(levels, keys).compile()
            compile_s += time.perf_counter() - t
        compiled = _COMPILED[ck]
        t = time.perf_counter()
        out = jax.tree.map(np.asarray, jax.block_until_ready(compiled(levels, keys)))
        run_s += time.perf_counter() - t
        for k, v in out.items():
            stats.setdefault(k, []).append(v[:real])
    s = {k: np.concatenate(v) for k, v in stats.items()}
    level_steps = n_levels * horizon
    bad_rows = np.flatnonzero(s["bad"] > 0)
    listed = []
    for r in bad_rows[:MAX_LISTED]:
        entry = {
            "level_index": int(indices[r]),
            "first_nonfinite_step": int(s["first_bad"][r]),
            "nonfinite_steps": int(s["bad"][r]),
            "scene": int(s["bad_scene"][r]),
            "obs": int(s["bad_obs"][r]),
            "reward": int(s["bad_reward"][r]),
        }
        if kind == "adversarial":
            entry["family"] = FAMILIES[int(indices[r]) % len(FAMILIES)]
        listed.append(entry)
    rec = {
        "what": "fuzz_physics",
        "size": size,
        "kind": kind,
        "setting": setting,
        "solver": solver,
        "levels": n_levels,
        "level_index_range": [int(indices[0]), int(indices[-1])],
        "horizon": horizon,
        "batch": batch,
        "level_steps": level_steps,
        "nonfinite_level_steps": int(s["bad"].sum()),
        "nonfinite_scene": int(s["bad_scene"].sum()),
        "nonfinite_obs": int(s["bad_obs"].sum()),
        "nonfinite_reward": int(s["bad_reward"].sum()),
        "nonfinite_initial": int(s["initial_bad"].sum()),
        "nonfinite_level_count": len(bad_rows),
        "nonfinite_levels": listed,
        "episodes": int(s["episodes"].sum()),
        "nan_done": int(s["nan_done"].sum()),
        "solved": int(s["solved"].sum()),
        "died": int(s["died"].sum()),
    }
    if kind == "adversarial":
        fam = indices % len(FAMILIES)
        rec["families"] = {
            name: {
                "levels": int(np.sum(fam == f)),
                "level_steps": int(np.sum(fam == f)) * horizon,
                "nonfinite_level_steps": int(s["bad"][fam == f].sum()),
            }
            for f, name in enumerate(FAMILIES)
        }
    rec.update(
        seed=args.seed,
        action_seed=args.seed + 1,
        generate_s=round(generate_s, 2),
        compile_s=round(compile_s, 2),
        run_s=round(run_s, 2),
        level_steps_per_s=round(level_steps / max(run_s, 1e-9), 1),
    )
    return rec


def _machine() -> dict:
    return {
        "device": jax.devices()[0].device_kind,
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "host_cpu": platform.processor() or platform.machine(),
        "jax": jax.__version__,
        "loadavg1": round(os.getloadavg()[0], 2),
    }


def _choices(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"--{what}: expected a comma-separated subset of {','.join(allowed)}, got {value!r}"
        )
    return items


def _row(rec: dict) -> str:
    return (
        f"{rec['size']:>4} {rec['kind']:>11} {rec['setting']:>12} {rec['solver']:>10} "
        f"{rec['levels']:>6} {rec['level_steps']:>11,} {rec['nonfinite_level_steps']:>9} "
        f"{rec['episodes']:>8} {rec['compile_s']:>8.1f} {rec['run_s']:>7.1f} "
        f"{rec['level_steps_per_s']:>10,.0f}"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (and benchmarks/README.md) for what is counted.",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=1_000_000,
        help="total level-steps (agent steps) at least, split evenly over the combinations "
        "(default 1,000,000)",
    )
    p.add_argument("--horizon", type=int, default=256, help="agent steps per level (256)")
    p.add_argument("--batch", type=int, default=256, help="most levels per program call (256)")
    p.add_argument("--sizes", default=",".join(SIZES), help="s,m,l (default all)")
    p.add_argument("--kinds", default=",".join(KINDS), help="procedural,adversarial")
    p.add_argument("--settings", default=",".join(SETTINGS), help="default,jax2d-compat")
    p.add_argument("--solvers", default=",".join(SOLVERS), help="parallel,sequential")
    p.add_argument("--seed", type=int, default=0, help="level seed; actions use seed + 1")
    p.add_argument("--json", action="store_true", help="JSON lines only on stdout")
    p.add_argument("--out", metavar="FILE", help="also write the whole record (JSON) to FILE")
    args = p.parse_args(argv)
    try:
        sizes = _choices(args.sizes, SIZES, "sizes")
        kinds = _choices(args.kinds, KINDS, "kinds")
        settings = _choices(args.settings, SETTINGS, "settings")
        solvers = _choices(args.solvers, SOLVERS, "solvers")
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    for name in ("steps", "horizon", "batch"):
        if getattr(args, name) < 1:
            p.error(f"--{name}: must be >= 1")

    n_comb = len(sizes) * len(kinds) * len(settings) * len(solvers)
    n_levels = math.ceil(args.steps / (n_comb * args.horizon))
    _log(
        f"{n_comb} combinations x {n_levels} levels x {args.horizon} steps = "
        f"{n_comb * n_levels * args.horizon:,} level-steps"
    )
    header = (
        f"{'size':>4} {'kind':>11} {'setting':>12} {'solver':>10} {'levels':>6} "
        f"{'level-steps':>11} {'nonfinite':>9} {'episodes':>8} {'compile':>8} {'run_s':>7} "
        f"{'steps/s':>10}"
    )
    if not args.json:
        print(header, flush=True)
    t0 = time.perf_counter()
    records = []
    for size in sizes:
        for b, (setting, solver) in enumerate((st, so) for st in settings for so in solvers):
            for kind in kinds:
                rec = run_combination(size, kind, setting, solver, b, n_levels, args)
                records.append(rec)
                _log(
                    f"{size} {kind} {setting} {solver}: {rec['nonfinite_level_steps']} "
                    f"non-finite in {rec['level_steps']:,} level-steps "
                    f"(compile {rec['compile_s']} s, run {rec['run_s']} s)"
                )
                if args.json:
                    print(json.dumps(rec), flush=True)
                else:
                    print(_row(rec), flush=True)
    wall = time.perf_counter() - t0
    total = sum(r["level_steps"] for r in records)
    bad = sum(r["nonfinite_level_steps"] for r in records)
    summary = {
        "what": "fuzz_physics_summary",
        "total_level_steps": total,
        "nonfinite_level_steps": bad,
        "nonfinite_levels": sum(r["nonfinite_level_count"] for r in records),
        "n_combinations": len(records),
        "levels_per_combination": n_levels,
        "horizon": args.horizon,
        "physics_steps_per_level_step": 2,
        "sizes": sizes,
        "kinds": kinds,
        "settings": settings,
        "solvers": solvers,
        "seed": args.seed,
        "action_seed": args.seed + 1,
        "wall_s": round(wall, 1),
        "compile_s": round(sum(r["compile_s"] for r in records), 1),
        "run_s": round(sum(r["run_s"] for r in records), 1),
        **_machine(),
    }
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=1), flush=True)
    if args.out:
        from kinetix.atomic_io import atomic_write

        doc = {**summary, "combinations": records}
        atomic_write(args.out, lambda f: f.write(json.dumps(doc, indent=1).encode()))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
