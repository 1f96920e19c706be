"""``kinetix-bench submit PATH --benchmark ID [--protocol P] [--queue Q]``: check, then queue.

Runs every check of :func:`harness.submissions.load_submission` (files, size caps, config.json,
safetensors structure, keys/dtypes/shapes, finite weights) and the compatibility with the
benchmark (default ``handmade-s-v1``), then one short rollout: ``--attempts`` (2) first episodes
of ``--steps`` (32) agent steps on the benchmark's first level. The level comes from
``load_benchmark(ID, offline=True)``; when that data is not available (no bundled copy in the
checkout, or it does not verify) the first certified hand-made level of the benchmark's size
(``kinetix.handmade.certified_levels``) is used instead, and the report says so.

With ``--dry-run`` that is all: it prints ``OK`` and the submission summary (architecture,
parameter count, sha256, file sizes, rollout outcome). JSON: ``{"what": "submit-dry-run", "ok":
true, "submission": {...}, "benchmark", "level", "level_source", "rollout": {...}}``.

Without it, a submission that passed is queued for evaluation (:mod:`harness.leaderboard.queue`):
one PENDING request for checkpoint x benchmark x ``--protocol`` in ``--queue`` (a folder, or
``hf://datasets/OWNER/REPO``; default ``$KINETIX_BENCH_QUEUE`` or ``leaderboard/requests/``), and
the request id is printed; ``kinetix-bench queue run`` evaluates it. A duplicate of a queued or
running request is refused; a finished or failed one is queued again only with ``--force``.
JSON: ``{"what": "submit", "ok": true, "request_id", "queue", "request": {...}, "dry_run": {...}}``.

A failing check prints one ``error: ...`` line naming the file/key and the problem (exit 2), and
nothing is queued.
"""

from __future__ import annotations

import json
import sys

from harness.commands import CommandError, DefaultsHelpFormatter, add_json_flag, positive_int

DEFAULT_BENCHMARK = "handmade-s-v1"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "submit",
        help="check a policy submission (folder or Hub model repo) and queue it for scoring",
        description="Checks a submission folder (model.safetensors + config.json + README.md, "
        "a parameter-free config, a Kinetix params.safetensors checkpoint, or an exported "
        "policy.jax_exported program) or a Hub model "
        "reference hf://OWNER/REPO[/SUBFOLDER][@REV] without executing anything from it, then "
        "rolls it out briefly on the benchmark's first level. Unless --dry-run is given, it "
        "then queues an evaluation request and prints its id (`kinetix-bench queue run` "
        "evaluates queued requests).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument(
        "path",
        metavar="PATH",
        help="submission folder or Hub reference hf://OWNER/REPO[/SUBFOLDER][@REV]",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="only run every check and a short rollout"
    )
    p.add_argument("--benchmark", default=DEFAULT_BENCHMARK, metavar="ID", help="benchmark id")
    p.add_argument(
        "--protocol", default="zero-shot@v1", help="protocol id (zero-shot@v1, finetune-1e5@v1)"
    )
    p.add_argument(
        "--queue",
        default=None,
        metavar="DIR|hf://datasets/OWNER/REPO",
        help="the queue (default: $KINETIX_BENCH_QUEUE or leaderboard/requests/)",
    )
    p.add_argument(
        "--force", action="store_true", help="queue again a request that finished or failed"
    )
    p.add_argument("--attempts", type=positive_int, default=2, help="rollout attempts")
    p.add_argument("--steps", type=positive_int, default=32, help="agent steps per attempt")
    p.add_argument(
        "--max-bytes",
        type=positive_int,
        default=None,
        metavar="N",
        help="cap on the weights file in bytes (default: 512 MiB)",
    )
    p.add_argument("--cache-dir", default=None, metavar="DIR", help="Hub cache folder")
    add_json_flag(p)
    p.set_defaults(func=_run)


def _first_level(bench):
    """``(level, level id, source)``: the benchmark's first level, or a certified fallback."""
    import jax
    import numpy as np

    from harness.levels.loading import load_benchmark
    from harness.levels.manifest import DatasetError

    try:
        loaded = load_benchmark(bench.id, offline=True, device=False)
    except DatasetError as e:
        reason = " ".join(str(e).split())[:200]
    else:
        if loaded.level_ids:
            level = jax.tree.map(lambda x: np.asarray(x)[0], loaded.levels)
            return level, loaded.level_ids[0], f"{bench.id} ({loaded.origin})"
        reason = "the benchmark has no levels"
    from kinetix.handmade.witnesses import certified_levels
    from kinetix.level import pad_level
    from kinetix.sizes import env_size

    # the frozen v1 hand-made set, as the registered hand-made benchmarks hold
    found = certified_levels(bench.size, release="v1") or [
        c for c in certified_levels(release="v1") if c[1].size.fits_in(env_size(bench.size))
    ]
    if not found:
        raise CommandError(f"{bench.id}: no level to roll out on ({reason})")
    entry, level, _ = found[0]
    source = f"fallback: kinetix.handmade.certified_levels ({bench.id} data unavailable: {reason})"
    return pad_level(level, bench.size), entry.id, source


def _rollout(sub, bench, attempts: int, steps: int, log):
    import time

    import jax
    import numpy as np

    from harness.submissions.loading import ANY
    from harness.submissions.policies import policy_for
    from kinetix.env import EnvConfig, KinetixEnv
    from kinetix.rollout import first_episode

    level, level_id, source = _first_level(bench)
    log(f"rollout: {attempts} x {steps} steps on {level_id} [{source}]")
    env_config = EnvConfig(
        size=bench.size,
        obs_type="entity" if sub.obs_type == ANY else sub.obs_type,
        action_type="multi_discrete" if sub.action_type == ANY else sub.action_type,
    )
    env = KinetixEnv(env_config)
    level = jax.tree.map(jax.numpy.asarray, level)
    keys = jax.random.split(jax.random.PRNGKey(0), attempts)
    if getattr(sub, "program", None) is not None:  # an exported program: the batched engine
        from harness.scoring.batched import first_episodes
        from harness.submissions.exported import exported_batched_policy

        batched = exported_batched_policy(sub.program)
        one = jax.tree.map(lambda x: x[None], level)

        @jax.jit
        def run(keys):
            out = first_episodes(batched, env, sub.params, one, keys[None], steps)
            out = jax.tree.map(lambda x: x[0], out)
            return {**out, "done": out["length"] <= steps}
    else:
        policy = policy_for(sub, env_config)

        @jax.jit
        def run(keys):
            return jax.vmap(lambda k: first_episode(env, policy, level, k, num_steps=steps))(keys)

    t0 = time.perf_counter()
    out = jax.device_get(run(keys))
    wall = time.perf_counter() - t0
    returns = np.asarray(out["return"], np.float64)
    if not np.all(np.isfinite(returns)):
        raise CommandError(f"{sub.id}: the rollout produced non-finite returns {returns.tolist()}")
    rollout = {
        "attempts": attempts,
        "steps": steps,
        "solved": int(np.sum(out["solved"])),
        "mean_return": float(returns.mean()),
        "episodes_ended": int(np.sum(out["done"])),
        "wall_seconds": round(wall, 3),
    }
    return rollout, level_id, source, env_config


def _dry_run(args, path: str, log, before_rollout=None):
    """Every check and the short rollout: ``(submission, benchmark, report dict)``.
    ``before_rollout(submission, benchmark)`` runs between the checks and the rollout."""
    from harness.levels.registry import get_benchmark
    from harness.submissions.loading import MAX_MODEL_BYTES, load_submission

    bench = get_benchmark(args.benchmark)
    sub = load_submission(
        path,
        max_bytes=args.max_bytes or MAX_MODEL_BYTES,
        benchmark=bench,
        cache_dir=args.cache_dir,
    )
    if before_rollout is not None:
        before_rollout(sub, bench)
    rollout, level_id, source, env_config = _rollout(sub, bench, args.attempts, args.steps, log)
    record = {
        "what": "submit-dry-run",
        "ok": True,
        "submission": sub.summary(),
        "benchmark": bench.id,
        "env": {
            "size": env_config.size.name,
            "obs_type": env_config.obs_type,
            "action_type": env_config.action_type,
        },
        "level": level_id,
        "level_source": source,
        "rollout": rollout,
    }
    return sub, bench, record


def _run(args) -> int:
    from harness.leaderboard.queue.request import new_request
    from harness.leaderboard.queue.spec import open_queue
    from harness.leaderboard.queue.worker import submission_ref
    from harness.scoring.pipeline import resolve_submission
    from harness.scoring.protocols import parse_protocol

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    path = resolve_submission(args.path)
    if args.dry_run:
        _, bench, record = _dry_run(args, path, log)
        _print_dry_run(record, bench, args.json)
        return 0
    protocol = parse_protocol(args.protocol).id  # bad protocol or queue: fail before the checks
    queue = open_queue(args.queue)
    made = []

    def request_for(sub, bench):  # a duplicate fails here, before the slow rollout
        if getattr(sub, "program", None) is not None and protocol.startswith("finetune"):
            raise CommandError(
                f"{sub.id}: an exported policy is scored zero-shot only ({protocol} needs a "
                "training step the program does not carry); submit it with zero-shot@v1"
            )
        ref, kind = submission_ref(path, sub)
        made.append(new_request(ref, kind, sub.sha256, sub.id, bench.id, protocol))
        queue.precheck(made[0], force=args.force)

    sub, bench, record = _dry_run(args, path, log, before_rollout=request_for)
    req = queue.enqueue(made[0], force=args.force)
    if args.json:
        out = {"what": "submit", "ok": True, "request_id": req.request_id}
        out |= {"queue": queue.location, "request": req.to_dict(), "dry_run": record}
        print(json.dumps(out), flush=True)
        return 0
    _print_dry_run(record, bench, False)
    print(f"queued  {req.request_id}  ({req.status} in {queue.location})")
    print("  evaluate it with `kinetix-bench queue run`; follow it with `kinetix-bench queue show`")
    return 0


def _print_dry_run(record: dict, bench, as_json: bool) -> None:
    if as_json:
        print(json.dumps(record), flush=True)
        return
    rollout, level_id, source = record["rollout"], record["level"], record["level_source"]
    s = record["submission"]
    print(f"OK: {s['id']} ({s['kind']}) is a valid submission for {bench.id}")
    print(f"  architecture  {s['architecture']} ({s['obs_type']}, {s['action_type']})")
    print(f"  env size      {s['env_size']}")
    print(f"  parameters    {s['param_count']:,}")
    print(f"  sha256        {s['sha256']}")
    for name, n in s["files"].items():
        print(f"  {name:<13} {n:,} bytes")
    print(
        f"  rollout       {rollout['attempts']} x {rollout['steps']} steps on {level_id}: "
        f"solved {rollout['solved']}, mean return {rollout['mean_return']:.3f}"
    )
    if source.startswith("fallback"):
        print(f"  level source  {source}")
