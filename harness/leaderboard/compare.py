"""Compare two results on the same benchmark, protocol and level set.

Given result A and result B (record files, or submission ids resolved among collected records),
:func:`compare_results` reports, from their per-level Parquet files (:mod:`harness.leaderboard.
paired` rebuilds the per-attempt or per-seed entries):

* ``probability_of_improvement``: P(A > B), for each level the probability that a random entry
  of A beats a random entry of B (ties count 1/2), averaged over levels, with its 95%
  stratified-bootstrap CI (:func:`harness.leaderboard.paired.probability_of_improvement`);
* ``iqm_difference`` and ``mean_difference``: IQM(A) - IQM(B) (and the mean) with a 95% CI from
  a stratified bootstrap paired by level hash (each replicate resamples each level's attempts,
  or training seeds for fine-tuning, of both results);
* ``per_level``: level id, A's and B's solve rate and their difference, sorted by the absolute
  difference (largest first; ties by level id).

Results on different benchmarks, protocols or level sets are a
:class:`~harness.leaderboard.record_files.LeaderboardError`; the same levels read from different
dataset commits (the bundled copy and the Hub release) compare, and each side's commit is reported.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from harness.leaderboard.record_files import LeaderboardError, RecordFile, load_record_file

__all__ = ["resolve_pair", "compare_results", "is_record_path"]


def is_record_path(spec: str) -> bool:
    # submission ids may contain "/" (org/name): only a .json name or an existing file is a path
    return spec.endswith(".json") or Path(spec).is_file()


def _candidates(
    spec: str, records: Sequence[RecordFile], benchmark: str | None, protocol: str
) -> dict[str, RecordFile]:
    """``{level-set hash: newest record}`` for a record path or a submission id."""
    if is_record_path(spec):
        if not Path(spec).is_file():
            raise LeaderboardError(f"{spec}: no such record file")
        rf = load_record_file(spec)
        return {rf.key[2]: rf}
    if benchmark is None:
        raise LeaderboardError(f"{spec}: give --benchmark to find a submission's record")
    found: dict[str, RecordFile] = {}
    for rf in records:
        b, p, level_set, sub = rf.key
        if (b, p, sub) != (benchmark, protocol, spec) or rf.record["status"] != "FINISHED":
            continue
        old = found.get(level_set)
        if old is None or rf.record["created_at"] > old.record["created_at"]:
            found[level_set] = rf
    if not found:
        subs = sorted({rf.key[3] for rf in records if rf.key[:2] == (benchmark, protocol)})
        known = ", ".join(subs) if subs else "none"
        raise LeaderboardError(
            f"no {protocol} record of submission {spec!r} on {benchmark} (submissions with "
            f"one: {known})"
        )
    return found


def resolve_pair(
    spec_a: str,
    spec_b: str,
    records: Sequence[RecordFile],
    *,
    benchmark: str | None = None,
    protocol: str | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[RecordFile, RecordFile]:
    """The two records to compare. Each spec is a record JSON path or a submission id (looked
    up in ``records`` on ``benchmark`` with ``protocol``, default ``zero-shot@v1``). When both
    have records on several level sets, the most recent level set they share is taken (and
    ``note`` says so); none shared is an error."""
    proto = protocol or "zero-shot@v1"
    ca = _candidates(spec_a, records, benchmark, proto)
    cb = _candidates(spec_b, records, benchmark, proto)
    for spec, cands in ((spec_a, ca), (spec_b, cb)):
        rf = next(iter(cands.values()))
        if benchmark is not None and rf.key[0] != benchmark:
            raise LeaderboardError(f"{spec} is a result on {rf.key[0]}, not on {benchmark}")
        if protocol is not None and rf.key[1] != protocol:
            raise LeaderboardError(f"{spec} is a {rf.key[1]} result, not {protocol}")
    common = set(ca) & set(cb)
    if not common:
        if len(ca) == len(cb) == 1:  # let compare_results name the mismatch precisely
            return next(iter(ca.values())), next(iter(cb.values()))
        raise LeaderboardError(
            f"{spec_a} and {spec_b} have no level set in common "
            f"({', '.join(sorted(ca))} vs {', '.join(sorted(cb))})"
        )
    lset = max(common, key=lambda c: max(ca[c].record["created_at"], cb[c].record["created_at"]))
    if len(common) > 1 and note is not None:
        note(f"both have results on {len(common)} level sets; comparing on {lset[:12]}")
    return ca[lset], cb[lset]


def _same(a: RecordFile, b: RecordFile) -> None:
    checks = (
        ("benchmark", a.key[0], b.key[0]),
        ("protocol", a.key[1], b.key[1]),
        ("level set", a.key[2], b.key[2]),
    )
    for what, x, y in checks:
        if x != y:
            raise LeaderboardError(
                f"cannot compare results on different {what}s: A ({a.path}) is on {x}, "
                f"B ({b.path}) on {y}"
            )


def _scores(rf: RecordFile):
    import pyarrow.parquet as pq

    from harness.leaderboard.paired import score_matrix
    from harness.scoring.stats import iqm

    try:
        df = pq.read_table(rf.per_level_path).to_pandas()
    except (OSError, ValueError) as e:
        raise LeaderboardError(f"{rf.per_level_path}: cannot read ({e})") from None
    s = score_matrix(df, str(rf.per_level_path))
    got, want = float(iqm(s.level_means())), float(rf.record["metrics"]["solve_rate"]["iqm"])
    if not math.isclose(got, want, abs_tol=1e-6):
        raise LeaderboardError(
            f"{rf.per_level_path}: the IQM of its levels ({got:.6f}) differs from the record's "
            f"({want:.6f})"
        )
    return s


def compare_results(
    a: RecordFile,
    b: RecordFile,
    *,
    reps: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    root: str | os.PathLike | None = None,
) -> dict:
    """The comparison of A and B (module docstring) as a JSON-ready dict: ``benchmark_id``,
    ``protocol``, ``level_set_sha256``, ``dataset_commit`` (A's), ``n_levels``, ``ci_unit``,
    ``a`` and ``b`` (submission id, record path, dataset commit and origin, IQM, mean),
    ``probability_of_improvement``, ``iqm_difference``, ``mean_difference`` (each ``{"value",
    "ci_low", "ci_high"}``), ``bootstrap_reps``,
    ``seed``, ``alpha`` and ``per_level`` (list of ``{"level_id", "level_hash", "a", "b",
    "diff"}``). ``root``: record paths are shown relative to it."""
    from harness.leaderboard.paired import align, paired_difference, probability_of_improvement

    _same(a, b)
    sa, sb = align(_scores(a), _scores(b))
    diff = paired_difference(sa, sb, reps=reps, seed=seed, alpha=alpha)
    poi = probability_of_improvement(
        sa, sb, reps=reps, seed=seed, alpha=alpha, mean_difference=diff["mean"]
    )
    ra, rb = sa.level_means(), sb.level_means()
    per_level = [
        {"level_id": lid, "level_hash": h, "a": float(x), "b": float(y), "diff": float(x - y)}
        for lid, h, x, y in zip(sa.level_ids, sa.level_hashes, ra, rb, strict=True)
    ]
    per_level.sort(key=lambda d: (-abs(d["diff"]), d["level_id"]))

    def side(rf: RecordFile) -> dict:
        path = rf.path if root is None else Path(os.path.relpath(rf.path, root))
        sr = rf.record["metrics"]["solve_rate"]
        return {
            "submission_id": rf.key[3],
            "record_path": Path(path).as_posix(),
            "dataset_commit": rf.dataset_commit,
            "dataset_origin": rf.dataset_origin,
            "iqm": float(sr["iqm"]),
            "mean": float(sr["mean"]),
        }

    return {
        "benchmark_id": a.key[0],
        "protocol": a.key[1],
        "level_set_sha256": a.key[2],
        "dataset_commit": a.dataset_commit,
        "n_levels": len(per_level),
        "ci_unit": sa.unit if sa.unit == sb.unit else f"{sa.unit} (A), {sb.unit} (B)",
        "a": side(a),
        "b": side(b),
        "probability_of_improvement": poi,
        "iqm_difference": diff["iqm"],
        "mean_difference": diff["mean"],
        "bootstrap_reps": int(reps),
        "seed": int(seed),
        "alpha": float(alpha),
        "per_level": per_level,
        "n_levels_differ": int(np.sum([d["diff"] != 0 for d in per_level])),
    }
