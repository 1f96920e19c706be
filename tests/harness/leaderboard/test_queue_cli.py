"""The ``kinetix-bench submit`` and ``kinetix-bench queue`` commands (run, list, show, requeue)
on a local folder queue and on a fake Hub queue; the queue library itself is tested in
test_queue.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import types
from pathlib import Path

import pytest
from queue_helpers import BENCH, NOOP, FakeHfApi, req

from harness.cli import main
from harness.leaderboard.queue import FAILED, FINISHED, PENDING, Request, new_request
from harness.leaderboard.queue.local import LocalQueue


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------------------- CLI
def noop_request(ref: str | Path = NOOP, kind: str = "local") -> Request:
    from harness.submissions import load_submission

    sub = load_submission(ref)
    return new_request(str(ref), kind, sub.sha256, sub.id, BENCH, "zero-shot@v1")


@pytest.mark.slow
def test_submit_enqueues_after_the_dry_run(tmp_path, capsys):
    """The real dry-run (checks + a jitted rollout on handmade-s-v1), then the request."""
    q = tmp_path / "requests"
    code, out, err = run(capsys, "submit", "noop", "--benchmark", BENCH, "--queue", q, "--json")
    assert code == 0, err
    (msg,) = json_lines(out)
    rid = msg["request_id"]
    assert msg["what"] == "submit" and msg["dry_run"]["ok"] and msg["dry_run"]["rollout"]
    stored = LocalQueue(q).get(rid)
    assert stored.status == PENDING and stored.benchmark == BENCH
    assert stored.submission["ref"] == "submissions/noop"  # repo-relative
    assert stored.submission["sha256"] == noop_request().submission["sha256"]
    # a duplicate is refused before the rollout, with one error line
    code, out, err = run(capsys, "submit", NOOP, "--benchmark", BENCH, "--queue", q)
    assert code == 2 and out == "" and "rollout" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: request {rid} is already PENDING")
    code, out, _ = run(capsys, "queue", "list", "--queue", q, "--json")
    assert code == 0 and [r["request_id"] for r in json_lines(out)] == [rid]
    code, out, _ = run(capsys, "queue", "show", rid, "--queue", q)
    assert code == 0 and "PENDING" in out and "submissions/noop" in out


@pytest.fixture
def quick_rollout(monkeypatch):
    """``submit`` with its rollout stubbed out (the checks still run): fast enqueue tests."""
    from harness.commands import submit

    calls = []

    def rollout(sub, bench, attempts, steps, log):
        calls.append(sub.id)
        rollout = {"attempts": attempts, "steps": steps, "solved": 0, "mean_return": 0.0}
        env = types.SimpleNamespace(
            size=types.SimpleNamespace(name="S"), obs_type="entity", action_type="multi_discrete"
        )
        return rollout, "handmade-s/x", BENCH, env

    monkeypatch.setattr(submit, "_rollout", rollout)
    return calls


def test_submit_duplicates_and_force(tmp_path, capsys, quick_rollout):
    q = tmp_path / "requests"
    code, out, err = run(capsys, "submit", NOOP, "--benchmark", BENCH, "--queue", q)
    assert code == 0, err
    rid = noop_request().request_id
    assert f"queued  {rid}  (PENDING in {q})" in out and quick_rollout == ["noop"]
    code, _, err = run(capsys, "submit", "noop", "--benchmark", BENCH, "--queue", q)
    assert code == 2 and f"error: request {rid} is already PENDING" in err
    assert quick_rollout == ["noop"]  # refused before the rollout
    LocalQueue(q).claim("w:1")
    LocalQueue(q).finish(rid, "records/noop/x.json", worker="w:1")
    code, _, err = run(capsys, "submit", "noop", "--benchmark", BENCH, "--queue", q)
    assert code == 2 and "already FINISHED (record records/noop/x.json); pass --force" in err
    code, out, err = run(capsys, "submit", "noop", "--queue", q, "--force", "--json")
    assert code == 0, err
    (msg,) = json_lines(out)
    again = msg["request"]
    assert again["status"] == PENDING and again["history"][0]["status"] == FINISHED
    # a different protocol is a different request
    code, out, _ = run(capsys, "submit", "noop", "--queue", q, "--protocol", "finetune-1e5@v1")
    assert code == 0 and len(LocalQueue(q).list()) == 2


def test_submit_to_a_hub_queue(tmp_path, capsys, quick_rollout, monkeypatch):
    import harness.leaderboard.queue.spec as queue_module

    api = FakeHfApi(tmp_path)
    real = queue_module.open_queue
    monkeypatch.setattr(queue_module, "open_queue", lambda spec=None: real(spec, api=api))
    spec = "hf://datasets/org/queue"
    code, out, err = run(capsys, "submit", "noop", "--queue", spec, "--json")
    assert code == 0, err
    rid = json_lines(out)[0]["request_id"]
    stored = json.loads(api.files()[f"requests/{rid}.json"])
    assert stored["submission"]["ref"] == "submissions/noop" and stored["status"] == PENDING
    outside = tmp_path / "mine"
    shutil.copytree(NOOP, outside)
    (outside / "config.json").write_text((NOOP / "config.json").read_text() + " ")
    code, _, err = run(capsys, "submit", outside, "--queue", spec)
    assert code == 2 and "shared between machines" in err


def test_submit_refuses_a_bad_submission(tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(NOOP, bad)
    (bad / "config.json").write_text("nope")
    q = tmp_path / "requests"
    code, out, err = run(capsys, "submit", bad, "--benchmark", BENCH, "--queue", q)
    assert code == 2 and "config.json: not valid JSON" in err
    assert not q.exists() or LocalQueue(q).list() == []
    code, _, err = run(capsys, "submit", NOOP, "--queue", q, "--protocol", "nope@v1")
    assert code == 2 and "protocol 'nope@v1'" in err


@pytest.mark.slow
def test_queue_run_once_end_to_end(tmp_path, capsys, monkeypatch):
    """A real zero-shot evaluation of noop on handmade-s-v1 (12 levels) through the queue."""
    from harness.scoring.records import read_record

    built = []
    fake = types.SimpleNamespace(
        build_leaderboard=lambda root, records: built.append((root, records))
    )
    monkeypatch.setitem(sys.modules, "harness.leaderboard", fake)
    q, records = LocalQueue(tmp_path / "requests"), tmp_path / "records"
    rid = q.enqueue(noop_request()).request_id
    argv = ["queue", "run", "--once", "--queue", q.folder, "--out", records, "--json"]
    code, out, err = run(capsys, *argv, "--no-cache", "--offline", "--bootstrap-reps", "200")
    assert code == 0, err
    (msg,) = json_lines(out)
    assert msg["what"] == "queue-run" and msg["request_id"] == rid and msg["status"] == FINISHED
    done = q.get(rid)
    assert done.status == FINISHED and done.finished_at and done.worker.endswith(f":{os.getpid()}")
    record = read_record(done.record)
    assert Path(done.record).parent.parent == records
    assert record["submission"]["checkpoint_sha256"] == done.submission["sha256"]
    assert record["benchmark"]["benchmark_id"] == BENCH
    # the leaderboard holding the records folder was rebuilt from it
    assert built == [(records.parent, [records])]
    code, out, err = run(capsys, "queue", "run", "--queue", q.folder, "--out", records)
    assert code == 0 and out == "" and "no pending requests" in err


def test_queue_run_failures_are_recorded_with_a_log(tmp_path, capsys):
    """A submission folder deleted after it was queued, and one whose checkpoint changed:
    both FAILED with a one-line error and a log holding the traceback; exit 1."""
    gone, changed = tmp_path / "gone", tmp_path / "changed"
    shutil.copytree(NOOP, gone)
    shutil.copytree(NOOP, changed)
    q = LocalQueue(tmp_path / "requests")
    r_gone = q.enqueue(noop_request(gone))
    cfg = json.loads((changed / "config.json").read_text())
    (changed / "config.json").write_text(json.dumps(cfg | {"name": "other"}))
    r_changed = q.enqueue(
        dataclasses.replace(noop_request(changed), submitted_at="2999-01-01T00:00:00.000000Z")
    )
    cfg["name"] = "changed-again"
    (changed / "config.json").write_text(json.dumps(cfg))
    shutil.rmtree(gone)
    argv = ["queue", "run", "--queue", q.folder, "--out", tmp_path / "rec", "--json"]
    code, out, err = run(capsys, *argv)
    assert code == 1
    msgs = json_lines(out)
    assert [m["request_id"] for m in msgs] == [r_gone.request_id, r_changed.request_id]
    assert [m["status"] for m in msgs] == [FAILED, FAILED]
    gone_req, changed_req = q.get(r_gone.request_id), q.get(r_changed.request_id)
    assert gone_req.error.startswith("SubmissionError: ") and "no such folder" in gone_req.error
    assert "\n" not in gone_req.error
    assert "checkpoint changed since it was submitted" in changed_req.error
    for r in (gone_req, changed_req):
        log = Path(r.log).read_text()
        assert r.log == str(q.folder / "logs" / f"{r.request_id}.log")
        assert f"request {r.request_id}" in log and "Traceback (most recent call last)" in log
    assert not (tmp_path / "rec").exists()  # nothing evaluated
    code, out, _ = run(capsys, "queue", "list", "--status", "FAILED", "--queue", q.folder)
    assert code == 0 and out.count("FAILED") == 2 and out.startswith("ID ")
    code, out, _ = run(capsys, "queue", "requeue", r_gone.request_id, "--queue", q.folder)
    assert code == 0 and q.get(r_gone.request_id).status == PENDING


def test_queue_requeue_refuses_a_live_worker(tmp_path, capsys):
    q = LocalQueue(tmp_path)
    rid = q.enqueue(req()).request_id
    q.claim()  # this process: alive
    code, _, err = run(capsys, "queue", "requeue", rid, "--queue", tmp_path)
    assert code == 2 and "still alive" in err
    code, out, _ = run(capsys, "queue", "requeue", rid, "--queue", tmp_path, "--force", "--json")
    assert code == 0 and json.loads(out)["status"] == PENDING
    code, _, err = run(capsys, "queue", "show", "nope", "--queue", tmp_path)
    assert code == 2 and err.startswith("error: request id 'nope' is malformed")


def test_rebuild_is_skipped_without_the_leaderboard_module(monkeypatch, tmp_path):
    from harness.leaderboard.queue.worker import rebuild_leaderboard

    said = []
    monkeypatch.setitem(sys.modules, "harness.leaderboard", None)  # import fails
    assert rebuild_leaderboard(tmp_path, said.append) is None
    assert "rebuild skipped" in said[0] and "build_leaderboard" in said[0]

    def broken(root, records=()):
        raise RuntimeError("nope")

    fake = types.SimpleNamespace(build_leaderboard=broken)
    monkeypatch.setitem(sys.modules, "harness.leaderboard", fake)
    assert rebuild_leaderboard(tmp_path, said.append) is False
    assert "rebuild failed: RuntimeError: nope" in said[-1]
