"""One compiled PPO update on Kinetix levels (PureJaxRL shape); :mod:`.train` loops over it.

``make_train(cfg, agent, pool, mesh=None) -> TrainFns`` with, for B = ``ppo.num_envs``,
T = ``ppo.num_steps``, K = ``logging.log_every``:

* ``init(key, params=None) -> Runner`` (fresh or given network parameters, envs reset on levels
  drawn from the pool);
* ``update(runner) -> (runner, metrics)``: K PPO updates as one ``lax.scan`` (rollout of the
  vmapped envs with ``lax.scan``, GAE, ``update_epochs`` x ``num_minibatches`` clipped-loss Adam
  steps, minibatches split by environment); ``metrics`` leaves have shape (K,) (``update``:
  updates done, ``env_steps``: env steps done, ``episodes``: episodes ended in the rollout,
  ``mean_return`` / ``solve_rate``: over those episodes, NaN if none, then the loss terms
  averaged over the epochs and minibatches);
* ``compiled_update(example_runner)``: ``update`` jitted with the shardings, donating the runner;
* ``shardings(runner)``: a :class:`Runner` of :class:`~jax.sharding.NamedSharding`.

Shapes: :class:`Runner` fields ``env_state``, ``obs``, ``first`` (B,) and ``hidden`` have a
leading env axis B; a rollout's :class:`Transition` leaves are time-major (T, B, ...).

Data parallel: with a :class:`jax.sharding.Mesh` (1-D, axis ``"d"``; default: every device of
every process, :func:`make_mesh`) the env batch (states, observations, recurrent state) is
sharded on its leading axis and everything else replicated; XLA's SPMD partitioner makes the
gradients global (an all-reduce across devices, and across processes when several run:
:mod:`kinetix.distributed`). ``init`` computes the initial runner on every process from the same
key (so every process holds the same host values) and places each process's shards of it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from baselines.ppo.config import ConfigError, TrainConfig, config_to_dict
from baselines.ppo.levels import LevelSampler, make_sampler, sample_indices, take_levels
from baselines.ppo.losses import gae, normalise, policy_loss, value_loss
from kinetix.env import KinetixEnv

__all__ = ["Runner", "Transition", "TrainFns", "make_mesh", "make_train", "make_optimizer"]


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


#: jitted init/update programs by (settings, agent, level-pool kind, mesh): see make_train.
_COMPILED: dict = {}


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh (axis ``"d"``) over ``devices`` (default: every device of every process,
    ``jax.devices()``; the local devices when one process runs)."""
    devices = jax.devices() if devices is None else devices
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


def make_train(cfg: TrainConfig, agent, pool, mesh: Mesh | None = None, *, constrain: bool = True):
    """``(init, update, shardings)`` for ``cfg``; ``pool``: stacked training levels.

    ``constrain=False`` leaves the env batch unconstrained inside the program (for
    :mod:`baselines.ppo.cells`, which vmaps the update over cells and shards the cell axis).
    """
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
        if not constrain:
            return tree
        return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, batch_sh), tree)

    def reset_on(key, sampler, n):
        levels = take_levels(sampler.pool, sample_indices(key, sampler, n))
        return jax.vmap(lambda lv: env.reset(key, lv, env_params))(levels)

    def init_state(key, params=None, levels=None) -> Runner:
        """The initial runner as a pure function (jittable, vmappable over ``key``, ``params``
        and ``levels``; ``levels`` defaults to ``pool``)."""
        k_params, k_levels, key = jax.random.split(key, 3)
        params = agent.init(k_params) if params is None else params
        sampler = make_sampler(pool if levels is None else levels, buffer_size)
        obs, env_state = reset_on(k_levels, sampler, n_envs)
        return Runner(
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

    # Compiled programs are shared by every make_train of the same settings (each fine-tuning
    # cell calls make_train): the pool is an argument of init and part of the runner, never a
    # constant of the programs, so one compile serves every level of the same shapes. The run's
    # seed (only the key given to init) and name are not settings of the programs: one compile
    # serves every training seed too.
    settings = {k: v for k, v in config_to_dict(cfg).items() if k not in ("seed", "name")}
    program_key = (
        json.dumps(settings, sort_keys=True, default=str),
        repr(agent),
        multi_level,
        constrain,
        tuple(d.id for d in mesh.devices.flat),
    )

    def jit_init():
        key = (*program_key, "init")
        if key not in _COMPILED:
            _COMPILED[key] = jax.jit(init_state)
        return _COMPILED[key]

    def init(key, params=None) -> Runner:
        from kinetix.distributed import process_count, put_global

        if process_count() > 1:  # the same host values on every process -> its shards
            runner = jax.device_get(jit_init()(key, jax.device_get(params), pool))
            return put_global(runner, shardings(runner))
        runner = jit_init()(key, params, pool)
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
        key = (*program_key, "update")
        if key not in _COMPILED:
            _COMPILED[key] = jax.jit(
                update, in_shardings=(sh,), out_shardings=(sh, repl), donate_argnums=0
            )
        return _COMPILED[key]

    return TrainFns(init, update, compiled_update, shardings, env, env_params, mesh, init_state)


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
    init_state: Any = None  # init_state(key, params=None, levels=None) -> Runner (pure)


def _is_batched(pool) -> bool:
    return pool.polygon_roles.ndim == 2
