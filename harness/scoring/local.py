"""Scoring a policy function in-process: :func:`evaluate_policy`, and its unverified record.

``evaluate_policy(policy_fn, params, benchmark)`` scores any jittable JAX policy in the calling
process, with the protocol's exact levels and attempt keys (the engine of
:mod:`harness.scoring.batched`, the one exported programs run in, so a function scores the same
here as its :func:`harness.submissions.export_policy` folder does through ``kinetix-bench eval``),
and writes a result record marked unverified: ``submission.kind`` ``in-process``,
``submission.verified`` false. Its code is not in a submission that the harness read and
checked, so the leaderboard shows it apart from verified entries and never ranks them together.
To be ranked, export the same function and submit the folder.

``policy_fn`` follows :func:`harness.submissions.export_policy`'s convention:
``(params, obs, key[, carry]) -> action`` (``-> (action, carry)``) for ONE env, vmapped over the
envs (``batched=True``: it takes the batch itself), ``output="logits"`` for per-head logits.
Results are not cached (the function's code has no identity the harness can check).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["evaluate_policy", "local_batched_policy"]

_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}$")


def local_batched_policy(
    policy_fn: Callable,
    obs_type: str,
    action_type: str,
    *,
    output: str = "action",
    initial_carry=None,
    batched: bool = False,
):
    """The :class:`~harness.submissions.interface.BatchedPolicy` of an in-process function."""
    from harness.submissions.interface import (
        OUTPUTS,
        BatchedPolicy,
        sample_logits,
        sanitize_actions,
    )

    if output not in OUTPUTS:
        raise ValueError(f"output: {output!r} is not one of {', '.join(OUTPUTS)}")
    carried = initial_carry is not None

    def act(params, obs, keys, carry):
        args = (params, obs, keys) + ((carry,) if carried else ())
        if batched:
            out = policy_fn(*args)
        else:
            axes = (None, 0, 0) + ((0,) if carried else ())
            out = jax.vmap(policy_fn, in_axes=axes)(*args)
        if carried:
            out, carry = out
        if output == "logits":
            out = sample_logits(out, keys, action_type)
        return sanitize_actions(out, action_type), carry

    def init_carry(b: int):
        if not carried:
            return ()
        return jax.tree.map(lambda x: jnp.broadcast_to(jnp.asarray(x), (b, *np.shape(x))),
                            initial_carry)  # fmt: skip

    return BatchedPolicy(act, init_carry, obs_type, action_type, "", "in-process policy")


def _params_digest(params, name: str, spec: dict) -> str:
    """sha256 over the parameters (keys, dtypes, shapes, bytes), the name and the interface:
    the record's ``checkpoint_sha256`` (the code itself cannot be hashed)."""
    h = hashlib.sha256(json.dumps({"name": name, **spec}, sort_keys=True).encode())
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    for path, leaf in leaves:
        arr = np.asarray(jax.device_get(leaf))
        h.update(f"{jax.tree_util.keystr(path)}|{arr.dtype}|{arr.shape}".encode())
        h.update(np.array(arr, order="C").tobytes())
    return h.hexdigest()


def evaluate_policy(
    policy_fn: Callable,
    params,
    benchmark: str,
    protocol="zero-shot@v1",
    *,
    obs_type: str = "entity",
    action_type: str = "multi_discrete",
    output: str = "action",
    initial_carry=None,
    batched: bool = False,
    name: str = "local-policy",
    out: str | os.PathLike | None = None,
    chunk: int = 32,
    bootstrap_reps: int = 10_000,
    offline: bool | None = None,
    progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
):
    """Scores ``policy_fn`` with ``params`` on ``benchmark`` and writes an unverified record.

    Args:
        policy_fn: ``(params, obs, key[, carry]) -> action`` for one env (module docstring).
        params: its parameters (any pytree of arrays; an argument of the compiled program).
        benchmark: a registered benchmark id or a dataset folder (its size is the env's).
        protocol: a zero-shot protocol id or object (``zero-shot@v1``, ``kinetix-zero-shot@v1``).
        obs_type, action_type: the env's observation and action types.
        output: ``"action"``, or ``"logits"`` (per-head logits, sampled with the env's keys).
        initial_carry: the recurrent state of ONE env at an episode's start, or None.
        batched: ``policy_fn`` takes a batch axis itself (no vmap).
        name: the record's ``submission.model_id`` (its folder under ``out``).
        out: the records folder (default: :func:`harness.levels.home.default_records_dir`).
        chunk, bootstrap_reps, offline, progress, log: as :func:`harness.scoring.score`.

    Returns:
        A :class:`harness.scoring.Scored`; ``record["submission"]["verified"]`` is False.
    """
    from harness.levels.home import default_records_dir
    from harness.levels.loading import load_benchmark
    from harness.scoring.pipeline import _zero_shot
    from harness.scoring.protocols import ProtocolError, ZeroShot, parse_protocol
    from harness.scoring.records import IN_PROCESS_KIND
    from harness.submissions.loading import Submission
    from kinetix.actions import check_action_type
    from kinetix.observations import check_obs_type

    if isinstance(protocol, str):
        protocol = parse_protocol(protocol)
    if not isinstance(protocol, ZeroShot):
        raise ProtocolError(
            f"protocol {protocol.id}: evaluate_policy scores zero-shot protocols only "
            "(fine-tuning needs a training step the harness can run)"
        )
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name: {name!r} must be 1-96 letters, digits, '.', '_' or '-'")
    check_obs_type(obs_type)
    check_action_type(action_type)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()
    loaded = load_benchmark(benchmark, offline=offline, log=log)
    bench = loaded.benchmark
    for field, mine, ok in (
        ("obs_type", obs_type, getattr(bench, "obs_types", None)),
        ("action_type", action_type, getattr(bench, "action_types", None)),
    ):
        if ok and mine not in ok:
            raise ValueError(f"{field}: {mine!r} is not accepted by {bench.id} ({', '.join(ok)})")
    policy = local_batched_policy(
        policy_fn, obs_type, action_type, output=output, initial_carry=initial_carry,
        batched=batched,
    )  # fmt: skip
    spec = {"obs_type": obs_type, "action_type": action_type, "output": output,
            "carried": initial_carry is not None, "env_size": bench.size}  # fmt: skip
    sub = Submission(
        id=name,
        path=Path("."),
        architecture=IN_PROCESS_KIND,
        arch_config=None,
        obs_type=obs_type,
        action_type=action_type,
        env_size=bench.size,
        params=params,
        sha256=_params_digest(params, name, spec),
        kind=IN_PROCESS_KIND,
        model_card="",
        files={},
        raw_config={"name": name, **spec},
    )
    out = default_records_dir() if out is None else out
    return _zero_shot(
        sub, loaded, protocol, out, None, chunk, bootstrap_reps, progress, None,
        f"{name} on {bench.id}", started, t0, policy=policy,
    )  # fmt: skip
