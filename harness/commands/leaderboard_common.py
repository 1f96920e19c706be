"""What the ``kinetix-bench leaderboard`` subcommands share: ``--root`` / ``--records`` /
``--skip-invalid``, the leaderboard folder they name, collecting its records, and formatting."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from harness.commands import CommandError

__all__ = ["stderr", "add_common_args", "leaderboard_root", "collect", "jsonable", "fmt"]


def stderr(text: str) -> None:
    """One line to stderr (notes and warnings; stdout is the result)."""
    print(text, file=sys.stderr, flush=True)


def add_common_args(p, records: bool = True) -> None:
    """``--root`` and (with ``records``) ``--records DIR ...`` and ``--skip-invalid``."""
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


def leaderboard_root(args) -> Path:
    """``--root``, or :func:`harness.levels.home.default_leaderboard_dir`."""
    from harness.levels.home import default_leaderboard_dir

    return Path(args.root) if args.root is not None else default_leaderboard_dir()


def collect(args):
    """``(records, skipped)``: every valid record under ``ROOT/records`` and ``--records``."""
    from harness.leaderboard.record_files import collect_records

    root = leaderboard_root(args)
    folders = [Path(d) for d in args.records]
    if (root / "records").is_dir():
        folders.insert(0, root / "records")
    elif not folders:
        raise CommandError(f"{root / 'records'} does not exist (give --root or --records DIR)")
    skipped: list[str] = []

    def warn(s):
        skipped.append(s)
        stderr(f"warning: {s}")

    return collect_records(folders, skip_invalid=args.skip_invalid, warn=warn), skipped


def jsonable(v):
    """A table cell as JSON: NaN -> None, numpy scalars -> Python."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):  # numpy scalar
        return jsonable(v.item())
    return v


def fmt(v, lo=None, hi=None, sign=False) -> str:
    """``0.123`` or ``0.123 [0.100, 0.150]`` (``-`` for NaN)."""
    if v is None or math.isnan(v):
        return "-"
    f = (lambda x: f"{x:+.3f}") if sign else (lambda x: f"{x:.3f}")
    return f(v) if lo is None else f"{f(v)} [{f(lo)}, {f(hi)}]"
