"""The ``finetune-<budget>@v1`` protocol: PPO per level and seed, then zero-shot on that level.

For every level of the benchmark and every training seed of the protocol, PPO
(``baselines.ppo.finetune``, the protocol's fixed hyper-parameters) trains from the
submission's weights for the budget, and the protocol's zero-shot evaluation (20 attempts) runs
on that level with the fine-tuned weights. The same budget from fresh weights (the
from-scratch baseline) runs beside it. Outcomes have shape (L, S, K): levels, training seeds,
attempts.

Every (level, seed) cell of one start is an independent PPO run; they train together as ONE
vmapped program (:func:`baselines.ppo.cells.train_cells`), ``chunk`` cells at a time, the cell
axis sharded over the local devices. Each cell's outcome is cached by level hash as soon as its
chunk is done, so an interrupted run resumes; scratch cells are keyed by the architecture (not
the submission), so every submission of one architecture shares them. ``sequential=True``
runs the cells one after another. The default (``sequential=None``) is sequential on CPU and the
cell program on accelerators: on CPU the protocol's PPO is bound by the network's floating-point
work (the entity transformer's gradient steps are 96% of an update and its matmuls already run
near the cores' throughput), which batching cells cannot reduce; measured on 2 CPU cores with 3
cells at 1e5 the cell program was slower (1,124 s vs 862 s,
``benchmarks/results/finetuning-cpu-1level.json``).
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

__all__ = [
    "FinetuneError",
    "run_finetune",
    "train_and_evaluate_cells",
    "scratch_owner",
    "DEFAULT_CHUNK",
]

#: Cells per vmapped program on one device (each holds 64 envs, their rollout and Adam state).
DEFAULT_CHUNK = 36


class FinetuneError(ValueError):
    """The fine-tuning protocol cannot run as asked."""


def _cell_key(owner: str, start: str, protocol: FineTune, level_hash: str, seed: int, env):
    from harness.levels.build import simulator_version

    blob = json.dumps(
        [owner, start, protocol.to_json(), level_hash, seed, repr(env), simulator_version()],
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _protocol_ppo(protocol: FineTune):
    from baselines.ppo.finetune import FINETUNE_PPO

    return dataclasses.replace(
        FINETUNE_PPO,
        num_envs=protocol.num_envs,
        num_steps=protocol.num_steps,
        num_minibatches=protocol.num_minibatches,
    )


def train_and_evaluate_cells(
    arch: str,
    arch_config,
    params,
    levels,
    level_hashes,
    protocol: FineTune,
    env_config,
    *,
    owner: str,
    start: str,
    cache_dir: str | os.PathLike | None = None,
    chunk: int = DEFAULT_CHUNK,
    sequential: bool | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """PPO for every (level, training seed) cell from ``params`` (``None``: fresh weights),
    then the protocol's zero-shot evaluation of each trained cell on its level.

    ``levels``: stacked (L, ...) host or device levels with their ``level_hashes``; ``owner``
    and ``start`` name the cache entries (e.g. the submission's sha256 and ``"finetuned"``).
    Returns outcome arrays of shape (L, S, K). ``progress(n)`` after every n cells done (cached
    cells count at once).
    """
    from baselines.networks.registry import make_config
    from baselines.ppo.agent import make_agent
    from baselines.ppo.cells import train_cells
    from baselines.ppo.finetune import finetune, finetune_config
    from kinetix.atomic_io import atomic_write

    if arch_config is None or isinstance(arch_config, dict):
        arch_config = make_config(arch, dict(arch_config or {}))
    from baselines.ppo.update import make_mesh
    from kinetix.distributed import broadcast, is_primary, process_count

    n_proc, primary = process_count(), is_primary()
    ppo = _protocol_ppo(protocol)
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None and primary:
        cache.mkdir(parents=True, exist_ok=True)
    host = jax.tree.map(np.asarray, levels)
    seeds = tuple(protocol.train_seeds)
    cells = [(i, s) for i in range(len(level_hashes)) for s in seeds]
    paths = {}
    for i, s in cells:
        key = _cell_key(owner, start, protocol, level_hashes[i], s, env_config)
        paths[(i, s)] = cache / f"{key}.npz" if cache is not None else None
    # process 0's cache decides what is left (the others never read theirs)
    attempts = protocol.evaluation.attempts
    cached = np.array([primary and p is not None and p.is_file() for p in paths.values()])
    stored = {c: _empty(attempts) for c, hit in zip(cells, cached, strict=True) if hit}
    if primary:
        for c in stored:
            with np.load(paths[c]) as z:
                stored[c] = {k: z[k].astype(stored[c][k].dtype) for k in OUTCOMES}
    if n_proc > 1:
        cached = broadcast(cached)
        if not primary:  # placeholders of the right shapes for process 0's cached outcomes
            stored = {c: _empty(attempts) for c, hit in zip(cells, cached, strict=True) if hit}
        stored = dict(zip(stored, broadcast(list(stored.values())), strict=True))
    results: dict[tuple[int, int], dict] = dict(stored)
    todo = [(i, s, paths[(i, s)]) for (i, s), hit in zip(cells, cached, strict=True) if not hit]
    if progress is not None and results:
        progress(len(results))
    local = make_mesh(jax.local_devices())  # each process trains its own cells

    def level_of(i):
        return jax.tree.map(lambda x: x[i], host)

    def score(i, trained):
        agent = Agent(arch, arch_config, trained, "ft")
        one = jax.tree.map(lambda x: x[i : i + 1], host)
        out = evaluate(
            agent, one, [level_hashes[i]], protocol.evaluation, env_config, chunk=1, local=True
        )
        return {k: v[0] for k, v in out.items()}

    size = env_config.size.name
    if sequential is None:
        sequential = jax.default_backend() == "cpu"
    if sequential:

        def train_part(part):
            out = []
            for i, s, _ in part:
                trained, _ = finetune(
                    arch,
                    arch_config,
                    params,
                    level_of(i),
                    budget_env_steps=protocol.budget,
                    seed=s,
                    ppo_config=ppo,
                    obs_type=env_config.obs_type,
                    action_type=env_config.action_type,
                    env_size=size,
                    mesh=local,
                )
                out.append(score(i, trained))
            return out

    else:
        cfg = finetune_config(
            arch,
            arch_config,
            protocol.budget,
            0,
            env_size=size,
            obs_type=env_config.obs_type,
            action_type=env_config.action_type,
            ppo_config=ppo,
        )
        agent = make_agent(
            arch, cfg.network.config, env_config.obs_type, env_config.action_type, size
        )
        padded = _padded(host, size)

        def train_part(part):
            idx = np.array([i for i, _, _ in part])
            trained, _ = train_cells(
                cfg,
                agent,
                jax.tree.map(lambda x, idx=idx: x[idx], padded),
                [s for _, s, _ in part],
                params,
                chunk=chunk,
                mesh=local,
            )
            return [
                score(i, jax.tree.map(lambda x, c=c: x[c], trained))
                for c, (i, _, _) in enumerate(part)
            ]

    # rounds: each process trains `per` cells (one, or a chunk for the cell program), then the
    # round's outcomes are gathered and process 0 caches them (an interrupted run resumes)
    per = 1 if sequential else chunk
    for lo in range(0, len(todo), per * n_proc):
        round_cells = todo[lo : lo + per * n_proc]
        outs = _round(round_cells, per, train_part, attempts)
        for (i, s, path), out in zip(round_cells, outs, strict=True):
            if path is not None and primary:
                atomic_write(path, lambda f, out=out: np.savez(f, **out))
            results[(i, s)] = out
        if progress is not None:
            progress(len(round_cells))
    per_level = [
        {k: np.stack([results[(i, s)][k] for s in seeds]) for k in OUTCOMES}
        for i in range(len(level_hashes))
    ]
    return {k: np.stack([c[k] for c in per_level]) for k in OUTCOMES}


def _empty(attempts: int) -> dict[str, np.ndarray]:
    """Zeros shaped and typed like one cell's outcomes ((K,) each)."""
    dtypes = {"solved": bool, "died": bool, "return": np.float32, "length": np.int32}
    return {k: np.zeros(attempts, dtypes[k]) for k in OUTCOMES}


def _round(round_cells: list, per: int, train_part, attempts: int) -> list[dict]:
    """One round: process p trains cells ``[p * per, (p + 1) * per)`` of ``round_cells``
    (``train_part(cells) -> outcome dicts``); returns every cell's outcomes, in order, on every
    process (one process: it trains them all)."""
    from kinetix.distributed import gather_rows, process_block, process_count

    n_proc = process_count()
    if n_proc == 1:
        return train_part(round_cells)
    n = per * n_proc  # blocks of `per` rows, the last ones padded with zeros
    block = process_block(n)
    mine = round_cells[block.start : block.stop]
    outs = train_part(mine) if mine else []
    rows = [*outs] + [_empty(attempts)] * (len(block) - len(outs))
    stacked = {k: np.stack([r[k] for r in rows]) for k in OUTCOMES}
    full = gather_rows(stacked, n)
    return [{k: full[k][j] for k in OUTCOMES} for j in range(len(round_cells))]


def _padded(host, size: str):
    """The levels padded to the env size (a smaller level is padded, as ``train`` does)."""
    from kinetix.level import stack_levels, unstack_levels

    if host.size.name == size:
        return host
    return jax.tree.map(np.asarray, stack_levels(unstack_levels(host), size))


def run_finetune(
    submission,
    loaded,
    protocol: FineTune,
    env_config,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int], None] | None = None,
    scratch: bool = True,
    chunk: int = DEFAULT_CHUNK,
    sequential: bool | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """``{"finetuned": outcomes, "scratch": outcomes}``, each a dict of (L, S, K) arrays."""
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
    starts = {"finetuned": (submission.sha256, submission.params)}
    if scratch:
        starts["scratch"] = (scratch_owner(submission.architecture, submission.arch_config), None)
    return {
        name: train_and_evaluate_cells(
            submission.architecture,
            submission.arch_config,
            params,
            loaded.levels,
            loaded.level_hashes,
            protocol,
            env_config,
            owner=owner,
            start=name,
            cache_dir=cache_dir,
            chunk=chunk,
            sequential=sequential,
            progress=progress,
        )
        for name, (owner, params) in starts.items()
    }


def scratch_owner(arch: str, arch_config) -> str:
    """Scratch cells depend on the architecture and its options only, not on any weights."""
    cfg = arch_config.to_dict() if hasattr(arch_config, "to_dict") else dict(arch_config or {})
    return "scratch:" + json.dumps([arch, cfg], sort_keys=True, default=str)
