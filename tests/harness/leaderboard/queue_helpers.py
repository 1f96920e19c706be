"""Helpers shared by the queue tests (test_queue.py: the library; test_queue_cli.py: the CLI).

* :func:`req`: a request for the noop submission with a made-up checkpoint hash (``sha(tag)``);
* :class:`FakeHfApi`: an in-memory Hub dataset repo, shared by threads, whose ``create_commit``
  refuses a stale ``parent_commit`` with HTTP 412 the way the Hub does; :func:`hub_queue`
  opens a :class:`~harness.leaderboard.queue.hub.HubQueue` on it with a tiny retry back-off.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import tempfile
import threading
import time
import types
from pathlib import Path

from harness.leaderboard.queue import REPO_ROOT, Request, new_request
from harness.leaderboard.queue.hub import HubQueue

NOOP = REPO_ROOT / "submissions" / "noop"
BENCH = "handmade-s-v1"


def sha(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest()


def req(tag: str = "a", benchmark: str = BENCH, protocol: str = "zero-shot@v1") -> Request:
    return new_request("submissions/noop", "local", sha(tag), tag, benchmark, protocol)


def response(status: int):
    import httpx2

    url = "https://huggingface.co/api/datasets/org/queue/commit/main"
    return httpx2.Response(status, request=httpx2.Request("POST", url))


class FakeHfApi:
    """An in-memory Hub with one dataset repo and its commit history, shared by threads.

    Implements what HubQueue uses: ``repo_info``, ``snapshot_download`` (into a fresh temp
    folder per call), ``create_commit`` (refused with HfHubHTTPError 412 when ``parent_commit``
    is not the branch head, as the Hub does) and ``create_repo``."""

    def __init__(self, root: Path, exists: bool = True, delay: float = 0.0):
        self.root, self.delay = root, delay
        self.lock = threading.Lock()
        self.commits: dict[str, tuple[str | None, dict[str, bytes]]] = {}
        self.head: str | None = None
        self.counter = itertools.count()
        self.rejected = 0
        self.parents_passed: list[str | None] = []  # parent_commit of each accepted commit
        self.after_read = None  # test hook, called (outside the lock) after a snapshot read,
        self.skip_reads = 0  # ... once this many reads have gone by
        if exists:
            self.create_repo("org/queue", repo_type="dataset")

    def _sha(self) -> str:
        return hashlib.sha1(str(next(self.counter)).encode()).hexdigest()

    def create_repo(self, repo_id, *, repo_type=None, exist_ok=False, **_):
        with self.lock:
            if self.head is None:
                self.head = self._sha()
                self.commits[self.head] = (None, {".gitattributes": b""})

    def repo_info(self, repo_id, *, repo_type=None, revision=None, **_):
        from huggingface_hub.errors import RepositoryNotFoundError

        assert repo_type == "dataset" and revision == "main"
        with self.lock:
            if self.head is None:
                raise RepositoryNotFoundError("404 Repository Not Found", response=response(404))
            return types.SimpleNamespace(sha=self.head)

    def snapshot_download(self, repo_id, *, repo_type=None, revision=None, allow_patterns, **_):
        with self.lock:
            files = dict(self.commits[revision][1])  # a read pinned to a commit
        time.sleep(self.delay)  # widens the window between a read and the commit
        out = Path(tempfile.mkdtemp(dir=self.root)) / revision
        for path, data in files.items():
            if any(fnmatch.fnmatch(path, p) for p in allow_patterns):
                (out / path).parent.mkdir(parents=True, exist_ok=True)
                (out / path).write_bytes(data)
        out.mkdir(parents=True, exist_ok=True)
        if self.after_read is not None:
            if self.skip_reads:
                self.skip_reads -= 1
            else:
                hook, self.after_read = self.after_read, None
                hook()
        return str(out)

    def create_commit(
        self, repo_id, operations, *, commit_message, repo_type, revision, parent_commit=None, **_
    ):
        from huggingface_hub.errors import HfHubHTTPError

        with self.lock:
            if parent_commit is not None and parent_commit != self.head:
                self.rejected += 1
                raise HfHubHTTPError(
                    "412 Client Error: Precondition Failed (A commit has happened since)",
                    response=response(412),
                )
            files = dict(self.commits[self.head][1])
            for op in operations:
                files[op.path_in_repo] = bytes(op.path_or_fileobj)
            sha = self._sha()
            self.commits[sha] = (self.head, files)
            self.parents_passed.append(parent_commit)
            self.head = sha
            return types.SimpleNamespace(oid=sha, commit_url=f"https://hub/commit/{sha}")

    def files(self) -> dict[str, bytes]:
        return dict(self.commits[self.head][1])


def hub_queue(api) -> HubQueue:
    return HubQueue("org/queue", api=api, backoff_s=0.0005)
