"""``kinetix-bench env``: run the Kinetix environment from the command line.

``env rollout LEVEL`` rolls out a parameter-free policy (``noop`` or ``random``), or with
``--submission SUB`` any submission (:mod:`harness.scoring.episodes`), on a level for K first
episodes (each up to 256 agent steps, auto-reset ignored) and prints one line per episode; with
``--json`` one JSON object per line: ``{"level", "policy", "submission", "seed", "episode",
"solved", "died", "length", "return", "size", "setting", "solver"}``. Episode i uses the key
``fold_in(PRNGKey(seed), i)``.
"""

from __future__ import annotations

import json
import sys

from harness.commands import (
    DefaultsHelpFormatter,
    add_json_flag,
    load_level_arg,
    load_submission_arg,
    positive_int,
)


def register(subparsers) -> None:
    from jax2d.params import PHYSICS_SETTINGS

    env = subparsers.add_parser(
        "env",
        help="run the Kinetix environment (rollouts of simple policies)",
        description="Run the Kinetix environment on a level.",
    )
    actions = env.add_subparsers(dest="env_command", metavar="ACTION", title="actions")
    actions.required = True
    p = actions.add_parser(
        "rollout",
        help="roll out the noop or random policy on a level and report each episode",
        description="Rolls out a parameter-free policy on LEVEL (a Kinetix level JSON file) "
        "for EPISODES independent first episodes of up to 256 agent steps (2 physics steps "
        "each; sparse +1/-1 reward, dense shaping 0.2) and prints solved, died, length and "
        "return per episode.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument(
        "level",
        metavar="LEVEL",
        help="a Kinetix level JSON file, or a dataset level id such as handmade-s/tilt_plate or "
        "random-m/test/0000012 (looked up in --dataset)",
    )
    p.add_argument(
        "--dataset",
        metavar="DIR",
        default=None,
        help="level dataset folder for dataset level ids (default: the bundled copy)",
    )
    p.add_argument(
        "--policy",
        choices=("noop", "random"),
        default="noop",
        help="parameter-free policy to roll out",
    )
    p.add_argument(
        "--submission",
        metavar="SUB",
        default=None,
        help="roll out this submission instead (a folder, noop/random, hf://ORG/NAME[@REV] or "
        "an exported program; its own size, obs and action types)",
    )
    p.add_argument("--offline", action="store_true", help="never contact the Hub")
    p.add_argument("--seed", type=int, default=0, help="seed of the episode keys")
    p.add_argument("--episodes", type=positive_int, default=1, help="number of episodes")
    p.add_argument(
        "--setting",
        choices=sorted(PHYSICS_SETTINGS),
        default=None,
        help="physics setting (default: default, or jax2d-compat for a Kinetix checkpoint "
        "submission; jax2d-compat: Jax2D's behaviour, for parity with Kinetix)",
    )
    p.add_argument(
        "--solver",
        choices=("parallel", "sequential"),
        default=None,
        help="jax2d solver (default: sequential under jax2d-compat, else the engine's default)",
    )
    p.add_argument(
        "--size",
        choices=("s", "m", "l"),
        default=None,
        help="env size to pad the level into (default: the level's own size)",
    )
    p.add_argument(
        "--action-type",
        choices=("multi_discrete", "discrete", "continuous"),
        default="multi_discrete",
        help="action space of --policy (a submission uses its own)",
    )
    add_json_flag(p)
    p.set_defaults(func=run_rollout)


def run_rollout(args) -> int:
    import jax
    import numpy as np

    from kinetix import EnvConfig, validate_level
    from kinetix.rollout import compiled_first_episodes

    level = validate_level(load_level_arg(args.level, args.dataset))
    if args.submission:
        from harness.scoring.episodes import submission_episodes

        sub = load_submission_arg(args.submission, args.offline)
        if not args.json:
            print(f"compiling a rollout of {sub.id} ...", file=sys.stderr)
        if args.size:
            from kinetix.level import pad_level

            level = pad_level(level, args.size)
        out, config = submission_episodes(
            sub, level, episodes=args.episodes, seed=args.seed, setting=args.setting
        )
    else:
        sub = None
        size = args.size or level.size
        config = EnvConfig(
            size=size,
            action_type=args.action_type,
            physics_setting=args.setting,
            solver=args.solver,
        )
        if not args.json:
            print(f"compiling a rollout for size {config.size} ...", file=sys.stderr)
        fn = compiled_first_episodes(config, args.policy, 256)
        base = jax.random.PRNGKey(args.seed)
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(np.arange(args.episodes))
        out = jax.device_get(fn(level, keys))
    for i in range(args.episodes):
        record = {
            "level": args.level,
            "policy": args.policy if sub is None else None,
            "submission": sub.id if sub is not None else None,
            "seed": args.seed,
            "episode": i,
            "solved": bool(out["solved"][i]),
            "died": bool(out["died"][i]),
            "length": int(out["length"][i]),
            "return": round(float(out["return"][i]), 6),
            "size": config.size.name,
            "setting": config.setting,
            "solver": config.solver_name,
        }
        if args.json:
            print(json.dumps(record))
        else:
            outcome = "solved" if record["solved"] else "died" if record["died"] else "timeout"
            print(
                f"episode {i}: {outcome:7s} length {record['length']:3d} "
                f"return {record['return']:+.4f}"
            )
    if not args.json and args.episodes > 1:
        print(
            f"solve rate {np.mean(out['solved']):.3f}, death rate {np.mean(out['died']):.3f}, "
            f"mean length {np.mean(out['length']):.1f}, mean return {np.mean(out['return']):+.4f}"
        )
    return 0
