"""Checkpoint selection: score a training run's snapshots on a validation split, keep the best.

A run trained with ``logging.snapshot_every`` holds one submission folder per snapshot
(:func:`baselines.ppo.list_snapshots`: ``RUN/snapshots/update_NNNNNN/``). :func:`select_checkpoint`
scores each with a zero-shot protocol on a registered **validation** benchmark
(``random-{s,m,l}-validation-v1``; a test split or the hand-made set is refused, so the
reported test scores stay unbiased), ranks them by the IQM of the solve rate (ties: the mean,
then the earlier snapshot, which used less compute) and copies the winner to ``RUN/selected``
with a model-card section that states the rule and the candidates.

Written into the run folder, each atomically:

* ``selection/update_NNNNNN/<model>/<benchmark>__<protocol>.json`` (+ ``.parquet``): each
  snapshot's result record (validation benchmarks are never ranked on the leaderboard);
* ``selection.json``: the candidates (update, env steps, IQM and mean with their 95% CIs over
  episodes, result id) and the selected one;
* ``selected/``: the chosen snapshot's submission folder.

The per-chunk evaluation cache makes a rerun score only the new snapshots.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["SelectionError", "select_checkpoint", "SELECTION_FILE", "SELECTED_DIR"]

SELECTION_FILE = "selection.json"
SELECTED_DIR = "selected"
#: The benchmark splits checkpoints may be selected on.
SELECTION_SPLITS = ("validation",)


class SelectionError(ValueError):
    """Checkpoint selection cannot run as asked (the message names the argument)."""


def _check_benchmark(benchmark: str):
    from harness.levels.registry import BENCHMARKS

    entry = BENCHMARKS.get(benchmark)
    if entry is None:
        raise SelectionError(
            f"benchmark: {benchmark!r} is not a registered benchmark; selection runs on a "
            "validation split (" + ", ".join(b for b in BENCHMARKS if "validation" in b) + ")"
        )
    if entry.split not in SELECTION_SPLITS:
        raise SelectionError(
            f"benchmark: {benchmark} is a {entry.split} split; checkpoints are selected on a "
            "validation split only, so that test and hand-made scores stay unbiased"
        )
    return entry


def _summary(update: int, env_steps: int | None, path: Path, record: dict) -> dict:
    sr = record["metrics"]["solve_rate"]
    return {
        "update": update,
        "env_steps": env_steps,
        "snapshot": path.name,
        "iqm": float(sr["iqm"]),
        "iqm_ci95": [float(x) for x in sr["ci95"]["iqm"]],
        "mean": float(sr["mean"]),
        "mean_ci95": [float(x) for x in sr["ci95"]["mean"]],
        "ci_unit": sr.get("ci_unit", "eval_episode"),
        "result_id": record["result_id"],
    }


def _env_steps(folder: Path) -> int | None:
    """Env steps of a snapshot, from its model card's training-compute table."""
    import re

    card = (folder / "README.md").read_text() if (folder / "README.md").is_file() else ""
    m = re.search(r"^\| env steps \| ([\d,]+) \|", card, re.MULTILINE)
    return int(m.group(1).replace(",", "")) if m else None


def _selected_card(card: str, chosen: dict, rows: list[dict], benchmark: str, protocol) -> str:
    lines = [
        "",
        "## Checkpoint selection",
        "",
        f"Selected among {len(rows)} snapshots of the run by the IQM of the solve rate under "
        f"`{protocol}` on `{benchmark}` (a validation split; ties: the mean, then the earlier "
        f"snapshot). Chosen: update {chosen['update']} "
        f"({chosen['env_steps'] or 'n/a'} env steps), IQM {chosen['iqm']:.3f} "
        f"[{chosen['iqm_ci95'][0]:.3f}, {chosen['iqm_ci95'][1]:.3f}], mean "
        f"{chosen['mean']:.3f}; 95% CIs over episodes.",
        "",
        "| update | env steps | IQM | mean |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        mark = " (selected)" if r is chosen else ""
        lines.append(
            f"| {r['update']}{mark} | {r['env_steps'] or 'n/a'} | {r['iqm']:.3f} | "
            f"{r['mean']:.3f} |"
        )
    return card.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def select_checkpoint(
    run_dir: str | os.PathLike,
    benchmark: str = "random-s-validation-v1",
    protocol: str = "zero-shot@v1",
    *,
    last: int | None = None,
    out: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = "default",
    offline: bool | None = None,
    bootstrap_reps: int = 2_000,
    log: Callable[[str], None] | None = None,
    on_snapshot: Callable[[dict], None] | None = None,
) -> dict:
    """Scores the snapshots of ``run_dir`` on ``benchmark`` and writes the selection.

    Args:
        run_dir: a training output folder with ``snapshots/`` (``logging.snapshot_every``).
        benchmark: a registered validation benchmark id.
        protocol: a zero-shot protocol id.
        last: score only the newest ``last`` snapshots (all when None).
        out: where the selected submission folder goes (default ``run_dir/selected``).
        cache_dir, offline, bootstrap_reps: as :func:`harness.scoring.score`.
        on_snapshot: called with each snapshot's summary row once it is scored.

    Returns:
        The selection (what ``selection.json`` holds): ``candidates`` (one row per snapshot,
        oldest first), ``selected`` (the chosen row) and ``selected_path``.
    """
    from baselines.ppo import list_snapshots
    from harness.scoring.pipeline import score
    from harness.scoring.protocols import ZeroShot, parse_protocol
    from kinetix.atomic_io import atomic_write_bytes, replace_dir

    run_dir = Path(run_dir)
    _check_benchmark(benchmark)
    proto = parse_protocol(protocol) if isinstance(protocol, str) else protocol
    if not isinstance(proto, ZeroShot):
        raise SelectionError(f"protocol: {protocol} is not a zero-shot protocol")
    if last is not None and last < 1:
        raise SelectionError(f"last: must be >= 1, got {last}")
    snaps = list_snapshots(run_dir)
    if not snaps:
        raise SelectionError(
            f"run_dir: no snapshots in {run_dir / 'snapshots'} (train with "
            "logging.snapshot_every > 0)"
        )
    if last is not None:
        snaps = snaps[-last:]
    rows = []
    for update, folder in snaps:
        scored = score(
            str(folder),
            benchmark,
            proto,
            out=run_dir / "selection" / folder.name,
            cache_dir=cache_dir,
            offline=offline,
            bootstrap_reps=bootstrap_reps,
            log=log,
        )
        row = _summary(update, _env_steps(folder), folder, scored.record)
        rows.append(row)
        if on_snapshot is not None:
            on_snapshot(row)
    chosen = max(rows, key=lambda r: (r["iqm"], r["mean"], -r["update"]))
    src = dict(snaps)[chosen["update"]]
    dest = Path(out) if out is not None else run_dir / SELECTED_DIR
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        for f in src.iterdir():
            if f.is_file():
                shutil.copy2(f, tmp / f.name)
        card = (tmp / "README.md").read_text() if (tmp / "README.md").is_file() else ""
        (tmp / "README.md").write_text(_selected_card(card, chosen, rows, benchmark, proto.id))
        replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result = {
        "benchmark": benchmark,
        "protocol": proto.id,
        "rule": "max IQM of the solve rate; ties: mean, then the earlier snapshot",
        "candidates": rows,
        "selected": chosen,
        "selected_path": str(dest),
    }
    text = json.dumps(result, indent=2) + "\n"
    atomic_write_bytes(run_dir / SELECTION_FILE, text.encode())
    return result
