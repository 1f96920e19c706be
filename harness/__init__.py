"""harness: level datasets, submissions, scoring, the leaderboard and the CLI.

Score a submission from Python the way ``kinetix-bench eval`` does::

    import harness
    scored = harness.score("submissions/random", "handmade-s-v1", "zero-shot@v1", out="records")
    scored.record["metrics"]["solve_rate"]["iqm"], scored.record_path

Any jittable JAX policy ``policy_fn(params, obs, key) -> action`` can be exported as a submission
(:func:`export_policy`: a ``jax.export`` program, scored without running your Python) or scored
in-process (:func:`evaluate_policy`: an unverified record, shown apart on the leaderboard).

The public names in ``__all__`` are imported lazily (on first use), so ``import harness`` and
``kinetix-bench --help`` stay fast and do not start JAX. One subpackage per concept, each with
its own (lazy) public API; imports go one way, top to bottom of this list, and
``tests/test_import_graph.py`` checks it:

* :mod:`harness.levels`: the benchmark registry and :func:`load_benchmark`, dataset build,
  recipes, card, manifest, Hub I/O, the imported-level registry;
* :mod:`harness.submissions`: submission formats and safe loading, safetensors checks, Hub
  references, policies;
* :mod:`harness.scoring`: protocols, the rollout engine
  (:func:`harness.scoring.evaluate`), fine-tuning, statistics, result records and
  :func:`score`;
* :mod:`harness.leaderboard`: table, compare, page, plots, gallery, push and
  :mod:`harness.leaderboard.queue`, the submission queue that feeds it;
* :mod:`harness.bench`: the throughput benchmarks (``bench`` and ``demo``), beside the levels at
  the bottom: they use only ``jax2d`` and ``kinetix``;
* :mod:`harness.commands` and :mod:`harness.cli`: the ``kinetix-bench`` console script
  (argparse, one library call per command).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it
_EXPORTS = {
    "BENCHMARKS": "harness.levels.registry",
    "Benchmark": "harness.levels.registry",
    "LoadedBenchmark": "harness.levels.loading",
    "get_benchmark": "harness.levels.registry",
    "load_benchmark": "harness.levels.loading",
    "Submission": "harness.submissions.loading",
    "SubmissionError": "harness.submissions.errors",
    "load_submission": "harness.submissions.loading",
    "export_policy": "harness.submissions.export",
    "export_registered": "harness.submissions.export",
    "FineTune": "harness.scoring.protocols",
    "KinetixZeroShot": "harness.scoring.protocols",
    "ProtocolError": "harness.scoring.protocols",
    "ZeroShot": "harness.scoring.protocols",
    "parse_protocol": "harness.scoring.protocols",
    "attempt_keys": "harness.scoring.protocols",
    "episode_keys": "harness.scoring.attempts",
    "protocol_attempts": "harness.scoring.attempts",
    "evaluate_policy": "harness.scoring.local",
    "Agent": "harness.scoring.evaluation",
    "aggregate": "harness.scoring.stats",
    "finetune_gain": "harness.scoring.stats",
    "iqm": "harness.scoring.stats",
    "probability_of_improvement": "harness.scoring.stats",
    "RecordError": "harness.scoring.records",
    "make_record": "harness.scoring.records",
    "read_record": "harness.scoring.records",
    "validate_record": "harness.scoring.records",
    "write_record": "harness.scoring.records",
    "Scored": "harness.scoring.pipeline",
    "score": "harness.scoring.pipeline",
    "build_leaderboard": "harness.leaderboard.build",
    "open_queue": "harness.leaderboard.queue.spec",
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
    "attempt_keys",
    "build_leaderboard",
    "episode_keys",
    "evaluate_policy",
    "export_policy",
    "export_registered",
    "finetune_gain",
    "get_benchmark",
    "iqm",
    "load_benchmark",
    "load_submission",
    "make_record",
    "open_queue",
    "parse_protocol",
    "probability_of_improvement",
    "protocol_attempts",
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
