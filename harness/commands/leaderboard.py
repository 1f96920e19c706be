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

The subcommands live by concept: writing the files (``build``, ``refresh``:
:mod:`harness.commands.leaderboard_build`), reading them (``show``, ``compare``:
:mod:`harness.commands.leaderboard_show`), publishing (``push``, here); the options and helpers
they share are in :mod:`harness.commands.leaderboard_common`.
"""

from __future__ import annotations

import json
import sys

from harness.commands import add_json_flag
from harness.commands.leaderboard_build import (
    REFRESH_BENCHMARKS,
    add_build,
    add_refresh,
    run_build,
    run_refresh,
)
from harness.commands.leaderboard_common import add_common_args, leaderboard_root, stderr
from harness.commands.leaderboard_show import add_compare, add_show, run_compare, run_show

__all__ = [
    "register",
    "REFRESH_BENCHMARKS",
    "run_build",
    "run_refresh",
    "run_show",
    "run_compare",
    "run_push",
]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "leaderboard",
        help="build, show, compare and publish the leaderboard from result records",
        description="The leaderboard is built only from result records (JSON + per-level "
        "Parquet under ROOT/records): grouped by benchmark, protocol and level set, ranked "
        "by the IQM of the solve rate, with bands of overlapping 95% CIs.",
    )
    sub = p.add_subparsers(dest="leaderboard_command", metavar="SUBCOMMAND", title="subcommands")
    add_build(sub)
    add_refresh(sub)
    add_show(sub)
    add_compare(sub)
    add_push(sub)
    p.set_defaults(func=lambda args: _missing_subcommand(p))


def _missing_subcommand(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


# ------------------------------------------------------------------------------------- push
def add_push(sub) -> None:
    p = sub.add_parser(
        "push",
        help="upload the leaderboard folder to a Hub dataset repo in one commit",
        description="Checks that ROOT/leaderboard.parquet matches the records, then uploads "
        "ROOT/records/**, leaderboard.parquet, leaderboard.csv, README.md and index.html to "
        "the dataset repo in ONE commit whose parent is the branch's current head (a "
        "concurrent push makes it fail rather than overwrite). The token comes from HF_TOKEN "
        "or `hf auth login`.",
    )
    add_common_args(p, records=False)
    p.add_argument("--repo", required=True, metavar="ID", help="dataset repo id (owner/name)")
    p.add_argument("--revision", default=None, metavar="BRANCH", help="branch (default main)")
    p.add_argument("--message", default=None, help="commit message")
    p.add_argument("--dry-run", action="store_true", help="list the files, touch no hub")
    add_json_flag(p)
    p.set_defaults(func=run_push)


def run_push(args) -> int:
    from harness.leaderboard.push import push_leaderboard

    res = push_leaderboard(
        leaderboard_root(args),
        args.repo,
        revision=args.revision,
        message=args.message,
        dry_run=args.dry_run,
    )
    if args.json:
        print(json.dumps({"what": "leaderboard-push", **res}), flush=True)
        return 0
    if res["missing"]:
        stderr(f"warning: {', '.join(res['missing'])} not found; pushing without it")
    where = f"{res['repo']}@{res['revision']}"
    if res["dry_run"]:
        print(f"dry run: would upload {len(res['files'])} files ({res['bytes']} bytes) to {where}:")
        for f in res["files"]:
            print(f"  add {f}")
    else:
        print(f"pushed {len(res['files'])} files to {where}: commit {res['commit_sha']}")
    return 0
