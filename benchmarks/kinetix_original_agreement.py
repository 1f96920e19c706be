"""Agreement of ``kinetix-zero-shot@v1`` on ``kinetix-original-v1`` with Kinetix's own evaluation.

Run by hand, never in CI (about 10-20 minutes on two CPU cores). It needs the reference Kinetix in
its own virtual environment (``../shared/tools/ref_venv.sh``: kinetix-env 3.0.2) and the 74 levels
imported once on our side (``kinetix-bench levels import-kinetix .../kinetix/levels --out DIR``).

    nice -n 10 /work/venv/bin/python benchmarks/kinetix_original_agreement.py \\
        --ref-python /tmp/kx_ref/venv/bin/python --work /tmp/kx_agreement

Steps (each its own process; the two packages are both named ``kinetix``):

1. ``make-checkpoint`` (reference venv): the paper transformer (symbolic entity observations,
   MultiDiscrete actions, ``legacy_entity_id`` false) built by Kinetix's
   ``make_network_from_config``, every parameter filled with the parity fixtures' hash noise
   (``tests/baselines/fixtures/param_noise.py``) and the actor's output layer multiplied by
   ``--sharpen`` (so actions depend strongly on the observation), written by Kinetix's own
   ``save_pretrained_checkpoint``.
2. ``reference-eval`` (reference venv): Kinetix's evaluation as ``kinetix_spec.md`` §6.2 states
   it: the 74 levels loaded by ``load_evaluation_levels`` (padded to the largest level's static
   params, L), ``general_eval`` vmapped over 20 attempt keys, 256 steps, sampled actions; per
   attempt the solve is GoalR at the first done (first episode only); per level the mean.
3. ours (our venv): ``kinetix-bench eval CKPT --benchmark kinetix-original-v1 --protocol
   kinetix-zero-shot@v1`` (records written under the work folder, never the leaderboard).
4. comparison, printed as one JSON object: per level both solve rates (20 attempts each) and
   whether they agree under a two-sided two-proportion z-test at the 95% level: with the pooled
   rate ``p = (k1 + k2) / 40``, the level agrees when ``|p1 - p2| <= 1.96 * sqrt(p (1 - p) *
   (1/20 + 1/20))`` (levels where both are 0 or both 1 agree exactly); both sides' Kinetix
   averages (S, M, L and all = mean over the 74 levels); and, as a finer secondary check, per
   level whether the mean returns differ by at most max(1.96 standard errors, 0.05).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NOISE = REPO / "tests" / "baselines" / "fixtures" / "param_noise.py"
ATTEMPTS, STEPS = 20, 256
Z95 = 1.96
RETURN_FLOOR = 0.05  # return units (a solve is +1): the secondary check's least tolerance

#: The paper transformer's "model" options (kinetix_checkpoints.md §1.4), legacy_entity_id false.
PAPER = dict(
    actor_depth=5, critic_depth=5, actor_width=128, critic_width=128, activation="tanh",
    recurrent_model=False, permutation_invariant_mlp=False, transformer_depth=2,
    transformer_size=16, transformer_encoder_size=128, num_heads=8, full_attention_mask=False,
    aggregate_mode="dummy_and_mean", transformer_ffn=False, multilayer_joint_thruster_mixing=False,
    joint_thruster_block_num_layers=2, joint_thruster_block_hidden_dim_multiplication=4,
    dropout_prob=0.0, legacy_entity_id=False, symbolic_embedding_dim=256, encoder_size=64,
    separate_actor_critic=False, cnn_mode="impala_fast",
)  # fmt: skip
ACTOR_OUT = "params/GeneralActorCriticRNN_0/Dense_0/"


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ reference side (its venv)
def _ref_env_and_net(static_params, env_params, model: dict):
    """Kinetix's env (entity obs, MultiDiscrete) and network for ``model`` options."""
    from flax import serialization
    from kinetix.environment.env import make_kinetix_env
    from kinetix.environment.spaces import ActionType, ObservationType
    from kinetix.models.utils import make_network_from_config

    env = make_kinetix_env(
        ActionType.MULTI_DISCRETE, ObservationType.SYMBOLIC_ENTITY, None, env_params,
        static_params,
    )  # fmt: skip
    config = dict(model)
    config["action_type"] = ActionType.MULTI_DISCRETE
    config["observation_type"] = ObservationType.SYMBOLIC_ENTITY
    config["static_env_params"] = serialization.to_state_dict(static_params)
    return env, make_network_from_config(env, env_params, config, network_kws={})


def _ref_levels(names: list[str]):
    from kinetix.util.saving import load_evaluation_levels

    return load_evaluation_levels(names)


def _shipped_level_names() -> list[str]:
    import kinetix

    root = Path(kinetix.__file__).parent / "levels"
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.json"))


def make_checkpoint(out: str, sharpen: float) -> None:
    import jax
    import jax.numpy as jnp
    from flax.traverse_util import flatten_dict, unflatten_dict
    from kinetix.environment.env_state import EnvParams
    from kinetix.models.actor_critic import GeneralActorCriticRNN
    from kinetix.util.saving import save_pretrained_checkpoint

    spec = importlib.util.spec_from_file_location("param_noise", NOISE)
    noise = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noise)
    env_params = EnvParams(dense_reward_scale=0.2)
    levels, static_params = _ref_levels(["s/h4_thrust_aim"])
    env, net = _ref_env_and_net(static_params, env_params, PAPER)
    one = jax.tree.map(lambda x: x[0], levels)
    obs, _ = env.reset(jax.random.PRNGKey(0), env_params, one)
    x = (jax.tree.map(lambda a: a[None, None], obs), jnp.zeros((1, 1), bool))
    variables = net.init(jax.random.PRNGKey(0), GeneralActorCriticRNN.initialize_carry(1), x)
    flat = flatten_dict({"params": variables["params"]}, sep="/")
    values = noise.noise_params({k: tuple(v.shape) for k, v in flat.items()})
    for k in (ACTOR_OUT + "kernel", ACTOR_OUT + "bias"):
        values[k] = values[k] * sharpen
    params = unflatten_dict({k: jnp.asarray(v) for k, v in values.items()}, sep="/")
    cfg = {
        "name": "agreement-sharpened",
        "description": f"hash-noise paper transformer, actor output x{sharpen}",
        "model": PAPER,
    }
    save_pretrained_checkpoint(params, cfg, out)
    _log(f"wrote {out}")


def reference_eval(checkpoint: str, out: str, seed: int) -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from kinetix.environment.env_state import EnvParams
    from kinetix.util.learning import general_eval
    from kinetix.util.saving import load_pretrained_checkpoint

    params, raw = load_pretrained_checkpoint(checkpoint)
    names = _shipped_level_names()
    levels, static_params = _ref_levels(names)
    env_params = EnvParams(dense_reward_scale=0.2)
    env, net = _ref_env_and_net(static_params, env_params, dict(PAPER, **raw["model"]))
    state = type("TrainStateLike", (), {"apply_fn": staticmethod(net.apply), "params": params})
    n = len(names)
    _log(f"reference: {n} levels, static params {static_params.num_polygons} polygons")

    def one_attempt(key):
        (_, returns, _, lengths, infos), (dones, _) = general_eval(
            key, env, env_params, state, levels, STEPS, n,
            keep_states=False, return_trajectories=True,
        )  # fmt: skip
        first = jnp.arange(STEPS)[:, None] < lengths[None, :]  # steps of the first episode
        ends = dones & first
        solved = (infos["GoalR"] & ends).sum(0) / jnp.maximum(1, ends.sum(0))
        return solved, returns, lengths

    t0 = time.perf_counter()
    keys = jax.random.split(jax.random.PRNGKey(seed), ATTEMPTS)
    solved, returns, lengths = jax.jit(jax.vmap(one_attempt))(keys)  # (K, L) each
    solved, returns = np.asarray(solved), np.asarray(returns)
    result = {
        "levels": names,
        "solved": solved.T.tolist(),  # (L, K)
        "return": returns.T.tolist(),
        "length": np.asarray(lengths).T.tolist(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    Path(out).write_text(json.dumps(result))
    _log(f"reference: {result['seconds']} s; wrote {out}")


# ------------------------------------------------------------------------- our side and report
def _ours(checkpoint: Path, work: Path, benchmark: str) -> dict:
    """Our evaluation (reused when the work folder already holds its record)."""
    import pyarrow.parquet as pq

    cmd = [
        str(Path(sys.executable).parent / "kinetix-bench"), "eval", str(checkpoint),
        "--benchmark", benchmark, "--protocol", "kinetix-zero-shot@v1",
        "--out", str(work / "records"), "--no-cache", "--chunk", "74", "--json",
    ]  # fmt: skip
    found = sorted((work / "records").glob("*/*__kinetix-zero-shot_v1.json"))
    if found:
        _log(f"ours: reusing {found[0]}")
        record = json.loads(found[0].read_text())
        jpath, ppath = found[0], found[0].with_suffix(".parquet")
    else:
        _log("ours: " + " ".join(cmd))
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        summary = json.loads(res.stdout.strip().splitlines()[-1])
        jpath, ppath = Path(summary["record"]), Path(summary["per_level"])
        record = json.loads(jpath.read_text())
    table = pq.read_table(ppath).to_pydict()
    ids = [i.split("/", 1)[1] for i in table["level_id"]]  # kinetix-l/s/h0_... -> s/h0_...
    return {
        "command": " ".join(cmd),
        "seconds": record["compute"]["wall_clock_s"],
        "record": str(jpath),
        "protocol_block": {k: record["protocol"][k] for k in ("protocol_id", "env_params")},
        "by_size": record["metrics"].get("by_size"),
        "solve_rate": dict(zip(ids, table["solve_rate"], strict=True)),
        "mean_return": dict(zip(ids, table["mean_return"], strict=True)),
    }


def _agree(p1: float, p2: float, n: int = ATTEMPTS) -> bool:
    p = (p1 + p2) / 2
    if p in (0.0, 1.0):
        return p1 == p2
    return abs(p1 - p2) <= Z95 * math.sqrt(p * (1 - p) * 2 / n) + 1e-12


def _means(values: dict[str, float]) -> dict[str, float]:
    out = {}
    for g in ("s", "m", "l"):
        v = [x for k, x in values.items() if k.split("/")[0] == g]
        out[g] = round(sum(v) / len(v), 4)
    out["all"] = round(sum(values.values()) / len(values), 4)
    return out


def report(ours: dict, ref: dict, meta: dict) -> dict:
    import numpy as np

    names = ref["levels"]
    if sorted(names) != sorted(ours["solve_rate"]):
        raise SystemExit("the two sides evaluated different level sets")
    ref_rate = {k: float(np.mean(v)) for k, v in zip(names, ref["solved"], strict=True)}
    ref_ret = {k: np.asarray(v, float) for k, v in zip(names, ref["return"], strict=True)}
    rows, agree, ret_agree = {}, 0, 0
    for k in names:
        a, b = ours["solve_rate"][k], ref_rate[k]
        ok = _agree(a, b)
        agree += ok
        r = ref_ret[k]
        # secondary: the mean return, within 1.96 standard errors of a difference of two means
        # (ours gives only its mean per level: its spread is taken equal to the reference's),
        # and never stricter than RETURN_FLOOR (a level whose outcome is the same in every
        # attempt has zero spread)
        se = math.sqrt(2 * r.var(ddof=1) / ATTEMPTS)
        rok = bool(abs(ours["mean_return"][k] - r.mean()) <= max(Z95 * se, RETURN_FLOOR))
        ret_agree += rok
        rows[k] = {
            "ours": a,
            "reference": b,
            "agree": ok,
            "return_ours": round(ours["mean_return"][k], 4),
            "return_reference": round(float(r.mean()), 4),
            "return_agree": bool(rok),
        }
    nonzero = [k for k in names if rows[k]["ours"] > 0 or rows[k]["reference"] > 0]
    return {
        "what": "kinetix-original-agreement",
        **meta,
        "test": "two-sided two-proportion z-test at 95% per level (20 attempts each side, pooled "
        "rate p): agree when |p_ours - p_ref| <= 1.96 * sqrt(p (1 - p) * 2 / 20)",
        "levels": len(names),
        "levels_agreeing": agree,
        "fraction_agreeing": round(agree / len(names), 4),
        "target_fraction": 0.9,
        "passed": agree / len(names) >= 0.9,
        "levels_solved_by_either_side": len(nonzero),
        "levels_agreeing_among_those": sum(rows[k]["agree"] for k in nonzero),
        "return_test": "secondary: |mean return ours - reference| <= max(1.96 * sqrt(2 var_ref "
        "/ 20), 0.05)",
        "return_levels_agreeing": ret_agree,
        "per_size_means": {"ours": _means(ours["solve_rate"]), "reference": _means(ref_rate)},
        "per_size_means_ours_from_record": ours["by_size"],
        "ours_protocol": ours["protocol_block"],
        "seconds": {"ours_wall_clock": ours["seconds"], "reference_eval": ref["seconds"]},
        "ours_command": ours["command"],
        "ours_record": ours["record"],
        "per_level": rows,
        "disagreeing": [k for k in names if not rows[k]["agree"]],
    }


def orchestrate(args) -> None:
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    ckpt, ref_json = work / "checkpoint", work / "reference.json"
    me = str(Path(__file__).resolve())
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    if not (ckpt / "params.safetensors").is_file():
        subprocess.run(
            [args.ref_python, me, "make-checkpoint", "--out", str(ckpt), "--sharpen",
             str(args.sharpen)], check=True, cwd="/", env=env,
        )  # fmt: skip
    if not ref_json.is_file():
        subprocess.run(
            [args.ref_python, me, "reference-eval", "--checkpoint", str(ckpt), "--out",
             str(ref_json), "--seed", str(args.seed)], check=True, cwd="/", env=env,
        )  # fmt: skip
    ours = _ours(ckpt, work, args.benchmark)
    ref = json.loads(ref_json.read_text())
    meta = {
        "checkpoint": str(ckpt),
        "sharpen": args.sharpen,
        "reference": "kinetix-env 3.0.2 general_eval (20 attempts x 256 steps, sampled actions, "
        "first episode)",
        "reference_command": f"{args.ref_python} {me} reference-eval --checkpoint {ckpt} "
        f"--out {ref_json} --seed {args.seed}",
    }
    print(json.dumps(report(ours, ref, meta), indent=1))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    mk = sub.add_parser("make-checkpoint", help="(reference venv) write the sharpened checkpoint")
    mk.add_argument("--out", required=True)
    mk.add_argument("--sharpen", type=float, default=20.0)
    ev = sub.add_parser("reference-eval", help="(reference venv) Kinetix's own evaluation")
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument("--out", required=True)
    ev.add_argument("--seed", type=int, default=0)
    p.add_argument("--ref-python", default="/tmp/kx_ref/venv/bin/python")
    p.add_argument("--work", default="/tmp/kx_agreement", help="checkpoint, outputs, records")
    p.add_argument("--benchmark", default="kinetix-original-v1", help="id or imported DIR")
    p.add_argument("--sharpen", type=float, default=20.0, help="actor output layer factor")
    p.add_argument("--seed", type=int, default=0, help="reference attempt keys")
    args = p.parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if args.cmd == "make-checkpoint":
        make_checkpoint(args.out, args.sharpen)
    elif args.cmd == "reference-eval":
        reference_eval(args.checkpoint, args.out, args.seed)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
