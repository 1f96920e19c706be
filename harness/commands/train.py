"""``kinetix-bench train CONFIG.yaml``: train a PPO policy (:mod:`baselines.ppo`).

Writes into ``--out`` (default ``runs/<config name>``): ``metrics.jsonl`` (one row per update),
``checkpoint.safetensors`` (resume with ``--resume``), ``curve.png``, ``summary.json`` and the
exported submission folder ``submission/``. As N cooperating processes
(``--coordinator HOST:PORT --num-processes N --process-id I`` or ``--distributed auto``) the
PPO update is data-parallel over every device of every process and process 0 writes all of
the above. ``--set key.sub=value`` overrides config entries
(e.g. ``--set ppo.total_timesteps=1e6 --set seed=3``). With ``--json``: one JSON object per
update on stdout, then the summary.

``kinetix-bench select RUN --benchmark random-s-validation-v1`` scores the run's snapshots
(``logging.snapshot_every``) zero-shot on a validation split and copies the best to
``RUN/selected`` (:mod:`harness.scoring.selection`).
"""

from __future__ import annotations

import json
import sys

from harness.commands import (
    CommandError,
    DefaultsHelpFormatter,
    add_distributed_flags,
    add_json_flag,
    positive_int,
    run_distributed,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a PPO policy from a YAML config",
        description="Trains a PPO policy on Kinetix levels (config: see baselines/configs/). "
        "Levels come from the config's levels section: a hand-made level or set, level JSON "
        "files, a benchmark, or an on-device bank of procedural levels (optionally with "
        "SFL sampling).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("config", metavar="CONFIG", help="YAML config file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry (dotted key; the value is parsed as YAML); repeatable",
    )
    p.add_argument("--out", default=None, help="output folder (default: runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint")
    add_json_flag(p)
    add_distributed_flags(p)
    p.set_defaults(func=lambda args: run_distributed(args, _run))
    _register_select(subparsers)


def _register_select(subparsers) -> None:
    p = subparsers.add_parser(
        "select",
        help="pick a training run's best snapshot on a validation split",
        description="Scores every snapshot of a training run (RUN/snapshots/update_NNNNNN, "
        "written with logging.snapshot_every) zero-shot on a validation benchmark, ranks them "
        "by the IQM of the solve rate (ties: the mean, then the earlier snapshot) and copies "
        "the best to RUN/selected with a model-card section on the selection. Test splits and "
        "the hand-made set are refused. Writes RUN/selection.json and each snapshot's record "
        "under RUN/selection/.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="training output folder (with snapshots/)")
    p.add_argument(
        "--benchmark", default="random-s-validation-v1", help="a registered validation split"
    )
    p.add_argument("--protocol", default="zero-shot@v1", help="a zero-shot protocol id")
    p.add_argument(
        "--last", type=positive_int, default=None, help="score only the newest N snapshots"
    )
    p.add_argument("--out", default=None, help="selected submission folder (default RUN/selected)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the eval cache")
    p.add_argument("--offline", action="store_true", help="never contact the Hub")
    add_json_flag(p)
    p.set_defaults(func=_run_select)


def _run_select(args) -> int:
    from pathlib import Path

    from harness.scoring.selection import select_checkpoint

    if not Path(args.run).is_dir():
        raise CommandError(f"RUN: {args.run} is not a folder")

    def show(row):
        if args.json:
            print(json.dumps({"event": "snapshot", **row}), flush=True)
        else:
            lo, hi = row["iqm_ci95"]
            print(
                f"  update {row['update']:>6}: IQM {row['iqm']:.3f} [{lo:.3f}, {hi:.3f}], "
                f"mean {row['mean']:.3f}",
                flush=True,
            )

    result = select_checkpoint(
        args.run,
        args.benchmark,
        args.protocol,
        last=args.last,
        out=args.out,
        cache_dir=None if args.no_cache else "default",
        offline=args.offline or None,
        log=lambda s: print(s, file=sys.stderr, flush=True),
        on_snapshot=show,
    )
    chosen = result["selected"]
    if args.json:
        print(json.dumps({"event": "selected", **result}), flush=True)
    else:
        print(
            f"selected update {chosen['update']} of {len(result['candidates'])} snapshots "
            f"(IQM {chosen['iqm']:.3f} on {args.benchmark}) -> {result['selected_path']}"
        )
    return 0


def _load_benchmark_levels(cfg, log):
    from harness.levels.loading import load_benchmark

    loaded = load_benchmark(cfg.levels.benchmark, log=log)
    return loaded.levels, list(loaded.level_ids)


def _run(args) -> int:
    import dataclasses
    from pathlib import Path

    from baselines.ppo import load_config, train

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    from kinetix.distributed import primary_result

    cfg = load_config(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / cfg.name

    def check_out():  # process 0's folder (the one that writes) decides
        if args.resume and not (out / "checkpoint.safetensors").is_file():
            raise CommandError(f"--resume: no checkpoint in {out}")
        if not args.resume and (out / "checkpoint.safetensors").is_file():
            raise CommandError(f"{out} already holds a run; pass --resume or another --out")

    primary_result(check_out)
    levels = names = None
    if cfg.levels.source == "benchmark":
        levels, names = _load_benchmark_levels(cfg, log)
    if args.json:
        # keep stdout for JSON lines only
        cfg = dataclasses.replace(cfg, logging=dataclasses.replace(cfg.logging, progress=False))

    def on_metrics(row):
        if args.json:
            print(json.dumps({"event": "update", **row}), flush=True)

    log(
        f"training {cfg.name}: {cfg.ppo.num_updates} updates of {cfg.ppo.batch_steps} env "
        f"steps -> {out}"
    )
    result = train(
        cfg,
        out,
        levels=levels,
        level_names=names,
        resume=args.resume,
        log=log,
        on_metrics=on_metrics,
    )
    info = {k: v for k, v in result.info.items() if k not in ("hyperparameters", "levels")}
    info["out"] = str(out)
    if args.json:
        print(json.dumps({"event": "summary", **info}), flush=True)
    else:
        ev = info.get("eval", {})
        print(
            f"{cfg.name}: {info['env_steps']:,} env steps in {info['wall_seconds']:.1f} s "
            f"(steady {info['sps_steady'] or 0:,.0f} steps/s); eval solve rate "
            f"{ev.get('solve_rate', float('nan')):.3f}; outputs in {out}"
        )
    return 0
