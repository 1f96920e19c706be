"""``kinetix-bench queue {list,show,run,requeue}``: the evaluation queue (:mod:`harness.queue`).

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

import contextlib
import io
import json
import re
import sys
import time
import traceback
from pathlib import Path

from harness.commands import add_json_flag, positive_int
from harness.queue import REPO_ROOT

#: What ``queue run`` calls after new records were written (``build_leaderboard(records_dir)``).
REBUILD = ("harness.leaderboard", "build_leaderboard")


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
    q.add_argument("--status", choices=("PENDING", "RUNNING", "FINISHED", "FAILED"))
    _add_queue_flag(q)
    add_json_flag(q)
    q.set_defaults(func=_list)

    q = sub.add_parser("show", help="show one request")
    q.add_argument("request_id", metavar="ID")
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
        "--out", default=None, metavar="DIR", help="records folder (default leaderboard/records)"
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
    q.add_argument("request_id", metavar="ID")
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


# --------------------------------------------------------------------- submission references
def submission_ref(spec: str, submission) -> tuple[str, str]:
    """``(ref, kind)`` to store for a submission given as ``spec`` and loaded as ``submission``
    (a :class:`harness.submissions.Submission`). A local folder inside the checkout becomes
    repo-relative, another one absolute; a Hub reference is pinned to the commit that was read
    (``hf://OWNER/REPO[/SUBFOLDER]@<sha>``), so the worker evaluates exactly those files."""
    path = Path(spec)
    if path.is_dir():
        path = path.resolve()
        try:
            return path.relative_to(REPO_ROOT).as_posix(), "local"
        except ValueError:
            return str(path), "local"
    source = getattr(submission, "source", None)
    if source and source.get("commit"):
        try:
            from harness.submission_refs import pinned_reference
        except ImportError:
            pass
        else:
            return pinned_reference(source), "hub"
    commit = Path(submission.path).name  # a Hub snapshot folder is named after its commit
    if re.fullmatch(r"[0-9a-f]{40}", commit):
        base = spec.rsplit("@", 1)[0] if "@" in spec.split("/")[-1] else spec
        return f"{base}@{commit}", "hub"
    return spec, "hub"


def resolve_submission_ref(submission: dict) -> str:
    """What to pass to ``load_submission`` / ``kinetix-bench eval`` for a stored ``submission``:
    an absolute folder path (a missing folder stays a path, never a Hub id) or the Hub ref."""
    if submission["kind"] == "local":
        path = Path(submission["ref"])
        return str(path if path.is_absolute() else REPO_ROOT / path)
    return submission["ref"]


# ------------------------------------------------------------------------------- list / show
def _short(text: str | None, n: int) -> str:
    text = text or ""
    return text if len(text) <= n else text[: n - 3] + "..."


def _list(args) -> int:
    from harness.queue import open_queue

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
    from harness.queue import open_queue

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
    from harness.queue import open_queue

    req = open_queue(args.queue).requeue(
        args.request_id, timeout_s=args.timeout_hours * 3600, force=args.force
    )
    if args.json:
        print(json.dumps(req.to_dict()))
    else:
        print(f"{req.request_id} is PENDING again")
    return 0


# ------------------------------------------------------------------------------------- run
class _Tee(io.TextIOBase):
    """A text stream writing to several streams (None entries are skipped)."""

    def __init__(self, *streams):
        self.streams = [s for s in streams if s is not None]

    def write(self, s):
        for st in self.streams:
            st.write(s)
        return len(s)

    def flush(self):
        for st in self.streams:
            st.flush()


def _display(path: str | Path) -> str:
    """``path`` relative to the repository checkout when inside it."""
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(p)


def _evaluate(req, records: Path, args) -> str:
    """Scores ``req`` as ``kinetix-bench eval`` / ``finetune`` do (:func:`harness.scoring.score`);
    returns the record's path."""
    from harness.protocols import ZeroShot, parse_protocol
    from harness.queue import QueueError
    from harness.scoring import score
    from harness.submissions import load_submission

    ref = resolve_submission_ref(req.submission)
    sub = load_submission(ref, benchmark=req.benchmark, offline=args.offline or None)
    if sub.sha256 != req.submission["sha256"]:
        raise QueueError(
            f"{ref}: the checkpoint changed since it was submitted (sha256 {sub.sha256[:16]}..., "
            f"submitted {req.submission['sha256'][:16]}...); submit it again"
        )
    protocol = parse_protocol(req.protocol)
    if isinstance(protocol, ZeroShot):
        cache = None if args.no_cache else (args.cache_dir or "default")
    else:
        cache = "default"  # fine-tuning runs are always cached per (level, seed)

    def log(s: str) -> None:
        print(s, file=sys.stderr, flush=True)

    scored = score(
        sub,
        req.benchmark,
        protocol,
        out=records,
        cache_dir=cache,
        chunk=args.chunk,
        bootstrap_reps=args.bootstrap_reps,
        offline=args.offline or None,
        log=log,
    )
    log(
        f"{scored.submission.id} on {req.benchmark} ({protocol.id}): IQM "
        f"{scored.record['metrics']['solve_rate']['iqm']:.3f}; record {scored.record_path}"
    )
    return str(scored.record_path)


def run_request(queue, req, *, records: Path, args, worker: str, echo: bool):
    """Evaluates a claimed (RUNNING) request; returns it FINISHED or FAILED. Output of the
    evaluation goes to a log buffer (and to stderr when ``echo``)."""
    buf = io.StringIO()
    header = (
        f"request {req.request_id}\nsubmission {req.submission['ref']} "
        f"({req.submission['sha256']})\nbenchmark {req.benchmark}  protocol {req.protocol}\n"
        f"worker {worker}  started {req.started_at}\n\n"
    )
    buf.write(header)
    real_err = sys.stderr
    try:
        with contextlib.redirect_stderr(_Tee(buf, real_err if echo else None)):
            record = _evaluate(req, records, args)
    except KeyboardInterrupt:
        queue.release(req.request_id, worker)
        raise
    except Exception as e:
        message = f"{type(e).__name__}: {' '.join(str(e).split())}"
        buf.write("\n" + traceback.format_exc())
        return queue.fail(req.request_id, message, buf.getvalue(), worker=worker)
    return queue.finish(req.request_id, _display(record), worker=worker)


def rebuild_leaderboard(records: Path, log) -> bool | None:
    """Calls ``harness.leaderboard.build_leaderboard(records.parent, records=[records])``: True
    when it ran, None when that function cannot be imported, False when it failed (logged)."""
    module, name = REBUILD
    try:
        build = getattr(__import__(module, fromlist=[name]), name)
    except (ImportError, AttributeError) as e:
        log(f"leaderboard rebuild skipped: {module}.{name} is not available ({e})")
        return None
    try:
        # the leaderboard folder holding ``records`` (leaderboard/records -> leaderboard)
        build(records.parent, records=[records])
    except Exception as e:  # the records are written and the requests final: report, go on
        log(f"leaderboard rebuild failed: {type(e).__name__}: {' '.join(str(e).split())}")
        return False
    log(f"leaderboard rebuilt from {_display(records)}")
    return True


def _run(args) -> int:
    from harness.queue import DEFAULT_RECORDS_DIR, FINISHED, open_queue, worker_id

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    queue = open_queue(args.queue)
    records = Path(args.out) if args.out else DEFAULT_RECORDS_DIR
    limit = 1 if args.once else args.max
    worker = worker_id()
    done = []
    while limit is None or len(done) < limit:
        req = queue.claim(worker)
        if req is None:
            break
        log(f"[{len(done) + 1}] {req.request_id}: RUNNING ({req.submission['id']})")
        t0 = time.perf_counter()
        req = run_request(queue, req, records=records, args=args, worker=worker, echo=True)
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
