"""The queue's worker: evaluate a claimed request, record the outcome, rebuild the leaderboard.

``kinetix-bench queue run`` loops over :func:`run_request`: it evaluates a RUNNING request
exactly as ``kinetix-bench eval`` / ``finetune`` do (:func:`harness.scoring.score`, after
checking that the submission still has the checkpoint sha256 it was submitted with), marks it
FINISHED with the record's path or FAILED with a one-line error and a log (the evaluation's
output and the traceback), and puts it back to PENDING on Ctrl-C. :func:`rebuild_leaderboard`
then rebuilds the leaderboard from the records. :func:`submission_ref` is what ``submit`` stores
for a submission, :func:`resolve_submission_ref` what the worker loads again.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import traceback
from pathlib import Path

from harness.leaderboard.queue.base import REPO_ROOT

__all__ = [
    "REBUILD",
    "evaluate_request",
    "rebuild_leaderboard",
    "resolve_submission_ref",
    "run_request",
    "submission_ref",
]

#: What ``queue run`` calls after new records were written (``build_leaderboard(records_dir)``).
REBUILD = ("harness.leaderboard", "build_leaderboard")


# --------------------------------------------------------------------- submission references
def submission_ref(spec: str, submission) -> tuple[str, str]:
    """``(ref, kind)`` to store for a submission given as ``spec`` and loaded as ``submission``
    (a :class:`harness.submissions.loading.Submission`). A local folder inside the checkout becomes
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
            from harness.submissions.refs import pinned_reference
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


def evaluate_request(
    req,
    records: Path,
    *,
    offline: bool = False,
    no_cache: bool = False,
    cache_dir: str | None = None,
    chunk: int = 32,
    bootstrap_reps: int = 10_000,
) -> str:
    """Scores ``req`` as ``kinetix-bench eval`` / ``finetune`` do
    (:func:`harness.scoring.score`); returns the record's path. The options are those of
    ``queue run`` (``--offline``, ``--no-cache``, ``--cache-dir``, ``--chunk``,
    ``--bootstrap-reps``)."""
    from harness.leaderboard.queue.request import QueueError
    from harness.scoring.pipeline import score
    from harness.scoring.protocols import ZeroShot, parse_protocol
    from harness.submissions.loading import load_submission

    ref = resolve_submission_ref(req.submission)
    sub = load_submission(ref, benchmark=req.benchmark, offline=offline or None)
    if sub.sha256 != req.submission["sha256"]:
        raise QueueError(
            f"{ref}: the checkpoint changed since it was submitted (sha256 {sub.sha256[:16]}..., "
            f"submitted {req.submission['sha256'][:16]}...); submit it again"
        )
    protocol = parse_protocol(req.protocol)
    if isinstance(protocol, ZeroShot):
        cache = None if no_cache else (cache_dir or "default")
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
        chunk=chunk,
        bootstrap_reps=bootstrap_reps,
        offline=offline or None,
        log=log,
    )
    log(
        f"{scored.submission.id} on {req.benchmark} ({protocol.id}): IQM "
        f"{scored.record['metrics']['solve_rate']['iqm']:.3f}; record {scored.record_path}"
    )
    return str(scored.record_path)


def run_request(queue, req, *, records: Path, worker: str, echo: bool, **options):
    """Evaluates a claimed (RUNNING) request; returns it FINISHED or FAILED. Output of the
    evaluation goes to a log buffer (and to stderr when ``echo``). ``options``: those of
    :func:`evaluate_request`."""
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
            record = evaluate_request(req, records, **options)
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
