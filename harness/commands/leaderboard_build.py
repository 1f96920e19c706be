"""``kinetix-bench leaderboard build`` and ``leaderboard refresh``: write the leaderboard files.

``build`` collects and validates the records under ``ROOT/records`` (and ``--records``), ranks
them and writes ``leaderboard.parquet`` / ``.csv``, the README block and ``index.html``
(:func:`harness.leaderboard.build.build_leaderboard`); ``refresh`` first scores the bundled
submissions zero-shot on the hand-made benchmarks (:func:`harness.scoring.pipeline.score`).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.commands import CommandError, add_json_flag, positive_int
from harness.commands.leaderboard_common import add_common_args, leaderboard_root, stderr

__all__ = ["REFRESH_BENCHMARKS", "add_build", "run_build", "add_refresh", "run_refresh"]


def add_build(sub) -> None:
    p = sub.add_parser(
        "build",
        help="rebuild leaderboard.parquet/.csv, README.md's table and index.html from records",
        description="Collects and validates every record under ROOT/records (and --records "
        "folders), ranks each (benchmark, protocol, level set) group by IQM with CI bands "
        "and writes ROOT/leaderboard.parquet, ROOT/leaderboard.csv, the table between the "
        "markers of ROOT/README.md (text outside them is kept) and ROOT/index.html.",
    )
    add_common_args(p)
    p.add_argument("--no-page", action="store_true", help="do not write index.html")
    p.add_argument("--no-gallery", action="store_true", help="index.html without the gallery")
    p.add_argument("--thumb", type=positive_int, default=96, help="gallery thumbnail px (96)")
    p.add_argument(
        "--gifs",
        action="store_true",
        help="also write GIFs of the reference agents (the committed submissions, or "
        "--gif-submission) on every hand-made level under ROOT/gifs and link them from the "
        "gallery, as far as --gif-budget allows (rollouts are cached)",
    )
    p.add_argument(
        "--gif-budget",
        type=float,
        default=8.0,
        metavar="MIB",
        help="total size of the GIFs the page links, MiB (default 8)",
    )
    p.add_argument(
        "--gif-submission",
        action="append",
        default=None,
        metavar="SUB",
        help="a reference agent for the GIFs (repeat; default: every committed submission)",
    )
    add_json_flag(p)
    p.set_defaults(func=run_build)


def run_build(args) -> int:
    from harness.leaderboard.build import build_leaderboard

    root = leaderboard_root(args)
    if not (root / "records").is_dir() and not args.records:
        raise CommandError(f"{root / 'records'} does not exist (give --root or --records DIR)")
    res = build_leaderboard(
        root,
        records=args.records,
        skip_invalid=args.skip_invalid,
        page=not args.no_page,
        gallery=not args.no_gallery,
        gifs=args.gifs,
        gif_budget=int(args.gif_budget * 2**20),
        gif_submissions=args.gif_submission,
        thumb=args.thumb,
        log=stderr,
    )
    if args.json:
        out = {
            "what": "leaderboard-build",
            "root": str(res.root),
            "files": [str(f) for f in res.files],
            "records": res.records,
            "rows": res.rows,
            "groups": res.groups,
            "notes": list(res.notes),
            "skipped": list(res.skipped),
        }
        print(json.dumps(out), flush=True)
    else:
        print(f"{res.rows} results in {res.groups} groups from {res.records} records:")
        for f in res.files:
            print(f"  wrote {f}")
    return 0


# ----------------------------------------------------------------------------------- refresh
#: What ``leaderboard refresh`` scores by default: the bundled hand-made benchmarks.
REFRESH_BENCHMARKS = ("handmade-s-v1", "handmade-m-v1", "handmade-l-v1", "handmade-all-v1")


def add_refresh(sub) -> None:
    p = sub.add_parser(
        "refresh",
        help="evaluate the bundled submissions on the hand-made benchmarks, then build",
        description="The README's main job. Evaluates every submission folder under "
        "--submissions (default: the committed submissions/, the bundled baselines) with "
        "zero-shot@v1 on the bundled hand-made benchmarks (handmade-s/m/l/all-v1, from the "
        "bundled level data, offline), writes their result records under ROOT/records, then "
        "rebuilds the leaderboard from every record there (`leaderboard build`). Per-chunk "
        "results are cached (~/.cache/kinetix-bench/eval), so a second run only rebuilds. "
        "Takes a few minutes on a laptop CPU the first time.",
    )
    add_common_args(p, records=False)
    p.add_argument(
        "--submissions",
        default=None,
        metavar="DIR",
        help="folder of submission folders to score (default: the committed submissions/ of "
        "the checkout or of the installed package)",
    )
    p.add_argument(
        "--benchmark",
        action="append",
        default=[],
        metavar="ID",
        help=f"benchmark to score (repeat; default {', '.join(REFRESH_BENCHMARKS)})",
    )
    p.add_argument("--online", action="store_true", help="allow Hub downloads of level data")
    p.add_argument("--no-cache", action="store_true", help="recompute every evaluation")
    p.add_argument("--no-page", action="store_true", help="do not write index.html")
    add_json_flag(p)
    p.set_defaults(func=run_refresh)


def run_refresh(args) -> int:
    import time

    from harness.leaderboard.build import build_leaderboard
    from harness.levels.home import shipped_path
    from harness.scoring.pipeline import score

    root = leaderboard_root(args)
    subs_dir = Path(args.submissions) if args.submissions else shipped_path("submissions")
    if not subs_dir.is_dir():
        raise CommandError(f"--submissions {subs_dir}: no such folder")
    subs = sorted(d for d in subs_dir.iterdir() if (d / "config.json").is_file())
    if not subs:
        raise CommandError(f"--submissions {subs_dir}: no submission folder (with config.json)")
    benchmarks = args.benchmark or list(REFRESH_BENCHMARKS)
    seen: set[str] = set()

    def log_once(s: str) -> None:  # "using the bundled copy ..." once, not once per eval
        if s not in seen:
            seen.add(s)
            stderr(s)

    for sub in subs:
        for bench in benchmarks:
            t0 = time.perf_counter()
            res = score(
                sub,
                bench,
                "zero-shot@v1",
                out=root / "records",
                cache_dir=None if args.no_cache else "default",
                offline=not args.online or None,
                log=log_once,
            )
            m = res.record["metrics"]["solve_rate"]
            line = {
                "what": "leaderboard-refresh-eval",
                "submission": res.submission.id,
                "benchmark": bench,
                "iqm": m["iqm"],
                "mean": m["mean"],
                "record": str(res.record_path),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            if args.json:
                print(json.dumps(line), flush=True)
            else:
                print(
                    f"{line['submission']:>24s} on {bench:16s} IQM {m['iqm']:.3f}  "
                    f"mean {m['mean']:.3f}  ({line['seconds']:.0f} s)",
                    flush=True,
                )
    built = build_leaderboard(root, page=not args.no_page, log=stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "what": "leaderboard-build",
                    "root": str(built.root),
                    "files": [str(f) for f in built.files],
                    "records": built.records,
                    "rows": built.rows,
                    "groups": built.groups,
                    "notes": list(built.notes),
                    "skipped": list(built.skipped),
                }
            )
        )
    else:
        print(
            f"leaderboard: {built.rows} results in {built.groups} groups, {built.records} records"
        )
        for f in built.files:
            print(f"  wrote {f}")
        page = root / "index.html"
        if page.is_file():
            print(f"open {page.resolve().as_uri()} in a browser")
    return 0
