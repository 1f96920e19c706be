"""Opening a queue from a spec: :func:`open_queue` picks the backend.

A folder is a :class:`~harness.leaderboard.queue.local.LocalQueue`, ``hf://datasets/OWNER/REPO`` a
:class:`~harness.leaderboard.queue.hub.HubQueue`; no spec is :func:`default_queue_spec`
(``$KINETIX_BENCH_QUEUE`` or ``leaderboard/requests/``).
"""

from __future__ import annotations

import os
import re

from harness.leaderboard.queue.base import DEFAULT_QUEUE_DIR, QUEUE_ENV, RequestQueue
from harness.leaderboard.queue.hub import HubQueue
from harness.leaderboard.queue.local import LocalQueue
from harness.leaderboard.queue.request import QueueError

__all__ = ["default_queue_spec", "open_queue"]


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
        return HubQueue(m[1], api=api)
    return LocalQueue(spec)
