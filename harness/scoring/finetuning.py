"""The ``finetune-<budget>@v1`` protocol: PPO per level and seed, then zero-shot on that level.

For every level of the benchmark and every training seed of the protocol, PPO
(``baselines.ppo.finetune``, the protocol's fixed hyper-parameters) trains from the
submission's weights for the budget, and the protocol's zero-shot evaluation (20 attempts) runs
on that level with the fine-tuned weights. The same budget from fresh weights (the
from-scratch baseline) runs beside it. Outcomes have shape (L, S, K): levels, training seeds,
attempts. Each (level, seed, start) cell is cached by level hash, so an interrupted run resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from harness.scoring.evaluation import OUTCOMES, Agent, evaluate
from harness.scoring.protocols import FineTune

__all__ = ["FinetuneError", "run_finetune"]


class FinetuneError(ValueError):
    """The fine-tuning protocol cannot run as asked."""


def _cell_key(sub_sha: str, start: str, protocol: FineTune, level_hash: str, seed: int, env):
    from harness.levels.build import simulator_version

    blob = json.dumps(
        [sub_sha, start, protocol.to_json(), level_hash, seed, repr(env), simulator_version()],
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def run_finetune(
    submission,
    loaded,
    protocol: FineTune,
    env_config,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int], None] | None = None,
    scratch: bool = True,
) -> dict[str, dict[str, np.ndarray]]:
    """``{"finetuned": outcomes, "scratch": outcomes}``, each a dict of (L, S, K) arrays."""
    from baselines.ppo.finetune import FINETUNE_PPO, finetune

    if getattr(submission, "program", None) is not None:
        raise FinetuneError(
            f"{submission.id}: an exported policy (jax-exported) is scored zero-shot only: "
            "fine-tuning needs gradients and a training step, which an exported forward "
            "program does not carry; fine-tune the network in your own code, export it again "
            "and score it with zero-shot@v1"
        )
    if submission.params is None:
        raise FinetuneError(
            f"{submission.id}: a parameter-free policy ({submission.architecture}) cannot be "
            "fine-tuned"
        )
    ppo = dataclasses.replace(
        FINETUNE_PPO,
        num_envs=protocol.num_envs,
        num_steps=protocol.num_steps,
        num_minibatches=protocol.num_minibatches,
    )
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    host = jax.tree.map(np.asarray, loaded.levels)
    starts = {"finetuned": submission.params}
    if scratch:
        starts["scratch"] = None
    result = {}
    for name, start in starts.items():
        cells = []
        for i, h in enumerate(loaded.level_hashes):
            level = jax.tree.map(lambda x, i=i: x[i], host)
            per_seed = []
            for seed in protocol.train_seeds:
                key = _cell_key(submission.sha256, name, protocol, h, seed, env_config)
                path = cache / f"{key}.npz" if cache is not None else None
                if path is not None and path.is_file():
                    with np.load(path) as z:
                        per_seed.append({k: z[k] for k in OUTCOMES})
                else:
                    params, _ = finetune(
                        submission.architecture,
                        submission.arch_config,
                        start,
                        level,
                        budget_env_steps=protocol.budget,
                        seed=seed,
                        ppo_config=ppo,
                        obs_type=env_config.obs_type,
                        action_type=env_config.action_type,
                        env_size=env_config.size.name,
                    )
                    agent = Agent(submission.architecture, submission.arch_config, params, "ft")
                    one = jax.tree.map(lambda x: x[None], level)
                    out = evaluate(agent, one, [h], protocol.evaluation, env_config, chunk=1)
                    out = {k: v[0] for k, v in out.items()}
                    if path is not None:
                        from kinetix.atomic_io import atomic_write

                        atomic_write(path, lambda f, out=out: np.savez(f, **out))
                    per_seed.append(out)
                if progress is not None:
                    progress(1)
            cells.append({k: np.stack([s[k] for s in per_seed]) for k in OUTCOMES})
        result[name] = {k: np.stack([c[k] for c in cells]) for k in OUTCOMES}
    return result
