"""Where a PPO update's time goes: env steps/s of the compiled update and its parts.

For a training config (a YAML file of ``baselines/configs``, or ``finetune`` for the
``finetune-<budget>@v1`` protocol's PPO from fresh weights with the default entity transformer)
on one hand-made level of the config's env size, it times, after compilation:

* the whole compiled update (``make_train(...).compiled_update``), as training runs it: env
  steps/s = ``num_envs * num_steps * log_every`` / seconds per call;
* its parts, each jitted alone: the policy's forward pass on the B envs (one rollout step), one
  env step of the B envs, and one gradient step on one minibatch (``B / num_minibatches`` envs x
  T steps); the model ``T * (forward + env) + epochs * minibatches * gradient`` says which part
  bounds the update (GAE and the permutations are the small rest).

``--before`` adds the same measurements with today's network layers swapped for plain
``flax.linen.Dense`` (matmuls over all leading axes, as before the flattened
:class:`baselines.networks.layers.Dense`); each side runs in a fresh subprocess (no shared
compilation caches), ``--rounds`` times alternately, so both sides share the machine::

    nice .venv/bin/python benchmarks/ppo_update.py --config finetune --before
    nice .venv/bin/python benchmarks/ppo_update.py --before \
        --config baselines/configs/general-random-s-cpu.yaml

Prints one JSON object per side (``--out`` also writes them as a list). Seconds are wall clock;
``cpu_s`` is process CPU time (both cores), a check when the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time


def _timed(fn, *args, reps: int):
    import jax

    out = fn(*args)
    jax.block_until_ready(out)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(reps):
        out = fn(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - t) / reps, (time.process_time() - c) / reps


@contextlib.contextmanager
def _plain_dense():
    """Today's :class:`baselines.networks.layers.Dense` computed as ``flax.linen.Dense``."""
    import flax.linen as nn

    from baselines.networks.layers import Dense

    fast = Dense.__call__
    Dense.__call__ = nn.Dense.__call__
    try:
        yield
    finally:
        Dense.__call__ = fast


def _config(name: str, size: str, overrides=()):
    from baselines.ppo.config import load_config
    from baselines.ppo.finetune import finetune_config

    if name == "finetune":
        return finetune_config(
            "entity-transformer@v1", None, 100_000, 0, env_size=size, obs_type="entity"
        )
    return load_config(name, list(overrides))


def measure(config: str, size: str | None, reps: int, overrides=()) -> dict:
    import jax
    import jax.numpy as jnp

    import kinetix.handmade as hm
    from baselines.ppo.agent import make_agent
    from baselines.ppo.update import make_train
    from kinetix.level import stack_levels

    cfg = _config(config, size or "s", overrides)
    size = cfg.env.size
    ppo = cfg.ppo
    B, T, mb = ppo.num_envs, ppo.num_steps, ppo.num_envs // ppo.num_minibatches
    agent = make_agent(
        cfg.network.arch, cfg.network.config, cfg.env.obs_type, cfg.env.action_type, size
    )
    level = hm.certified_levels(size)[0][1]
    fns = make_train(cfg, agent, stack_levels([level], size=size))
    runner = fns.init(jax.random.PRNGKey(0))
    t0 = time.perf_counter()
    update = fns.compiled_update(runner).lower(runner).compile()
    compile_s = time.perf_counter() - t0

    state = {"runner": runner}

    def call():
        state["runner"], m = update(state["runner"])
        return m

    upd_s, upd_cpu = _timed(call, reps=reps)
    steps = cfg.logging.log_every * B * T

    runner = state["runner"]  # the update donates its input
    env, env_params, params = fns.env, fns.env_params, runner.params
    obs, env_state = runner.obs, runner.env_state
    hidden = agent.initial_hidden(B)

    def forward(params, obs):
        o = jax.tree.map(lambda x: x[None], obs)
        _, dist, value = agent.apply(params, hidden, o, jnp.zeros((1, B), bool))
        return dist.sample(jax.random.PRNGKey(0)), value

    action, _ = jax.jit(forward)(params, obs)
    action = jax.tree.map(lambda x: x[0], action)

    def env_step(state, action):
        return jax.vmap(lambda s, a: env.step(jax.random.PRNGKey(1), s, a, env_params))(
            state, action
        )

    mb_obs = jax.tree.map(lambda x: jnp.broadcast_to(x[None, :mb], (T, mb) + x.shape[1:]), obs)
    mb_act = jax.tree.map(lambda x: jnp.broadcast_to(x[None, :mb], (T, mb) + x.shape[1:]), action)
    h_mb = agent.initial_hidden(mb)

    def loss(params):
        _, dist, value = agent.apply(params, h_mb, mb_obs, jnp.zeros((T, mb), bool))
        return jnp.mean(dist.log_prob(mb_act)) + jnp.mean(value**2) + jnp.mean(dist.entropy())

    fwd_s, _ = _timed(jax.jit(forward), params, obs, reps=reps * 4)
    env_s, _ = _timed(jax.jit(env_step), env_state, action, reps=reps * 4)
    grad_s, _ = _timed(jax.jit(jax.grad(loss)), params, reps=reps)
    n_grad = ppo.update_epochs * ppo.num_minibatches
    rollout, learn = T * (fwd_s + env_s), n_grad * grad_s
    return {
        "config": config,
        "overrides": list(overrides),
        "size": size,
        "arch": cfg.network.arch,
        "num_envs": B,
        "num_steps": T,
        "update_epochs": ppo.update_epochs,
        "num_minibatches": ppo.num_minibatches,
        "params": int(sum(x.size for x in jax.tree.leaves(params))),
        "compile_s": round(compile_s, 1),
        "update_call_s": round(upd_s, 3),
        "updates_per_call": cfg.logging.log_every,
        "update_cpu_s": round(upd_cpu, 3),
        "env_steps_per_s": round(steps / upd_s),
        "parts_ms": {
            "policy_forward_B_envs": round(fwd_s * 1e3, 2),
            "env_step_B_envs": round(env_s * 1e3, 2),
            "grad_step_one_minibatch": round(grad_s * 1e3, 1),
        },
        "model_s_per_update": {
            "rollout_forward": round(T * fwd_s, 3),
            "rollout_env": round(T * env_s, 3),
            "learn": round(learn, 3),
            "learn_share": round(learn / (rollout + learn), 3),
        },
        "device": jax.devices()[0].device_kind,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="finetune", help="a training YAML, or 'finetune'")
    ap.add_argument("--size", default=None, help="env size for --config finetune (s, m, l)")
    ap.add_argument("--reps", type=int, default=3, help="timed calls of the update")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry of a training YAML (as `kinetix-bench train --set`)",
    )
    ap.add_argument("--before", action="store_true", help="also time plain flax Dense layers")
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds of both sides")
    ap.add_argument("--side", choices=("plain", "flattened"), help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help="also write the JSON list here")
    args = ap.parse_args(argv)
    import jax

    jax.config.update("jax_enable_compilation_cache", False)
    if args.side:  # one side, in this process
        ctx = _plain_dense if args.side == "plain" else contextlib.nullcontext
        with ctx():
            row = measure(args.config, args.size, args.reps, args.overrides)
            row = {"side": f"{args.side} Dense", **row}
        print(json.dumps(row), flush=True)
        return 0
    import subprocess
    import sys

    rows = []
    sides = ["plain", "flattened"] if args.before else ["flattened"]
    base = [sys.executable, __file__, "--config", args.config, "--reps", str(args.reps)]
    base += ["--size", args.size] if args.size else []
    base += [f"--set={o}" for o in args.overrides]
    for _ in range(args.rounds):
        for side in sides:
            out = subprocess.run(base + ["--side", side], capture_output=True, text=True)
            if out.returncode:
                sys.stderr.write(out.stderr)
                return out.returncode
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.out:
        from pathlib import Path

        from kinetix.atomic_io import atomic_write_text

        atomic_write_text(Path(args.out), json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
