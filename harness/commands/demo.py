"""``kinetix-bench demo``: a physics demo on the bundled benchmark scenes.

Drops the shapes of B different scenes of one size into the arena (:mod:`harness.bench.scenes`),
drives the motors with fixed random actions, simulates a few seconds in one compiled program
(:mod:`harness.bench.demo`) and prints where the shapes ended up, their kinetic energy, the
touching pairs and the steps/s.
"""

from __future__ import annotations

import json
import sys

from harness.commands import CommandError, DefaultsHelpFormatter, add_json_flag, positive_int


def register(subparsers) -> None:
    from jax2d.params import PHYSICS_SETTINGS

    p = subparsers.add_parser(
        "demo",
        help="simulate a batch of scenes for a few seconds and print what happened",
        description="Physics demo: builds BATCH different scenes of one Kinetix size (cars on "
        "motorised wheels, stacks, welded shapes), lifts each group of shapes by up to DROP m "
        "so it falls, runs the motors with fixed random actions for SECONDS of simulated time "
        "(one jit-compiled lax.scan of vmap(jax2d.step)) and prints the final positions, "
        "kinetic energy, touching shape pairs and physics steps per second. Exits 1 if the "
        "simulation produced NaN or infinite values.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--size", default="m", type=str.lower, choices=("s", "m", "l"), help="env size")
    p.add_argument("--batch", type=positive_int, default=8, help="number of scenes")
    p.add_argument("--seconds", type=float, default=2.0, help="simulated time, s")
    p.add_argument("--drop", type=float, default=1.0, help="largest drop height, m")
    p.add_argument(
        "--setting", choices=sorted(PHYSICS_SETTINGS), default="default", help="physics setting"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the scenes and actions")
    p.add_argument("--show", type=int, default=4, help="scenes listed in the summary table")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import jax
    import numpy as np

    import jax2d
    from harness.bench import scenes as bench_scenes
    from harness.bench.demo import scene_summaries, simulate
    from harness.bench.physics import device_info

    if not args.seconds > 0:
        raise CommandError(f"--seconds must be > 0, got {args.seconds}")
    if not args.drop >= 0:
        raise CommandError(f"--drop must be >= 0, got {args.drop}")
    setting = jax2d.physics_setting(args.setting)
    config = jax2d.PhysicsConfig(setting=setting)
    params = jax2d.SimParams()
    steps = max(1, round(args.seconds / params.dt))
    scenes = bench_scenes.scene_batch(
        args.size, args.batch, seed=args.seed, setting=setting.name, drop=args.drop
    )
    actions = bench_scenes.scene_actions(args.size, args.batch, seed=args.seed, thrusters=False)
    if not args.json:
        sz = bench_scenes.SIZES[args.size]
        print(
            f"kinetix-bench demo: {args.batch} different scenes of size {args.size.upper()} "
            f"({sz.num_polygons} polygons incl. 4 static, {sz.num_circles} circles, "
            f"{sz.num_joints} joints, {sz.num_thrusters} thrusters), shapes dropped from up to "
            f"{args.drop:g} m, motors on fixed random actions, thrusters off;\n"
            f"simulating {steps * params.dt:g} s = {steps} steps of {params.dt:.4g} s "
            f"(setting {setting.name}) ...",
            file=sys.stderr,
            flush=True,
        )
    final, touching, compile_s, run_s = simulate(scenes, actions, steps, config)
    scenes_out = scene_summaries(scenes, final, touching)
    finite = all(
        bool(np.all(np.isfinite(x)))
        for x in map(np.asarray, jax.tree_util.tree_leaves(final))
        if np.issubdtype(x.dtype, np.floating)
    )
    n = args.batch * steps
    record = {
        "what": "demo",
        "size": args.size,
        "batch": args.batch,
        "steps": steps,
        "seconds": round(steps * params.dt, 6),
        "setting": setting.name,
        "seed": args.seed,
        "finite": finite,
        "compile_s": round(compile_s, 3),
        "run_s": round(run_s, 5),
        "steps_per_s": round(n / run_s, 1),
        **device_info(),
        "scenes": scenes_out,
    }
    if args.json:
        print(json.dumps(record), flush=True)
    else:
        _print_table(record, args.show)
    if not finite:
        print("error: the simulation produced NaN or infinite values", file=sys.stderr)
        return 1
    return 0


def _print_table(record, show: int) -> None:
    first = record["scenes"][0]
    print(f"scene 0 after {record['seconds']:g} s:")
    print(
        f"{'shape':>5}  {'kind':<7}  {'start x, y (m)':>16}  {'end x, y (m)':>16}  {'speed m/s':>9}"
    )
    for b in first["bodies"]:
        start = f"{b['start'][0]:.3f}, {b['start'][1]:.3f}"
        end = f"{b['end'][0]:.3f}, {b['end'][1]:.3f}"
        print(f"{b['shape']:>5}  {b['kind']:<7}  {start:>16}  {end:>16}  {b['speed_m_s']:>9.3f}")
    print()
    header = ("scene", 5), ("fell m", 7), ("kinetic J", 10), ("max speed m/s", 13)
    print("  ".join(h.rjust(w) for h, w in header) + "  touching pairs")
    shown = record["scenes"][: max(show, 1)]
    for s in shown:
        print(
            f"{s['scene']:>5}  {s['fell_m']:>7.3f}  {s['kinetic_energy_j']:>10.4f}  "
            f"{s['max_speed_m_s']:>13.3f}  {s['touching_pairs']:>14}"
        )
    if len(record["scenes"]) > len(shown):
        print(f"  ... and {len(record['scenes']) - len(shown)} more (--show N, or --json)")
    print()
    print(
        f"compiled in {record['compile_s']:.2f} s; simulated {record['batch']} x "
        f"{record['steps']} physics steps in {record['run_s']:.3f} s = "
        f"{record['steps_per_s']:,.0f} steps/s on {record['device']} "
        f"(jax {record['jax']}); all values finite: {'yes' if record['finite'] else 'NO'}"
    )
