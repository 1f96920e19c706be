"""harness: datasets, evaluation protocols, statistics, submissions, leaderboard and the CLI.

Score a submission from Python the way ``kinetix-bench eval`` does::

    import harness
    scored = harness.score("submissions/random", "handmade-s-v1", "zero-shot@v1", out="records")
    scored.record["metrics"]["solve_rate"]["iqm"], scored.record_path

The rollout engine itself is :func:`harness.evaluate.evaluate` (not re-exported here: its name
is also its module's). The public names in ``__all__`` are imported lazily (on first use), so
``import harness`` and ``kinetix-bench --help`` stay fast and do not start JAX. Modules:

* :mod:`harness.benchmarks` (registry, :func:`load_benchmark`), :mod:`harness.manifest`,
  :mod:`harness.hub` / :mod:`harness.hub_backends` (level datasets on the Hub);
* :mod:`harness.submissions` (safe loading), :mod:`harness.protocols`, :mod:`harness.evaluate`
  (the rollout engine), :mod:`harness.finetuning`, :mod:`harness.stats`,
  :mod:`harness.records`, :mod:`harness.scoring` (all of these in one call);
* :mod:`harness.queue` (the submission queue), :mod:`harness.leaderboard`;
* :mod:`harness.cli` and :mod:`harness.commands` (the ``kinetix-bench`` console script).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it
_EXPORTS = {
    "BENCHMARKS": "harness.benchmarks",
    "Benchmark": "harness.benchmarks",
    "LoadedBenchmark": "harness.benchmarks",
    "get_benchmark": "harness.benchmarks",
    "load_benchmark": "harness.benchmarks",
    "Submission": "harness.submissions",
    "SubmissionError": "harness.submissions",
    "load_submission": "harness.submissions",
    "FineTune": "harness.protocols",
    "KinetixZeroShot": "harness.protocols",
    "ProtocolError": "harness.protocols",
    "ZeroShot": "harness.protocols",
    "parse_protocol": "harness.protocols",
    "Agent": "harness.evaluate",
    "aggregate": "harness.stats",
    "finetune_gain": "harness.stats",
    "iqm": "harness.stats",
    "probability_of_improvement": "harness.stats",
    "RecordError": "harness.records",
    "make_record": "harness.records",
    "read_record": "harness.records",
    "validate_record": "harness.records",
    "write_record": "harness.records",
    "Scored": "harness.scoring",
    "score": "harness.scoring",
    "build_leaderboard": "harness.leaderboard",
    "open_queue": "harness.queue",
}

__all__ = [
    "Agent",
    "BENCHMARKS",
    "Benchmark",
    "FineTune",
    "KinetixZeroShot",
    "LoadedBenchmark",
    "ProtocolError",
    "RecordError",
    "Scored",
    "Submission",
    "SubmissionError",
    "ZeroShot",
    "aggregate",
    "build_leaderboard",
    "finetune_gain",
    "get_benchmark",
    "iqm",
    "load_benchmark",
    "load_submission",
    "make_record",
    "open_queue",
    "parse_protocol",
    "probability_of_improvement",
    "read_record",
    "score",
    "validate_record",
    "write_record",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
