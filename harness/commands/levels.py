"""``kinetix-bench levels``: the hand-made level set.

Subcommands (each registered by one ``_add_*`` function below, so more can join the group):

* ``levels certify [--level ID ...] [--budget SECONDS] [--json]``: searches witnesses (CEM over
  open-loop MultiDiscrete action sequences, :mod:`kinetix.planner`) for levels that lack one,
  checks each found witness with the batched replay the tests use, and writes the store
  (``kinetix/handmade/witnesses.json``) atomically after every level. Levels left without a
  witness are reported and stay out of the set. Offline work: never run in CI.
* ``levels gallery --out DIR``: a contact sheet of thumbnails per size and a GIF per witness.
* ``levels calibrate``: measured difficulty (constant actions, random, scratch PPO), see
  :mod:`harness.commands.levels_calibrate`.
"""

from __future__ import annotations

import json
import os
import sys
import time

from harness.commands import (
    CommandError,
    add_json_flag,
    levels_calibrate,
    levels_data,
    levels_hub,
    positive_int,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "levels",
        help="level sets: hand-made witnesses, datasets (build, verify, Hub), benchmark ids",
        description="Level sets: certify hand-made levels and draw their gallery; build, "
        "inspect and verify level datasets; push them to and download them from the Hub; "
        "list the benchmark ids.",
    )
    sub = p.add_subparsers(dest="levels_command", metavar="SUBCOMMAND", title="subcommands")
    _add_certify(sub)
    _add_gallery(sub)
    levels_calibrate.add_subcommands(sub)
    levels_data.add_subcommands(sub)
    levels_hub.add_subcommands(sub)
    p.set_defaults(func=lambda args: _missing_subcommand(p))


def _missing_subcommand(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _select(ids):
    import kinetix.handmade as hm

    if not ids:
        return hm.all_levels()
    return [hm.get(i) for i in ids]


# ---------------------------------------------------------------------------------- certify
def _add_certify(sub) -> None:
    p = sub.add_parser(
        "certify",
        help="search witnesses for hand-made levels that lack one",
        description="Searches a witness (an action sequence that solves the level) for every "
        "selected level without a valid one, with the cross-entropy method; verifies it with "
        "the batched replay, measures its robustness (the share of random one-step edits "
        "that still solve; a knife-edge witness may fail on a host with other float rounding) "
        "and stores it atomically. Below --min-robustness it searches on with the next seeds "
        "and keeps the most robust witness found. Levels left unsolved are reported.",
    )
    p.add_argument("--level", action="append", default=[], metavar="ID", help="level id (repeat)")
    p.add_argument(
        "--budget",
        type=float,
        default=600.0,
        help="wall-clock seconds for the whole search (default 600); a level already started "
        "finishes its current attempt",
    )
    p.add_argument("--population", type=positive_int, default=256, help="CEM population")
    p.add_argument("--iterations", type=positive_int, default=20, help="CEM iterations/attempt")
    p.add_argument(
        "--repeat",
        type=str,
        default="8,4",
        help="agent steps per decision, one attempt per value (default 8,4)",
    )
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument(
        "--min-robustness",
        type=float,
        default=0.5,
        help="share of one-step edits of a witness that must still solve (0..1; default 0.5; "
        "0 accepts the first witness found)",
    )
    p.add_argument("--edits", type=positive_int, default=16, help="one-step edits replayed (16)")
    p.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="passes over --repeat with new seeds while no witness is robust enough (3)",
    )
    p.add_argument("--force", action="store_true", help="search again even if a witness exists")
    p.add_argument("--store", default=None, help="witness file (default: the committed store)")
    add_json_flag(p)
    p.set_defaults(func=run_certify)


def _emit(args, record, text):
    if args.json:
        print(json.dumps(record), flush=True)
    else:
        print(text, flush=True)


def run_certify(args) -> int:
    import numpy as np

    from kinetix.handmade import load_witnesses, save_witnesses
    from kinetix.hashing import level_hash
    from kinetix.level import stack_levels
    from kinetix.planner import CEMConfig, cem_search, replay_outcomes, witness_robustness

    try:
        repeats = [int(x) for x in args.repeat.split(",") if x.strip()]
    except ValueError:
        raise CommandError(f"--repeat must be comma-separated ints, got {args.repeat!r}") from None
    if not repeats or any(r < 1 or r > 256 for r in repeats):
        raise CommandError(f"--repeat values must be in 1..256, got {args.repeat!r}")
    if not 0.0 <= args.min_robustness <= 1.0:
        raise CommandError(f"--min-robustness must be in 0..1, got {args.min_robustness}")
    entries = _select(args.level)
    store_path = args.store
    store = load_witnesses(store_path)
    t_start = time.perf_counter()
    missing = []
    for entry in entries:
        lv = entry.build()
        h = level_hash(lv)
        rec = store.get(entry.id)
        if rec is not None and rec.get("level_hash") == h and not args.force:
            _emit(args, {"level": entry.id, "status": "has_witness"}, f"{entry.id}: has a witness")
            continue
        found = None  # (robustness, cfg, res) of the most robust witness so far
        attempts = [(r, rep) for r in range(args.rounds) for rep in repeats]
        tried = 0
        for k, (_, rep) in enumerate(attempts):
            if time.perf_counter() - t_start > args.budget:
                break
            tried += 1
            cfg = CEMConfig(
                population=args.population,
                iterations=args.iterations,
                repeat=rep,
                seed=args.seed + k,
            )
            res = cem_search(lv, cfg)
            if not res["solved"]:
                continue
            check = replay_outcomes(stack_levels([lv]), [res["witness"]])
            if not bool(check["solved"][0]):
                continue
            robust = witness_robustness(lv, res["witness"], edits=args.edits, seed=cfg.seed)
            if found is None or robust > found[0]:
                found = (robust, cfg, res)
            if robust >= args.min_robustness:
                break
        if found is None:
            missing.append(entry.id)
            if tried == 0:
                _emit(
                    args,
                    {"level": entry.id, "status": "not_searched"},
                    f"{entry.id}: not searched (the --budget of {args.budget:g} s ran out)",
                )
            else:
                _emit(args, {"level": entry.id, "status": "unsolved"}, f"{entry.id}: NO witness")
            continue
        robust, cfg, res = found
        fragile = robust < args.min_robustness
        store = load_witnesses(store_path)  # merge with concurrent writers' work
        store[entry.id] = {
            "actions": np.asarray(res["witness"]).astype(int).tolist(),
            "length": int(res["length"]),
            "level_hash": h,
            "method": "cem",
            "robustness": round(robust, 4),
            "planner": {
                "population": cfg.population,
                "repeat": cfg.repeat,
                "seed": cfg.seed,
                "iterations": int(res["iterations"]),
                "rollouts": int(res["rollouts"]),
                "seconds": round(float(res["seconds"]), 2),
            },
        }
        save_witnesses(store, store_path)
        _emit(
            args,
            {
                "level": entry.id,
                "status": "fragile" if fragile else "certified",
                **store[entry.id]["planner"],
                "length": int(res["length"]),
                "robustness": round(robust, 4),
            },
            f"{entry.id}: witness of {res['length']} steps ({res['rollouts']} rollouts, "
            f"repeat {cfg.repeat}, {res['seconds']:.1f} s), {robust:.0%} of "
            f"{args.edits} one-step edits solve"
            + (
                f" -- FRAGILE (below {args.min_robustness:.0%}), kept the most robust"
                if fragile
                else ""
            ),  # fmt: skip
        )
    summary = {
        "what": "certify",
        "levels": len(entries),
        "unsolved": missing,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    _emit(
        args,
        summary,
        f"done: {len(entries) - len(missing)}/{len(entries)} levels have a "
        f"witness; unsolved: {', '.join(missing) or 'none'}",
    )
    return 0


# ---------------------------------------------------------------------------------- gallery
def _add_gallery(sub) -> None:
    p = sub.add_parser(
        "gallery",
        help="contact sheets of the hand-made levels and GIFs of their witnesses",
        description="Writes DIR/handmade-{s,m,l}.png (thumbnails of every registered level, "
        "certified or not, captioned) and DIR/gifs/<size>_<name>.gif (witness replays).",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument(
        "--size",
        choices=("s", "m", "l"),
        action="append",
        default=[],
        help="sizes to draw (repeat; default: all)",
    )
    p.add_argument("--no-gifs", action="store_true", help="only the contact sheets")
    p.add_argument("--thumb", type=positive_int, default=160, help="thumbnail size (px)")
    add_json_flag(p)
    p.set_defaults(func=run_gallery)


def run_gallery(args) -> int:
    import kinetix.handmade as hm
    from kinetix.planner import witness_scenes
    from kinetix.render_io import contact_sheet, render_frames, save_gif, save_png, thumbnail

    os.makedirs(args.out, exist_ok=True)
    store = hm.load_witnesses()
    written = []
    for size in args.size or ["s", "m", "l"]:
        entries = hm.all_levels(size)
        if not entries:
            continue
        thumbs, caps = [], []
        for e in entries:
            lv = e.build()
            thumbs.append(thumbnail(lv, args.thumb))
            mark = "" if e.id in store else " (no witness)"
            caps.append(f"{e.name}{mark}")
            if args.no_gifs or e.id not in store:
                continue
            scenes, _ = witness_scenes(lv, hm.witnesses.witness_actions(store[e.id]))
            frames = render_frames(
                scenes,
                lv.polygon_roles,
                lv.circle_roles,
                lv.motor_bindings,
                lv.thruster_bindings,
                downscale=4,
            )
            os.makedirs(os.path.join(args.out, "gifs"), exist_ok=True)
            path = os.path.join(args.out, "gifs", f"{size}_{e.name}.gif")
            save_gif(path, frames)
            written.append(path)
        sheet = contact_sheet(thumbs, caps, columns=6)
        path = os.path.join(args.out, f"handmade-{size}.png")
        save_png(path, sheet)
        written.append(path)
    _emit(
        args, {"what": "gallery", "files": written}, f"wrote {len(written)} files under {args.out}"
    )
    return 0
