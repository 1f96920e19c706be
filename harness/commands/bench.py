"""``kinetix-bench bench``: performance measurements (JSON lines with ``--json``).

``bench physics`` times ``jit(lax.scan over T steps of vmap(jax2d.step))`` over B different
scenes for each (size, batch); see :mod:`harness.bench.physics` for the protocol.
"""

from __future__ import annotations

import json
import sys

from harness.commands import CommandError, add_json_flag, comma_list, positive_int

SIZE_CHOICES = ("s", "m", "l")
DEFAULT_BATCHES = (256, 4096)
_DEFAULT_BATCHES_TEXT = ",".join(map(str, DEFAULT_BATCHES))


def _size(text: str) -> str:
    key = text.strip().lower()
    if key not in SIZE_CHOICES:
        raise ValueError(f"choose from {', '.join(SIZE_CHOICES)}")
    return key


def register(subparsers) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="performance measurements (steps/s, compile time)",
        description="Performance measurements. Each prints one result per line; with --json "
        "one JSON object per line on stdout (progress goes to stderr).",
    )
    targets = bench.add_subparsers(dest="target", metavar="TARGET", title="targets")
    targets.required = True

    from jax2d.params import PHYSICS_SETTINGS, PhysicsConfig

    p = targets.add_parser(
        "physics",
        help="physics steps/s and compile time of jax2d.step per scene size and batch size",
        description="Times jit(lax.scan over STEPS steps of vmap(jax2d.step)) over BATCH "
        "different scenes of each Kinetix size (S: 5 polygons incl. 4 static, 2 circles, "
        "1 joint, 1 thruster; M: 6/3/2/2; L: 12/4/6/2) with fixed random actions. "
        "steps_per_s counts BATCH*STEPS physics steps per call (best of >= 3 repetitions "
        "after a warm-up); compile_s is trace + lower + XLA compile.",
    )
    p.add_argument(
        "--size",
        dest="sizes",
        action="extend",
        type=comma_list(_size, "size"),
        metavar="S[,M,L]",
        help="scene sizes s, m, l (comma list or repeated; default: all)",
    )
    p.add_argument(
        "--batch",
        dest="batches",
        action="extend",
        type=comma_list(positive_int, "batch"),
        metavar="N[,N]",
        help=f"batch sizes (comma list or repeated; default: {_DEFAULT_BATCHES_TEXT})",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=128,
        help="physics steps per call (default: %(default)s)",
    )
    p.add_argument(
        "--setting",
        choices=sorted(PHYSICS_SETTINGS),
        default="default",
        help="physics setting (default: %(default)s; jax2d-compat: Jax2D's behaviour)",
    )
    p.add_argument(
        "--solver-iterations",
        type=int,
        default=PhysicsConfig().num_solver_iterations,
        help="sequential-impulse iterations per step (default: %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the scenes and actions (default: %(default)s)"
    )
    p.add_argument(
        "--min-reps",
        type=positive_int,
        default=3,
        help="least timed repetitions (default: %(default)s)",
    )
    p.add_argument(
        "--min-time",
        type=float,
        default=3.0,
        help="least total seconds of timed repetitions (default: %(default)s)",
    )
    p.add_argument(
        "--max-reps",
        type=positive_int,
        default=10,
        help="most timed repetitions (default: %(default)s)",
    )
    p.add_argument(
        "--compilation-cache",
        action="store_true",
        help="allow jax's persistent compilation cache (compile_s then may be a cache read)",
    )
    add_json_flag(p)
    p.set_defaults(func=run_physics)


_COLUMNS = (  # (header, key, format)
    ("size", "size", "{}"),
    ("batch", "batch", "{}"),
    ("steps", "steps", "{}"),
    ("steps/s", "steps_per_s", "{:,.0f}"),
    ("median steps/s", "steps_per_s_median", "{:,.0f}"),
    ("compile s", "compile_s", "{:.2f}"),
    ("best s", "best_s", "{:.4f}"),
    ("reps", "reps", "{}"),
)


def _row(values) -> str:
    widths = (4, 6, 6, 12, 15, 10, 9, 5)
    return "  ".join(str(v).rjust(w) for v, w in zip(values, widths, strict=True))


def run_physics(args) -> int:
    from tqdm import tqdm

    from harness.bench import physics as bench

    if args.solver_iterations < 0:
        raise CommandError(f"--solver-iterations must be >= 0, got {args.solver_iterations}")
    if not args.compilation_cache:
        bench.disable_persistent_cache()
    sizes = list(dict.fromkeys(args.sizes or SIZE_CHOICES))
    batches = list(dict.fromkeys(args.batches or DEFAULT_BATCHES))
    jobs = [(s, b) for s in sizes for b in batches]
    ok = True
    with tqdm(
        total=len(jobs), desc="bench physics", unit="run", file=sys.stderr, disable=None
    ) as bar:
        if not args.json:
            info = bench.device_info()
            bar.write(
                f"physics steps/s on {info['device']} ({info['backend']}, {info['host_cpu']}), "
                f"jax {info['jax']}, setting {args.setting}, "
                f"{args.solver_iterations} solver iterations"
            )
            bar.write(_row(h for h, _, _ in _COLUMNS))
        for size, batch in jobs:
            bar.set_postfix_str(f"size {size} batch {batch}")
            rec = bench.time_physics(
                size,
                batch,
                args.steps,
                setting=args.setting,
                solver_iterations=args.solver_iterations,
                seed=args.seed,
                min_reps=args.min_reps,
                min_seconds=args.min_time,
                max_reps=args.max_reps,
            )
            ok = ok and rec["finite"]
            if args.json:
                bar.clear()
                print(json.dumps(rec), flush=True)
            else:
                bar.write(_row(fmt.format(rec[k]) for _, k, fmt in _COLUMNS))
            bar.update(1)
    if not ok:
        print("error: the simulation produced NaN or infinite positions", file=sys.stderr)
        return 1
    return 0
