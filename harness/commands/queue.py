"""``kinetix-bench queue {list,show,run,requeue}``: the evaluation queue
(:mod:`harness.leaderboard.queue`; the worker is :mod:`harness.leaderboard.queue.worker`).

* ``queue list [--status S]``: the requests, oldest first (``--json``: one object per line);
* ``queue show ID``: one request, every field (``--json``: the request object);
* ``queue run [--max N] [--once] [--no-rebuild]``: a worker. It claims the oldest PENDING
  request (atomically: two workers never get the same one), marks it RUNNING, checks that the
  submission still has the checkpoint sha256 it was submitted with, then evaluates it exactly as
  ``kinetix-bench eval`` / ``finetune`` do (it calls the same function,
  :func:`harness.scoring.score`, with the submission it just checked) and writes the
  record under ``--out`` (default ``leaderboard/records``). Success: FINISHED with the record's
  path. Any error: FAILED with a one-line message and a log (the evaluation's output and the
  traceback) in ``logs/<id>.log`` of the queue; Ctrl-C puts the request back to PENDING. It goes
  on until nothing is pending (or ``--max`` requests, or one with ``--once``), then rebuilds the
  leaderboard from the records (``harness.leaderboard.build_leaderboard``, when that module
  exists) unless ``--no-rebuild``. Exit 0 if every request it ran FINISHED, 1 if one FAILED;
* ``queue requeue ID``: a request back to PENDING: a FAILED one, or a RUNNING one whose worker
  died (its pid is gone on this host, or it started on another host more than ``--timeout-hours``
  ago; ``--force`` skips the check).

Every subcommand takes ``--queue DIR|hf://datasets/OWNER/REPO`` (default ``$KINETIX_BENCH_QUEUE``
or ``leaderboard/requests/``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from harness.commands import add_json_flag, positive_int


def _add_queue_flag(p) -> None:
    p.add_argument(
        "--queue",
        default=None,
        metavar="DIR|hf://datasets/OWNER/REPO",
        help="the queue (default: $KINETIX_BENCH_QUEUE or leaderboard/requests/)",
    )


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "queue",
        help="the evaluation queue: list, show, run (a worker), requeue",
        description="Requests queued by `kinetix-bench submit` wait here until a worker "
        "(`kinetix-bench queue run`) evaluates them and writes their result records.",
    )
    sub = p.add_subparsers(dest="queue_command", metavar="ACTION", title="actions")
    p.set_defaults(func=lambda args: p.print_help(sys.stderr) or 2)

    q = sub.add_parser("list", help="list the requests, oldest first")
    q.add_argument(
        "--status",
        choices=("PENDING", "RUNNING", "FINISHED", "FAILED"),
        help="only requests with this status",
    )
    _add_queue_flag(q)
    add_json_flag(q)
    q.set_defaults(func=_list)

    q = sub.add_parser("show", help="show one request")
    q.add_argument("request_id", metavar="ID", help="the request id (see queue list)")
    _add_queue_flag(q)
    add_json_flag(q)
    q.set_defaults(func=_show)

    q = sub.add_parser(
        "run",
        help="evaluate pending requests (a worker)",
        description="Claims pending requests one at a time, evaluates each exactly as "
        "`kinetix-bench eval` does, marks it FINISHED (record path) or FAILED (error and log), "
        "then rebuilds the leaderboard. Stops when nothing is pending. Exit 0 if every request "
        "it ran finished, 1 if one failed.",
    )
    q.add_argument("--max", type=positive_int, default=None, metavar="N", help="run at most N")
    q.add_argument("--once", action="store_true", help="run at most one request")
    q.add_argument("--no-rebuild", action="store_true", help="do not rebuild the leaderboard")
    q.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="records folder (default: leaderboard/records of the checkout, or "
        "$KINETIX_BENCH_HOME/leaderboard/records)",
    )
    q.add_argument(
        "--cache-dir", default=None, metavar="DIR", help="eval's per-chunk cache (see eval --help)"
    )
    q.add_argument("--no-cache", action="store_true", help="do not use eval's per-chunk cache")
    q.add_argument(
        "--chunk", type=positive_int, default=32, metavar="N", help="levels per compiled call (32)"
    )
    q.add_argument(
        "--bootstrap-reps",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="bootstrap resamples (10000)",
    )
    q.add_argument("--offline", action="store_true", help="never contact the Hub for levels")
    _add_queue_flag(q)
    add_json_flag(q)
    q.set_defaults(func=_run)

    q = sub.add_parser("requeue", help="put a FAILED or dead RUNNING request back to PENDING")
    q.add_argument("request_id", metavar="ID", help="the request id (see queue list)")
    q.add_argument(
        "--timeout-hours",
        type=float,
        default=24.0,
        help="a RUNNING request of another host counts as dead after this long (default 24)",
    )
    q.add_argument("--force", action="store_true", help="requeue a RUNNING request regardless")
    _add_queue_flag(q)
    add_json_flag(q)
    q.set_defaults(func=_requeue)


# ------------------------------------------------------------------------------- list / show
def _short(text: str | None, n: int) -> str:
    text = text or ""
    return text if len(text) <= n else text[: n - 3] + "..."


def _list(args) -> int:
    from harness.leaderboard.queue.spec import open_queue

    queue = open_queue(args.queue)
    reqs = queue.list(args.status)
    if args.json:
        for r in reqs:
            print(json.dumps(r.to_dict()))
        return 0
    if not reqs:
        print(f"no requests in {queue.location}", file=sys.stderr)
        return 0
    print(f"{'ID':<52} {'STATUS':<8} {'SUBMITTED':<19}  SUBMISSION / OUTCOME")
    for r in reqs:
        outcome = {"RUNNING": r.worker, "FINISHED": r.record, "FAILED": r.error}.get(r.status)
        note = r.submission["id"] + (f"  -> {_short(outcome, 60)}" if outcome else "")
        print(f"{r.request_id:<52} {r.status:<8} {r.submitted_at[:19]:<19}  {note}")
    return 0


def _show(args) -> int:
    from harness.leaderboard.queue.spec import open_queue

    req = open_queue(args.queue).get(args.request_id)
    if args.json:
        print(json.dumps(req.to_dict()))
        return 0
    d = req.to_dict()
    for key in ("request_id", "status", "benchmark", "protocol", "submitted_at"):
        print(f"{key:<13} {d[key]}")
    s = req.submission
    print(f"{'submission':<13} {s['id']} ({s['kind']}: {s['ref']})")
    print(f"{'sha256':<13} {s['sha256']}")
    for key in ("worker", "started_at", "finished_at", "record", "error", "log"):
        if d[key]:
            print(f"{key:<13} {d[key]}")
    for i, h in enumerate(req.history, 1):
        print(f"{'history ' + str(i):<13} {h.get('status')} {h.get('finished_at') or ''}")
    return 0


def _requeue(args) -> int:
    from harness.leaderboard.queue.spec import open_queue

    req = open_queue(args.queue).requeue(
        args.request_id, timeout_s=args.timeout_hours * 3600, force=args.force
    )
    if args.json:
        print(json.dumps(req.to_dict()))
    else:
        print(f"{req.request_id} is PENDING again")
    return 0


def _run(args) -> int:
    from harness.leaderboard.queue.base import DEFAULT_RECORDS_DIR, worker_id
    from harness.leaderboard.queue.request import FINISHED
    from harness.leaderboard.queue.spec import open_queue
    from harness.leaderboard.queue.worker import rebuild_leaderboard, run_request

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    queue = open_queue(args.queue)
    records = Path(args.out) if args.out else DEFAULT_RECORDS_DIR
    limit = 1 if args.once else args.max
    worker = worker_id()
    options = {
        "offline": args.offline,
        "no_cache": args.no_cache,
        "cache_dir": args.cache_dir,
        "chunk": args.chunk,
        "bootstrap_reps": args.bootstrap_reps,
    }
    done = []
    while limit is None or len(done) < limit:
        req = queue.claim(worker)
        if req is None:
            break
        log(f"[{len(done) + 1}] {req.request_id}: RUNNING ({req.submission['id']})")
        t0 = time.perf_counter()
        req = run_request(queue, req, records=records, worker=worker, echo=True, **options)
        wall = time.perf_counter() - t0
        done.append(req)
        outcome = req.record if req.status == FINISHED else f"{req.error} (log: {req.log})"
        log(f"[{len(done)}] {req.request_id}: {req.status} in {wall:.0f} s: {outcome}")
        if args.json:
            print(json.dumps({"what": "queue-run", "wall_s": round(wall, 3)} | req.to_dict()))
        else:
            print(f"{req.status:<8} {req.request_id}  {outcome}")
    if not done:
        log(f"no pending requests in {queue.location}")
    rebuilt = None
    if any(r.status == FINISHED for r in done) and not args.no_rebuild:
        rebuilt = rebuild_leaderboard(records, log)
    failed = rebuilt is False or any(r.status != FINISHED for r in done)
    return 1 if failed else 0
