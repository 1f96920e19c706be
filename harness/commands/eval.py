"""``kinetix-bench eval SUBMISSION --benchmark ID``: score a submission zero-shot, write a record.

Loads the benchmark's levels (Hub cache, Hub, or the bundled copy; verified), loads the
submission with every safety check (:mod:`harness.submissions`), runs the protocol's attempts on
every level in one compiled program (:mod:`harness.scoring.evaluation`, resumable through a
per-chunk cache), computes solve-rate statistics with stratified-bootstrap CIs
(:mod:`harness.scoring.stats`) and writes the result record and its per-level Parquet
(:mod:`harness.scoring.records`) atomically under ``--out`` (default ``leaderboard/records``):
``{out}/{submission}/{benchmark}__{protocol}.json``.

Kinetix checkpoints (``params.safetensors`` + ``config.json``) are evaluated under Kinetix's
physics (``EnvConfig(kinetix_parity=True)``: the jax2d-compat setting and sequential solver), so
their numbers are comparable with Kinetix's own; ours run under the default physics. The
``kinetix-zero-shot@v1`` protocol runs every submission under ``jax2d-compat`` and adds Kinetix's
per-size averages (``metrics.by_size`` in the record, printed in the summary). The record
states which physics ran.

Both commands (``eval`` and ``finetune``) run as N cooperating processes with
``--coordinator HOST:PORT --num-processes N --process-id I`` or ``--distributed auto`` (a
cluster job): the chunks (eval) and training cells (finetune) are shared by every device of
every process, process 0 writes the caches and the record (README "Running on a cluster").
"""

from __future__ import annotations

import json
import sys

from harness.commands import (
    CommandError,
    add_distributed_flags,
    add_json_flag,
    positive_int,
    run_distributed,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score a submission zero-shot on a benchmark and write a result record",
        description="Evaluates SUBMISSION (a folder with model.safetensors/config.json/README.md, "
        "a Kinetix checkpoint folder, or noop/random) on a benchmark with a protocol, prints a "
        "summary (IQM and mean solve rate with 95% CIs, per-level solve rates) and writes the "
        "result record (JSON + per-level Parquet).",
    )
    p.add_argument(
        "submission",
        metavar="SUBMISSION",
        help="submission folder, or a Hub reference hf://OWNER/REPO[/SUBFOLDER][@REVISION]",
    )
    p.add_argument("--benchmark", required=True, metavar="ID", help="benchmark id or dataset DIR")
    p.add_argument(
        "--protocol",
        default="zero-shot@v1",
        help="protocol id (default zero-shot@v1; kinetix-zero-shot@v1: Kinetix's own evaluation "
        "under jax2d-compat physics, with per-size averages)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="records folder (default: leaderboard/records of the checkout, or "
        "$KINETIX_BENCH_HOME/leaderboard/records; not the current directory)",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="per-chunk result cache for resuming (default: ~/.cache/kinetix-bench/eval)",
    )
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--chunk", type=positive_int, default=32, help="levels per compiled call")
    p.add_argument(
        "--bootstrap-reps", type=positive_int, default=10_000, help="bootstrap resamples"
    )
    p.add_argument("--offline", action="store_true", help="never contact the Hub")
    add_json_flag(p)
    add_distributed_flags(p)
    p.set_defaults(func=lambda args: run_distributed(args, run_eval))
    _register_finetune(subparsers)


def _progress_bar(args, unit: str):
    """``(on_start, update, close)`` for a tqdm bar sized when scoring starts (none with --json)."""
    from tqdm.auto import tqdm

    bars = []

    def on_start(total: int, label: str) -> None:
        bars.append(tqdm(total=total, desc=label, unit=unit, disable=args.json, leave=False))

    def update(n: int) -> None:
        if bars:
            bars[0].update(n)

    def close() -> None:
        for b in bars:
            b.close()

    return on_start, update, close


def _log(s: str) -> None:
    print(s, file=sys.stderr, flush=True)


def run_eval(args) -> int:
    import numpy as np

    from harness.scoring.pipeline import score
    from harness.scoring.protocols import ZeroShot, parse_protocol

    protocol = parse_protocol(args.protocol)
    if not isinstance(protocol, ZeroShot):
        raise CommandError(f"{args.protocol}: use `kinetix-bench finetune` for fine-tuning")
    on_start, update, close = _progress_bar(args, "lvl")
    try:
        scored = score(
            args.submission,
            args.benchmark,
            protocol,
            out=args.out,
            cache_dir=None if args.no_cache else (args.cache_dir or "default"),
            chunk=args.chunk,
            bootstrap_reps=args.bootstrap_reps,
            offline=args.offline or None,
            progress=update,
            on_start=on_start,
            log=_log,
        )
    finally:
        close()
    record, sub, loaded = scored.record, scored.submission, scored.loaded
    if args.json:
        print(json.dumps({"what": "eval", **scored.summary()}))
        return 0
    sr = record["metrics"]["solve_rate"]
    by_size = record["metrics"].get("by_size")
    rates = scored.outcomes["solved"].mean(axis=1)
    n = len(loaded.level_ids)
    print(f"{sub.id} on {loaded.benchmark.id} ({n} levels, {protocol.id}, data {loaded.origin}):")
    if sub.source:
        print(f"  submission commit {sub.source['commit']} of {sub.source['repo']}")
    for k in ("iqm", "mean", "median", "optimality_gap"):
        lo, hi = sr["ci95"][k]
        print(f"  {k:15s} {sr[k]:.3f}  [{lo:.3f}, {hi:.3f}]")
    if by_size:  # Kinetix's own averages: mean solve rate per size group and over all levels
        print(f"  Kinetix mean solve rate ({record['protocol']['env_params']['physics_setting']}):")
        for g, v in by_size.items():
            print(f"    {g.upper():4s} {v['solve_rate']:.3f} over {v['n_levels']} levels")
    sizes = {}
    for lid, r in zip(loaded.level_ids, rates, strict=True):
        sizes.setdefault(lid.split("/", 1)[0], []).append(r)
    if len(sizes) > 1:
        from harness.scoring.stats import iqm

        for cfg, rs in sizes.items():
            print(f"  {cfg:15s} IQM {float(iqm(np.asarray(rs))):.3f} over {len(rs)} levels")
    width = max(len(i) for i in loaded.level_ids)
    for lid, r in zip(loaded.level_ids, rates, strict=True):
        print(f"    {lid:{width}s} {r:.2f}")
    print(f"record: {scored.record_path}  ({record['compute']['wall_clock_s']:.0f} s)")
    return 0


def _register_finetune(subparsers) -> None:
    p = subparsers.add_parser(
        "finetune",
        help="the fine-tuning protocol: PPO per level from the submission, then zero-shot",
        description="Runs finetune-BUDGET@v1 on every level of a benchmark: for each level and "
        "each of the protocol's 3 training seeds, PPO from the submission's weights for BUDGET "
        "env steps, then 20 zero-shot attempts on that level; the same budget from fresh "
        "weights is run and recorded beside it. Writes one result record. Long: a CPU budget "
        "of 1e5 takes minutes per level.",
    )
    p.add_argument(
        "submission",
        metavar="SUBMISSION",
        help="a submission folder, a registered name or a Hub reference (hf://ORG/NAME); "
        "exported programs cannot be fine-tuned (no gradients)",
    )
    p.add_argument(
        "--benchmark", required=True, metavar="ID", help="benchmark id (e.g. handmade-s-v1)"
    )
    p.add_argument("--budget", required=True, help="env steps per level and seed (e.g. 1e5)")
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for the result record (default: leaderboard/records of the checkout, or "
        "$KINETIX_BENCH_HOME/leaderboard/records)",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="cache of trained cells (default ~/.cache/kinetix-bench/finetune)",
    )
    p.add_argument("--no-scratch", action="store_true", help="skip the from-scratch runs")
    p.add_argument(
        "--bootstrap-reps",
        type=positive_int,
        default=10_000,
        help="bootstrap replicates of the CIs (default 10000)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="never touch the network: the bundled copy or the Hub cache only",
    )
    add_json_flag(p)
    add_distributed_flags(p)
    p.set_defaults(func=lambda args: run_distributed(args, run_finetune_cmd))


def run_finetune_cmd(args) -> int:
    from harness.scoring.pipeline import score
    from harness.scoring.protocols import parse_protocol

    protocol = parse_protocol(f"finetune-{args.budget}@v1")
    on_start, update, close = _progress_bar(args, "run")
    try:
        scored = score(
            args.submission,
            args.benchmark,
            protocol,
            out=args.out,
            cache_dir=args.cache_dir or "default",
            bootstrap_reps=args.bootstrap_reps,
            offline=args.offline or None,
            scratch=not args.no_scratch,
            progress=update,
            on_start=on_start,
            log=_log,
        )
    finally:
        close()
    metrics = scored.record["metrics"]
    if args.json:
        print(json.dumps({"what": "finetune", **scored.summary(), "metrics": metrics}))
        return 0
    sr = metrics["solve_rate"]
    bench = scored.loaded.benchmark
    print(
        f"{scored.submission.id} on {bench.id}, {protocol.id}: IQM {sr['iqm']:.3f} "
        f"mean {sr['mean']:.3f}"
    )
    if "scratch_solve_rate" in metrics:
        g = metrics["finetune_gain"]["iqm"]
        print(
            f"  from scratch IQM {metrics['scratch_solve_rate']['iqm']:.3f}; "
            f"gain {g['value']:+.3f} [{g['ci95'][0]:+.3f}, {g['ci95'][1]:+.3f}]"
        )
    print(f"record: {scored.record_path}")
    return 0
