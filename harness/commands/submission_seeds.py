"""``kinetix-bench submission combine-seeds DIR DIR ... --out DIR``: several training seeds of one
method as one submission.

Each DIR is a single-seed kinetix-bench submission folder (``kinetix-bench train --seed K``
exports one per run); all must be one method (same architecture, options, observation and action
types, env size). Writes ``--out`` with ``config.json``, ``README.md`` (every seed's card, one
section each, unless ``--card FILE``), ``seeds.json`` and ``seeds/<seed>/model.safetensors``
(:func:`harness.submissions.combine_seeds`; the format: :mod:`harness.submissions.seeds`), then
loads it back with every check. Scoring it evaluates every seed with the protocol's attempt keys
and reports CIs over seeds and levels. JSON: ``{"what": "combine-seeds", "out", "seeds",
"sha256", "files"}``.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.commands import CommandError, add_json_flag

__all__ = ["add_combine_seeds", "run_combine_seeds"]


def add_combine_seeds(sub) -> None:
    p = sub.add_parser(
        "combine-seeds",
        help="write several training seeds of one method as one multi-seed submission",
        description="Combines single-seed kinetix-bench submission folders of one method (one "
        "per training seed) into one submission: seeds.json lists seeds/<seed>/model.safetensors "
        "with each file's sha256. Scoring it evaluates every seed with the same attempt keys "
        "and reports 95% CIs from a stratified bootstrap over seeds and levels.",
    )
    p.add_argument(
        "members", nargs="+", metavar="DIR", help="single-seed submission folders, one per seed"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the submission folder to write")
    p.add_argument(
        "--seeds",
        default=None,
        metavar="K,K,...",
        help="the training seed of each DIR, comma-separated (default 0,1,2,...)",
    )
    p.add_argument("--name", default=None, help="config.json name (default: the first DIR's)")
    p.add_argument(
        "--card",
        default=None,
        metavar="FILE",
        help="model card to use as README.md (default: every DIR's card, one section per seed)",
    )
    p.add_argument("--force", action="store_true", help="replace --out if it is not empty")
    add_json_flag(p)
    p.set_defaults(func=run_combine_seeds)


def _seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CommandError(f"--seeds {text!r}: expected integers separated by commas") from None


def run_combine_seeds(args) -> int:
    from harness.submissions.loading import load_submission
    from harness.submissions.seeds_combine import combine_seeds

    card = None
    if args.card is not None:
        try:
            card = Path(args.card).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CommandError(f"--card {args.card}: cannot read ({e})") from None
    out = combine_seeds(
        args.members,
        args.out,
        seeds=_seeds(args.seeds),
        name=args.name,
        card=card,
        force=args.force,
    )
    sub = load_submission(out)
    res = {
        "what": "combine-seeds",
        "out": str(out),
        "seeds": sub.seed_ids,
        "sha256": sub.sha256,
        "files": dict(sub.files),
    }
    if args.json:
        print(json.dumps(res), flush=True)
    else:
        print(f"wrote {out}: {sub.n_seeds} seeds ({', '.join(map(str, sub.seed_ids))}) of "
              f"{sub.architecture}, seeds.json sha256 {sub.sha256[:12]}")  # fmt: skip
    return 0
