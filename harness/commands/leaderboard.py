"""``kinetix-bench leaderboard``: build, show, compare and publish the leaderboard.

* ``leaderboard build [--root DIR] [--records DIR ...] [--skip-invalid] [--no-page] [--no-gallery]
  [--gifs [--gif-budget MIB]] [--json]``: collects the result records under ``ROOT/records`` (and
  the extra folders), validates them, ranks them (:mod:`harness.leaderboard.table`) and writes
  ``ROOT/leaderboard.parquet``, ``ROOT/leaderboard.csv``, the Markdown block of ``ROOT/README.md``
  and ``ROOT/index.html`` (:func:`harness.leaderboard.page.render_page`, with the hand-made level
  gallery). JSON: ``{"what": "leaderboard-build", "files", "rows", "groups", "records", "notes",
  "skipped"}``. With ``--gifs``, GIFs of the reference agents on the hand-made levels
  (:mod:`harness.leaderboard.gallery_gifs`) within ``--gif-budget``.
* ``leaderboard show [--benchmark ID] [--protocol P] [--json]``: prints the table (from
  ``ROOT/leaderboard.parquet``, or built in memory when it is absent or ``--records`` is given),
  one aligned block per group. JSON: one ``{"what": "leaderboard-row", ...columns}`` per row.
* ``leaderboard compare A B --benchmark ID [--protocol zero-shot@v1] [--json]``: A and B are
  submission ids (or record JSON paths); prints P(A > B), the IQM and mean differences with 95%
  CIs and the levels that differ most (:mod:`harness.leaderboard.compare`). JSON: one
  ``{"what": "leaderboard-compare", ...}`` object with every level.
* ``leaderboard push --repo ID [--revision BRANCH] [--dry-run] [--json]``: uploads the folder
  to a Hub dataset repo in one commit (:mod:`harness.leaderboard.push`).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from harness.commands import CommandError, add_json_flag, positive_int


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "leaderboard",
        help="build, show, compare and publish the leaderboard from result records",
        description="The leaderboard is built only from result records (JSON + per-level "
        "Parquet under ROOT/records): grouped by benchmark, protocol and level set, ranked "
        "by the IQM of the solve rate, with bands of overlapping 95% CIs.",
    )
    sub = p.add_subparsers(dest="leaderboard_command", metavar="SUBCOMMAND", title="subcommands")
    _add_build(sub)
    _add_refresh(sub)
    _add_show(sub)
    _add_compare(sub)
    _add_push(sub)
    p.set_defaults(func=lambda args: _missing_subcommand(p))


def _missing_subcommand(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _common(p, records: bool = True) -> None:
    p.add_argument(
        "--root",
        default=None,
        metavar="DIR",
        help="leaderboard folder (default: the checkout's leaderboard/, or "
        "$KINETIX_BENCH_HOME/leaderboard for an installed package; not the current directory)",
    )
    if records:
        p.add_argument(
            "--records",
            action="append",
            default=[],
            metavar="DIR",
            help="another folder of records to include (searched recursively; repeat)",
        )
        p.add_argument(
            "--skip-invalid",
            action="store_true",
            help="leave out invalid records with a warning instead of failing",
        )


def _root(args) -> Path:
    """``--root``, or :func:`harness.levels.home.default_leaderboard_dir`."""
    from harness.levels.home import default_leaderboard_dir

    return Path(args.root) if args.root is not None else default_leaderboard_dir()


def _collect(args):
    from harness.leaderboard.table import collect_records

    root = _root(args)
    folders = [Path(d) for d in args.records]
    if (root / "records").is_dir():
        folders.insert(0, root / "records")
    elif not folders:
        raise CommandError(f"{root / 'records'} does not exist (give --root or --records DIR)")
    skipped: list[str] = []

    def warn(s):
        skipped.append(s)
        _stderr(f"warning: {s}")

    return collect_records(folders, skip_invalid=args.skip_invalid, warn=warn), skipped


def _jsonable(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):  # numpy scalar
        return _jsonable(v.item())
    return v


# ------------------------------------------------------------------------------------ build
def _add_build(sub) -> None:
    p = sub.add_parser(
        "build",
        help="rebuild leaderboard.parquet/.csv, README.md's table and index.html from records",
        description="Collects and validates every record under ROOT/records (and --records "
        "folders), ranks each (benchmark, protocol, level set) group by IQM with CI bands "
        "and writes ROOT/leaderboard.parquet, ROOT/leaderboard.csv, the table between the "
        "markers of ROOT/README.md (text outside them is kept) and ROOT/index.html.",
    )
    _common(p)
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

    root = _root(args)
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
        log=_stderr,
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


def _add_refresh(sub) -> None:
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
    _common(p, records=False)
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

    root = _root(args)
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
            _stderr(s)

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
    built = build_leaderboard(root, page=not args.no_page, log=_stderr)
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


# ------------------------------------------------------------------------------------- show
def _add_show(sub) -> None:
    p = sub.add_parser(
        "show",
        help="print the leaderboard table",
        description="Prints the leaderboard, one block per (benchmark, protocol, dataset "
        "commit), from ROOT/leaderboard.parquet; built in memory from the records when that "
        "file is absent or --records is given.",
    )
    _common(p)
    p.add_argument("--benchmark", default=None, metavar="ID", help="only this benchmark")
    p.add_argument("--protocol", default=None, metavar="P", help="only this protocol")
    add_json_flag(p)
    p.set_defaults(func=run_show)


def _load_table(args):
    from harness.leaderboard.table import build_table, read_table

    path = _root(args) / "leaderboard.parquet"
    if path.is_file() and not args.records:
        return read_table(path)
    records, _ = _collect(args)
    return build_table(records, root=_root(args))


def _fmt(v, lo=None, hi=None, sign=False) -> str:
    if v is None or math.isnan(v):
        return "-"
    f = (lambda x: f"{x:+.3f}") if sign else (lambda x: f"{x:.3f}")
    return f(v) if lo is None else f"{f(v)} [{f(lo)}, {f(hi)}]"


def _print_group(key, g, note: str = "") -> None:
    from harness.leaderboard.markdown import dataset_label

    bench, proto, level_set = key
    finetune = bool(g["scratch_iqm"].notna().any()) or not proto.startswith("zero-shot")
    head = ["rank", "band", "submission", "architecture", "IQM [95% CI]", "mean [95% CI]"]
    head += ["opt.gap", "levels", "dataset"]
    head += ["scratch IQM", "gain [95% CI]"] if finetune else []
    rows = []
    for r in g.itertuples(index=False):
        row = [str(r.rank), str(r.band), r.submission_id, r.architecture]
        row += [
            _fmt(r.iqm, r.iqm_ci_low, r.iqm_ci_high),
            _fmt(r.mean, r.mean_ci_low, r.mean_ci_high),
        ]
        row += [_fmt(r.optimality_gap), str(r.n_levels)]
        row += [dataset_label(r.dataset_commit, r.dataset_origin)]
        if finetune:
            row += [_fmt(r.scratch_iqm), _fmt(r.gain_iqm, r.gain_ci_low, r.gain_ci_high, True)]
        rows.append([" ".join(str(c).split()) for c in row])
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    right = {0, 1, 6, 7}
    print(f"{bench}  {proto}  (level set {level_set[:12]}, {g['n_levels'].iloc[0]} levels)" + note)
    for row in [head, *rows]:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  " + "  ".join(cells).rstrip())


def run_show(args) -> int:
    from harness.leaderboard.table import GROUP_KEYS

    table = _load_table(args)
    sel = table
    if args.benchmark:
        sel = sel[sel["benchmark_id"] == args.benchmark]
    if args.protocol:
        sel = sel[sel["protocol"] == args.protocol]
    if sel.empty:
        have = sorted(
            {f"{b} {p}" for b, p in zip(table["benchmark_id"], table["protocol"], strict=True)}
        )
        raise CommandError(
            f"no results for benchmark {args.benchmark or 'any'} / protocol "
            f"{args.protocol or 'any'}; the leaderboard has: {', '.join(have) or 'nothing'}"
        )
    if args.json:
        for row in sel.to_dict(orient="records"):
            out = {"what": "leaderboard-row", **{k: _jsonable(v) for k, v in row.items()}}
            print(json.dumps(out), flush=True)
        return 0
    first = True
    for key, g in sel.groupby(list(GROUP_KEYS), sort=True):
        flag = g["verified"].astype(int) != 0
        for part, note in (
            (g[flag], ""),
            (g[~flag], "  UNVERIFIED: scored in-process, ranked only among themselves"),
        ):
            if part.empty:
                continue
            if not first:
                print()
            first = False
            _print_group(key, part, note)
    return 0


# ---------------------------------------------------------------------------------- compare
def _add_compare(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two results: P(A > B), IQM difference with CI, per-level differences",
        description="Compares results A and B (submission ids on --benchmark, or record JSON "
        "paths) on the same benchmark, protocol and level set: probability of improvement "
        "P(A > B) and the IQM and mean differences, each with a 95% stratified-bootstrap CI "
        "paired by level, and the levels whose solve rates differ most.",
    )
    p.add_argument("a", metavar="A", help="submission id or record .json")
    p.add_argument("b", metavar="B", help="submission id or record .json")
    p.add_argument("--benchmark", default=None, metavar="ID", help="benchmark id (for ids)")
    p.add_argument("--protocol", default=None, metavar="P", help="protocol (default zero-shot@v1)")
    _common(p)
    p.add_argument("--reps", type=positive_int, default=10_000, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--top", type=positive_int, default=10, help="levels to list (default 10)")
    add_json_flag(p)
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from harness.leaderboard.compare import compare_results, is_record_path, resolve_pair
    from harness.leaderboard.markdown import dataset_label

    records = []
    if not (is_record_path(args.a) and is_record_path(args.b)):
        records, _ = _collect(args)
    a, b = resolve_pair(
        args.a,
        args.b,
        records,
        benchmark=args.benchmark,
        protocol=args.protocol,
        note=lambda s: _stderr(f"note: {s}"),
    )
    res = compare_results(a, b, reps=args.reps, seed=args.seed)
    if args.json:
        print(json.dumps({"what": "leaderboard-compare", **res}), flush=True)
        return 0
    na, nb = res["a"]["submission_id"], res["b"]["submission_id"]
    print(
        f"A = {na}, B = {nb} on {res['benchmark_id']} {res['protocol']} ({res['n_levels']} "
        f"levels, level set {res['level_set_sha256'][:12]}; A on "
        f"{dataset_label(res['a']['dataset_commit'], res['a']['dataset_origin'])}, B on "
        f"{dataset_label(res['b']['dataset_commit'], res['b']['dataset_origin'])})"
    )
    p, d, m = res["probability_of_improvement"], res["iqm_difference"], res["mean_difference"]
    print(f"  P(A > B)            {_fmt(p['value'], p['ci_low'], p['ci_high'])}")
    print(f"  IQM(A) - IQM(B)     {_fmt(d['value'], d['ci_low'], d['ci_high'], True)}")
    print(f"  mean(A) - mean(B)   {_fmt(m['value'], m['ci_low'], m['ci_high'], True)}")
    print(
        f"  IQM A {res['a']['iqm']:.3f}, B {res['b']['iqm']:.3f}; 95% CIs resample "
        f"{res['ci_unit']}s within levels, {res['bootstrap_reps']} replicates"
    )
    shown = [x for x in res["per_level"] if x["diff"] != 0][: args.top]
    print(
        f"  {res['n_levels_differ']} levels differ"
        + (f"; the {len(shown)} largest:" if shown else "")
    )
    if shown:
        w = max(len(x["level_id"]) for x in shown)
        print(f"    {'level':{w}s}      A      B    A-B")
        for x in shown:
            print(f"    {x['level_id']:{w}s}  {x['a']:.2f}  {x['b']:.2f}  {x['diff']:+.2f}")
    return 0


# ------------------------------------------------------------------------------------- push
def _add_push(sub) -> None:
    p = sub.add_parser(
        "push",
        help="upload the leaderboard folder to a Hub dataset repo in one commit",
        description="Checks that ROOT/leaderboard.parquet matches the records, then uploads "
        "ROOT/records/**, leaderboard.parquet, leaderboard.csv, README.md and index.html to "
        "the dataset repo in ONE commit whose parent is the branch's current head (a "
        "concurrent push makes it fail rather than overwrite). The token comes from HF_TOKEN "
        "or `hf auth login`.",
    )
    _common(p, records=False)
    p.add_argument("--repo", required=True, metavar="ID", help="dataset repo id (owner/name)")
    p.add_argument("--revision", default=None, metavar="BRANCH", help="branch (default main)")
    p.add_argument("--message", default=None, help="commit message")
    p.add_argument("--dry-run", action="store_true", help="list the files, touch no hub")
    add_json_flag(p)
    p.set_defaults(func=run_push)


def run_push(args) -> int:
    from harness.leaderboard.push import push_leaderboard

    res = push_leaderboard(
        _root(args), args.repo, revision=args.revision, message=args.message, dry_run=args.dry_run
    )
    if args.json:
        print(json.dumps({"what": "leaderboard-push", **res}), flush=True)
        return 0
    if res["missing"]:
        _stderr(f"warning: {', '.join(res['missing'])} not found; pushing without it")
    where = f"{res['repo']}@{res['revision']}"
    if res["dry_run"]:
        print(f"dry run: would upload {len(res['files'])} files ({res['bytes']} bytes) to {where}:")
        for f in res["files"]:
            print(f"  add {f}")
    else:
        print(f"pushed {len(res['files'])} files to {where}: commit {res['commit_sha']}")
    return 0
