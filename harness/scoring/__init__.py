"""Scoring: protocols, the evaluation engine, fine-tuning, statistics, records, :func:`score` (§8).

* :mod:`~harness.scoring.protocols`: ``zero-shot@v1``, ``kinetix-zero-shot@v1`` and
  ``finetune-<budget>@v1`` (:func:`parse_protocol`, attempt keys, Kinetix's per-size averages);
* :mod:`~harness.scoring.evaluation`: the rollout engine, :func:`evaluate` (every level x attempt
  in one compiled program, chunked and cached); :mod:`~harness.scoring.batched`: its batch-first
  program for exported and in-process policies;
* :mod:`~harness.scoring.attempts`: the protocol's levels and keys as public API
  (:func:`protocol_attempts`, :func:`episode_keys`);
* :mod:`~harness.scoring.episodes`: episodes of any submission on any level (``render`` and
  ``env rollout --submission``, the leaderboard's GIFs);
* :mod:`~harness.scoring.local`: :func:`evaluate_policy`, any jittable policy scored in-process
  (an unverified record);
* :mod:`~harness.scoring.finetuning`: the fine-tuning runs (PPO per level and training seed);
* :mod:`~harness.scoring.seeds`: every training seed of a multi-seed submission, zero-shot and
  fine-tuned, with the protocol's own attempt keys;
* :mod:`~harness.scoring.stats`: IQM, mean, median, optimality gap, stratified-bootstrap CIs
  (over attempts, or over runs = seeds x tasks = levels as rliable), probability of improvement;
* :mod:`~harness.scoring.records`: result records (JSON + per-level Parquet): make, read,
  write; :mod:`~harness.scoring.record_validation`: the published JSON Schema and its checks;
* :mod:`~harness.scoring.pipeline`: :func:`score`, all of the above in one call (what ``eval``,
  ``finetune``, ``queue run`` and ``leaderboard refresh`` run);
* :mod:`~harness.scoring.selection`: :func:`select_checkpoint`, a training run's snapshots
  scored on a validation split and the best kept (``kinetix-bench select``).

May import: ``jax2d``, ``kinetix``, ``baselines``, :mod:`harness.levels` and
:mod:`harness.submissions`; nothing above it in ``harness``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it (imported on first use, so importing the package
#: stays cheap)
_EXPORTS = {
    "ProtocolError": "harness.scoring.protocols",
    "ZeroShot": "harness.scoring.protocols",
    "KinetixZeroShot": "harness.scoring.protocols",
    "FineTune": "harness.scoring.protocols",
    "parse_protocol": "harness.scoring.protocols",
    "attempt_keys": "harness.scoring.protocols",
    "DEFAULT_PROTOCOL": "harness.scoring.protocols",
    "kinetix_averages": "harness.scoring.protocols",
    "KINETIX_SIZE_GROUPS": "harness.scoring.protocols",
    "kinetix_size_group": "harness.scoring.protocols",
    "Attempt": "harness.scoring.attempts",
    "EpisodeKeys": "harness.scoring.attempts",
    "episode_keys": "harness.scoring.attempts",
    "protocol_attempts": "harness.scoring.attempts",
    "batched_program": "harness.scoring.batched",
    "first_episodes": "harness.scoring.batched",
    "evaluate_policy": "harness.scoring.local",
    "local_batched_policy": "harness.scoring.local",
    "IN_PROCESS_KIND": "harness.scoring.records",
    "is_verified": "harness.scoring.records",
    "Agent": "harness.scoring.evaluation",
    "evaluate": "harness.scoring.evaluation",
    "OUTCOMES": "harness.scoring.evaluation",
    "evaluate_seeds": "harness.scoring.seeds",
    "finetune_seeds": "harness.scoring.seeds",
    "FinetuneError": "harness.scoring.finetuning",
    "run_finetune": "harness.scoring.finetuning",
    "DEFAULT_REPS": "harness.scoring.stats",
    "CI_METHODS": "harness.scoring.stats",
    "POINT_STATS": "harness.scoring.stats",
    "StatsError": "harness.scoring.stats",
    "mean": "harness.scoring.stats",
    "median": "harness.scoring.stats",
    "iqm": "harness.scoring.stats",
    "optimality_gap": "harness.scoring.stats",
    "level_means": "harness.scoring.stats",
    "bootstrap_distribution": "harness.scoring.stats",
    "stratified_bootstrap_ci": "harness.scoring.stats",
    "aggregate": "harness.scoring.stats",
    "probability_of_improvement": "harness.scoring.stats",
    "finetune_gain": "harness.scoring.stats",
    "performance_profile": "harness.scoring.stats",
    "CI_UNITS": "harness.scoring.records",
    "SelectionError": "harness.scoring.selection",
    "select_checkpoint": "harness.scoring.selection",
    "aggregate_runs": "harness.scoring.stats",
    "stratified_bootstrap_runs_ci": "harness.scoring.stats",
    "batched_policy_for": "harness.scoring.episodes",
    "submission_config": "harness.scoring.episodes",
    "submission_episodes": "harness.scoring.episodes",
    "submission_scenes": "harness.scoring.episodes",
    "submission_episode_scenes": "harness.scoring.episodes",
    "RECORD_SCHEMA": "harness.scoring.records",
    "RECORD_SCHEMAS": "harness.scoring.records",
    "ci_unit": "harness.scoring.records",
    "has_seed_ci": "harness.scoring.records",
    "SCHEMA_FILE": "harness.scoring.records",
    "result_schema": "harness.scoring.records",
    "RecordError": "harness.scoring.records",
    "result_id": "harness.scoring.records",
    "make_record": "harness.scoring.records",
    "validate_record": "harness.scoring.records",
    "write_record": "harness.scoring.records",
    "read_record": "harness.scoring.records",
    "comparable": "harness.scoring.records",
    "per_level_table": "harness.scoring.records",
    "record_paths": "harness.scoring.records",
    "DEFAULT_EVAL_CACHE": "harness.scoring.pipeline",
    "DEFAULT_FINETUNE_CACHE": "harness.scoring.pipeline",
    "Scored": "harness.scoring.pipeline",
    "resolve_submission": "harness.scoring.pipeline",
    "score": "harness.scoring.pipeline",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
