"""``kinetix-bench eval SUBMISSION --benchmark ID``: score a submission zero-shot, write a record.

Loads the benchmark's levels (Hub cache, Hub, or the bundled copy; verified), loads the
submission with every safety check (:mod:`harness.submissions`), runs the protocol's attempts on
every level in one compiled program (:mod:`harness.evaluate`, resumable through a per-chunk
cache), computes solve-rate statistics with stratified-bootstrap CIs (:mod:`harness.stats`) and
writes the result record and its per-level Parquet (:mod:`harness.records`) atomically under
``--out`` (default ``leaderboard/records``): ``{out}/{submission}/{benchmark}__{protocol}.json``.

Kinetix checkpoints (``params.safetensors`` + ``config.json``) are evaluated under Kinetix's
physics (``EnvConfig(kinetix_parity=True)``: the jax2d-compat setting and sequential solver), so
their numbers are comparable with Kinetix's own; ours run under the default physics. The
``kinetix-zero-shot@v1`` protocol runs every submission under ``jax2d-compat`` and adds Kinetix's
per-size averages (``metrics.by_size`` in the record, printed in the summary). The record
states which physics ran.
"""

from __future__ import annotations

import json
import sys
import time

from harness.commands import CommandError, add_json_flag, positive_int


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
        "--out", default="leaderboard/records", help="records folder (default leaderboard/records)"
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
    p.set_defaults(func=run_eval)
    _register_finetune(subparsers)


def _resolve_submission(spec: str) -> str:
    """``noop`` / ``random`` name the committed parameter-free submissions."""
    from pathlib import Path

    if spec in ("noop", "random") and not Path(spec).exists():
        root = Path(__file__).resolve().parents[2] / "submissions" / spec
        if root.is_dir():
            return str(root)
    return spec


def run_eval(args) -> int:
    import os
    from pathlib import Path

    import numpy as np
    from tqdm.auto import tqdm

    from harness.benchmarks import load_benchmark
    from harness.evaluate import Agent, evaluate
    from harness.protocols import ZeroShot, parse_protocol
    from harness.records import make_record, write_record
    from harness.submissions import load_submission
    from kinetix import EnvConfig

    protocol = parse_protocol(args.protocol)
    if not isinstance(protocol, ZeroShot):
        raise CommandError(f"{args.protocol}: use `kinetix-bench finetune` for fine-tuning")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()

    def log(s):
        print(s, file=sys.stderr, flush=True)

    loaded = load_benchmark(args.benchmark, offline=args.offline or None, log=log)
    bench = loaded.benchmark
    sub = load_submission(
        _resolve_submission(args.submission), benchmark=bench, offline=args.offline or None
    )
    obs = "entity" if sub.obs_type == "any" else sub.obs_type
    act = "multi_discrete" if sub.action_type == "any" else sub.action_type
    env_config = EnvConfig(
        size=bench.size,
        obs_type=obs,
        action_type=act,
        kinetix_parity=sub.kind == "kinetix",
        physics_setting=protocol.physics_setting,  # kinetix-zero-shot@v1: jax2d-compat
    )
    agent = Agent(sub.architecture, sub.arch_config, sub.params, sub.sha256)
    cache = None
    if not args.no_cache:
        default = Path(os.path.expanduser("~/.cache/kinetix-bench/eval"))
        cache = Path(args.cache_dir) if args.cache_dir else default
    n = len(loaded.level_ids)
    timing: dict = {}
    with tqdm(
        total=n, desc=f"{sub.id} on {bench.id}", unit="lvl", disable=args.json, leave=False
    ) as bar:
        out = evaluate(
            agent,
            loaded.levels,
            loaded.level_hashes,
            protocol,
            env_config,
            chunk=args.chunk,
            cache_dir=cache,
            progress=bar.update,
            timing=timing,
        )
    record, table = make_record(
        submission=sub,
        loaded=loaded,
        protocol=protocol,
        outcomes=out,
        env_config=env_config,
        # a resumed run adds the time its cached chunks took when they were computed
        wall_clock_s=time.perf_counter() - t0 + timing["cached_compute_s"],
        started_at=started,
        bootstrap_reps=args.bootstrap_reps,
    )
    record["metrics"].update(protocol.extra_metrics(loaded.level_ids, out))
    jpath, ppath = write_record(args.out, record, table)
    sr = record["metrics"]["solve_rate"]
    by_size = record["metrics"].get("by_size")
    if args.json:
        print(
            json.dumps(
                {
                    "what": "eval",
                    "record": str(jpath),
                    "per_level": str(ppath),
                    "result_id": record["result_id"],
                    "submission": sub.id,
                    "benchmark": bench.id,
                    "protocol": protocol.id,
                    "solve_rate": {k: sr[k] for k in ("iqm", "mean", "median", "ci95")},
                    **({"by_size": by_size} if by_size else {}),
                    "wall_clock_s": record["compute"]["wall_clock_s"],
                }
            )
        )
        return 0
    rates = out["solved"].mean(axis=1)
    print(f"{sub.id} on {bench.id} ({n} levels, {protocol.id}, data {loaded.origin}):")
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
        from harness.stats import iqm

        for cfg, rs in sizes.items():
            print(f"  {cfg:15s} IQM {float(iqm(np.asarray(rs))):.3f} over {len(rs)} levels")
    width = max(len(i) for i in loaded.level_ids)
    for lid, r in zip(loaded.level_ids, rates, strict=True):
        print(f"    {lid:{width}s} {r:.2f}")
    print(f"record: {jpath}  ({record['compute']['wall_clock_s']:.0f} s)")
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
    p.add_argument("submission", metavar="SUBMISSION")
    p.add_argument("--benchmark", required=True, metavar="ID")
    p.add_argument("--budget", required=True, help="env steps per level and seed (e.g. 1e5)")
    p.add_argument("--out", default="leaderboard/records")
    p.add_argument("--cache-dir", default=None, help="default ~/.cache/kinetix-bench/finetune")
    p.add_argument("--no-scratch", action="store_true", help="skip the from-scratch runs")
    p.add_argument("--bootstrap-reps", type=positive_int, default=10_000)
    p.add_argument("--offline", action="store_true")
    add_json_flag(p)
    p.set_defaults(func=run_finetune_cmd)


def run_finetune_cmd(args) -> int:
    import os
    from pathlib import Path

    from tqdm.auto import tqdm

    from harness.benchmarks import load_benchmark
    from harness.finetuning import run_finetune
    from harness.protocols import parse_protocol
    from harness.records import make_record, write_record
    from harness.stats import aggregate, finetune_gain
    from harness.submissions import load_submission
    from kinetix import EnvConfig

    protocol = parse_protocol(f"finetune-{args.budget}@v1")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()
    loaded = load_benchmark(
        args.benchmark,
        offline=args.offline or None,
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    bench = loaded.benchmark
    sub = load_submission(
        _resolve_submission(args.submission), benchmark=bench, offline=args.offline or None
    )
    env_config = EnvConfig(
        size=bench.size,
        obs_type=sub.obs_type,
        action_type=sub.action_type,
        kinetix_parity=sub.kind == "kinetix",
    )
    cache = Path(args.cache_dir or os.path.expanduser("~/.cache/kinetix-bench/finetune"))
    n_runs = len(loaded.level_ids) * len(protocol.train_seeds) * (1 if args.no_scratch else 2)
    with tqdm(total=n_runs, desc=f"{protocol.id} {sub.id}", disable=args.json) as bar:
        res = run_finetune(
            sub,
            loaded,
            protocol,
            env_config,
            cache_dir=cache,
            progress=bar.update,
            scratch=not args.no_scratch,
        )
    per_update = protocol.num_envs * protocol.num_steps
    trained = max(1, protocol.budget // per_update) * per_update * n_runs
    record, table = make_record(
        submission=sub,
        loaded=loaded,
        protocol=protocol,
        outcomes=res["finetuned"],
        env_config=env_config,
        wall_clock_s=time.perf_counter() - t0,
        started_at=started,
        bootstrap_reps=args.bootstrap_reps,
        train_seeds=list(protocol.train_seeds),
        env_steps=trained,
    )
    if "scratch" in res:
        ft = res["finetuned"]["solved"].astype(float).mean(-1)
        sc = res["scratch"]["solved"].astype(float).mean(-1)
        agg = aggregate(sc, reps=args.bootstrap_reps)
        record["metrics"]["scratch_solve_rate"] = {
            k: float(agg[k]["value"]) for k in ("iqm", "mean", "median", "optimality_gap")
        }
        gain = finetune_gain(ft, sc, reps=args.bootstrap_reps)
        record["metrics"]["finetune_gain"] = {
            k: {"value": float(v["value"]), "ci95": [float(v["ci_low"]), float(v["ci_high"])]}
            for k, v in gain.items()
        }
    jpath, _ = write_record(args.out, record, table)
    sr = record["metrics"]["solve_rate"]
    if args.json:
        print(json.dumps({"what": "finetune", "record": str(jpath), "metrics": record["metrics"]}))
    else:
        print(f"{sub.id} on {bench.id}, {protocol.id}: IQM {sr['iqm']:.3f} mean {sr['mean']:.3f}")
        if "scratch_solve_rate" in record["metrics"]:
            g = record["metrics"]["finetune_gain"]["iqm"]
            print(
                f"  from scratch IQM {record['metrics']['scratch_solve_rate']['iqm']:.3f}; "
                f"gain {g['value']:+.3f} [{g['ci95'][0]:+.3f}, {g['ci95'][1]:+.3f}]"
            )
        print(f"record: {jpath}")
    return 0
