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
pinned to the commit the dry-run read (:func:`harness.commands.queue.submission_ref`). A worker
re-checks the checkpoint's sha256 before it evaluates.

Life cycle (:data:`TRANSITIONS`): ``PENDING -> RUNNING`` (a worker claims it) ``-> FINISHED |
FAILED``; ``RUNNING -> PENDING`` (the worker was interrupted, or ``requeue`` of a crashed one);
``FINISHED | FAILED -> PENDING`` (a forced re-submission, or ``requeue`` of a failure). Anything
else raises :class:`TransitionError`.

Backends (:class:`RequestQueue`): :class:`harness.queue_local.LocalQueue` (a folder; several
processes may enqueue and claim at once) and :class:`harness.queue_hub.HubQueue` (a Hub dataset
repo; every write one commit with ``parent_commit``). :func:`open_queue` picks one from a spec:
a folder, or ``hf://datasets/OWNER/REPO``; the default is :data:`DEFAULT_QUEUE_DIR`, overridden
by the environment variable ``KINETIX_BENCH_QUEUE``.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime
import json
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "SCHEMA",
    "PENDING",
    "RUNNING",
    "FINISHED",
    "FAILED",
    "STATUSES",
    "TRANSITIONS",
    "QUEUE_ENV",
    "REPO_ROOT",
    "DEFAULT_QUEUE_DIR",
    "DEFAULT_RECORDS_DIR",
    "QueueError",
    "DuplicateRequestError",
    "TransitionError",
    "Request",
    "RequestQueue",
    "request_id",
    "check_request_id",
    "new_request",
    "transition",
    "worker_id",
    "now_iso",
    "worker_alive",
    "open_queue",
    "default_queue_spec",
]

SCHEMA = "request/1"
PENDING, RUNNING, FINISHED, FAILED = "PENDING", "RUNNING", "FINISHED", "FAILED"
STATUSES = (PENDING, RUNNING, FINISHED, FAILED)
#: Allowed moves: status -> the statuses it may become.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING}),
    RUNNING: frozenset({FINISHED, FAILED, PENDING}),
    FINISHED: frozenset({PENDING}),
    FAILED: frozenset({PENDING}),
}
QUEUE_ENV = "KINETIX_BENCH_QUEUE"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUEUE_DIR = REPO_ROOT / "leaderboard" / "requests"
DEFAULT_RECORDS_DIR = REPO_ROOT / "leaderboard" / "records"

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ID_RE = re.compile(r"^[0-9a-f]{16}__[A-Za-z0-9._-]+__[A-Za-z0-9._-]+$")
_RUN_FIELDS = ("started_at", "finished_at", "worker", "error", "log", "record")


class QueueError(ValueError):
    """A queue operation cannot be done as asked (unknown request, bad request file, the Hub
    refused or cannot be reached); the message names the request or file and the problem."""


class DuplicateRequestError(QueueError):
    """The same checkpoint x benchmark x protocol is already queued, running or done."""


class TransitionError(QueueError):
    """A status change the life cycle does not allow (e.g. FINISHED -> RUNNING)."""


def now_iso() -> str:
    """UTC time with microseconds, ``2026-01-31T12:00:00.123456Z`` (sorts as text)."""
    t = datetime.datetime.now(datetime.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime.datetime:
    """Inverse of :func:`now_iso` (also accepts whole seconds)."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.UTC)
        except ValueError:
            pass
    raise QueueError(f"bad timestamp {text!r}; expected YYYY-MM-DDTHH:MM:SS[.ffffff]Z")


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def request_id(sha256: str, benchmark: str, protocol: str) -> str:
    """``<sha256[:16]>__<benchmark>__<protocol>`` (``@`` and other unsafe characters -> ``_``):
    deterministic, a valid file name, unique per checkpoint x benchmark x protocol."""
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise QueueError(f"submission.sha256: {sha256!r} is not a sha256 hex digest")
    return f"{sha256[:16]}__{_slug(benchmark)}__{_slug(protocol)}"


def check_request_id(rid) -> str:
    """Returns ``rid`` if it has the form :func:`request_id` makes, else QueueError."""
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise QueueError(
            f"request id {rid!r} is malformed; expected <sha256[:16]>__<benchmark>__<protocol> "
            "(see `kinetix-bench queue list`)"
        )
    return rid


@dataclasses.dataclass(frozen=True)
class Request:
    """One evaluation request (fields: see the module docstring)."""

    request_id: str
    submission: dict
    benchmark: str
    protocol: str
    status: str
    submitted_at: str
    started_at: str | None = None
    finished_at: str | None = None
    worker: str | None = None
    error: str | None = None
    log: str | None = None
    record: str | None = None
    history: tuple = ()
    schema: str = SCHEMA

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["history"] = [dict(h) for h in self.history]
        return d

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_dict(cls, raw, source: str = "request") -> Request:
        """Parses and checks a request; :class:`QueueError` names ``source`` and the field."""
        if not isinstance(raw, dict):
            raise QueueError(f"{source}: a request must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise QueueError(f"{source}: unknown field(s) {', '.join(unknown)}")
        missing = [n for n in ("request_id", "submission", "benchmark", "protocol") if n not in raw]
        missing += [n for n in ("status", "submitted_at", "schema") if n not in raw]
        if missing:
            raise QueueError(f"{source}: missing field(s) {', '.join(missing)}")
        history = raw.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise QueueError(f"{source}: 'history' must be a list of objects")
        req = cls(**{**raw, "history": tuple(history)})
        check_request(req, source)
        return req

    @classmethod
    def from_json(cls, data: bytes | str, source: str) -> Request:
        try:
            raw = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise QueueError(f"{source}: not valid JSON ({e})") from None
        return cls.from_dict(raw, source)


def check_request(req: Request, source: str = "request") -> None:
    """Raises :class:`QueueError` unless every field is well-formed and consistent."""
    if req.schema != SCHEMA:
        raise QueueError(f"{source}: schema {req.schema!r} is not {SCHEMA!r}")
    for name in ("request_id", "benchmark", "protocol", "submitted_at"):
        if not isinstance(getattr(req, name), str) or not getattr(req, name):
            raise QueueError(f"{source}: {name!r} must be a non-empty string")
    for name in _RUN_FIELDS:
        if getattr(req, name) is not None and not isinstance(getattr(req, name), str):
            raise QueueError(f"{source}: {name!r} must be a string or null")
    sub = req.submission
    if not isinstance(sub, dict) or set(sub) != {"ref", "kind", "sha256", "id"}:
        raise QueueError(f"{source}: 'submission' must be an object with ref, kind, sha256, id")
    if sub["kind"] not in ("local", "hub"):
        raise QueueError(f"{source}: submission.kind {sub['kind']!r} is not 'local' or 'hub'")
    if not isinstance(sub["ref"], str) or not sub["ref"] or not isinstance(sub["id"], str):
        raise QueueError(f"{source}: submission.ref and submission.id must be strings")
    expected = request_id(sub["sha256"], req.benchmark, req.protocol)
    if req.request_id != expected:
        raise QueueError(
            f"{source}: request_id {req.request_id!r} does not match its checkpoint, benchmark "
            f"and protocol (expected {expected!r})"
        )
    if req.status not in STATUSES:
        raise QueueError(f"{source}: status {req.status!r} is not one of {', '.join(STATUSES)}")
    needs = {RUNNING: ("started_at", "worker"), FINISHED: ("finished_at", "record")}
    needs[FAILED] = ("finished_at", "error")
    for name in needs.get(req.status, ()):
        if not getattr(req, name):
            raise QueueError(f"{source}: a {req.status} request needs {name!r}")
    if req.status == PENDING and any(getattr(req, n) for n in _RUN_FIELDS):
        raise QueueError(f"{source}: a PENDING request has no {', '.join(_RUN_FIELDS)}")


def new_request(
    ref: str, kind: str, sha256: str, submission_id: str, benchmark: str, protocol: str
) -> Request:
    """A fresh PENDING request (``ref`` and ``kind`` as
    :func:`harness.commands.queue.submission_ref` makes them)."""
    req = Request(
        request_id=request_id(sha256, benchmark, protocol),
        submission={"ref": ref, "kind": kind, "sha256": sha256, "id": submission_id},
        benchmark=benchmark,
        protocol=protocol,
        status=PENDING,
        submitted_at=now_iso(),
    )
    check_request(req)
    return req


def transition(req: Request, status: str, **changes) -> Request:
    """``req`` moved to ``status`` (validated against :data:`TRANSITIONS`). Going to RUNNING
    takes ``worker``; FINISHED takes ``record``; FAILED takes ``error`` and ``log``. Going back
    to PENDING moves the run's fields into ``history``."""
    if status not in TRANSITIONS.get(req.status, ()):
        allowed = ", ".join(sorted(TRANSITIONS.get(req.status, ()))) or "nothing"
        raise TransitionError(
            f"request {req.request_id}: cannot go from {req.status} to {status} "
            f"(from {req.status} only to {allowed})"
        )
    now = now_iso()
    if status == RUNNING:
        fields = dict.fromkeys(_RUN_FIELDS, None) | {"started_at": now, "worker": None}
    elif status == PENDING:
        past = {"status": req.status} | {n: getattr(req, n) for n in _RUN_FIELDS}
        fields = dict.fromkeys(_RUN_FIELDS, None) | {"history": (*req.history, past)}
    else:
        fields = {"finished_at": now}
    unknown = set(changes) - {"worker", "record", "error", "log"}
    if unknown:
        raise TypeError(f"transition: unexpected field(s) {sorted(unknown)}")
    out = dataclasses.replace(req, status=status, **(fields | changes))
    check_request(out)
    return out


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


def default_queue_spec() -> str:
    """``$KINETIX_BENCH_QUEUE`` or :data:`DEFAULT_QUEUE_DIR`."""
    return os.environ.get(QUEUE_ENV) or str(DEFAULT_QUEUE_DIR)


def open_queue(spec: str | os.PathLike | None = None, *, api=None) -> RequestQueue:
    """A folder (:class:`LocalQueue`) or ``hf://datasets/OWNER/REPO`` (:class:`HubQueue`,
    ``api`` an ``HfApi``-like object); ``None``: :func:`default_queue_spec`."""
    spec = os.fspath(spec) if spec is not None else default_queue_spec()
    if spec.startswith("hf://"):
        m = re.match(r"^hf://datasets/([^/@]+/[^/@]+)/?$", spec)
        if not m:
            raise QueueError(f"queue {spec!r}: a Hub queue is hf://datasets/OWNER/REPO")
        from harness.queue_hub import HubQueue

        return HubQueue(m[1], api=api)
    from harness.queue_local import LocalQueue

    return LocalQueue(spec)
