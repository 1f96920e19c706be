"""Scoring every training seed of a submission (multi-seed submissions, ``seeds.json``).

A multi-seed submission (:mod:`harness.submissions.seeds`) is scored seed by seed through the
single-seed paths, each seed a :meth:`~harness.submissions.Submission.seed_views` view with its
own parameters and sha256 (so each seed's chunks and fine-tuning cells are cached on their own):

* zero-shot (:func:`evaluate_seeds`): every seed runs the protocol's attempts with the protocol's
  own keys (:func:`harness.scoring.protocols.attempt_keys`: they depend on the protocol seed and
  the level hash only, so every seed meets the same episodes); outcomes ``(L, P, K)``;
* fine-tuning (:func:`finetune_seeds`): every seed is fine-tuned with the protocol's training
  seeds; outcomes ``(L, P, S, K)``; the from-scratch runs do not depend on the submission and run
  once, ``(L, S, K)``.

A single-seed submission takes exactly the path it always took (``(L, K)`` / ``(L, S, K)``).
:func:`harness.scoring.records.make_record` turns either layout into the record, with CIs over
seeds and levels (``ci_unit``); :func:`pooled_attempts` and :func:`gain_matrices` are the views
the protocol's extra metrics and the fine-tuning gain take.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["evaluate_seeds", "finetune_seeds", "pooled_attempts", "gain_matrices"]


def _seed_ids(sub) -> list[int] | None:
    return getattr(sub, "seed_ids", None)


def evaluate_seeds(
    sub,
    loaded,
    protocol,
    env_config,
    *,
    policy=None,
    chunk: int = 32,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    timing: dict | None = None,
) -> dict[str, np.ndarray]:
    """Zero-shot outcomes of ``sub`` on ``loaded``'s levels: ``(L, K)`` arrays for a single-seed
    submission, ``(L, P, K)`` for ``P`` seeds (same attempt keys for every seed). ``policy``: a
    :class:`~harness.submissions.interface.BatchedPolicy` (exported or in-process; single seed
    only). ``timing`` gets :func:`~harness.scoring.evaluation.evaluate`'s entries summed over
    the seeds."""
    from harness.scoring.evaluation import Agent, evaluate

    views = sub.seed_views() if _seed_ids(sub) is not None else [sub]
    if policy is not None and len(views) > 1:
        raise ValueError("evaluate_seeds: a BatchedPolicy is one seed")
    per_seed = []
    for view in views:
        agent = Agent(view.architecture, view.arch_config, view.params, view.sha256, policy=policy)
        t: dict = {}
        per_seed.append(
            evaluate(
                agent,
                loaded.levels,
                loaded.level_hashes,
                protocol,
                env_config,
                chunk=chunk,
                cache_dir=cache_dir,
                progress=progress,
                timing=t,
            )
        )
        if timing is not None:
            for k, v in t.items():
                timing[k] = timing.get(k, 0) + v
    if _seed_ids(sub) is None:
        return per_seed[0]
    return {k: np.stack([o[k] for o in per_seed], axis=1) for k in per_seed[0]}


def finetune_seeds(
    sub,
    loaded,
    protocol,
    env_config,
    *,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    scratch: bool = True,
) -> dict[str, dict[str, np.ndarray]]:
    """``{"finetuned": outcomes, "scratch": outcomes}`` (:func:`harness.scoring.finetuning.
    run_finetune`): finetuned ``(L, S, K)``, or ``(L, P, S, K)`` for ``P`` seeds; scratch
    ``(L, S, K)`` (run once, with the first seed)."""
    from harness.scoring.finetuning import run_finetune

    if _seed_ids(sub) is None:
        return run_finetune(
            sub, loaded, protocol, env_config, cache_dir=cache_dir, progress=progress,
            scratch=scratch,
        )  # fmt: skip
    runs = [
        run_finetune(
            view,
            loaded,
            protocol,
            env_config,
            cache_dir=cache_dir,
            progress=progress,
            scratch=scratch and i == 0,
        )  # fmt: skip
        for i, view in enumerate(sub.seed_views())
    ]
    first = runs[0]["finetuned"]
    out = {"finetuned": {k: np.stack([r["finetuned"][k] for r in runs], 1) for k in first}}
    if "scratch" in runs[0]:
        out["scratch"] = runs[0]["scratch"]
    return out


def pooled_attempts(outcomes: dict[str, np.ndarray], multi: bool) -> dict[str, np.ndarray]:
    """Zero-shot outcomes with every seed's attempts side by side, ``(L, P * K)`` (a level's
    solve rate is then its mean over seeds and attempts), for the protocol's per-level extras;
    unchanged for a single seed."""
    if not multi:
        return outcomes
    return {k: v.reshape(v.shape[0], -1) for k, v in outcomes.items()}


def gain_matrices(res: dict, multi: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(finetuned (L, runs), scratch (L, S))`` solve rates per run for
    :func:`harness.scoring.stats.finetune_gain`: runs are the fine-tuning seeds ``S``, or the
    ``P * S`` (submission seed, fine-tuning seed) pairs of a multi-seed submission."""
    ft = np.asarray(res["finetuned"]["solved"], np.float64).mean(-1)
    sc = np.asarray(res["scratch"]["solved"], np.float64).mean(-1)
    return (ft.reshape(ft.shape[0], -1) if multi else ft), sc
