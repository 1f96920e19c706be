"""``kinetix-bench levels calibrate``: measure the hand-made levels' difficulty.

For every selected certified level: the no-op and random policies, the 324 constant actions and
from-scratch PPO at the fine-tuning budgets (:mod:`harness.scoring.calibration`). Results are
cached per level hash (a stopped run resumes) and merged into the committed store
``kinetix/handmade/measurements.json`` after every size. Offline work: never run in CI.
"""

from __future__ import annotations

import json
import sys

from harness.commands import CommandError, add_json_flag, comma_list, positive_int


def add_subcommands(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="measure hand-made levels: constant actions, random policy, scratch PPO",
        description="Measures every selected certified hand-made level: the no-op policy, 64 "
        "random-policy episodes, the 324 constant MultiDiscrete actions, and from-scratch PPO "
        "(the fine-tuning protocol's, entity transformer, 3 training seeds) at each budget, "
        "later budgets only where the first is below 0.8. Cached per level hash; the measured "
        "rows are merged into the measurements store after each size.",
    )
    p.add_argument(
        "--size",
        type=comma_list(str, "--size"),
        action="extend",
        default=None,
        metavar="S[,M,...]",
        help="env sizes to measure (s, m, l; repeatable or comma-separated; default: all)",
    )
    p.add_argument("--level", action="append", default=[], metavar="ID", help="level id (repeat)")
    p.add_argument(
        "--benchmark",
        default=None,
        metavar="ID",
        help="measure this benchmark's levels instead of the registered hand-made ones (e.g. "
        "kinetix-original-v1 after 'levels import-kinetix'); needs --store, since only the "
        "hand-made measurements are committed",
    )
    p.add_argument(
        "--budget",
        type=comma_list(float, "--budget"),
        action="extend",
        default=None,
        metavar="STEPS",
        help="scratch-PPO budgets in env steps, increasing (default 1e5,1e6)",
    )
    p.add_argument("--no-ppo", action="store_true", help="only the policy-free measurements")
    p.add_argument(
        "--report",
        action="store_true",
        help="measure nothing: print the store's measurements as Markdown (a summary per size "
        "group, then one row per level; --size narrows it)",
    )
    p.add_argument("--chunk", type=positive_int, default=36, help="PPO cells per program")
    p.add_argument("--cache-dir", default=None, help="measurement cache (default: user cache)")
    p.add_argument("--store", default=None, help="measurements file (default: the committed one)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_json_flag(p)
    p.set_defaults(func=run_calibrate)


def run_calibrate(args) -> int:
    from pathlib import Path

    import kinetix.handmade as hm
    from harness.levels.build import simulator_version
    from harness.scoring.calibration import BUDGETS, calibrate
    from kinetix import level_hashes, stack_levels
    from kinetix.handmade.measurements import load_measurements, save_measurements

    sizes = args.size or ["s", "m", "l"]
    bad = [s for s in sizes if s not in ("s", "m", "l")]
    if bad:
        raise CommandError(f"--size: unknown size(s) {', '.join(bad)}; expected s, m or l")
    if args.report:
        return _report(args, sizes, load_measurements)
    budgets = tuple(int(b) for b in args.budget) if args.budget else BUDGETS
    if any(b < 1 for b in budgets) or list(budgets) != sorted(budgets):
        raise CommandError(f"--budget: must be positive and increasing, got {list(budgets)}")
    wanted = set(args.level)
    unknown = wanted - set(hm.REGISTRY)
    if unknown:
        raise CommandError(f"--level: unknown level id(s) {', '.join(sorted(unknown))}")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    cache = args.cache_dir or str(Path.home() / ".cache" / "kinetix-bench" / "calibration")
    if args.benchmark is not None:
        if args.store is None:
            raise CommandError("--benchmark: give --store FILE for the measurements")
        if args.level or args.size:
            raise CommandError("--benchmark: measures the whole benchmark (no --level / --size)")
        from harness.levels.loading import load_benchmark

        loaded = load_benchmark(args.benchmark, device=False, log=log)
        groups = [(loaded.benchmark.size, loaded.levels, loaded.level_ids)]
    else:
        groups = []
        for size in sizes:
            cert = [c for c in hm.certified_levels(size) if not wanted or c[0].id in wanted]
            if cert:
                lv = stack_levels([lv for _, lv, _ in cert], size=size)
                groups.append((size, lv, [e.id for e, _, _ in cert]))

    def progress(stage, total):
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=stage, unit="lvl", disable=args.no_progress, leave=False)
        return bar.update

    for size, levels, ids in groups:
        rows = calibrate(
            levels,
            level_hashes(levels),
            ids,
            budgets=budgets,
            cache_dir=cache,
            chunk=args.chunk,
            ppo=not args.no_ppo,
            log=log,
            progress=progress,
        )
        store = load_measurements(args.store)
        sim = simulator_version()
        for row in rows:
            lid = row.pop("level_id")
            merged = (
                dict(store.get(lid, {}))
                if store.get(lid, {}).get("level_hash") == row["level_hash"]
                else {}
            )
            merged.update(row, simulator=sim)
            store[lid] = merged
            if args.json:
                print(json.dumps({"level": lid, **merged}), flush=True)
            else:
                print(_line(lid, merged), flush=True)
        path = save_measurements(store, args.store)
        log(f"{size}: {len(rows)} levels measured, written to {path}")
    return 0


def _report(args, sizes, load_measurements) -> int:
    from harness.levels.registry import kinetix_size_group
    from harness.scoring.calibration_report import calibration_levels, calibration_summary

    rows = {
        k: r for k, r in load_measurements(args.store).items() if kinetix_size_group(k) in sizes
    }
    if args.json:
        for lid, row in sorted(rows.items()):
            print(json.dumps({"level": lid, **row}))
        return 0
    print(calibration_summary(rows))
    print()
    print(calibration_levels(rows))
    return 0


def _line(lid: str, row: dict) -> str:
    parts = [
        f"{lid}: constant {row['constant_solves']}/324",
        f"random {row['random_solve_rate']:.2f}",
        f"noop {'SOLVES' if row['noop_solved'] else 'no'}",
    ]
    for key in sorted(k for k in row if k.startswith("scratch_solve_rate_")):
        parts.append(f"scratch@{key.rsplit('_', 1)[-1]} {row[key]:.2f}")
    if row.get("tier"):
        parts.append(f"tier {row['tier']}")
    return ", ".join(parts)
