"""Result-record files on disk: find, validate and pair each record JSON with its per-level Parquet.

* :func:`collect_records` finds every record JSON under some folders (recursively, hidden files
  skipped), validates it (:func:`harness.scoring.records.read_record`) and checks the per-level
  Parquet file beside it (same stem): present, same ``result_id``, ``n_levels`` distinct levels,
  mean solve rate equal to the record's. A bad record is a :class:`LeaderboardError` naming the
  file, or, with ``skip_invalid``, a warning and the file is left out.
* :class:`RecordFile`: a validated record, its paths, and the keys the table groups it by.

The ranked table built from these lives in :mod:`harness.leaderboard.table`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = [
    "LeaderboardError",
    "RecordFile",
    "dataset_origin",
    "collect_records",
    "load_record_file",
]


class LeaderboardError(ValueError):
    """The leaderboard cannot be built or read as asked (the message names the file)."""


_PER_LEVEL_COLUMNS = ("result_id", "level_id", "level_hash", "train_seed", "solve_rate")


@dataclasses.dataclass(frozen=True)
class RecordFile:
    """A validated record and where it lives: ``path`` (the JSON) and ``per_level_path`` (the
    Parquet beside it)."""

    record: dict
    path: Path
    per_level_path: Path

    @property
    def protocol(self) -> str:
        p = self.record["protocol"]
        return f"{p['protocol_id']}@v{p['protocol_version']}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(benchmark id, protocol, level-set hash, submission id)."""
        b = self.record["benchmark"]
        sub = self.record["submission"]["model_id"]
        return (b["benchmark_id"], self.protocol, b["level_set_sha256"], sub)

    @property
    def dataset_commit(self) -> str:
        return self.record["benchmark"]["dataset_commit"]

    @property
    def dataset_origin(self) -> str:
        """Where the levels were read from; records without the field: from the commit id."""
        return dataset_origin(self.record["benchmark"])

    @property
    def verified(self) -> bool:
        """Scores a submission the harness read and checked (not an in-process policy)."""
        from harness.scoring.records import is_verified

        return is_verified(self.record)


def dataset_origin(benchmark: dict) -> str:
    """``benchmark.dataset_origin`` of a record, or for older records without it ``bundled``
    (commit ``bundled:...``) or ``hub``."""
    origin = benchmark.get("dataset_origin")
    if origin:
        return str(origin)
    return "bundled" if str(benchmark["dataset_commit"]).startswith("bundled:") else "hub"


# ------------------------------------------------------------------------------- collecting
def _json_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [
            Path(dirpath) / f
            for f in sorted(filenames)
            if f.endswith(".json") and not f.startswith(".")
        ]
    return out


def _check_per_level(rec: dict, path: Path) -> None:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise LeaderboardError(
            f"{path}: the per-level file of {path.with_suffix('.json')} is missing"
        )
    try:
        df = pq.read_table(path, columns=list(_PER_LEVEL_COLUMNS)).to_pandas()
    except Exception as e:  # pyarrow raises several types for bad files and missing columns
        raise LeaderboardError(f"{path}: cannot read the per-level file ({e})") from None
    if df.empty:
        raise LeaderboardError(f"{path}: the per-level file has no rows")
    if set(df["result_id"]) != {rec["result_id"]}:
        raise LeaderboardError(
            f"{path}: result_id does not match its record's ({rec['result_id'][:12]}...)"
        )
    n = df["level_hash"].nunique()
    if n != rec["benchmark"]["n_levels"]:
        raise LeaderboardError(
            f"{path}: {n} levels but the record says n_levels = {rec['benchmark']['n_levels']}"
        )
    mean = float(df.groupby("level_hash", sort=False)["solve_rate"].mean().mean())
    if not math.isclose(mean, rec["metrics"]["solve_rate"]["mean"], abs_tol=1e-6):
        raise LeaderboardError(
            f"{path}: the mean solve rate of its levels ({mean:.6f}) differs from the "
            f"record's metrics.solve_rate.mean ({rec['metrics']['solve_rate']['mean']:.6f})"
        )


def load_record_file(path: str | os.PathLike) -> RecordFile:
    """Reads, validates and checks one record JSON and its per-level Parquet."""
    from harness.scoring.records import read_record

    path = Path(path)
    rec = read_record(path)
    ppath = path.with_suffix(".parquet")
    _check_per_level(rec, ppath)
    return RecordFile(rec, path, ppath)


def collect_records(
    folders: Iterable[str | os.PathLike],
    *,
    skip_invalid: bool = False,
    warn: Callable[[str], None] | None = None,
) -> list[RecordFile]:
    """Every record JSON under ``folders`` (recursively; hidden files skipped), validated.

    A folder that does not exist is an error. A file reached twice (overlapping folders) is
    read once. With ``skip_invalid`` a bad record is reported through ``warn`` and left out;
    otherwise it raises (:class:`harness.scoring.records.RecordError` or
    :class:`LeaderboardError`)."""
    from harness.scoring.records import RecordError

    seen: set[Path] = set()
    out = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise LeaderboardError(f"records folder {folder} does not exist")
        for path in _json_files(folder):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                out.append(load_record_file(path))
            except (RecordError, LeaderboardError) as e:
                if not skip_invalid:
                    raise
                if warn is not None:
                    warn(f"skipped an invalid record: {e}")
    return out
