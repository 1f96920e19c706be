"""The leaderboard table, built only from result records (DESIGN §9).

* Records come from :mod:`harness.leaderboard.record_files` (:func:`collect_records`: every
  record JSON under some folders, validated, with its per-level Parquet checked; re-exported
  here).
* :func:`build_table` makes one row per (benchmark id, protocol ``<id>@v<version>``, level-set
  hash, submission id, verified). Groups are (benchmark id, protocol, level-set hash): what is
  compared is the set of levels, not where they were read from, so a run on the Hub release ranks
  with runs on the bundled copy of the same levels. Each row keeps the dataset commit and origin
  (``hub``, ``bundled``, ``local``, ``import``) its record was scored on. ``verified`` is 0 for a
  policy scored in-process (:func:`harness.scoring.evaluate_policy`; its code is not in a
  submission): such rows are ranked and banded only among themselves, after the group's verified
  rows, and the Markdown and the page show them in a table of their own. ``n_seeds`` and
  ``ci_unit`` say whether a row's CIs are over the submission's training seeds (a multi-seed
  submission) or only over episodes (:mod:`harness.leaderboard.ci_units`). Two records of one
  submission in one group: the newest by ``created_at`` is kept (a note says which was dropped).
  Only ``FINISHED`` records are ranked, and none on a registered benchmark marked
  ``leaderboard=False`` (the validation splits).
* **Rank**: within a group, by IQM of the solve rate (higher first), ties broken by the mean;
  entries equal in both share a rank (1, 1, 3). **Band**: walk the group in rank order; the
  first entry leads band 1; an entry whose IQM 95% CI intersects the CI of the current band's
  leader joins that band, otherwise it starts the next band and leads it. So every member of a
  band has a CI that overlaps its leader's, and band numbers never decrease down the ranking.
* :func:`write_table` writes ``leaderboard.parquet`` and ``leaderboard.csv`` atomically;
  :func:`read_table` reads either back with the column types of :data:`COLUMNS`.

The Markdown rendering lives in :mod:`harness.leaderboard.markdown`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.leaderboard.record_files import (
    LeaderboardError,
    RecordFile,
    collect_records,
    dataset_origin,
    load_record_file,
)

__all__ = [
    "COLUMNS",
    "GROUP_KEYS",
    "RANK_KEYS",
    "LeaderboardError",
    "RecordFile",
    "dataset_origin",
    "collect_records",
    "build_table",
    "load_per_level",
    "write_table",
    "read_table",
    "empty_table",
    "load_record_file",
]


#: The table's columns, in order, with their kinds ("str", "int", "float").
COLUMNS: tuple[tuple[str, str], ...] = (
    ("benchmark_id", "str"),
    ("protocol", "str"),
    ("protocol_id", "str"),
    ("protocol_version", "int"),
    ("dataset_commit", "str"),
    ("dataset_origin", "str"),
    ("level_set_sha256", "str"),
    ("n_levels", "int"),
    ("submission_id", "str"),
    ("architecture", "str"),
    ("obs_type", "str"),
    ("action_type", "str"),
    ("checkpoint_sha256", "str"),
    ("verified", "int"),
    ("n_seeds", "int"),
    ("ci_unit", "str"),
    ("rank", "int"),
    ("band", "int"),
    ("iqm", "float"),
    ("iqm_ci_low", "float"),
    ("iqm_ci_high", "float"),
    ("mean", "float"),
    ("mean_ci_low", "float"),
    ("mean_ci_high", "float"),
    ("median", "float"),
    ("optimality_gap", "float"),
    ("scratch_iqm", "float"),
    ("gain_iqm", "float"),
    ("gain_ci_low", "float"),
    ("gain_ci_high", "float"),
    ("env_steps", "int"),
    ("wall_clock_s", "float"),
    ("device_kind", "str"),
    ("created_at", "str"),
    ("result_id", "str"),
    ("record_path", "str"),
    ("per_level_path", "str"),
)
_KINDS = dict(COLUMNS)
_DTYPES = {"str": "str", "int": "int64", "float": "float64"}
#: A group: results ranked together (the same levels under the same protocol).
GROUP_KEYS = ("benchmark_id", "protocol", "level_set_sha256")
#: Ranking pools: a group's verified entries (1) and its unverified ones (0) are ranked apart.
RANK_KEYS = (*GROUP_KEYS, "verified")


# ------------------------------------------------------------------------------- building
def empty_table() -> pd.DataFrame:
    """A table with no rows and the columns of :data:`COLUMNS`."""
    return pd.DataFrame({c: pd.Series([], dtype=_DTYPES[k]) for c, k in COLUMNS})


def _rel(path: Path, root: Path | None) -> str:
    if root is None:
        return path.as_posix()
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def _nan(x) -> float:
    return float("nan") if x is None else float(x)


def _row(rf: RecordFile, root: Path | None) -> dict:
    from harness.scoring.records import ci_unit

    r = rf.record
    sub, bench, proto = r["submission"], r["benchmark"], r["protocol"]
    sr = r["metrics"]["solve_rate"]
    scratch = r["metrics"].get("scratch_solve_rate") or {}
    gain = (r["metrics"].get("finetune_gain") or {}).get("iqm") or {}
    gain_ci = gain.get("ci95") or [None, None]
    return {
        "benchmark_id": bench["benchmark_id"],
        "protocol": rf.protocol,
        "protocol_id": proto["protocol_id"],
        "protocol_version": proto["protocol_version"],
        "dataset_commit": bench["dataset_commit"],
        "dataset_origin": rf.dataset_origin,
        "level_set_sha256": bench["level_set_sha256"],
        "n_levels": bench["n_levels"],
        "submission_id": sub["model_id"],
        "architecture": sub["architecture"],
        # what the evaluation fed the policy (a parameter-free policy's config says "any")
        "obs_type": proto.get("obs_type") or sub["obs_type"],
        "action_type": proto.get("action_type") or sub["action_type"],
        "checkpoint_sha256": sub["checkpoint_sha256"],
        "verified": int(rf.verified),
        "n_seeds": int(sub.get("n_seeds", 1)),
        "ci_unit": ci_unit(r),
        "rank": 0,
        "band": 0,
        "iqm": float(sr["iqm"]),
        "iqm_ci_low": float(sr["ci95"]["iqm"][0]),
        "iqm_ci_high": float(sr["ci95"]["iqm"][1]),
        "mean": float(sr["mean"]),
        "mean_ci_low": float(sr["ci95"]["mean"][0]),
        "mean_ci_high": float(sr["ci95"]["mean"][1]),
        "median": float(sr["median"]),
        "optimality_gap": float(sr["optimality_gap"]),
        "scratch_iqm": _nan(scratch.get("iqm")),
        "gain_iqm": _nan(gain.get("value")),
        "gain_ci_low": _nan(gain_ci[0]),
        "gain_ci_high": _nan(gain_ci[1]),
        "env_steps": int(r["compute"]["env_steps"]),
        "wall_clock_s": float(r["compute"]["wall_clock_s"]),
        "device_kind": r["compute"]["device_kind"],
        "created_at": r["created_at"],
        "result_id": r["result_id"],
        "record_path": _rel(rf.path, root),
        "per_level_path": _rel(rf.per_level_path, root),
    }


def _newest(records: Sequence[RecordFile], note: Callable[[str], None]) -> list[RecordFile]:
    """One record per key: the newest by ``created_at`` (then ``finished_at``, then path)."""
    by_key: dict[tuple, list[RecordFile]] = {}
    for rf in records:
        by_key.setdefault((*rf.key, rf.verified), []).append(rf)
    kept = []
    for key, group in by_key.items():
        group.sort(
            key=lambda x: (x.record["created_at"], x.record["finished_at"] or "", str(x.path))
        )
        kept.append(group[-1])
        for old in group[:-1]:
            note(
                f"{key[3]} on {key[0]} {key[1]}: kept the newest record {group[-1].path} "
                f"({group[-1].record['created_at']}), dropped {old.path} "
                f"({old.record['created_at']})"
            )
    return kept


def _check_level_sets(records: Sequence[RecordFile]) -> None:
    """One dataset commit holds one level set per benchmark: two records that disagree are a
    corrupt record (the level-set hash is what groups, so it must be right)."""
    first: dict[tuple, RecordFile] = {}
    for rf in records:
        k = (rf.key[0], rf.dataset_commit)
        other = first.setdefault(k, rf)
        a, b = other.record["benchmark"], rf.record["benchmark"]
        if a["level_set_sha256"] != b["level_set_sha256"]:
            raise LeaderboardError(
                f"{rf.path} and {other.path}: same benchmark {k[0]} and dataset commit {k[1]} "
                "but different level_set_sha256 (one of them is corrupt)"
            )


def _rank_and_band(g: pd.DataFrame) -> pd.DataFrame:
    g = g.sort_values(["iqm", "mean", "submission_id"], ascending=[False, False, True])
    ranks, bands = [], []
    prev, rank = None, 0
    band, lead = 0, None
    for i, (iqm, mean, lo, hi) in enumerate(
        zip(g["iqm"], g["mean"], g["iqm_ci_low"], g["iqm_ci_high"], strict=True)
    ):
        if (iqm, mean) != prev:
            rank, prev = i + 1, (iqm, mean)
        ranks.append(rank)
        if lead is None or hi < lead[0] or lo > lead[1]:
            band, lead = band + 1, (lo, hi)
        bands.append(band)
    g["rank"] = np.asarray(ranks, np.int64)
    g["band"] = np.asarray(bands, np.int64)
    return g


def build_table(
    records: Sequence[RecordFile],
    *,
    root: str | os.PathLike | None = None,
    note: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The leaderboard table (columns :data:`COLUMNS`), one row per (benchmark, protocol,
    level-set hash, submission), sorted by benchmark id, protocol, level-set hash, rank. Of one
    submission's records in a group (say one on the bundled copy and one on the Hub release)
    the newest is kept.

    ``root``: record paths in the table are POSIX paths relative to it (the leaderboard folder);
    absolute when None. ``note`` receives one line per dropped record (an older duplicate, or a
    record not ``FINISHED``) and one per non-leaderboard benchmark with records (the validation
    splits; how many were left out). The notes are also in
    ``table.attrs["notes"]``."""
    notes: list[str] = []

    def _note(s: str) -> None:
        notes.append(s)
        if note is not None:
            note(s)

    from harness.levels.registry import BENCHMARKS

    finished = []
    unranked: dict[str, list[RecordFile]] = {}
    for rf in records:
        entry = BENCHMARKS.get(rf.key[0])
        if rf.record["status"] != "FINISHED":
            _note(f"left out {rf.path}: status {rf.record['status']}")
        elif entry is not None and not getattr(entry, "leaderboard", True):
            unranked.setdefault(rf.key[0], []).append(rf)
        else:
            finished.append(rf)
    for bench, rfs in sorted(unranked.items()):  # one note per benchmark, not per record
        what = str(rfs[0].path) if len(rfs) == 1 else f"{len(rfs)} records"
        _note(f"left out {what} on {bench}: not a leaderboard benchmark")
    kept = _newest(finished, _note)
    _check_level_sets(kept)
    base = Path(root) if root is not None else None
    if not kept:
        table = empty_table()
    else:
        df = pd.DataFrame([_row(rf, base) for rf in kept])
        parts = [_rank_and_band(g) for _, g in df.groupby(list(RANK_KEYS), sort=True)]
        table = pd.concat(parts, ignore_index=True)
        table = table.sort_values(
            [*GROUP_KEYS, "verified", "rank", "submission_id"],
            ascending=[True] * len(GROUP_KEYS) + [False, True, True],
            kind="stable",
        )
        table = _typed(table.reset_index(drop=True))
    table.attrs["notes"] = notes
    return table


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: df[c].astype(_DTYPES[k]) for c, k in COLUMNS})


def load_per_level(table: pd.DataFrame, root: str | os.PathLike) -> pd.DataFrame:
    """The per-level rows of every row of ``table`` (files at ``root / per_level_path``), with
    ``benchmark_id``, ``protocol``, ``dataset_commit``, ``level_set_sha256`` and
    ``submission_id`` columns added."""
    import pyarrow.parquet as pq

    root = Path(root)
    parts = []
    for row in table.itertuples(index=False):
        path = root / row.per_level_path
        try:
            df = pq.read_table(path).to_pandas()
        except (OSError, ValueError) as e:
            raise LeaderboardError(f"{path}: cannot read the per-level file ({e})") from None
        df.insert(0, "submission_id", row.submission_id)
        df.insert(0, "level_set_sha256", row.level_set_sha256)
        df.insert(0, "dataset_commit", row.dataset_commit)
        df.insert(0, "protocol", row.protocol)
        df.insert(0, "benchmark_id", row.benchmark_id)
        parts.append(df)
    if not parts:
        cols = ["benchmark_id", "protocol", "dataset_commit", "level_set_sha256", "submission_id"]
        return pd.DataFrame({c: pd.Series([], dtype="str") for c in cols})
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------- files
def write_table(table: pd.DataFrame, root: str | os.PathLike) -> tuple[Path, Path]:
    """Writes ``root/leaderboard.parquet`` and ``root/leaderboard.csv``, each atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kinetix.atomic_io import atomic_write

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    clean = _typed(table)
    arrow = pa.Table.from_pandas(clean, preserve_index=False)
    ppath, cpath = root / "leaderboard.parquet", root / "leaderboard.csv"
    atomic_write(ppath, lambda f: pq.write_table(arrow, f, compression="zstd"))
    text = clean.to_csv(index=False, na_rep="", lineterminator="\n")
    atomic_write(cpath, lambda f: f.write(text.encode()))
    return ppath, cpath


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A table written by :func:`write_table` (``.parquet`` or ``.csv``), typed as
    :data:`COLUMNS`; a missing column or a malformed value is a :class:`LeaderboardError`."""
    path = Path(path)
    try:
        if path.suffix == ".csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
            df = raw.copy()
            for c, k in COLUMNS:
                if c in raw and k != "str":
                    df[c] = raw[c].replace("", "nan").astype("float64")
        else:
            df = pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise LeaderboardError(f"{path}: cannot read the leaderboard table ({e})") from None
    if "verified" not in df.columns:  # a table written before unverified entries existed
        df = df.assign(verified=1)
    if "dataset_origin" not in df.columns and "dataset_commit" in df.columns:  # older tables
        bundled = df["dataset_commit"].astype(str).str.startswith("bundled:")
        df = df.assign(dataset_origin=np.where(bundled, "bundled", "hub"))
    if "ci_unit" not in df.columns and "protocol_id" in df.columns:  # before multi-seed
        ft = df["protocol_id"].astype(str).str.startswith("finetune")
        df = df.assign(ci_unit=np.where(ft, "train_seed", "eval_episode"), n_seeds=1)
    missing = [c for c, _ in COLUMNS if c not in df.columns]
    if missing:
        raise LeaderboardError(f"{path}: missing columns {', '.join(missing)}")
    try:
        return _typed(df)
    except (TypeError, ValueError) as e:
        raise LeaderboardError(f"{path}: a column has the wrong type ({e})") from None
