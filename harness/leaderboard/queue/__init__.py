"""The leaderboard submission queue: evaluation requests and their life cycle (DESIGN §9).

A request is one JSON file ``requests/<request_id>.json`` (schema ``request/1``)::

    {"schema": "request/1",
     "request_id": "<sha256[:16]>__<benchmark>__<protocol with @ as _>",
     "submission": {"ref": "submissions/noop" | "/abs/folder" | "hf://OWNER/REPO@<commit>",
                    "kind": "local" | "hub", "sha256": "<checkpoint sha256>", "id": "noop"},
     "benchmark": "handmade-s-v1", "protocol": "zero-shot@v1",
     "status": "PENDING" | "RUNNING" | "FINISHED" | "FAILED",
     "submitted_at": "...Z", "started_at": "...Z" | null, "finished_at": "...Z" | null,
     "worker": "host:pid" | null,     # who claimed it (kept after it ends)
     "error": str | null, "log": str | null,   # on FAILED
     "record": str | null,                     # on FINISHED: the result record's path
     "history": [{status, started_at, finished_at, worker, error, log, record}, ...]}

The id is a pure function of the checkpoint sha256, the benchmark id and the protocol, so the
same checkpoint cannot be queued twice for the same evaluation: a duplicate of a PENDING or
RUNNING request is refused, a FINISHED or FAILED one is re-queued only on request (``force``),
and the earlier outcome moves to ``history``. A local ``ref`` inside the repository checkout is
stored relative to it (``submissions/noop``), any other folder as an absolute path; a Hub ref is
pinned to the commit the dry-run read (:func:`~harness.leaderboard.queue.worker.submission_ref`). A
worker re-checks the checkpoint's sha256 before it evaluates.

Life cycle (:data:`TRANSITIONS`): ``PENDING -> RUNNING`` (a worker claims it) ``-> FINISHED |
FAILED``; ``RUNNING -> PENDING`` (the worker was interrupted, or ``requeue`` of a crashed one);
``FINISHED | FAILED -> PENDING`` (a forced re-submission, or ``requeue`` of a failure). Anything
else raises :class:`TransitionError`.

Modules, in import order: :mod:`~harness.leaderboard.queue.request` (the request record, its
checks and transitions), :mod:`~harness.leaderboard.queue.base` (:class:`RequestQueue`, what the
backends share), :mod:`~harness.leaderboard.queue.local` (:class:`LocalQueue`: a folder; several
processes may enqueue and claim at once) and :mod:`~harness.leaderboard.queue.hub`
(:class:`HubQueue`: a Hub dataset repo; every write one commit with ``parent_commit``),
:mod:`~harness.leaderboard.queue.spec` (:func:`open_queue` picks a backend from a spec: a folder,
or ``hf://datasets/OWNER/REPO``; the default is :data:`DEFAULT_QUEUE_DIR`, overridden by the
environment variable ``KINETIX_BENCH_QUEUE``) and :mod:`~harness.leaderboard.queue.worker`
(evaluate a claimed request with :func:`harness.scoring.score`, then rebuild the leaderboard).

May import: :mod:`harness.levels` (repo ids), :mod:`harness.submissions` and
:mod:`harness.scoring` (the worker loads and scores), the rest of :mod:`harness.leaderboard` (the
worker rebuilds it), ``kinetix``; never :mod:`harness.commands`.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it (imported on first use, so importing the package
#: stays cheap)
_EXPORTS = {
    "SCHEMA": "harness.leaderboard.queue.request",
    "STATUSES": "harness.leaderboard.queue.request",
    "TRANSITIONS": "harness.leaderboard.queue.request",
    "QueueError": "harness.leaderboard.queue.request",
    "DuplicateRequestError": "harness.leaderboard.queue.request",
    "TransitionError": "harness.leaderboard.queue.request",
    "Request": "harness.leaderboard.queue.request",
    "request_id": "harness.leaderboard.queue.request",
    "check_request_id": "harness.leaderboard.queue.request",
    "check_request": "harness.leaderboard.queue.request",
    "new_request": "harness.leaderboard.queue.request",
    "transition": "harness.leaderboard.queue.request",
    "now_iso": "harness.leaderboard.queue.request",
    "parse_iso": "harness.leaderboard.queue.request",
    "PENDING": "harness.leaderboard.queue.request",
    "RUNNING": "harness.leaderboard.queue.request",
    "FINISHED": "harness.leaderboard.queue.request",
    "FAILED": "harness.leaderboard.queue.request",
    "QUEUE_ENV": "harness.leaderboard.queue.base",
    "REPO_ROOT": "harness.leaderboard.queue.base",
    "DEFAULT_QUEUE_DIR": "harness.leaderboard.queue.base",
    "DEFAULT_RECORDS_DIR": "harness.leaderboard.queue.base",
    "RequestQueue": "harness.leaderboard.queue.base",
    "worker_id": "harness.leaderboard.queue.base",
    "worker_alive": "harness.leaderboard.queue.base",
    "LocalQueue": "harness.leaderboard.queue.local",
    "LOCK_NAME": "harness.leaderboard.queue.local",
    "HubQueue": "harness.leaderboard.queue.hub",
    "CONFLICT_STATUS": "harness.leaderboard.queue.hub",
    "is_conflict": "harness.leaderboard.queue.hub",
    "default_queue_spec": "harness.leaderboard.queue.spec",
    "open_queue": "harness.leaderboard.queue.spec",
    "REBUILD": "harness.leaderboard.queue.worker",
    "evaluate_request": "harness.leaderboard.queue.worker",
    "rebuild_leaderboard": "harness.leaderboard.queue.worker",
    "resolve_submission_ref": "harness.leaderboard.queue.worker",
    "run_request": "harness.leaderboard.queue.worker",
    "submission_ref": "harness.leaderboard.queue.worker",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
