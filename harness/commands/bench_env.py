"""``kinetix-bench bench env``: agent steps/s and compile time of the Kinetix environment.

The measurement is :func:`harness.bench.env.time_env` (one compiled rollout of ``T`` agent steps
over ``B`` copies of a hand-made level; see there for the protocol); this module is its command
line.

This module adds the ``env`` target to the ``bench`` command group (registered after
:mod:`harness.commands.bench` in :data:`harness.cli.COMMAND_MODULES`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

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
    p.add_argument(
        "--min-reps", type=positive_int, default=3, help="timed repetitions at least (default 3)"
    )
    p.add_argument(
        "--min-time",
        type=float,
        default=3.0,
        help="repeat until this many seconds are timed (default 3.0)",
    )
    p.add_argument(
        "--max-reps", type=positive_int, default=10, help="timed repetitions at most (default 10)"
    )
    p.add_argument(
        "--compilation-cache", action="store_true", help="allow jax's persistent compilation cache"
    )
    add_json_flag(p)
    p.set_defaults(func=run_env)


def run_env(args) -> int:
    from harness.bench import physics as bench
    from harness.bench.env import time_env

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
