"""A submission queue in a Hugging Face Hub dataset repo (see :mod:`harness.leaderboard.queue`)::

    requests/<request_id>.json      one request each
    requests/logs/<request_id>.log  the log of a FAILED run

Every write is ONE ``create_commit`` on ``main`` with ``parent_commit`` = the head the writer
read its data at: the Hub refuses the commit (HTTP 412 Precondition Failed; 409 Conflict while
another commit is in flight) when anyone committed since, and the writer then re-reads at the
new head and re-applies its change (with a randomised, growing pause), so concurrent writers
never overwrite each other and a request is never claimed twice. Reads are pinned to a commit
(``snapshot_download(revision=<sha>, allow_patterns=...)``), so a writer's data and its
``parent_commit`` always agree.

The ``api`` is an ``huggingface_hub.HfApi`` (default: a new one with ``token``); tests pass a fake
that implements the methods used here: ``repo_info``, ``snapshot_download``, ``create_commit``
and ``create_repo``. The repo is created (``exist_ok``) on the first write if it is missing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from harness.leaderboard.queue.base import RequestQueue
from harness.leaderboard.queue.request import QueueError, Request

__all__ = ["HubQueue", "CONFLICT_STATUS", "is_conflict"]

#: HTTP statuses the Hub answers a commit with when ``parent_commit`` is stale (412) or another
#: commit to the branch is in flight (409): re-read and try again.
CONFLICT_STATUS = (409, 412)


def _status(e: BaseException) -> int | None:
    response = getattr(e, "response", None)
    return getattr(response, "status_code", None)


def is_conflict(e: BaseException) -> bool:
    """True if ``e`` (or an exception it was raised from) is a Hub 409/412 HTTP error."""
    from huggingface_hub.errors import HfHubHTTPError

    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, HfHubHTTPError) and _status(e) in CONFLICT_STATUS:
            return True
        e = e.__cause__ or e.__context__
    return False


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(e).__name__


class HubQueue(RequestQueue):
    """A queue in the Hub dataset repo ``repo_id`` (branch ``revision``, folder ``prefix``).

    ``max_attempts``: commits tried per write before giving up; ``backoff_s``: the base pause
    after a conflict (doubling, capped at 16x, times a random factor in [0.5, 1))."""

    shared = True

    def __init__(
        self,
        repo_id: str,
        api=None,
        *,
        revision: str = "main",
        prefix: str = "requests",
        token=None,
        cache_dir=None,
        max_attempts: int = 30,
        backoff_s: float = 0.5,
    ):
        from harness.levels.hub_rules import validate_repo_id

        self.repo_id = validate_repo_id(repo_id, "queue")
        self._api = api
        self.revision = revision
        self.prefix = prefix.strip("/")
        self.token = token
        self.cache_dir = cache_dir
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.location = f"hf://datasets/{self.repo_id}"
        #: commits refused as stale by this object (for reports and tests)
        self.conflicts = 0

    @property
    def api(self):
        if self._api is None:
            from huggingface_hub import HfApi

            self._api = HfApi(token=self.token)
        return self._api

    def log_location(self, rid: str) -> str:
        return f"{self.location}/{self.prefix}/logs/{rid}.log"

    def _hub_errors(self):
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        return (HfHubHTTPError, OfflineModeIsEnabled)

    # ---------------------------------------------------------------------------- reads
    def _head(self) -> str | None:
        """The branch's head commit, or None when the repo does not exist."""
        from huggingface_hub.errors import RepositoryNotFoundError

        try:
            info = self.api.repo_info(self.repo_id, repo_type="dataset", revision=self.revision)
        except RepositoryNotFoundError:
            return None
        except self._hub_errors() as e:
            raise QueueError(f"{self.location}: cannot read the queue ({_short(e)})") from e
        return info.sha

    def _files(self, head: str, pattern: str) -> dict[str, bytes]:
        """``{path relative to prefix: bytes}`` of the files matching ``pattern`` at ``head``."""
        try:
            folder = self.api.snapshot_download(
                self.repo_id,
                repo_type="dataset",
                revision=head,
                allow_patterns=[f"{self.prefix}/{pattern}"],
                cache_dir=self.cache_dir,
            )
        except self._hub_errors() as e:
            raise QueueError(f"{self.location}: cannot read the queue ({_short(e)})") from e
        root = Path(folder) / self.prefix
        if not root.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in sorted(root.glob(pattern)) if p.is_file()}

    def _parse(self, name: str, data: bytes, head: str) -> Request:
        source = f"{self.location}/{self.prefix}/{name}@{head[:12]}"
        req = Request.from_json(data, source)
        if f"{req.request_id}.json" != name:
            raise QueueError(f"{source}: holds request {req.request_id!r}")
        return req

    def _read_at(self, head: str | None, rid: str) -> Request | None:
        if head is None:
            return None
        name = f"{rid}.json"
        data = self._files(head, name).get(name)
        return None if data is None else self._parse(name, data, head)

    def _read(self, rid: str) -> Request | None:
        return self._read_at(self._head(), rid)

    def _read_all(self) -> list[Request]:
        head = self._head()
        if head is None:
            return []
        return [self._parse(n, d, head) for n, d in self._files(head, "*.json").items()]

    # ---------------------------------------------------------------------------- writes
    def _create_repo(self) -> None:
        try:
            self.api.create_repo(self.repo_id, repo_type="dataset", exist_ok=True)
        except self._hub_errors() as e:
            raise QueueError(f"{self.location}: cannot create the queue repo ({_short(e)})") from e

    def _mutate(
        self,
        rid: str,
        fn: Callable[[Request | None], Request],
        message: str,
        files: dict[str, bytes] | None = None,
    ) -> Request:
        from huggingface_hub import CommitOperationAdd

        for attempt in range(self.max_attempts):
            head = self._head()
            if head is None:
                self._create_repo()
                head = self._head()
            new = fn(self._read_at(head, rid))
            operations = [
                CommitOperationAdd(
                    path_in_repo=f"{self.prefix}/{rid}.json", path_or_fileobj=new.to_json()
                )
            ] + [
                CommitOperationAdd(path_in_repo=f"{self.prefix}/{rel}", path_or_fileobj=data)
                for rel, data in (files or {}).items()
            ]
            try:
                self.api.create_commit(
                    self.repo_id,
                    operations,
                    commit_message=message,
                    repo_type="dataset",
                    revision=self.revision,
                    parent_commit=head,
                )
            except Exception as e:
                if is_conflict(e):
                    self.conflicts += 1
                    pause = self.backoff_s * min(2**attempt, 16) * random.uniform(0.5, 1.0)
                    time.sleep(pause)
                    continue
                if isinstance(e, self._hub_errors()):
                    raise QueueError(
                        f"{self.location}: cannot write request {rid} ({_short(e)})"
                    ) from e
                raise
            return new
        raise QueueError(
            f"{self.location}: cannot write request {rid}: {self.max_attempts} commits in a row "
            "were refused because other writers committed first; try again later"
        )
