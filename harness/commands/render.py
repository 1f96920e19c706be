"""``kinetix-bench render``: a picture of a level (PNG) or of an episode on it (GIF).

``render LEVEL --out FILE.png`` draws the level's start (or the state after ``--steps N`` agent
steps of ``--policy``); ``render LEVEL --out FILE.gif`` rolls out ``--policy`` (noop or random)
or ``--submission SUB`` (any submission: a folder, a registered name, ``hf://...``, an exported
program; :mod:`harness.scoring.episodes`) until the first episode ends or ``--steps`` (default
256) agent steps pass, and saves one frame per agent step at 30 frames per second (real time: 2
physics steps of 1/60 s per agent step). LEVEL is a Kinetix level JSON file or a dataset level
id (``handmade-s/tilt_plate``, looked up in ``--dataset``). Files are written atomically.
"""

from __future__ import annotations

import json
import os
import sys

from harness.commands import (
    CommandError,
    add_json_flag,
    load_level_arg,
    load_submission_arg,
    positive_int,
)

_FORMATS = (".png", ".gif")


def register(subparsers) -> None:
    from jax2d.params import PHYSICS_SETTINGS

    p = subparsers.add_parser(
        "render",
        help="draw a level (PNG) or an episode of a simple policy on it (GIF)",
        description="Draws LEVEL (a Kinetix level JSON file or a dataset level id) as the "
        "Kinetix renderer does "
        "(role colours, static shapes darker, joints coloured by motor binding, thrusters), "
        "anti-aliased. With --out FILE.png: the level's start, or the state after --steps "
        "agent steps of --policy (or --submission). With --out FILE.gif: an episode of --policy or "
        "of --submission (any submission) until it ends or --steps agent steps pass, one "
        "frame per agent step.",
    )
    p.add_argument(
        "level",
        metavar="LEVEL",
        help="a Kinetix level JSON file, or a dataset level id such as handmade-s/tilt_plate",
    )
    p.add_argument(
        "--dataset",
        metavar="DIR",
        default=None,
        help="level dataset folder for dataset level ids (default: the bundled copy)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output file, .png or .gif")
    p.add_argument(
        "--policy", choices=("noop", "random"), default="noop", help="policy (default: noop)"
    )
    p.add_argument(
        "--submission",
        metavar="SUB",
        default=None,
        help="roll out this submission instead of --policy: a folder, noop/random, "
        "hf://ORG/NAME[@REV] or an exported program",
    )
    p.add_argument("--offline", action="store_true", help="never contact the Hub")
    p.add_argument("--seed", type=int, default=0, help="seed of the episode's keys (default: 0)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="agent steps: GIF at most this many (default 256); PNG after this many (default 0)",
    )
    p.add_argument(
        "--downscale",
        type=positive_int,
        default=None,
        help="full-resolution (500 px) pixels per output pixel (default 1 for PNG, 2 for GIF)",
    )
    p.add_argument("--fps", type=float, default=30.0, help="GIF frames per second (default: 30)")
    p.add_argument(
        "--setting",
        choices=sorted(PHYSICS_SETTINGS),
        default=None,
        help="physics setting of the rollout (default: default, or jax2d-compat for a Kinetix "
        "checkpoint submission; jax2d-compat: as Jax2D)",
    )
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from kinetix.env import EnvConfig
    from kinetix.render_io import episode_scenes, level_frame, render_frames, save_gif, save_png

    ext = os.path.splitext(args.out)[1].lower()
    if ext not in _FORMATS:
        raise CommandError(f"--out must end in .png or .gif, got {args.out!r}")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise CommandError(f"output folder does not exist: {folder}")
    gif = ext == ".gif"
    steps = args.steps if args.steps is not None else (256 if gif else 0)
    if steps < (1 if gif else 0):
        raise CommandError(f"--steps must be >= {1 if gif else 0} for {ext}, got {steps}")
    if not args.fps > 0:
        raise CommandError(f"--fps must be > 0, got {args.fps}")
    downscale = args.downscale or (2 if gif else 1)
    if downscale > 100:
        raise CommandError(f"--downscale must be at most 100, got {downscale}")

    level = load_level_arg(args.level, args.dataset)
    sub = load_submission_arg(args.submission, args.offline) if args.submission else None
    who = sub.id if sub is not None else args.policy
    summary = {"steps": 0, "done": False, "solved": False, "died": False, "return": 0.0}
    if steps > 0:
        if not args.json:
            print(f"rolling out {who} for up to {steps} steps ...", file=sys.stderr)
        if sub is not None:
            from harness.scoring.episodes import submission_episode_scenes

            scenes, level, summary = submission_episode_scenes(
                sub, level, seed=args.seed, max_steps=steps, setting=args.setting
            )
        else:
            config = EnvConfig(size=level.size, physics_setting=args.setting)
            scenes, summary = episode_scenes(
                level, args.policy, seed=args.seed, max_steps=steps, config=config
            )
    if gif:
        frames = render_frames(
            scenes,
            level.polygon_roles,
            level.circle_roles,
            level.motor_bindings,
            level.thruster_bindings,
            downscale=downscale,
        )
        save_gif(args.out, frames, fps=args.fps)
        shape = frames.shape
    else:
        scene = None
        if steps > 0:
            import jax

            scene = jax.tree_util.tree_map(lambda x: x[-1], scenes)
        frame = level_frame(level, scene, downscale=downscale)
        save_png(args.out, frame)
        shape = (1, *frame.shape)
    record = {
        "what": "render",
        "level": args.level,
        "out": args.out,
        "policy": args.policy if sub is None else None,
        "submission": sub.id if sub is not None else None,
        "seed": args.seed,
        "frames": int(shape[0]),
        "width": int(shape[2]),
        "height": int(shape[1]),
        **{k: summary[k] for k in ("steps", "done", "solved", "died")},
        "return": round(float(summary["return"]), 6),
    }
    if args.json:
        print(json.dumps(record))
    else:
        outcome = (
            "solved"
            if record["solved"]
            else "died"
            if record["died"]
            else "still running"
            if steps
            else "start"
        )
        print(
            f"wrote {args.out}: {record['frames']} frame(s) of {record['width']}x"
            f"{record['height']}, {record['steps']} agent steps ({outcome})"
        )
    return 0
