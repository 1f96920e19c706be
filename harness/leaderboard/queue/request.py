"""The request record of the submission queue (schema ``request/1``; the file format, the id and
the life cycle are described in :mod:`harness.leaderboard.queue`, which re-exports every name
here).

* :class:`Request`: one evaluation request, parsed and checked from JSON (:meth:`Request.from_json`)
  and written back (:meth:`Request.to_json`); :func:`check_request` checks every field;
* :func:`request_id` / :func:`check_request_id`: ``<sha256[:16]>__<benchmark>__<protocol>``;
* :func:`new_request` (a fresh PENDING one) and :func:`transition` (a move allowed by
  :data:`TRANSITIONS`, the run's fields kept in ``history`` when it goes back to PENDING);
* :class:`QueueError` and its subclasses, which name the request or file and the problem;
  timestamps are :func:`now_iso` strings (UTC, microseconds, ``Z``).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re

__all__ = [
    "SCHEMA",
    "PENDING",
    "RUNNING",
    "FINISHED",
    "FAILED",
    "STATUSES",
    "TRANSITIONS",
    "QueueError",
    "DuplicateRequestError",
    "TransitionError",
    "Request",
    "request_id",
    "check_request_id",
    "check_request",
    "new_request",
    "transition",
    "now_iso",
    "parse_iso",
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
    """One evaluation request (fields: see the :mod:`harness.leaderboard.queue` docstring)."""

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
