"""The queue itself: :class:`RequestQueue`, what both backends share (``DESIGN.md`` §9).

A backend supplies atomic reads and one primitive, ``_mutate``; enqueue, claim, finish, fail,
release and requeue are built on it here, with the transitions of
:mod:`harness.leaderboard.queue.request`. Also: the default locations (:data:`DEFAULT_QUEUE_DIR`,
:data:`DEFAULT_RECORDS_DIR`), :func:`worker_id` and :func:`worker_alive`. The request format and
the life cycle are described in :mod:`harness.leaderboard.queue`.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime
import os
import socket
from collections.abc import Callable
from pathlib import Path

from harness.leaderboard.queue.request import (
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    STATUSES,
    DuplicateRequestError,
    QueueError,
    Request,
    TransitionError,
    check_request,
    check_request_id,
    parse_iso,
    transition,
)
from harness.levels.home import (
    checkout_root,
    default_leaderboard_dir,
    default_records_dir,
    project_home,
)

__all__ = [
    "QUEUE_ENV",
    "REPO_ROOT",
    "DEFAULT_QUEUE_DIR",
    "DEFAULT_RECORDS_DIR",
    "RequestQueue",
    "worker_id",
    "worker_alive",
]

QUEUE_ENV = "KINETIX_BENCH_QUEUE"
#: Submission paths under it are stored relative to it: the checkout, or the project home of a
#: wheel install (:mod:`harness.levels.home`).
REPO_ROOT = checkout_root() or project_home()
DEFAULT_QUEUE_DIR = default_leaderboard_dir() / "requests"
DEFAULT_RECORDS_DIR = default_records_dir()


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


# -------------------------------------------------------------------------------- the queue
class RequestQueue(abc.ABC):
    """What both backends share. A backend supplies atomic reads and one primitive,
    :meth:`_mutate` (read one request, compute its new version, write it, all or nothing, never
    overwriting a concurrent writer); every operation here is built on it."""

    #: True when several machines share the queue (then local refs outside the repo are refused).
    shared: bool = False
    location: str = ""

    @abc.abstractmethod
    def _read(self, rid: str) -> Request | None: ...

    @abc.abstractmethod
    def _read_all(self) -> list[Request]: ...

    @abc.abstractmethod
    def _mutate(
        self,
        rid: str,
        fn: Callable[[Request | None], Request],
        message: str,
        files: dict[str, bytes] | None = None,
    ) -> Request:
        """Atomically: ``new = fn(current or None)``, then write ``new`` and ``files`` (paths
        relative to the queue folder) together. ``fn`` may raise to abort; it may be called
        again (with a fresher ``current``) when a concurrent write wins."""

    @abc.abstractmethod
    def log_location(self, rid: str) -> str:
        """Where :meth:`fail` stores the log of ``rid``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # reads
    def get(self, rid: str) -> Request:
        req = self._read(check_request_id(rid))
        if req is None:
            raise QueueError(
                f"no request {rid!r} in {self.location}; see `kinetix-bench queue list`"
            )
        return req

    def list(self, status: str | None = None) -> list[Request]:
        """Requests (optionally with one status), oldest submission first."""
        if status is not None and status not in STATUSES:
            raise QueueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        out = [r for r in self._read_all() if status is None or r.status == status]
        return sorted(out, key=lambda r: (r.submitted_at, r.request_id))

    # writes
    def enqueue(self, req: Request, *, force: bool = False) -> Request:
        """Adds a PENDING request. A PENDING/RUNNING duplicate is refused; a FINISHED/FAILED
        one is replaced only with ``force`` (its outcome goes to ``history``)."""
        self._check_new(req)
        rid = req.request_id
        return self._mutate(rid, lambda cur: self._admit(cur, req, force), f"queue: submit {rid}")

    def precheck(self, req: Request, *, force: bool = False) -> None:
        """Raises what :meth:`enqueue` would raise now (a cheap early check before slow work;
        :meth:`enqueue` checks again, atomically)."""
        self._check_new(req)
        self._admit(self._read(req.request_id), req, force)

    def _check_new(self, req: Request) -> None:
        check_request(req)
        if req.status != PENDING:
            raise QueueError(f"request {req.request_id}: only a PENDING request can be queued")
        sub = req.submission
        if self.shared and sub["kind"] == "local" and Path(sub["ref"]).is_absolute():
            raise QueueError(
                f"{sub['ref']}: {self.location} is shared between machines, so the submission "
                "must be a Hub model repo (hf://OWNER/REPO@REV) or a folder of this repository"
            )

    @staticmethod
    def _admit(cur: Request | None, req: Request, force: bool) -> Request:
        """The request to write when ``req`` is submitted and ``cur`` is stored (or None)."""
        if cur is None:
            return req
        rid = req.request_id
        if cur.status in (PENDING, RUNNING):
            raise DuplicateRequestError(
                f"request {rid} is already {cur.status} (submitted {cur.submitted_at}"
                + (f", worker {cur.worker}" if cur.status == RUNNING else "")
                + f"): the same checkpoint x {req.benchmark} x {req.protocol}; see "
                f"`kinetix-bench queue show {rid}`"
            )
        if not force:
            what = f"record {cur.record}" if cur.status == FINISHED else f"error: {cur.error}"
            raise DuplicateRequestError(
                f"request {rid} is already {cur.status} ({what}); pass --force to evaluate it again"
            )
        again = transition(cur, PENDING)
        return dataclasses.replace(again, submission=req.submission, submitted_at=req.submitted_at)

    def claim(self, worker: str | None = None) -> Request | None:
        """Marks the oldest PENDING request RUNNING for ``worker`` (default: this process) and
        returns it; ``None`` when nothing is pending. Two claimers never get the same one."""
        worker = worker or worker_id()

        class _Gone(Exception):
            pass

        def fn(cur):
            if cur is None or cur.status != PENDING:
                raise _Gone
            return transition(cur, RUNNING, worker=worker)

        for cand in self.list(PENDING):
            try:
                return self._mutate(cand.request_id, fn, f"queue: {cand.request_id} RUNNING")
            except _Gone:
                continue  # claimed (or changed) by someone else meanwhile
        return None

    def _held(self, rid: str, worker: str, status: str, **changes) -> Callable:
        check_request_id(rid)

        def fn(cur):
            if cur is None:
                raise QueueError(f"no request {rid!r} in {self.location}")
            if cur.status == RUNNING and cur.worker != worker:
                raise TransitionError(
                    f"request {rid} is held by worker {cur.worker}, not {worker} (was it requeued?)"
                )
            return transition(cur, status, worker=worker, **changes)

        return fn

    def finish(self, rid: str, record: str, worker: str | None = None) -> Request:
        """RUNNING -> FINISHED with the record's path (only by the worker that holds it)."""
        fn = self._held(rid, worker or worker_id(), FINISHED, record=record)
        return self._mutate(rid, fn, f"queue: {rid} FINISHED")

    def fail(self, rid: str, error: str, log_text: str, worker: str | None = None) -> Request:
        """RUNNING -> FAILED with a one-line ``error``; ``log_text`` is stored as its log."""
        error = " ".join(str(error).split()) or "failed"
        fn = self._held(rid, worker or worker_id(), FAILED, error=error, log=self.log_location(rid))
        files = {f"logs/{rid}.log": log_text.encode()}
        return self._mutate(rid, fn, f"queue: {rid} FAILED", files)

    def release(self, rid: str, worker: str | None = None) -> Request:
        """RUNNING -> PENDING by the worker that holds it (it was interrupted)."""
        worker = worker or worker_id()
        check_request_id(rid)

        def fn(cur):
            if cur is None or cur.status != RUNNING or cur.worker != worker:
                raise TransitionError(f"request {rid} is not RUNNING on worker {worker}")
            return transition(cur, PENDING)

        return self._mutate(rid, fn, f"queue: {rid} released")

    def requeue(self, rid: str, *, timeout_s: float = 86400.0, force: bool = False) -> Request:
        """Back to PENDING: a FAILED request, or a RUNNING one whose worker is gone (same host
        and its pid is not alive; another host and started more than ``timeout_s`` ago), or any
        RUNNING one with ``force``. A FINISHED one is re-queued by submitting it with force."""
        check_request_id(rid)

        def fn(cur):
            if cur is None:
                raise QueueError(f"no request {rid!r} in {self.location}")
            if cur.status == PENDING:
                raise TransitionError(f"request {rid} is already PENDING")
            if cur.status == RUNNING and not force:
                reason = worker_alive(cur, timeout_s)
                if reason:
                    raise QueueError(f"request {rid}: {reason}; pass --force to requeue anyway")
            if cur.status == FINISHED:
                raise TransitionError(
                    f"request {rid} is FINISHED (record {cur.record}); submit it again with "
                    "--force to re-evaluate"
                )
            return transition(cur, PENDING)

        return self._mutate(rid, fn, f"queue: {rid} requeued")


def worker_alive(req: Request, timeout_s: float) -> str | None:
    """Why ``req``'s worker may still be running (a sentence), or None if it is surely gone."""
    host, _, pid = (req.worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return f"its worker {req.worker} is still alive on this host"
    age = (datetime.datetime.now(datetime.UTC) - parse_iso(req.started_at)).total_seconds()
    if age > timeout_s:
        return None
    return (
        f"it runs on another host ({req.worker}) since {req.started_at}, {age / 3600:.1f} h ago "
        f"(under the {timeout_s / 3600:g} h timeout)"
    )
