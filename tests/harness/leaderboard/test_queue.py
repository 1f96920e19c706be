"""The submission queue library: requests and their states (harness.leaderboard.queue), the local
folder backend (harness.leaderboard.queue.local) and the Hub dataset backend
(harness.leaderboard.queue.hub).

Concurrency is tested for real: several OS processes on one LocalQueue folder, several threads
on one (fake, in-memory) Hub repo whose ``create_commit`` honours ``parent_commit`` the way the
Hub does (HTTP 412 on a stale parent). The CLI on top (``submit``, ``queue``) is tested in
test_queue_cli.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from queue_helpers import BENCH, FakeHfApi, hub_queue, req, response, sha

from harness.leaderboard.queue import (
    FAILED,
    FINISHED,
    PENDING,
    REPO_ROOT,
    RUNNING,
    DuplicateRequestError,
    QueueError,
    Request,
    TransitionError,
    new_request,
    open_queue,
    request_id,
    transition,
)
from harness.leaderboard.queue.hub import HubQueue, is_conflict
from harness.leaderboard.queue.local import LocalQueue


# ------------------------------------------------------------------------ request and states
def test_request_id_is_deterministic_and_a_file_name():
    rid = request_id(sha("x"), BENCH, "zero-shot@v1")
    assert rid == request_id(sha("x"), BENCH, "zero-shot@v1")
    assert rid == f"{sha('x')[:16]}__handmade-s-v1__zero-shot_v1"
    assert rid != request_id(sha("y"), BENCH, "zero-shot@v1")
    assert rid != request_id(sha("x"), "handmade-m-v1", "zero-shot@v1")
    assert rid != request_id(sha("x"), BENCH, "finetune-1e5@v1")
    with pytest.raises(QueueError, match="submission.sha256"):
        request_id("abc", BENCH, "zero-shot@v1")


def test_state_machine():
    r = req()
    assert r.status == PENDING and r.worker is None
    running = transition(r, RUNNING, worker="h:1")
    assert running.worker == "h:1" and running.started_at
    done = transition(running, FINISHED, record="rec.json")
    assert done.record == "rec.json" and done.finished_at and done.worker == "h:1"
    failed = transition(running, FAILED, error="boom", log="x.log")
    assert failed.error == "boom" and failed.log == "x.log"
    for bad_from, bad_to in [(done, RUNNING), (failed, RUNNING), (r, FINISHED), (r, FAILED)]:
        with pytest.raises(TransitionError, match=f"cannot go from {bad_from.status} to"):
            transition(bad_from, bad_to, worker="h:1", record="r", error="e")
    with pytest.raises(QueueError, match="needs 'record'"):
        transition(running, FINISHED)  # FINISHED without a record path
    again = transition(done, PENDING)
    assert again.status == PENDING and again.record is None and again.worker is None
    assert again.history[-1]["status"] == FINISHED and again.history[-1]["record"] == "rec.json"
    assert Request.from_json(again.to_json(), "x") == again  # JSON round trip


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        ({"schema": "request/9"}, "schema"),
        ({"status": "DONE"}, "status 'DONE'"),
        ({"request_id": "0" * 16 + "__a__b"}, "does not match its checkpoint"),
        ({"surprise": 1}, "unknown field"),
        ({"status": RUNNING}, "RUNNING request needs 'started_at'"),
        ({"worker": "h:1"}, "PENDING request has no"),
        ({"submission": {"ref": "x"}}, "'submission' must be an object"),
    ],
)
def test_bad_request_files_are_named(edit, match):
    raw = req().to_dict() | edit
    with pytest.raises(QueueError, match=match):
        Request.from_dict(raw, "queue/x.json")
    raw = req().to_dict()
    del raw["benchmark"]
    with pytest.raises(QueueError, match="queue/x.json: missing field.*benchmark"):
        Request.from_dict(raw, "queue/x.json")


# -------------------------------------------------------------------------------- LocalQueue
def test_local_queue_life_cycle(tmp_path):
    q = LocalQueue(tmp_path / "requests")
    assert q.list() == [] and q.claim("w:1") is None
    a, b = q.enqueue(req("a")), q.enqueue(req("b"))
    with pytest.raises(DuplicateRequestError, match="already PENDING"):
        q.enqueue(req("a"))
    assert [r.request_id for r in q.list(PENDING)] == [a.request_id, b.request_id]
    got = q.claim("w:1")
    assert got.request_id == a.request_id and got.status == RUNNING and got.worker == "w:1"
    with pytest.raises(DuplicateRequestError, match="already RUNNING.*worker w:1"):
        q.enqueue(req("a"), force=True)
    with pytest.raises(TransitionError, match="held by worker w:1, not w:2"):
        q.finish(a.request_id, "r.json", worker="w:2")
    q.finish(a.request_id, "r.json", worker="w:1")
    with pytest.raises(TransitionError, match="FINISHED to RUNNING|FINISHED"):
        q.finish(a.request_id, "r.json", worker="w:1")  # FINISHED -> FINISHED
    with pytest.raises(DuplicateRequestError, match="already FINISHED.*--force"):
        q.enqueue(req("a"))
    again = q.enqueue(req("a"), force=True)
    assert again.status == PENDING and again.history[0]["record"] == "r.json"
    # FIFO: b was submitted before a's re-submission
    assert q.claim("w:1").request_id == b.request_id
    failed = q.fail(b.request_id, "Boom:\n  bad\tthing", "the log\n", worker="w:1")
    assert failed.status == FAILED and failed.error == "Boom: bad thing"
    assert Path(failed.log).read_text() == "the log\n"
    assert Path(failed.log) == q.folder / "logs" / f"{b.request_id}.log"
    assert q.requeue(b.request_id).status == PENDING  # a FAILED request may be retried
    assert q.get(b.request_id).history[-1]["error"] == "Boom: bad thing"
    with pytest.raises(QueueError, match="no request"):
        q.get(request_id(sha("zzz"), BENCH, "zero-shot@v1"))
    with pytest.raises(QueueError, match="malformed"):
        q.get("../../etc/passwd")
    # files on disk are whole JSON requests, nothing else but the lock and the logs
    names = sorted(p.name for p in q.folder.iterdir())
    assert names == sorted([".queue.lock", "logs", f"{a.request_id}.json", f"{b.request_id}.json"])


def test_release_and_requeue_of_a_dead_worker(tmp_path):
    q = LocalQueue(tmp_path)
    rid = q.enqueue(req()).request_id
    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    q.claim(f"{host}:{dead.pid}")
    assert q.requeue(rid).status == PENDING  # its pid is gone
    q.claim(f"{host}:{os.getpid()}")  # alive: this very process
    with pytest.raises(QueueError, match="still alive on this host.*--force"):
        q.requeue(rid)
    assert q.requeue(rid, force=True).status == PENDING
    q.claim("elsewhere:12")
    with pytest.raises(QueueError, match="another host"):
        q.requeue(rid, timeout_s=3600)
    old = dataclasses.replace(q.get(rid), started_at="2020-01-01T00:00:00.000000Z")
    q._mutate(rid, lambda cur: old, "test")
    assert q.requeue(rid, timeout_s=3600).status == PENDING
    q.claim("w:7")
    assert q.release(rid, "w:7").status == PENDING
    with pytest.raises(TransitionError, match="already PENDING"):
        q.requeue(rid)


WRITER = """
import sys, time, hashlib
from pathlib import Path
from harness.leaderboard.queue import new_request, DuplicateRequestError
from harness.leaderboard.queue.local import LocalQueue
folder, w, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
def req(tag):
    sha = hashlib.sha256(tag.encode()).hexdigest()
    return new_request("submissions/noop", "local", sha, tag, "handmade-s-v1", "zero-shot@v1")
while not go.exists():
    time.sleep(0.002)
q = LocalQueue(folder)
refused = 0
for i in range(n):
    q.enqueue(req(f"w{w}-{i}"))
    if i == n // 2:
        try:
            q.enqueue(req("shared"))
        except DuplicateRequestError:
            refused += 1
print(refused)
"""

CLAIMER = """
import json, sys, time
from pathlib import Path
from harness.leaderboard.queue.local import LocalQueue
folder, name, go, done = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
while not go.exists():
    time.sleep(0.002)
q = LocalQueue(folder)
got = []
while True:
    writers_done = done.exists()
    r = q.claim(name)
    if r is None:
        if writers_done:
            break
        time.sleep(0.002)
        continue
    q.finish(r.request_id, "records/" + r.request_id + ".json", worker=name)
    got.append(r.request_id)
print(json.dumps(got))
"""


def test_local_queue_concurrent_processes(tmp_path):
    """4 writer processes x 10 requests (+ one request all of them submit) and 2 claimers at
    once: nothing lost, nothing claimed twice, exactly one submission of the shared one wins."""
    folder, go, done = tmp_path / "q", tmp_path / "go", tmp_path / "writers-done"
    n_writers, n = 4, 10
    py = [sys.executable, "-c"]
    writers = [
        subprocess.Popen([*py, WRITER, folder, str(w), str(n), go], stdout=subprocess.PIPE)
        for w in range(n_writers)
    ]
    claimers = [
        subprocess.Popen([*py, CLAIMER, folder, f"claimer-{c}", go, done], stdout=subprocess.PIPE)
        for c in range(2)
    ]
    go.touch()
    refused = []
    for p in writers:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        refused.append(int(out))
    done.touch()
    claimed = {}
    for c, p in enumerate(claimers):
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        claimed[f"claimer-{c}"] = json.loads(out)
    assert sum(refused) == n_writers - 1  # the shared request: one enqueue won, 3 refused
    q = LocalQueue(folder)
    everything = q.list()
    assert len(everything) == n_writers * n + 1
    assert all(r.status == FINISHED for r in everything)
    ids = [i for got in claimed.values() for i in got]
    assert len(ids) == len(set(ids)) == len(everything)  # each claimed exactly once
    assert set(ids) == {r.request_id for r in everything}
    for name, got in claimed.items():
        assert all(q.get(i).worker == name for i in got)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------- HubQueue
def test_hub_queue_life_cycle(tmp_path):
    api = FakeHfApi(tmp_path, exists=False)
    q = hub_queue(api)
    assert q.list() == [] and q.claim("w:1") is None  # no repo yet: an empty queue
    a = q.enqueue(req("a"))  # creates the repo, then commits
    with pytest.raises(DuplicateRequestError, match="already PENDING"):
        q.enqueue(req("a"))
    assert f"requests/{a.request_id}.json" in api.files()
    assert q.claim("w:1").request_id == a.request_id
    failed = q.fail(a.request_id, "it broke", "traceback...\n", worker="w:1")
    assert failed.log == f"hf://datasets/org/queue/requests/logs/{a.request_id}.log"
    assert api.files()[f"requests/logs/{a.request_id}.log"] == b"traceback...\n"
    assert q.get(a.request_id).status == FAILED
    assert q.requeue(a.request_id).status == PENDING
    # every commit was made with parent_commit = the head it read (a linear history)
    assert all(p is not None for p in api.parents_passed)
    for sha_, (parent, _) in api.commits.items():
        assert parent is None or parent in api.commits
    # a shared queue refuses local folders outside the repository
    outside = new_request("/tmp/x", "local", sha("o"), "x", BENCH, "zero-shot@v1")
    with pytest.raises(QueueError, match="shared between machines"):
        q.enqueue(outside)


def test_hub_queue_retries_a_stale_parent(tmp_path):
    """Another writer commits between our read and our commit: the Hub refuses ours (412); we
    re-read, re-apply and both changes survive."""
    api = FakeHfApi(tmp_path)
    mine, theirs = hub_queue(api), hub_queue(api)
    api.after_read = lambda: theirs.enqueue(req("theirs"))
    mine.enqueue(req("mine"))
    assert mine.conflicts == 1 and api.rejected == 1
    assert {r.submission["id"] for r in mine.list()} == {"mine", "theirs"}


def test_hub_queue_claim_race_never_double_claims(tmp_path):
    api = FakeHfApi(tmp_path)
    q1, q2 = hub_queue(api), hub_queue(api)
    rid = q1.enqueue(req("only")).request_id
    # q2 claims it while q1 is between reading it (PENDING) and committing: q1's first read
    # lists the queue, its second reads the request it then tries to claim
    api.after_read, api.skip_reads = (lambda: q2.claim("w:2")), 1
    assert q1.claim("w:1") is None  # after the refusal it re-reads: no longer PENDING
    assert q1.get(rid).worker == "w:2" and api.rejected == 1


def test_hub_errors_become_queue_errors(tmp_path):
    from huggingface_hub.errors import HfHubHTTPError

    class Forbidden(FakeHfApi):
        def create_commit(self, *a, **k):
            raise HfHubHTTPError("403 Forbidden: no write access", response=response(403))

    with pytest.raises(QueueError, match="org/queue: cannot write request .*403 Forbidden"):
        hub_queue(Forbidden(tmp_path)).enqueue(req())
    wrapped = HfHubHTTPError("500", response=response(500))
    wrapped.__context__ = HfHubHTTPError("412", response=response(412))
    assert is_conflict(wrapped) and not is_conflict(HfHubHTTPError("x", response=response(500)))


def test_hub_queue_calls_fit_the_real_hfapi(tmp_path):
    """The calls HubQueue makes, checked against the real HfApi signatures (autospec)."""
    from unittest import mock

    from huggingface_hub import CommitOperationAdd, HfApi

    api = mock.create_autospec(HfApi, instance=True)
    head = "a" * 40
    api.repo_info.return_value = types.SimpleNamespace(sha=head)
    api.snapshot_download.return_value = str(tmp_path / head)
    r = HubQueue("org/queue", api=api).enqueue(req())
    api.snapshot_download.assert_called_once_with(
        "org/queue",
        repo_type="dataset",
        revision=head,
        allow_patterns=[f"requests/{r.request_id}.json"],
        cache_dir=None,
    )
    (call,) = api.create_commit.call_args_list
    assert call.kwargs["parent_commit"] == head and call.kwargs["revision"] == "main"
    assert call.kwargs["repo_type"] == "dataset"
    (op,) = call.args[1]
    assert isinstance(op, CommitOperationAdd) and op.path_in_repo == f"requests/{r.request_id}.json"


def test_hub_queue_concurrent_threads(tmp_path):
    """4 writer threads x 10 requests and 2 claimer threads on one fake repo: every write is a
    commit with parent_commit; conflicts are retried; nothing is lost or claimed twice."""
    api = FakeHfApi(tmp_path, delay=0.002)
    n_writers, n = 4, 10
    writers_done = threading.Event()
    claimed: dict[str, list[str]] = {"c0": [], "c1": []}
    errors: list[BaseException] = []

    def writer(w):
        try:
            q = hub_queue(api)
            for i in range(n):
                q.enqueue(req(f"w{w}-{i}"))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def claimer(name):
        try:
            q = hub_queue(api)
            while True:
                done = writers_done.is_set()
                r = q.claim(name)
                if r is None:
                    if done:
                        return
                    time.sleep(0.002)
                    continue
                q.finish(r.request_id, f"records/{r.request_id}.json", worker=name)
                claimed[name].append(r.request_id)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    ws = [threading.Thread(target=writer, args=(w,)) for w in range(n_writers)]
    cs = [threading.Thread(target=claimer, args=(c,)) for c in claimed]
    for t in ws + cs:
        t.start()
    for t in ws:
        t.join(120)
    writers_done.set()
    for t in cs:
        t.join(120)
    assert not errors, errors
    everything = hub_queue(api).list()
    assert len(everything) == n_writers * n
    assert all(r.status == FINISHED for r in everything)
    ids = claimed["c0"] + claimed["c1"]
    assert len(ids) == len(set(ids)) == len(everything)
    assert api.rejected > 0  # writers did collide, and retried
    assert all(p is not None for p in api.parents_passed)
    # 40 enqueues + 40 claims + 40 finishes, each exactly one accepted commit
    assert len(api.parents_passed) == 3 * n_writers * n


def test_open_queue(tmp_path, monkeypatch):
    assert isinstance(open_queue(tmp_path), LocalQueue)
    q = open_queue("hf://datasets/org/queue", api=FakeHfApi(tmp_path))
    assert isinstance(q, HubQueue) and q.repo_id == "org/queue"
    with pytest.raises(QueueError, match="hf://datasets/OWNER/REPO"):
        open_queue("hf://org/queue")
    monkeypatch.setenv("KINETIX_BENCH_QUEUE", str(tmp_path / "env-q"))
    assert open_queue().location == str(tmp_path / "env-q")
    monkeypatch.delenv("KINETIX_BENCH_QUEUE")
    assert open_queue().location == str(REPO_ROOT / "leaderboard" / "requests")
