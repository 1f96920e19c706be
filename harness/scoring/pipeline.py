"""Score one submission on one benchmark with one protocol, and write its result record.

:func:`score` is the library form of ``kinetix-bench eval`` / ``kinetix-bench finetune``; the two
commands, ``kinetix-bench queue run`` and ``kinetix-bench leaderboard refresh`` all call it, so a
record means the same thing whichever way it was made. In order it

1. loads the benchmark's levels (:func:`harness.levels.load_benchmark`: the Hub cache, the
   Hub, or the bundled copy; every level hash verified);
2. loads the submission with every safety check (:func:`harness.submissions.load_submission`),
   unless an already loaded :class:`~harness.submissions.Submission` is passed;
3. picks the environment: the benchmark's size, the submission's observation and action types
   (``entity`` / ``multi_discrete`` for parameter-free policies), Kinetix's physics for Kinetix
   checkpoints (``kinetix_parity``) and the protocol's physics setting;
4. runs the protocol: :class:`~harness.scoring.protocols.ZeroShot` through
   :func:`harness.scoring.evaluation.evaluate` (every level x attempt in one compiled program,
   resumable through a per-chunk cache), :class:`~harness.scoring.protocols.FineTune` through
   :func:`harness.scoring.finetuning.run_finetune` (PPO per level and training seed, from the
   checkpoint and from scratch);
5. computes the statistics and writes the record JSON and its per-level Parquet atomically
   under ``out`` (``{out}/{submission}/{benchmark}__{protocol}.json``,
   :func:`harness.scoring.records.write_record`).

As one of several cooperating processes (:mod:`kinetix.distributed`) every process runs these
steps on the same inputs and shares the work of step 4; only process 0 reads and writes the
caches and writes the record.

Errors are the typed errors of those steps (``BenchmarkError``, ``SubmissionError``,
``ProtocolError``, ``RecordError``, ...); nothing is written unless the whole run succeeded.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_EVAL_CACHE",
    "DEFAULT_FINETUNE_CACHE",
    "Scored",
    "resolve_submission",
    "score",
]

#: Per-chunk zero-shot results, keyed by submission, protocol, physics and level hashes.
DEFAULT_EVAL_CACHE = Path(os.path.expanduser("~/.cache/kinetix-bench/eval"))
#: Per-(level, seed) fine-tuning outcomes.
DEFAULT_FINETUNE_CACHE = Path(os.path.expanduser("~/.cache/kinetix-bench/finetune"))


@dataclasses.dataclass(frozen=True)
class Scored:
    """One finished scoring run.

    Attributes:
        record: the result record (validated; see :mod:`harness.scoring.records`).
        record_path: where the record JSON was written.
        per_level_path: the per-level Parquet file beside it.
        submission: the loaded :class:`~harness.submissions.Submission`.
        loaded: the :class:`~harness.levels.LoadedBenchmark` scored on (its ``origin`` says
            where the levels came from).
        protocol: the protocol object run.
        outcomes: the raw per-attempt arrays: zero-shot ``{"solved", "died", "return",
            "length"}``, each (L, K) for L levels and K attempts; fine-tuning
            ``{"finetuned": ..., "scratch": ...}`` of (L, S, K) arrays (S training seeds); a
            multi-seed submission (P seeds) has (L, P, K) and finetuned (L, P, S, K).
    """

    record: dict
    record_path: Path
    per_level_path: Path
    submission: Any
    loaded: Any
    protocol: Any
    outcomes: dict

    def summary(self) -> dict:
        """The one-line JSON summary ``eval --json`` / ``finetune --json`` print."""
        m = self.record["metrics"]
        sr = m["solve_rate"]
        out = {
            "record": str(self.record_path),
            "per_level": str(self.per_level_path),
            "result_id": self.record["result_id"],
            "submission": self.submission.id,
            "benchmark": self.loaded.benchmark.id,
            "protocol": self.protocol.id,
            "solve_rate": {k: sr[k] for k in ("iqm", "mean", "median", "ci95")},
            "wall_clock_s": self.record["compute"]["wall_clock_s"],
        }
        for key in ("by_size", "scratch_solve_rate", "finetune_gain"):
            if key in m:
                out[key] = m[key]
        return out


def resolve_submission(spec: str | os.PathLike) -> str:
    """A bare name with no such folder here (``noop``, ``random``, ``general-random-s-cpu``)
    names a committed submission under ``submissions/`` (the checkout's, or a wheel install's
    copy) when there is one; anything else is returned unchanged."""
    from harness.levels.home import shipped_path

    spec = str(spec)
    bare = spec and "/" not in spec and ":" not in spec and spec not in (".", "..")
    if bare and not Path(spec).exists():
        root = shipped_path(Path("submissions") / spec)
        if root.is_dir():
            return str(root)
    return spec


def score(
    submission,
    benchmark: str,
    protocol="zero-shot@v1",
    *,
    out: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = "default",
    chunk: int = 32,
    bootstrap_reps: int = 10_000,
    offline: bool | None = None,
    scratch: bool = True,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int, str], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Scored:
    """Scores ``submission`` on ``benchmark`` with ``protocol`` and writes the record.

    Args:
        submission: a folder, a Hub reference ``hf://OWNER/REPO[/SUBFOLDER][@REVISION]``,
            ``noop`` / ``random``, or an already loaded
            :class:`~harness.submissions.Submission` (then it is not loaded again).
        benchmark: a registered benchmark id or a dataset folder.
        protocol: a protocol id (``zero-shot@v1``, ``kinetix-zero-shot@v1``,
            ``finetune-1e5@v1``, ...) or a protocol object.
        out: the records folder (default :func:`harness.levels.home.default_records_dir`: the
            checkout's ``leaderboard/records`` or ``$KINETIX_BENCH_HOME/leaderboard/records``,
            never relative to the current directory).
        cache_dir: the per-chunk (zero-shot) or per-run (fine-tuning) result cache that makes
            an interrupted run resume; ``"default"``: :data:`DEFAULT_EVAL_CACHE` /
            :data:`DEFAULT_FINETUNE_CACHE`; ``None``: no cache.
        chunk: zero-shot: levels per compiled call.
        bootstrap_reps: bootstrap resamples of the confidence intervals.
        offline: never contact the Hub (``None``: ``$KINETIX_BENCH_OFFLINE`` /
            ``$HF_HUB_OFFLINE``).
        scratch: fine-tuning: also run (or read from the cache) the from-scratch runs and record
            the gain over them.
        progress: called with the number of units just finished (levels for zero-shot,
            training runs for fine-tuning).
        on_start: called once, before the work starts, with the total number of units and a
            label (``"<submission> on <benchmark>"``), e.g. to size a progress bar.
        log: receives one-line notes (where the levels came from, ...).

    Returns:
        The :class:`Scored` run (the record is already written).
    """
    from harness.levels.home import default_records_dir
    from harness.levels.loading import load_benchmark
    from harness.scoring.protocols import FineTune, ZeroShot, parse_protocol
    from harness.submissions.loading import Submission, check_compatible, load_submission
    from kinetix.compiled_programs import release_compiled_programs_if_needed

    out = default_records_dir() if out is None else out

    # A process that scores many runs (queue run, leaderboard refresh) keeps every program it
    # compiled; drop them before the kernel's memory-map limit is near (a crash otherwise).
    release_compiled_programs_if_needed()
    if isinstance(protocol, str):
        protocol = parse_protocol(protocol)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()
    loaded = load_benchmark(benchmark, offline=offline, log=log)
    if isinstance(submission, Submission):
        sub = submission
        check_compatible(sub, loaded.benchmark)
    else:
        sub = load_submission(
            resolve_submission(submission), benchmark=loaded.benchmark, offline=offline
        )
    label = f"{sub.id} on {loaded.benchmark.id}"
    if isinstance(protocol, ZeroShot):
        return _zero_shot(
            sub, loaded, protocol, out, cache_dir, chunk, bootstrap_reps, progress, on_start,
            label, started, t0,
        )  # fmt: skip
    if isinstance(protocol, FineTune):
        return _finetune(
            sub, loaded, protocol, out, cache_dir, scratch, bootstrap_reps, progress, on_start,
            label, started, t0,
        )  # fmt: skip
    raise TypeError(f"protocol: cannot score with {type(protocol).__name__}")


def _env_config(sub, bench, protocol):
    from kinetix import EnvConfig

    return EnvConfig(
        size=bench.size,
        obs_type="entity" if sub.obs_type == "any" else sub.obs_type,
        action_type="multi_discrete" if sub.action_type == "any" else sub.action_type,
        kinetix_parity=sub.kind == "kinetix",
        physics_setting=getattr(protocol, "physics_setting", None),  # None: the default physics
    )


def _zero_shot(
    sub,
    loaded,
    protocol,
    out,
    cache_dir,
    chunk,
    reps,
    progress,
    on_start,
    label,
    started,
    t0,
    policy=None,
) -> Scored:
    """The zero-shot run of :func:`score` (and of :func:`harness.scoring.evaluate_policy`,
    which passes its in-process ``policy``, a
    :class:`~harness.submissions.interface.BatchedPolicy`)."""
    from harness.scoring.records import make_record
    from harness.scoring.seeds import evaluate_seeds, pooled_attempts

    env_config = _env_config(sub, loaded.benchmark, protocol)
    if policy is None and getattr(sub, "program", None) is not None:  # an exported program
        from harness.submissions.exported import exported_batched_policy

        policy = exported_batched_policy(sub.program, sub.sha256)
    cache = DEFAULT_EVAL_CACHE if cache_dir == "default" else cache_dir
    seed_ids = getattr(sub, "seed_ids", None)  # a multi-seed submission: every seed is scored
    if on_start is not None:
        on_start(len(loaded.level_ids) * len(seed_ids or [0]), label)
    timing: dict = {}
    outcomes = evaluate_seeds(
        sub,
        loaded,
        protocol,
        env_config,
        policy=policy,
        chunk=chunk,
        cache_dir=None if cache is None else Path(cache),
        progress=progress,
        timing=timing,
    )
    record, table = make_record(
        submission=sub,
        loaded=loaded,
        protocol=protocol,
        outcomes=outcomes,
        env_config=env_config,
        # a resumed run adds the time its cached chunks took when they were computed
        wall_clock_s=time.perf_counter() - t0 + timing["cached_compute_s"],
        started_at=started,
        bootstrap_reps=reps,
        submission_seeds=seed_ids,
    )
    pooled = pooled_attempts(outcomes, seed_ids is not None)
    record["metrics"].update(protocol.extra_metrics(loaded.level_ids, pooled))
    jpath, ppath = _write(out, record, table)
    return Scored(record, Path(jpath), Path(ppath), sub, loaded, protocol, outcomes)


def _write(out, record, table):
    """Writes the record on process 0 only (every process has it; the others write nothing);
    returns its paths on every process."""
    from harness.scoring.records import record_paths, validate_record, write_record
    from kinetix.distributed import is_primary

    if is_primary():
        return write_record(out, record, table)
    validate_record(record)
    return record_paths(out, record)


def _finetune(
    sub, loaded, protocol, out, cache_dir, scratch, reps, progress, on_start, label, started, t0
) -> Scored:
    from harness.scoring.records import make_record
    from harness.scoring.seeds import finetune_seeds, gain_matrices
    from harness.scoring.stats import aggregate, finetune_gain

    env_config = _env_config(sub, loaded.benchmark, protocol)
    cache = DEFAULT_FINETUNE_CACHE if cache_dir == "default" else cache_dir
    seed_ids = getattr(sub, "seed_ids", None)  # a multi-seed submission: every seed fine-tuned
    n_runs = len(loaded.level_ids) * len(protocol.train_seeds) * (len(seed_ids or [0]) + scratch)
    if on_start is not None:
        on_start(n_runs, label)
    res = finetune_seeds(
        sub,
        loaded,
        protocol,
        env_config,
        cache_dir=None if cache is None else Path(cache),
        progress=progress,
        scratch=scratch,
    )
    per_update = protocol.num_envs * protocol.num_steps
    trained = max(1, protocol.budget // per_update) * per_update * n_runs
    record, table = make_record(
        submission=sub,
        loaded=loaded,
        protocol=protocol,
        outcomes=res["finetuned"],
        env_config=env_config,
        wall_clock_s=time.perf_counter() - t0,
        started_at=started,
        bootstrap_reps=reps,
        train_seeds=list(protocol.train_seeds),
        env_steps=trained,
        submission_seeds=seed_ids,
    )
    if "scratch" in res:
        ft, sc = gain_matrices(res, seed_ids is not None)
        agg = aggregate(sc, reps=reps)
        record["metrics"]["scratch_solve_rate"] = {
            k: float(agg[k]["value"]) for k in ("iqm", "mean", "median", "optimality_gap")
        }
        gain = finetune_gain(ft, sc, reps=reps)
        record["metrics"]["finetune_gain"] = {
            k: {"value": float(v["value"]), "ci95": [float(v["ci_low"]), float(v["ci_high"])]}
            for k, v in gain.items()
        }
    jpath, ppath = _write(out, record, table)
    return Scored(record, Path(jpath), Path(ppath), sub, loaded, protocol, res)
