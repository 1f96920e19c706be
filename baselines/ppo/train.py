"""The full PPO run: a Python loop over the compiled update of :mod:`baselines.ppo.update`.

:func:`train` builds the agent and the level pool from a :class:`~baselines.ppo.config.TrainConfig`,
then calls the jitted update (``logging.log_every`` PPO updates per call) until
``ppo.num_updates``; between calls it writes one metrics row per update (``sps``: env steps per
second, ``wall_s``: seconds since the start, resumed runs included), refills the SFL buffer
(:func:`sfl_rescore`), writes resume checkpoints and snapshots (``logging.snapshot_every``: a
submission folder per snapshot under ``snapshots/``, the candidates that checkpoint selection on
a validation split scores), drives the progress bar, and at the end plots
the curve, evaluates (:func:`evaluate`: first-episode solve rate per level, (L,) floats in
[0, 1]) and exports the submission. ``make_train``, ``Runner``, ``Transition``, ``make_mesh``
and ``make_optimizer`` live in :mod:`baselines.ppo.update` and are re-exported here.

Several processes (:mod:`kinetix.distributed`): every process runs this loop on the same config
and levels; the update is data-parallel over every device of every process. Checkpoints are
gathered onto every process and written by process 0 only; a resumed run reads process 0's
checkpoint and sends it to the others. Metrics, the curve, the summary, the final evaluation
and the exported submission are process 0's alone (the other processes write nothing).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from baselines.ppo.config import ConfigError, TrainConfig
from baselines.ppo.levels import take_levels
from baselines.ppo.update import (
    Runner,
    TrainFns,
    Transition,
    _is_batched,
    make_mesh,
    make_optimizer,
    make_train,
)
from kinetix.distributed import barrier, gather, is_primary, process_count, put_global
from kinetix.env import KinetixEnv

__all__ = [
    "Runner",
    "Transition",
    "make_mesh",
    "make_train",
    "make_optimizer",
    "policy_fn",
    "snapshot_path",
    "list_snapshots",
    "SNAPSHOT_DIR",
]

#: The folder of a run's snapshots (``logging.snapshot_every``), one submission folder each.
SNAPSHOT_DIR = "snapshots"


def snapshot_path(out_dir, update: int):
    """``out_dir/snapshots/update_NNNNNN``: the snapshot taken after ``update`` PPO updates."""
    from pathlib import Path

    return Path(out_dir) / SNAPSHOT_DIR / f"update_{update:06d}"


def list_snapshots(out_dir) -> list[tuple[int, object]]:
    """``[(update, folder), ...]`` of a run's complete snapshots (each with its
    ``model.safetensors``), oldest first."""
    import re
    from pathlib import Path

    root = Path(out_dir) / SNAPSHOT_DIR
    out = []
    if root.is_dir():
        for p in root.iterdir():
            m = re.fullmatch(r"update_(\d{6,})", p.name)
            if m and p.is_dir() and (p / "model.safetensors").is_file():
                out.append((int(m.group(1)), p))
    return sorted(out, key=lambda t: t[0])


def policy_fn(agent, params, greedy: bool = False):
    """``policy(key, obs) -> action`` for ONE env (feed-forward use: the hidden state is reset
    every step), e.g. for :func:`kinetix.rollout.first_episode`."""

    def policy(key, obs):
        obs = jax.tree.map(lambda x: x[None, None], obs)
        _, dist, _ = agent.apply(params, agent.initial_hidden(1), obs, jnp.ones((1, 1), bool))
        action = dist.mode() if greedy else dist.sample(key)
        return jax.tree.map(lambda x: x[0, 0], action)

    return policy


@functools.cache
def _jit_scores(agent, env, env_params, num_steps):
    from baselines.ppo.levels import learnability_scores

    return jax.jit(
        lambda params, levels, key: learnability_scores(
            agent, env, env_params, params, levels, key, num_steps
        )
    )


def sfl_rescore(fns: TrainFns, agent, cfg: TrainConfig, runner: Runner) -> tuple[Runner, dict]:
    """Scores ``num_score`` bank levels with the current policy and refills the SFL buffer."""
    from baselines.ppo.levels import top_k_buffer

    sfl = cfg.levels.sfl
    sampler = runner.sampler
    key = jax.random.fold_in(runner.key, 0x5F1)
    k_pick, k_roll = jax.random.split(key)
    n = min(sfl.num_score, sampler.size)
    idx = jax.random.choice(k_pick, sampler.size, (n,), replace=False)
    scores, p, _ = _jit_scores(agent, fns.env, fns.env_params, sfl.score_steps)(
        runner.params, take_levels(sampler.pool, idx), k_roll
    )
    k = min(sfl.top_k, n)
    buf = top_k_buffer(scores, idx, k).astype(jnp.int32)
    buf = jnp.resize(buf, sampler.buffer.shape)  # keep the shape (repeat if the bank is small)
    new = dataclasses.replace(sampler, buffer=buf, ratio=jnp.float32(sfl.ratio))
    new = put_global(new, fns.shardings(runner).sampler)
    info = {
        "sfl_mean_score": float(jnp.mean(jax.lax.top_k(scores, k)[0])),
        "sfl_mean_p": float(jnp.mean(p)),
    }
    return runner._replace(sampler=new), info


# ------------------------------------------------------------------------------------------------
# the full run: Python loop over compiled updates


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns."""

    params: Any
    metrics: list[dict]
    info: dict
    runner: Runner
    out_dir: Any = None


def evaluate(agent, params, env_config, env_params, levels, num_episodes: int, seed: int = 0):
    """Solve rate of the first episode (sampled actions) per level: (L,) float array."""
    from kinetix.rollout import first_episode

    env = KinetixEnv(env_config)
    policy = policy_fn(agent, params)

    def one(level, key):
        return first_episode(env, policy, level, key, env_params)["solved"]

    keys = jax.random.split(jax.random.PRNGKey(seed), num_episodes)
    per_level = jax.jit(jax.vmap(lambda lv: jnp.mean(jax.vmap(lambda k: one(lv, k))(keys))))
    return np.asarray(per_level(levels))


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _hardware() -> str:
    devs = jax.devices()
    procs = process_count()
    where = f", {procs} processes" if procs > 1 else ""
    return f"{len(devs)} x {devs[0].device_kind} ({jax.default_backend()}{where})"


def _resume(ckpt, runner: Runner, shardings, ppo_settings: dict):
    """``(runner, metadata)`` from process 0's checkpoint ``ckpt`` (checked against the run's
    ``ppo`` settings), placed with ``shardings`` on every process."""
    from baselines.ppo.checkpoint import load_checkpoint
    from kinetix.distributed import broadcast, primary_result

    if process_count() == 1:
        runner, meta = load_checkpoint(ckpt, runner)
        _check_resume(ckpt, meta, ppo_settings)
        return runner, meta
    template = gather(runner)
    loaded = {}

    def read():
        loaded["runner"], meta = load_checkpoint(ckpt, template)
        _check_resume(ckpt, meta, ppo_settings)
        return meta

    meta = primary_result(read)
    host = broadcast(loaded.get("runner", template))
    return put_global(host, shardings), meta


def _check_resume(ckpt, meta: dict, ppo_settings: dict) -> None:
    if meta.get("config", {}).get("ppo") != ppo_settings:
        raise ConfigError(f"{ckpt}: the checkpoint was written with other ppo settings")


def train(
    cfg: TrainConfig,
    out_dir=None,
    *,
    levels=None,
    level_names=None,
    params=None,
    resume: bool = False,
    stop_after: int | None = None,
    mesh: Mesh | None = None,
    log=None,
    on_metrics=None,
    export: bool = True,
) -> TrainResult:
    """Runs PPO for ``cfg`` (see the module doc). With ``out_dir``: ``metrics.jsonl``,
    ``checkpoint.safetensors`` (every ``checkpoint_every`` updates and at the end),
    ``curve.png``, ``summary.json`` and the exported ``submission/`` (and with
    ``logging.snapshot_every`` a submission folder per snapshot, :func:`snapshot_path`, the
    last at the final update); ``resume`` continues
    from the checkpoint bit-identically. ``levels``: a stacked level batch overriding
    ``cfg.levels``; ``params``: initial network parameters (fine-tuning); ``stop_after``: stop
    after that many updates (the run can be resumed); ``on_metrics(row)`` sees every row."""
    import json
    import time
    from pathlib import Path

    from baselines.ppo.agent import make_agent
    from baselines.ppo.checkpoint import CHECKPOINT_FILE, save_checkpoint
    from baselines.ppo.config import config_to_dict
    from baselines.ppo.levels import resolve_levels
    from baselines.ppo.report import MetricsWriter, plot_curve

    log = log or (lambda s: None)
    out_dir = Path(out_dir) if out_dir is not None else None
    agent = make_agent(
        cfg.network.arch, cfg.network.config, cfg.env.obs_type, cfg.env.action_type, cfg.env.size
    )
    if levels is None:
        levels, level_names = resolve_levels(cfg.levels, cfg.env.size, log)
    elif not _is_batched(levels):
        from kinetix.level import stack_levels

        levels = stack_levels([levels], cfg.env.size)  # pads a smaller level to the env size
    n_levels = int(levels.polygon_roles.shape[0])
    level_names = list(level_names or [f"level{i}" for i in range(n_levels)])
    if cfg.levels.sfl.enabled and n_levels < 2:
        raise ConfigError("levels.sfl.enabled: SFL needs a pool of more than one level")
    fns = make_train(cfg, agent, levels, mesh)
    runner = fns.init(jax.random.PRNGKey(cfg.seed), params)
    cfg_dict = config_to_dict(cfg)
    ckpt = out_dir / CHECKPOINT_FILE if out_dir is not None else None
    wall_before = 0.0
    if resume:
        if ckpt is None:
            raise ConfigError("resume needs an output folder")
        runner, meta = _resume(ckpt, runner, fns.shardings(runner), cfg_dict["ppo"])
        wall_before = float(meta.get("wall_seconds", 0.0))
        log(f"resumed from {ckpt} at update {int(gather(runner.update))}")
    start = int(gather(runner.update))
    primary = is_primary()
    writer = MetricsWriter(
        out_dir / "metrics.jsonl" if out_dir and primary else None,
        truncate_after=start if resume else None,
    )
    num_updates = cfg.ppo.num_updates
    if stop_after is not None:
        num_updates = min(stop_after, num_updates)
    k = cfg.logging.log_every
    update_fn = fns.compiled_update(runner)
    if any(d.process_index != jax.process_index() for d in fns.mesh.devices.flat):
        # compiled first (a process that read it from the compilation cache is minutes ahead
        # of one that compiles), then all meet before the first all-reduce (gloo allows 30 s)
        update_fn = update_fn.lower(runner).compile()
        barrier("train: first update")
    steps_per_call = k * cfg.ppo.batch_steps
    sfl = cfg.levels.sfl

    def save(runner, wall):
        if ckpt is not None:
            host = gather(runner)  # every process takes part; process 0 writes
            if primary:
                meta = {"update": int(host.update), "config": cfg_dict, "wall_seconds": wall}
                save_checkpoint(ckpt, host, meta)

    def run_info(updates: int, wall: float) -> dict:
        return {
            "name": cfg.name,
            "updates": updates,
            "env_steps": updates * cfg.ppo.batch_steps,
            "wall_seconds": round(wall, 2),
            "sps_steady": float(np.median(sps_steady)) if sps_steady else None,
            "hardware": _hardware(),
            "seed": cfg.seed,
            "env_size": cfg.env.size,
            "level_source": cfg.levels.source,
            "levels": level_names,
            "hyperparameters": cfg_dict,
            "final": writer.rows[-1] if writer.rows else None,
        }

    def snapshot(runner, update: int, wall: float) -> None:
        """A submission folder of the current policy (every process gathers, process 0
        writes)."""
        if out_dir is None or not cfg.logging.snapshot_every:
            return
        host_params = gather(runner.params)
        if primary:
            from baselines.ppo.export import export_submission

            export_submission(
                snapshot_path(out_dir, update),
                cfg.network.arch,
                agent.arch_config,
                host_params,
                fns.env.config,
                run_info(update, wall),
            )

    bar = None
    if cfg.logging.progress:
        from tqdm import tqdm

        bar = tqdm(
            total=cfg.ppo.num_updates,
            initial=start,
            unit="upd",
            desc=cfg.name,
            dynamic_ncols=True,
            mininterval=1.0,
        )
    t_start = time.time()
    sps_steady = []
    update = start
    last_ckpt = start
    while update < num_updates:
        t0 = time.time()
        runner, m = update_fn(runner)
        m = gather(m)
        dt = time.time() - t0
        if update > start:  # the first call includes compilation
            sps_steady.append(steps_per_call / dt)
        for i in range(k):
            row = {key: np.asarray(v[i]).item() for key, v in m.items()}
            row["env_steps"] = int(row["update"]) * cfg.ppo.batch_steps
            row.update(sps=steps_per_call / dt, wall_s=wall_before + time.time() - t_start)
            row = writer.write(row)
            if on_metrics is not None:
                on_metrics(row)
        update = int(m["update"][-1])
        if sfl.enabled and update // sfl.update_every > (update - k) // sfl.update_every:
            runner, sinfo = sfl_rescore(fns, agent, cfg, runner)
            log(f"SFL rescoring at update {update}: {sinfo}")
        every = cfg.logging.checkpoint_every
        if every and update - last_ckpt >= every and update < num_updates:
            save(runner, wall_before + time.time() - t_start)
            last_ckpt = update
        snap = cfg.logging.snapshot_every
        if snap and (update // snap > (update - k) // snap or update >= cfg.ppo.num_updates):
            snapshot(runner, update, wall_before + time.time() - t_start)
        if bar is not None:
            bar.update(update - bar.n)
            last = writer.rows[-1]
            bar.set_postfix_str(
                f"return {_fmt(last['mean_return'])} solve {_fmt(last['solve_rate'])} "
                f"sps {last['sps']:.0f}",
                refresh=False,
            )
    if bar is not None:
        bar.close()
    wall = wall_before + time.time() - t_start
    save(runner, wall)
    params = gather(runner.params)
    info = run_info(int(gather(runner.update)), wall)
    if out_dir is not None and primary and update >= cfg.ppo.num_updates:
        if cfg.logging.eval_episodes:
            n = min(64, n_levels)
            rates = evaluate(
                agent,
                params,
                fns.env.config,
                fns.env_params,
                take_levels(levels, jnp.arange(n)),
                cfg.logging.eval_episodes,
                cfg.seed,
            )
            per_level = dict(zip(level_names[:n], map(float, rates), strict=True))
            info["eval"] = {
                "episodes_per_level": cfg.logging.eval_episodes,
                "solve_rate": float(rates.mean()),
                "per_level": per_level,
            }
        if cfg.logging.plot:
            plot_curve(writer.rows, out_dir / "curve.png", title=cfg.name)
        if export:
            from baselines.ppo.export import export_submission

            export_submission(
                out_dir / "submission",
                cfg.network.arch,
                agent.arch_config,
                params,
                fns.env.config,
                info,
            )
        (out_dir / "summary.json").write_text(json.dumps(info, indent=2) + "\n")
    return TrainResult(params, writer.rows, info, runner, out_dir)
