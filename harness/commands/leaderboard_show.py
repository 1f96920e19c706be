"""``kinetix-bench leaderboard show`` and ``leaderboard compare``: read the leaderboard.

``show`` prints the table one aligned block per group (from ``ROOT/leaderboard.parquet``, or
built in memory from the records); ``compare`` puts two results side by side
(:mod:`harness.leaderboard.compare`: P(A > B), IQM and mean differences with CIs).
"""

from __future__ import annotations

import json

from harness.commands import CommandError, add_json_flag, positive_int
from harness.commands.leaderboard_common import (
    add_common_args,
    collect,
    fmt,
    jsonable,
    leaderboard_root,
    stderr,
)

__all__ = ["add_show", "run_show", "add_compare", "run_compare"]


def add_show(sub) -> None:
    p = sub.add_parser(
        "show",
        help="print the leaderboard table",
        description="Prints the leaderboard, one block per (benchmark, protocol, dataset "
        "commit), from ROOT/leaderboard.parquet; built in memory from the records when that "
        "file is absent or --records is given.",
    )
    add_common_args(p)
    p.add_argument("--benchmark", default=None, metavar="ID", help="only this benchmark")
    p.add_argument("--protocol", default=None, metavar="P", help="only this protocol")
    add_json_flag(p)
    p.set_defaults(func=run_show)


def _load_table(args):
    from harness.leaderboard.table import build_table, read_table

    path = leaderboard_root(args) / "leaderboard.parquet"
    if path.is_file() and not args.records:
        return read_table(path)
    records, _ = collect(args)
    return build_table(records, root=leaderboard_root(args))


def _print_group(key, g, note: str = "") -> None:
    from harness.leaderboard.ci_units import ci_label
    from harness.leaderboard.markdown import dataset_label

    bench, proto, level_set = key
    finetune = bool(g["scratch_iqm"].notna().any()) or not proto.startswith("zero-shot")
    head = ["rank", "band", "submission", "architecture", "IQM [95% CI]", "mean [95% CI]"]
    head += ["CI over", "opt.gap", "levels", "dataset"]
    head += ["scratch IQM", "gain [95% CI]"] if finetune else []
    rows = []
    for r in g.itertuples(index=False):
        row = [str(r.rank), str(r.band), r.submission_id, r.architecture]
        row += [
            fmt(r.iqm, r.iqm_ci_low, r.iqm_ci_high),
            fmt(r.mean, r.mean_ci_low, r.mean_ci_high),
        ]
        row += [ci_label(r.ci_unit, r.n_seeds)]
        row += [fmt(r.optimality_gap), str(r.n_levels)]
        row += [dataset_label(r.dataset_commit, r.dataset_origin)]
        if finetune:
            row += [fmt(r.scratch_iqm), fmt(r.gain_iqm, r.gain_ci_low, r.gain_ci_high, True)]
        rows.append([" ".join(str(c).split()) for c in row])
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    right = {0, 1, 7, 8}
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
            out = {"what": "leaderboard-row", **{k: jsonable(v) for k, v in row.items()}}
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
def add_compare(sub) -> None:
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
    add_common_args(p)
    p.add_argument("--reps", type=positive_int, default=10_000, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--top", type=positive_int, default=10, help="levels to list (default 10)")
    add_json_flag(p)
    p.set_defaults(func=run_compare)


def _units(unit: str) -> str:
    """``eval_episode`` -> ``episodes within levels``; a pair ``x (A), y (B)`` word by word."""
    from harness.scoring.records import CI_UNITS

    for k in sorted(CI_UNITS, key=len, reverse=True):
        unit = unit.replace(k, CI_UNITS[k])
    return unit


def run_compare(args) -> int:
    from harness.leaderboard.compare import compare_results, is_record_path, resolve_pair
    from harness.leaderboard.markdown import dataset_label

    records = []
    if not (is_record_path(args.a) and is_record_path(args.b)):
        records, _ = collect(args)
    a, b = resolve_pair(
        args.a,
        args.b,
        records,
        benchmark=args.benchmark,
        protocol=args.protocol,
        note=lambda s: stderr(f"note: {s}"),
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
    print(f"  P(A > B)            {fmt(p['value'], p['ci_low'], p['ci_high'])}")
    print(f"  IQM(A) - IQM(B)     {fmt(d['value'], d['ci_low'], d['ci_high'], True)}")
    print(f"  mean(A) - mean(B)   {fmt(m['value'], m['ci_low'], m['ci_high'], True)}")
    print(
        f"  IQM A {res['a']['iqm']:.3f}, B {res['b']['iqm']:.3f}; 95% CIs over "
        f"{_units(res['ci_unit'])}, {res['bootstrap_reps']} replicates"
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
