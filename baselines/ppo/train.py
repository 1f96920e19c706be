"""PPO on Kinetix levels in the PureJaxRL shape: one compiled update, a Python loop around it.

``make_train(cfg, agent, pool)`` returns ``(init, update)``:

* ``init(key, params=None) -> Runner`` (fresh or given network parameters, envs reset on levels
  drawn from the pool);
* ``update(runner) -> (runner, metrics)``: ``cfg.logging.log_every`` PPO updates as one
  ``lax.scan`` (rollout of the vmapped envs with ``lax.scan``, GAE, ``update_epochs`` x
  ``num_minibatches`` clipped-loss Adam steps, minibatches split by environment); ``metrics``
  leaves have a leading axis of that length.

Data parallel: with a :class:`jax.sharding.Mesh` over the local devices the env batch (states,
observations, recurrent state) is sharded on its leading axis and everything else replicated;
XLA's SPMD partitioner makes the gradients global. :func:`train` is the full run: resume
checkpoints, metrics JSONL, progress bar, plot and the exported submission.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from baselines.ppo.config import ConfigError, TrainConfig
from baselines.ppo.levels import LevelSampler, make_sampler, sample_indices, take_levels
from baselines.ppo.losses import gae, normalise, policy_loss, value_loss
from kinetix.env import KinetixEnv

__all__ = ["Runner", "Transition", "make_mesh", "make_train", "make_optimizer", "policy_fn"]


class Transition(NamedTuple):
    obs: Any
    first: jax.Array  # obs starts a new episode (the network's "done" input)
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array
    solved: jax.Array
    episode_return: jax.Array


class Runner(NamedTuple):
    """Everything the training loop carries (a pytree; checkpointed as a whole)."""

    params: Any
    opt_state: Any
    env_state: Any
    obs: Any
    first: jax.Array  # (B,) bool
    hidden: Any  # recurrent state, leading axis B
    sampler: LevelSampler
    key: jax.Array
    update: jax.Array  # () int32 updates done


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh (axis ``"d"``) over ``devices`` (default: all local devices)."""
    devices = jax.local_devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("d",))


def make_optimizer(ppo, num_updates: int):
    steps = max(1, num_updates * ppo.update_epochs * ppo.num_minibatches)
    lr = optax.linear_schedule(ppo.lr, 0.0, steps) if ppo.anneal_lr else ppo.lr
    return optax.chain(
        optax.clip_by_global_norm(ppo.max_grad_norm), optax.adam(lr, eps=ppo.adam_eps)
    )


def _tb(tree):
    return jax.tree.map(lambda x: x[None], tree)


def _untb(tree):
    return jax.tree.map(lambda x: x[0], tree)


def policy_fn(agent, params, greedy: bool = False):
    """``policy(key, obs) -> action`` for ONE env (feed-forward use: the hidden state is reset
    every step), e.g. for :func:`kinetix.rollout.first_episode`."""

    def policy(key, obs):
        obs = jax.tree.map(lambda x: x[None, None], obs)
        _, dist, _ = agent.apply(params, agent.initial_hidden(1), obs, jnp.ones((1, 1), bool))
        action = dist.mode() if greedy else dist.sample(key)
        return jax.tree.map(lambda x: x[0, 0], action)

    return policy


def make_train(cfg: TrainConfig, agent, pool, mesh: Mesh | None = None):
    """``(init, update, shardings)`` for ``cfg``; ``pool``: stacked training levels."""
    ppo = cfg.ppo
    env = KinetixEnv(cfg.env.env_config())
    env_params = cfg.env.env_params()
    mesh = make_mesh() if mesh is None else mesh
    n_dev = mesh.devices.size
    if ppo.num_envs % n_dev:
        raise ConfigError(f"ppo.num_envs: {ppo.num_envs} is not a multiple of {n_dev} devices")
    n_envs, n_steps, n_mb = ppo.num_envs, ppo.num_steps, ppo.num_minibatches
    optimizer = make_optimizer(ppo, ppo.num_updates)
    sfl = cfg.levels.sfl
    buffer_size = sfl.top_k if sfl.enabled else 1
    multi_level = int(jax.tree.leaves(pool)[0].shape[0]) > 1 if _is_batched(pool) else False

    batch_sh = NamedSharding(mesh, P("d"))
    repl = NamedSharding(mesh, P())

    def shard_batch(tree):
        return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, batch_sh), tree)

    def reset_on(key, sampler, n):
        levels = take_levels(sampler.pool, sample_indices(key, sampler, n))
        return jax.vmap(lambda lv: env.reset(key, lv, env_params))(levels)

    def init(key, params=None) -> Runner:
        k_params, k_levels, key = jax.random.split(key, 3)
        params = jax.jit(agent.init)(k_params) if params is None else params
        sampler = make_sampler(pool, buffer_size)
        obs, env_state = jax.jit(reset_on, static_argnums=2)(k_levels, sampler, n_envs)
        runner = Runner(
            params=params,
            opt_state=optimizer.init(params),
            env_state=env_state,
            obs=obs,
            first=jnp.ones((n_envs,), bool),
            hidden=agent.initial_hidden(n_envs),
            sampler=sampler,
            key=key,
            update=jnp.int32(0),
        )
        runner = jax.tree.map(jnp.copy, runner)  # distinct buffers (the update donates them)
        return jax.device_put(runner, shardings(runner))

    def shardings(runner: Runner):
        batched = {"env_state", "obs", "first", "hidden"}

        def field(name):
            sh = batch_sh if name in batched else repl
            return jax.tree.map(lambda _: sh, getattr(runner, name))

        return Runner(**{name: field(name) for name in Runner._fields})

    # ---- one PPO update ------------------------------------------------------------------------
    def one_update(runner: Runner, _):
        # COLLECT TRAJECTORIES
        def env_step(carry, _):
            params, env_state, obs, first, hidden, sampler, key = carry
            key, k_act, k_reset = jax.random.split(key, 3)
            hidden, dist, value = agent.apply(params, hidden, _tb(obs), first[None])
            action = dist.sample(k_act)
            log_prob, action, value = _untb(dist.log_prob(action)), _untb(action), value[0]
            next_obs, env_state, reward, done, info = jax.vmap(
                lambda s, a: env.step(k_act, s, a, env_params)
            )(env_state, action)
            if multi_level:  # a finished episode restarts on a freshly drawn level
                fresh_obs, fresh_state = reset_on(k_reset, sampler, n_envs)

                def pick(a, b):
                    return jnp.where(done.reshape(done.shape + (1,) * (a.ndim - 1)), a, b)

                next_obs = jax.tree.map(pick, fresh_obs, next_obs)
                env_state = jax.tree.map(pick, fresh_state, env_state)
            env_state, next_obs = shard_batch((env_state, next_obs))
            tr = Transition(
                obs,
                first,
                action,
                log_prob,
                value,
                reward,
                done,
                info["solved"],
                info["episode_return"],
            )
            return (params, env_state, next_obs, done, hidden, sampler, key), tr

        hidden0 = runner.hidden
        carry = (
            runner.params,
            runner.env_state,
            runner.obs,
            runner.first,
            runner.hidden,
            runner.sampler,
            runner.key,
        )
        carry, traj = jax.lax.scan(env_step, carry, None, length=n_steps)
        params, env_state, last_obs, last_first, hidden, sampler, key = carry

        # CALCULATE ADVANTAGE
        _, _, last_value = agent.apply(params, hidden, _tb(last_obs), last_first[None])
        advantages, targets = gae(
            traj.reward, traj.value, traj.done, last_value[0], ppo.gamma, ppo.gae_lambda
        )

        # UPDATE NETWORK
        def loss_fn(params, mb):
            h0, tr, adv, tgt = mb
            _, dist, value = agent.apply(params, h0, tr.obs, tr.first)
            log_prob = dist.log_prob(tr.action)
            pl, clip_frac = policy_loss(log_prob, tr.log_prob, normalise(adv), ppo.clip_eps)
            vl = value_loss(value, tr.value, tgt, ppo.clip_eps)
            entropy = jnp.mean(dist.entropy())
            total = pl + ppo.vf_coef * vl - ppo.ent_coef * entropy
            approx_kl = jnp.mean((ratio := jnp.exp(log_prob - tr.log_prob)) - 1 - jnp.log(ratio))
            return total, (pl, vl, entropy, approx_kl, clip_frac)

        def update_epoch(carry, _):
            params, opt_state, key = carry
            key, k_perm = jax.random.split(key)
            perm = jax.random.permutation(k_perm, n_envs)

            def split_envs(x, axis):  # env axis -> (n_mb, ..., B / n_mb, ...) by permutation
                x = jnp.take(x, perm, axis=axis)
                x = x.reshape(x.shape[:axis] + (n_mb, -1) + x.shape[axis + 1 :])
                return jnp.moveaxis(x, axis, 0)

            mbs = (
                jax.tree.map(lambda x: split_envs(x, 0), hidden0),
                jax.tree.map(lambda x: split_envs(x, 1), traj),
                split_envs(advantages, 1),
                split_envs(targets, 1),
            )

            def update_minibatch(carry, mb):
                params, opt_state = carry
                grads, aux = jax.grad(loss_fn, has_aux=True)(params, mb)
                updates, opt_state = optimizer.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), aux

            (params, opt_state), aux = jax.lax.scan(update_minibatch, (params, opt_state), mbs)
            return (params, opt_state, key), aux

        key, k_epochs = jax.random.split(key)
        (params, opt_state, _), aux = jax.lax.scan(
            update_epoch, (params, runner.opt_state, k_epochs), None, length=ppo.update_epochs
        )

        # METRICS
        done = traj.done.astype(jnp.float32)
        episodes = done.sum()
        denom = jnp.maximum(episodes, 1.0)
        pl, vl, entropy, approx_kl, clip_frac = (jnp.mean(a) for a in aux)
        metrics = {
            "update": runner.update + 1,
            "env_steps": (runner.update + 1).astype(jnp.float32) * (n_envs * n_steps),
            "episodes": episodes,
            "mean_return": jnp.where(
                episodes > 0, (done * traj.episode_return).sum() / denom, jnp.nan
            ),
            "solve_rate": jnp.where(episodes > 0, (done * traj.solved).sum() / denom, jnp.nan),
            "mean_reward": traj.reward.mean(),
            "policy_loss": pl,
            "value_loss": vl,
            "entropy": entropy,
            "approx_kl": approx_kl,
            "clip_frac": clip_frac,
        }
        runner = Runner(
            params,
            opt_state,
            env_state,
            last_obs,
            last_first,
            hidden,
            sampler,
            key,
            runner.update + 1,
        )
        return runner, metrics

    def update(runner: Runner):
        return jax.lax.scan(one_update, runner, None, length=cfg.logging.log_every)

    def compiled_update(example: Runner):
        sh = shardings(example)
        return jax.jit(update, in_shardings=(sh,), out_shardings=(sh, repl), donate_argnums=0)

    return TrainFns(init, update, compiled_update, shardings, env, env_params, mesh)


@dataclasses.dataclass(frozen=True)
class TrainFns:
    """What :func:`make_train` returns."""

    init: Any
    update: Any
    compiled_update: Any  # compiled_update(example_runner) -> jitted update with shardings
    shardings: Any
    env: KinetixEnv
    env_params: Any
    mesh: Mesh


def _is_batched(pool) -> bool:
    return pool.polygon_roles.ndim == 2


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
    new = jax.device_put(new, fns.shardings(runner).sampler)
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
    devs = jax.local_devices()
    return f"{len(devs)} x {devs[0].device_kind} ({jax.default_backend()})"


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
    ``curve.png``, ``summary.json`` and the exported ``submission/``; ``resume`` continues
    from the checkpoint bit-identically. ``levels``: a stacked level batch overriding
    ``cfg.levels``; ``params``: initial network parameters (fine-tuning); ``stop_after``: stop
    after that many updates (the run can be resumed); ``on_metrics(row)`` sees every row."""
    import json
    import time
    from pathlib import Path

    from baselines.ppo.agent import make_agent
    from baselines.ppo.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
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
        runner, meta = load_checkpoint(ckpt, runner)
        if meta.get("config", {}).get("ppo") != cfg_dict["ppo"]:
            raise ConfigError(f"{ckpt}: the checkpoint was written with other ppo settings")
        wall_before = float(meta.get("wall_seconds", 0.0))
        log(f"resumed from {ckpt} at update {int(runner.update)}")
    start = int(runner.update)
    writer = MetricsWriter(
        out_dir / "metrics.jsonl" if out_dir else None, truncate_after=start if resume else None
    )
    num_updates = cfg.ppo.num_updates
    if stop_after is not None:
        num_updates = min(stop_after, num_updates)
    k = cfg.logging.log_every
    update_fn = fns.compiled_update(runner)
    steps_per_call = k * cfg.ppo.batch_steps
    sfl = cfg.levels.sfl

    def save(runner, wall):
        if ckpt is not None:
            meta = {"update": int(runner.update), "config": cfg_dict, "wall_seconds": wall}
            save_checkpoint(ckpt, runner, meta)

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
        m = jax.device_get(m)
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
    params = jax.device_get(runner.params)
    info = {
        "name": cfg.name,
        "updates": int(runner.update),
        "env_steps": int(runner.update) * cfg.ppo.batch_steps,
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
    if out_dir is not None and int(runner.update) >= cfg.ppo.num_updates:
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
