"""Result records: one JSON per (submission, benchmark, protocol) plus a per-level Parquet file.

Fields follow ``ecosystem.md`` §4 (``schema_version: "result/1"``): ``result_id`` (sha256 of
the canonical request: checkpoint sha256, benchmark id and level-set hash, protocol),
``status``, timestamps, ``submission``, ``benchmark`` (dataset repo, tag, commit, level-set
hash), ``protocol``, ``seeds``, ``metrics`` (solve rate: mean, median, IQM, optimality gap with
95% stratified-bootstrap CIs; return, length and death rate means), ``higher_is_better``,
``compute`` (env steps, wall seconds, device kind and count), ``software`` (package, simulator,
python, jax, jaxlib, flax, numpy). The per-level file has one row per (level, training seed):
``result_id, level_id, level_hash, train_seed, eval_seed, attempts, solve_rate, mean_return,
mean_length, death_rate``.

``submission.verified`` (optional, true when absent) is false for a policy scored in-process
(:func:`harness.scoring.evaluate_policy`, ``submission.kind`` ``in-process``): the leaderboard
shows such records apart and never ranks them with verified ones. Exported programs add
``submission.program`` (their declared interface, platforms and program sha256).

:func:`validate_record` checks a record against the published JSON Schema
(``harness/scoring/result_schema.json``, :func:`result_schema`; on write, on read and so in
``leaderboard build``);
:func:`write_record` writes both files atomically; "identical record" means equal after
:func:`comparable` drops timestamps and wall-clock fields.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

__all__ = [
    "RECORD_SCHEMA",
    "SCHEMA_FILE",
    "result_schema",
    "IN_PROCESS_KIND",
    "is_verified",
    "RecordError",
    "result_id",
    "make_record",
    "validate_record",
    "write_record",
    "read_record",
    "comparable",
    "per_level_table",
    "record_paths",
]

RECORD_SCHEMA = "result/1"
STATUSES = ("PENDING", "RUNNING", "FINISHED", "FAILED")
#: ``submission.kind`` of a policy scored in-process (:func:`harness.scoring.evaluate_policy`):
#: its code is not in a submission, so its record has ``submission.verified: false``.
IN_PROCESS_KIND = "in-process"


class RecordError(ValueError):
    """A result record is malformed (the message names the field)."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_id(checkpoint_sha256: str, benchmark_id: str, level_set_hash: str, protocol) -> str:
    blob = json.dumps(
        {
            "checkpoint_sha256": checkpoint_sha256,
            "benchmark_id": benchmark_id,
            "level_set_sha256": level_set_hash,
            "protocol": protocol.to_json(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _software() -> dict:
    import importlib.metadata as md
    import platform

    def v(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    from harness.levels.build import simulator_version

    return {
        "harness_version": v("kinetix-bench"),
        "simulator_version": simulator_version(),
        "python": platform.python_version(),
        "jax": v("jax"),
        "jaxlib": v("jaxlib"),
        "flax": v("flax"),
        "numpy": v("numpy"),
    }


def _metric_block(scores: np.ndarray, reps: int, seed: int) -> dict:
    from harness.scoring.stats import CI_METHODS, aggregate

    agg = aggregate(scores, reps=reps, seed=seed)
    block = {k: float(agg[k]["value"]) for k in ("iqm", "mean", "median", "optimality_gap")}
    block["ci95"] = {
        k: [float(agg[k]["ci_low"]), float(agg[k]["ci_high"])]
        for k in ("iqm", "mean", "median", "optimality_gap")
    }
    block["ci_method"] = "stratified_bootstrap"
    block["ci_interval"] = {k: CI_METHODS[k] for k in ("iqm", "mean", "median", "optimality_gap")}
    block["bootstrap_reps"] = reps
    return block


def make_record(
    *,
    submission,
    loaded,
    protocol,
    outcomes: dict[str, np.ndarray],
    env_config,
    wall_clock_s: float,
    started_at: str,
    bootstrap_reps: int = 10_000,
    bootstrap_seed: int = 0,
    train_seeds: list[int] | None = None,
    env_steps: int | None = None,
) -> tuple[dict, object]:
    """The record dict and its per-level Arrow table for one finished evaluation.

    ``outcomes`` holds (L, K) arrays (``solved``, ``died``, ``return``, ``length``) for
    zero-shot, or (L, S, K) for fine-tuning (S training seeds: the CI unit is the seed).
    """
    import jax

    bench = loaded.benchmark
    solved = np.asarray(outcomes["solved"], np.float64)
    finetune = solved.ndim == 3
    level_scores = solved.mean(axis=-1) if finetune else solved  # (L, S) or (L, K)
    rid = result_id(submission.sha256, bench.id, bench.level_set_hash, protocol)
    steps = outcomes["length"].clip(max=protocol.to_json()["max_steps"])
    record = {
        "schema_version": RECORD_SCHEMA,
        "result_id": rid,
        "status": "FINISHED",
        "created_at": _now(),
        "started_at": started_at,
        "finished_at": _now(),
        "submission": {
            "model_id": submission.id,
            "checkpoint_file": _checkpoint_file(submission),
            "checkpoint_sha256": submission.sha256,
            "architecture": submission.architecture,
            "architecture_config": _config_dict(submission.arch_config),
            "obs_type": submission.obs_type,
            "action_type": submission.action_type,
            "env_size": submission.env_size,
            "kind": submission.kind,
            "verified": submission.kind != IN_PROCESS_KIND,
            **_submission_extras(submission),
        },
        "benchmark": {
            "benchmark_id": bench.id,
            "dataset_repo": bench.repo or _default_repo(),
            "dataset_configs": list(bench.configs),
            "dataset_split": bench.split,
            "dataset_tag": loaded.revision,
            "dataset_commit": loaded.commit,
            "dataset_origin": loaded.origin,
            "level_set_sha256": bench.level_set_hash,
            "env_size": bench.size,
            "n_levels": len(loaded.level_ids),
        },
        "protocol": {
            **protocol.to_json(),
            "obs_type": env_config.obs_type,
            "action_type": env_config.action_type,
            "env_params": {
                "max_timesteps": 256,
                "frame_skip": env_config.frame_skip,
                "physics_setting": env_config.setting,
                "solver": env_config.solver_name,
                "num_solver_iterations": env_config.num_solver_iterations,
            },
        },
        "seeds": {"train": list(train_seeds or []), "eval": [protocol.to_json()["seed"]]},
        "metrics": {
            "solve_rate": {
                **_metric_block(level_scores, bootstrap_reps, bootstrap_seed),
                "ci_unit": "train_seed" if finetune else "eval_episode",
            },
            "return": {"mean": float(np.mean(outcomes["return"]))},
            "length": {"mean": float(np.mean(steps))},
            "death_rate": {"mean": float(np.mean(outcomes["died"]))},
        },
        "higher_is_better": {"solve_rate": True, "optimality_gap": False, "death_rate": False},
        "compute": {
            "env_steps": int(env_steps if env_steps is not None else np.sum(steps)),
            "wall_clock_s": round(float(wall_clock_s), 3),
            "device_kind": jax.devices()[0].device_kind,
            "device_count": jax.local_device_count(),
        },
        "software": _software(),
    }
    validate_record(record)
    return record, per_level_table(rid, loaded, outcomes, protocol, train_seeds)


def _default_repo() -> str:
    from harness.levels.hub_rules import levels_repo_id

    return levels_repo_id(None)


def _config_dict(cfg):
    if cfg is None:
        return None
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
    return json.loads(json.dumps(d, default=str))


def _submission_extras(submission) -> dict:
    """``assumed_options`` (Kinetix checkpoints: options config.json did not state, filled with
    the paper model's values), ``source`` (Hub references: repo, subfolder, revision and the
    resolved commit sha) and ``program`` (exported policies: obs / action types, env size,
    output, batch, carry, platforms, custom calls, program sha256), when the submission has
    them."""
    out = {}
    for key in ("assumed_options", "source"):
        value = getattr(submission, key, None)
        if value is not None:
            out[key] = json.loads(json.dumps(value, default=str))
    program = getattr(submission, "program", None)
    if program is not None:
        out["program"] = json.loads(json.dumps(program.summary(), default=str))
    return out


def _checkpoint_file(submission) -> str:
    if submission.kind == IN_PROCESS_KIND:
        return "(in-process)"
    for name in ("policy.jax_exported", "model.safetensors", "params.safetensors"):
        if name in (submission.files or {}):
            return name
    return "config.json"


def per_level_table(rid: str, loaded, outcomes: dict, protocol, train_seeds=None):
    """The per-level Arrow table (one row per level and training seed)."""
    import pyarrow as pa

    solved = np.asarray(outcomes["solved"], np.float64)
    rows = {k: [] for k in ("level_id", "level_hash", "train_seed")}
    cols = {k: [] for k in ("solve_rate", "mean_return", "mean_length", "death_rate")}
    seeds = list(train_seeds) if solved.ndim == 3 else [None]
    max_steps = protocol.to_json()["max_steps"]
    for i, (lid, h) in enumerate(zip(loaded.level_ids, loaded.level_hashes, strict=True)):
        for s_i, s in enumerate(seeds):
            sl = (i, s_i) if solved.ndim == 3 else (i,)
            rows["level_id"].append(lid)
            rows["level_hash"].append(h)
            rows["train_seed"].append(s)
            cols["solve_rate"].append(float(np.mean(outcomes["solved"][sl])))
            cols["mean_return"].append(float(np.mean(outcomes["return"][sl])))
            cols["mean_length"].append(
                float(np.mean(np.minimum(outcomes["length"][sl], max_steps)))
            )
            cols["death_rate"].append(float(np.mean(outcomes["died"][sl])))
    n = len(rows["level_id"])
    return pa.table(
        {
            "result_id": pa.array([rid] * n),
            "level_id": pa.array(rows["level_id"]),
            "level_hash": pa.array(rows["level_hash"]),
            "train_seed": pa.array(rows["train_seed"], pa.int64()),
            "eval_seed": pa.array([protocol.to_json()["seed"]] * n, pa.int64()),
            "attempts": pa.array([protocol.to_json()["episodes_per_level"]] * n, pa.int32()),
            **{k: pa.array(v, pa.float64()) for k, v in cols.items()},
        }
    )


# ---------------------------------------------------------------------------------- validation
#: The published JSON Schema (draft 2020-12) of ``result/1`` records, shipped as package data.
SCHEMA_FILE = "result_schema.json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def result_schema() -> dict:
    """The JSON Schema of ``result/1`` records (``harness/scoring/result_schema.json``), for
    outside tools too: ``jsonschema.validate(record, result_schema())``."""
    return copy.deepcopy(_schema())


@functools.cache
def _schema() -> dict:
    from importlib.resources import files

    return json.loads(files("harness.scoring").joinpath(SCHEMA_FILE).read_text("utf-8"))


@functools.cache
def _validator():
    import jsonschema

    cls = jsonschema.validators.validator_for(_schema())
    cls.check_schema(_schema())
    return cls(_schema())


def _field(path) -> str:
    return ".".join(str(p) for p in path)


def _message(e) -> str:
    """One jsonschema error as ``record: field 'a.b' ...`` (the field and the problem)."""
    path = list(e.absolute_path)
    v, rule = e.instance, e.validator
    if rule == "required":
        missing = next(k for k in e.validator_value if k not in v)
        return f"record: field {_field([*path, missing])!r} is missing"
    where = f"record: field {_field(path) or '(the record)'!r}"
    if rule == "type":
        want = (
            e.validator_value if isinstance(e.validator_value, str) else "/".join(e.validator_value)
        )
        return f"{where} must be {want}, got {v!r}"
    if rule in ("minimum", "maximum"):
        lo, hi = (e.schema.get(k) for k in ("minimum", "maximum"))
        rng = (
            f"[{lo}, {hi}]" if lo is not None and hi is not None else f"{rule} {e.validator_value}"
        )
        return f"{where} = {v!r} is outside {rng}"
    if rule == "const":
        return f"{where} must be {e.validator_value!r}, got {v!r}"
    if rule == "enum":
        return f"{where} must be one of {tuple(e.validator_value)}, got {v!r}"
    if rule == "pattern":
        what = {
            _HEX64.pattern: "a sha256 hex digest",
            _TS.pattern: "an ISO-8601 UTC time (…Z)",
            "^[0-9a-f]{40}$": "a 40-hex commit sha",
        }.get(e.validator_value, f"a string matching {e.validator_value}")
        return f"{where} must be {what}, got {v!r}"
    if rule in ("minItems", "maxItems"):
        return f"{where} must be [low, high], got {v!r}"
    return f"{where}: {e.message}"


def validate_record(record: dict) -> dict:
    """Checks a record against the published JSON Schema (:func:`result_schema`) and the one
    rule it cannot state (each ``ci95`` interval has low <= high); raises :class:`RecordError`
    naming the field and the problem."""
    if not isinstance(record, dict):
        raise RecordError("record: expected a JSON object")
    errors = list(_validator().iter_errors(record))
    if errors:
        # the deepest, then first in document order: the most specific field
        best = min(errors, key=lambda e: (-len(e.absolute_path), list(map(str, e.absolute_path))))
        raise RecordError(_message(best))
    ci95 = record["metrics"]["solve_rate"]["ci95"]
    for k in ("iqm", "mean", "median"):
        lo, hi = ci95[k]
        if lo > hi:
            raise RecordError(
                f"record: field 'metrics.solve_rate.ci95.{k}' must be [low, high] with "
                f"low <= high, got {ci95[k]!r}"
            )
    return record


def is_verified(record: dict) -> bool:
    """The record scores a submission (whose files the harness read and checked), not a policy
    scored in-process: ``submission.verified``, true when absent (records before it existed)."""
    return record["submission"].get("verified", True) is not False


_UNSTABLE = ("created_at", "started_at", "finished_at")
#: Where the levels were read from, not which levels: the bundled copy and the Hub release of
#: one level set give the same result (the level-set hash stays in the comparison).
_LOCATION = ("dataset_tag", "dataset_commit", "dataset_origin")


def comparable(record: dict) -> dict:
    """The record without timestamps, wall-clock fields and the dataset's location (tag, commit,
    origin): what "identical" compares. Two runs on the same level set (``benchmark.
    level_set_sha256``) from the bundled copy and from the Hub are identical when their scores
    are."""
    r = copy.deepcopy(record)
    for k in _UNSTABLE:
        r.pop(k, None)
    r.get("compute", {}).pop("wall_clock_s", None)
    for k in _LOCATION:
        r.get("benchmark", {}).pop(k, None)
    return r


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "unnamed"


def record_paths(out_dir: str | os.PathLike, record: dict) -> tuple[Path, Path]:
    """``{out}/{model}/{benchmark}__{protocol}.json`` and the matching ``.parquet``; an
    unverified (in-process) record's stem ends in ``__unverified``, so it never replaces the
    record of a submission with the same name."""
    sub = _safe(record["submission"]["model_id"])
    proto = f"{record['protocol']['protocol_id']}@v{record['protocol']['protocol_version']}"
    stem = f"{_safe(record['benchmark']['benchmark_id'])}__{_safe(proto)}"
    if not is_verified(record):
        stem += "__unverified"
    base = Path(out_dir) / sub
    return base / f"{stem}.json", base / f"{stem}.parquet"


def write_record(out_dir: str | os.PathLike, record: dict, table) -> tuple[Path, Path]:
    """Validates and writes the record JSON and per-level Parquet atomically (Parquet first)."""
    import pyarrow.parquet as pq

    from kinetix.atomic_io import atomic_write

    validate_record(record)
    jpath, ppath = record_paths(out_dir, record)
    jpath.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(ppath, lambda f: pq.write_table(table, f, compression="zstd"))
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    atomic_write(jpath, lambda f: f.write(text.encode()))
    return jpath, ppath


def read_record(path: str | os.PathLike) -> dict:
    """Reads and validates a record JSON."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise RecordError(f"{path}: cannot read a record ({e})") from None
    try:
        return validate_record(record)
    except RecordError as e:
        raise RecordError(f"{path}: {e}") from None
