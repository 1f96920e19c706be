"""Result records: one JSON per (submission, benchmark, protocol) plus a per-level Parquet file.

Fields follow ``ecosystem.md`` §4 (``schema_version: "result/2"``; ``result/1`` records, written
before multi-seed submissions, stay valid and readable): ``result_id`` (sha256 of the canonical
request: checkpoint sha256, benchmark id and level-set hash, protocol), ``status``, timestamps,
``submission`` (``n_seeds``; a multi-seed submission also lists ``seeds``: seed, weights file
and sha256 of each), ``benchmark`` (dataset repo, tag, commit, level-set hash), ``protocol``,
``seeds`` (``train``: the fine-tuning protocol's, ``eval``, and ``submission``: the submission's
training seeds), ``metrics`` (solve rate: mean, median, IQM, optimality gap with 95%
stratified-bootstrap CIs; ``ci_unit`` and ``ci_unit_label`` name what the CIs resample within
each level, ``ci_runs`` how many entries each level has: ``eval_episode`` "episodes within
levels", ``train_seed`` "fine-tuning seeds x levels", ``submission_seed`` "training seeds x
levels", ``submission_seed_x_train_seed``; ``by_seed`` the IQM and mean of each submission seed;
return, length and death rate means), ``higher_is_better``, ``compute`` (env steps, wall
seconds, device kind, ``device_count`` over all processes and ``process_count``: records before
it held the first process's local devices and no ``process_count``), ``software`` (package,
simulator, python, jax, jaxlib, flax, numpy). The per-level file has one row per (level,
submission seed, training seed): ``result_id, level_id, level_hash, train_seed,
submission_seed, eval_seed, attempts, solve_rate, mean_return, mean_length, death_rate``
(``submission_seed`` null for a single-seed submission; older files lack the column).

``submission.verified`` (optional, true when absent) is false for a policy scored in-process
(:func:`harness.scoring.evaluate_policy`, ``submission.kind`` ``in-process``): the leaderboard
shows such records apart and never ranks them with verified ones. Exported programs add
``submission.program`` (their declared interface, platforms and program sha256).

:func:`validate_record` (:mod:`harness.scoring.record_validation`) checks a record against the
published JSON Schema (``harness/scoring/result_schema.json``, :func:`result_schema`; on write,
on read and so in ``leaderboard build``); :func:`write_record` writes both files atomically;
"identical record" means equal after :func:`comparable` drops timestamps and wall-clock fields.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from harness.scoring.record_validation import (
    SCHEMA_FILE,
    RecordError,
    result_schema,
    validate_record,
)

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
    "RECORD_SCHEMAS",
    "ci_unit",
    "has_seed_ci",
    "CI_UNITS",
]

#: The schema written; :data:`RECORD_SCHEMAS` are read (``result/1``: before multi-seed
#: submissions; its records stay valid and are read as they are).
RECORD_SCHEMA = "result/2"
RECORD_SCHEMAS = ("result/1", "result/2")
STATUSES = ("PENDING", "RUNNING", "FINISHED", "FAILED")
#: ``submission.kind`` of a policy scored in-process (:func:`harness.scoring.evaluate_policy`):
#: its code is not in a submission, so its record has ``submission.verified: false``.
IN_PROCESS_KIND = "in-process"
#: ``ci_unit`` of a result record -> what its intervals resample within each level (stratum).
CI_UNITS: dict[str, str] = {
    "eval_episode": "episodes within levels",
    "train_seed": "fine-tuning seeds x levels",
    "submission_seed": "training seeds x levels",
    "submission_seed_x_train_seed": "(training seed, fine-tuning seed) runs x levels",
}


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


def score_layout(solved: np.ndarray, submission_seeds, train_seeds) -> tuple[np.ndarray, str]:
    """The score matrix the CIs resample and its ``ci_unit`` (:data:`~harness.scoring.stats.
    CI_UNITS`), from per-attempt outcomes of one of four layouts: zero-shot ``(L, K)`` (the
    attempts, ``eval_episode``) or ``(L, P, K)`` with ``P`` submission seeds (``(L, P)`` seed
    solve rates, ``submission_seed``); fine-tuning ``(L, S, K)`` (``(L, S)``, ``train_seed``) or
    ``(L, P, S, K)`` (``(L, P * S)`` runs, ``submission_seed_x_train_seed``). A level's entries
    are its runs (or attempts): each replicate resamples them with replacement within the level,
    rliable's stratified bootstrap with runs = seeds and tasks = levels."""
    multi = submission_seeds is not None
    extra = solved.ndim - 2 - int(multi)
    if extra not in (0, 1) or (multi and solved.shape[1] != len(submission_seeds)):
        raise RecordError(
            f"outcomes: solved has shape {solved.shape}; expected (L, K), (L, S, K), or with "
            f"{len(submission_seeds or [])} submission seeds (L, P, K) / (L, P, S, K)"
        )
    finetune = extra == 1
    if finetune and train_seeds is not None and solved.shape[-2] != len(train_seeds):
        raise RecordError(f"outcomes: {solved.shape[-2]} training seeds, given {train_seeds}")
    if not multi and not finetune:
        return solved, "eval_episode"
    unit = "submission_seed" + ("_x_train_seed" if finetune and multi else "")
    unit = unit if multi else "train_seed"
    return solved.mean(axis=-1).reshape(solved.shape[0], -1), unit


def _by_seed(solved: np.ndarray, submission_seeds) -> list[dict]:
    """Per submission seed: its IQM and mean over levels (its runs and attempts averaged)."""
    from harness.scoring.stats import iqm, mean

    out = []
    for p, seed in enumerate(submission_seeds):
        lv = solved[:, p].reshape(solved.shape[0], -1).mean(axis=-1)
        out.append({"seed": int(seed), "iqm": float(iqm(lv)), "mean": float(mean(lv))})
    return out


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
    submission_seeds: list[int] | None = None,
) -> tuple[dict, object]:
    """The record dict and its per-level Arrow table for one finished evaluation.

    ``outcomes`` holds arrays ``solved``, ``died``, ``return``, ``length`` of one layout of
    :func:`score_layout`: (L, K) for zero-shot, (L, S, K) for fine-tuning (S = the protocol's
    ``train_seeds``); with ``submission_seeds`` (a multi-seed submission, P seeds) (L, P, K) and
    (L, P, S, K). The CIs resample the attempts, or the runs (seeds), within each level; the
    record names which (``metrics.solve_rate.ci_unit`` and ``ci_unit_label``).
    """
    import jax

    bench = loaded.benchmark
    solved = np.asarray(outcomes["solved"], np.float64)
    level_scores, unit = score_layout(solved, submission_seeds, train_seeds)
    multi = submission_seeds is not None
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
            "n_seeds": len(submission_seeds) if multi else 1,
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
        "seeds": {
            "train": list(train_seeds or []),
            "eval": [protocol.to_json()["seed"]],
            **({"submission": [int(x) for x in submission_seeds]} if multi else {}),
        },
        "metrics": {
            "solve_rate": {
                **_metric_block(level_scores, bootstrap_reps, bootstrap_seed),
                "ci_unit": unit,
                "ci_unit_label": CI_UNITS[unit],
                "ci_runs": int(level_scores.shape[1]),
                **({"by_seed": _by_seed(solved, submission_seeds)} if multi else {}),
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
            "device_count": jax.device_count(),  # every process's devices
            "process_count": jax.process_count(),
        },
        "software": _software(),
    }
    validate_record(record)
    return record, per_level_table(rid, loaded, outcomes, protocol, train_seeds, submission_seeds)


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
    seeds = getattr(submission, "seeds", None)
    if seeds:
        out["seeds"] = [
            {"seed": s.seed, "checkpoint_file": s.file, "checkpoint_sha256": s.sha256}
            for s in seeds
        ]
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
    if getattr(submission, "seeds", None):
        return "seeds.json"
    for name in ("policy.jax_exported", "model.safetensors", "params.safetensors"):
        if name in (submission.files or {}):
            return name
    return "config.json"


def per_level_table(rid: str, loaded, outcomes: dict, protocol, train_seeds=None,
                    submission_seeds=None):  # fmt: skip
    """The per-level Arrow table: one row per level, submission seed (``submission_seed``, null
    for a single-seed submission) and training seed (``train_seed``, null for zero-shot); the
    outcomes' layouts are those of :func:`make_record`."""
    import pyarrow as pa

    solved = np.asarray(outcomes["solved"], np.float64)
    multi = submission_seeds is not None
    finetune = solved.ndim - 2 - int(multi) == 1
    subs = list(submission_seeds) if multi else [None]
    seeds = list(train_seeds) if finetune else [None]
    rows = {k: [] for k in ("level_id", "level_hash", "submission_seed", "train_seed")}
    cols = {k: [] for k in ("solve_rate", "mean_return", "mean_length", "death_rate")}
    max_steps = protocol.to_json()["max_steps"]
    for i, (lid, h) in enumerate(zip(loaded.level_ids, loaded.level_hashes, strict=True)):
        for p_i, p in enumerate(subs):
            for s_i, s in enumerate(seeds):
                sl = (i, *((p_i,) if multi else ()), *((s_i,) if finetune else ()))
                rows["level_id"].append(lid)
                rows["level_hash"].append(h)
                rows["submission_seed"].append(p)
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
            "submission_seed": pa.array(rows["submission_seed"], pa.int64()),
            "eval_seed": pa.array([protocol.to_json()["seed"]] * n, pa.int64()),
            "attempts": pa.array([protocol.to_json()["episodes_per_level"]] * n, pa.int32()),
            **{k: pa.array(v, pa.float64()) for k, v in cols.items()},
        }
    )


def is_verified(record: dict) -> bool:
    """The record scores a submission (whose files the harness read and checked), not a policy
    scored in-process: ``submission.verified``, true when absent (records before it existed)."""
    return record["submission"].get("verified", True) is not False


def ci_unit(record: dict) -> str:
    """What the record's intervals resample (a key of :data:`CI_UNITS`):
    ``metrics.solve_rate.ci_unit``; records without it: ``train_seed`` for fine-tuning
    protocols, else ``eval_episode``."""
    unit = record["metrics"]["solve_rate"].get("ci_unit")
    if unit:
        return str(unit)
    return (
        "train_seed"
        if record["protocol"]["protocol_id"].startswith("finetune")
        else ("eval_episode")
    )


def has_seed_ci(record: dict) -> bool:
    """The intervals resample the submission's training seeds (a multi-seed submission), not
    only episodes (zero-shot) or fine-tuning seeds."""
    return ci_unit(record).startswith("submission_seed")


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
