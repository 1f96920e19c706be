"""Writing exported-policy submissions: :func:`export_policy` and :func:`export_registered`.

``export_policy(policy_fn, params, env_config, out_dir)`` turns any jittable JAX policy into a
submission folder (:mod:`harness.submissions.exported`) that the harness scores without importing
or running the submitter's Python::

    def policy_fn(params, obs, key):            # ONE env; obs as the env gives it
        logits = MyNet().apply(params, obs)     # e.g. a flax module of your own
        return jax.random.categorical(key, logits).astype(jnp.int32)

    harness.export_policy(policy_fn, params, EnvConfig(size="s", action_type="discrete"), "out/")

* ``policy_fn(params, obs, key[, carry]) -> action`` (or ``-> (action, carry)``) for ONE env:
  ``obs`` the env's observation (``EntityObservation``, ``PixelObservation`` or the flat array),
  ``key`` a raw PRNG key uint32 (2,); it is vmapped over the batch axis. With ``batched=True``
  it already takes a leading batch axis (obs leaves (B, ...), keys (B, 2)) and is used as is.
* ``output="logits"``: it returns per-head logits instead (``multi_discrete``: 6 arrays, (3,) x 4
  and (2,) x 2; ``discrete``: (11,)), and the harness samples them with the env's key.
* ``initial_carry``: the recurrent state of ONE env at an episode's start (a pytree of arrays);
  all zeros is stored as ``{"init": "zeros"}``, anything else in ``carry.safetensors`` (then a
  nested dict). The evaluation scores first episodes only, so the carry is never reset in one.
* ``batch_size``: None (default) exports a symbolic batch axis (any number of envs per call);
  an int fixes it (the harness then pads the envs to a multiple of it).
* ``platforms``: default ``("cpu", "cuda")``, so the same folder scores on CPU and on NVIDIA GPUs.

The folder (program, ``config.json`` with the files' sizes and sha256, ``params.safetensors``,
``README.md`` model card) is written into a temporary sibling, read back with every loader check
(:func:`harness.submissions.load_submission`) and only then renamed into place.

:func:`export_registered` exports a submission of a registered architecture (or ``noop`` /
``random``) the same way: its network's forward pass and sampling, with the weights as the
program's parameters, so it scores exactly as the registered submission does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from harness.submissions.errors import SubmissionError
from harness.submissions.exported import (
    CARRY_FILE,
    EXPORTED_KIND,
    FORMAT_VERSION,
    PARAMS_FILE,
    PROGRAM_FILE,
)
from harness.submissions.interface import (
    OUTPUTS,
    action_avals,
    key_avals,
    obs_from_tree,
    observation_avals,
)

__all__ = ["DEFAULT_PLATFORMS", "export_policy", "export_registered"]

DEFAULT_PLATFORMS = ("cpu", "cuda")


def _plain_params(params) -> dict:
    """``params`` as nested plain dicts of numpy arrays (flax ``FrozenDict`` unfrozen)."""
    if params is None:
        return {}
    if hasattr(params, "unfreeze"):
        params = params.unfreeze()
    if not isinstance(params, dict):
        raise SubmissionError(
            f"params: must be a nested dict of arrays (flax variables are), got "
            f"{type(params).__name__}"
        )

    def walk(node, where):
        if hasattr(node, "unfreeze"):
            node = node.unfreeze()
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if not isinstance(k, str) or not k or "/" in k:
                    raise SubmissionError(f"params{where}: key {k!r} is not a plain name")
                out[k] = walk(v, f"{where}/{k}")
            return out
        arr = np.asarray(jax.device_get(node))
        if arr.dtype == object:
            raise SubmissionError(f"params{where}: not an array ({type(node).__name__})")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise SubmissionError(f"params{where}: non-finite values")
        return np.array(arr, order="C")  # (not ascontiguousarray: it makes scalars 1-d)

    return walk(params, "")


def _size_name(env_config) -> str:
    return str(getattr(env_config.size, "name", env_config.size))


def _wrap(policy_fn, obs_type, action_type, output, batched, carried):
    """The program: ``(params, obs tree, keys[, carry])`` over a batch axis."""
    want = action_avals(action_type, output, None)

    def cast(out):
        if isinstance(want, list):
            if not isinstance(out, list | tuple) or len(out) != len(want):
                raise SubmissionError(
                    f"policy_fn: output 'logits' for {action_type} must be {len(want)} arrays "
                    "(one per head)"
                )
            return [jnp.asarray(x, w.dtype) for x, w in zip(out, want, strict=True)]
        return jnp.asarray(out, want.dtype)

    def program(params, obs_tree, keys, *carry):
        obs = obs_from_tree(obs_tree, obs_type)
        if batched:
            result = policy_fn(params, obs, keys, *carry)
        else:
            axes = (None, 0, 0) + ((0,) if carried else ())
            result = jax.vmap(policy_fn, in_axes=axes)(params, obs, keys, *carry)
        if carried:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise SubmissionError("policy_fn: with a carry it must return (action, carry)")
            return cast(result[0]), result[1]
        return cast(result)

    return program


def _card(config: dict, description: str) -> str:
    spec = config
    lines = [
        "---",
        "library_name: kinetix-bench",
        "license: apache-2.0",
        "pipeline_tag: reinforcement-learning",
        "tags:",
        "- kinetix-bench",
        "- reinforcement-learning",
        f"- {EXPORTED_KIND}",
        "---",
        "",
        f"# {spec.get('name', 'exported policy')}",
        "",
        description,
        "",
        "## Format",
        "",
        f"A `jax.export` program (`{PROGRAM_FILE}`, StableHLO) with the signature "
        "`(params, obs, keys[, carry]) -> action[, carry]` over a batch axis "
        f"({'symbolic' if spec['batch'] == 'symbolic' else 'fixed at ' + str(spec['batch'])}); "
        f"observations `{spec['obs_type']}` at env size `{spec['env_size']}`, actions "
        f"`{spec['action_type']}` (the program returns `{spec['output']}`), lowered for "
        f"{', '.join(spec['platforms'])}. Nothing of the submitter's Python runs when it is "
        "scored.",
        "",
        "Exported policies are scored zero-shot only: fine-tuning needs gradients and a "
        "training step, which a forward program does not carry.",
        "",
        "## Training compute",
        "",
        str((spec.get("training") or {}).get("compute", "Not stated by the exporter.")),
        "",
        "## Use",
        "",
        "```bash",
        "kinetix-bench submit --dry-run <this folder> --benchmark <benchmark id>",
        "```",
        "",
    ]
    return "\n".join(lines)


def _entry(path: Path) -> dict:
    data = path.read_bytes()
    return {"file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def export_policy(
    policy_fn: Callable,
    params,
    env_config,
    out_dir: str | os.PathLike,
    *,
    output: str = "action",
    initial_carry=None,
    batched: bool = False,
    batch_size: int | None = None,
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS,
    name: str | None = None,
    description: str | None = None,
    architecture: str | None = None,
    training: dict | None = None,
    model_card: str | None = None,
    exported_from: dict | None = None,
    force: bool = False,
) -> Path:
    """Writes the exported-policy submission folder ``out_dir``; returns its path.

    Args:
        policy_fn: ``(params, obs, key[, carry]) -> action`` (``-> (action, carry)``) for one env
            (``batched=True``: for a batch); see the module docstring.
        params: its parameters, a nested dict of arrays (``{}`` or None: none).
        env_config: a :class:`kinetix.env.EnvConfig` (``size``, ``obs_type``, ``action_type``).
        out_dir: the folder to write (replaced only with ``force``).
        output: ``"action"`` or ``"logits"``.
        initial_carry: the recurrent state of one env at an episode's start, or None.
        batched, batch_size, platforms: see the module docstring.
        name, description, architecture, training, exported_from: ``config.json`` entries
            (``architecture`` is a free label such as ``custom:gru-mlp``; ``training`` a dict,
            its ``compute`` shown in the model card).
        model_card: the README.md text (default: generated).
        force: replace an existing ``out_dir``.

    Raises:
        SubmissionError: bad arguments, a function jax cannot export (host callbacks, foreign
            custom calls), or a written folder that fails a loader check (named).
    """
    from harness.submissions.loading import CARD_FILE, CONFIG_FILE, load_submission

    if output not in OUTPUTS:
        raise SubmissionError(f"output: {output!r} is not one of {', '.join(OUTPUTS)}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise SubmissionError(f"batch_size: must be None or an int >= 1, got {batch_size!r}")
    if "cpu" not in platforms:
        raise SubmissionError(f"platforms: {platforms} must include 'cpu' (CPU scoring)")
    out_dir = Path(out_dir)
    if out_dir.exists() and not force and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise SubmissionError(f"out_dir {out_dir}: exists and is not empty (pass force=True)")
    size, obs_type, action_type = (
        _size_name(env_config),
        env_config.obs_type,
        env_config.action_type,
    )
    plain = _plain_params(params)
    carried = initial_carry is not None
    carry_np = None
    if carried:
        carry_np = jax.tree.map(lambda x: np.array(np.asarray(x), order="C"), initial_carry)
        if not jax.tree.leaves(carry_np):
            raise SubmissionError("initial_carry: has no arrays (pass None for a stateless policy)")
    if batch_size is None:
        (b,) = jax.export.symbolic_shape("b")
    else:
        b = batch_size
    args = [
        jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), plain),
        observation_avals(size, obs_type, b),
        key_avals(b),
    ]
    if carried:
        args.append(jax.tree.map(lambda x: jax.ShapeDtypeStruct((b, *x.shape), x.dtype), carry_np))
    program = _wrap(policy_fn, obs_type, action_type, output, batched, carried)
    try:
        exported = jax.export.export(jax.jit(program), platforms=tuple(platforms))(*args)
    except (NotImplementedError, ValueError) as e:  # host callbacks, foreign custom calls
        if isinstance(e, SubmissionError):
            raise
        raise SubmissionError(f"policy_fn: jax cannot export it ({str(e)[:300]})") from None
    data = bytes(exported.serialize())
    zeros = carried and all(not np.any(x) for x in jax.tree.leaves(carry_np))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        from safetensors.numpy import save_file

        from baselines.networks import flatten_params

        (tmp / PROGRAM_FILE).write_bytes(data)
        flat = flatten_params(plain)
        if flat:
            save_file(flat, str(tmp / PARAMS_FILE))
        carry_entry = None
        if carried:
            carry_entry = {"init": "zeros"}
            if not zeros:
                if not isinstance(carry_np, dict):
                    raise SubmissionError(
                        "initial_carry: a non-zero initial carry must be a nested dict of arrays"
                    )
                save_file(flatten_params(carry_np), str(tmp / CARRY_FILE))
                carry_entry = {"init": "file", **_entry(tmp / CARRY_FILE)}
        from baselines.ppo.export import package_version

        config: dict[str, Any] = {
            "kind": EXPORTED_KIND,
            "format_version": FORMAT_VERSION,
            "program": _entry(tmp / PROGRAM_FILE),
            "params": _entry(tmp / PARAMS_FILE) if flat else None,
            "obs_type": obs_type,
            "action_type": action_type,
            "env_size": size,
            "output": output,
            "batch": "symbolic" if batch_size is None else batch_size,
            "carry": carry_entry,
            "platforms": list(exported.platforms),
            "name": name or out_dir.name,
            "kinetix_bench_version": package_version(),
        }
        if architecture is not None:
            config["architecture"] = architecture
        if description is not None:
            config["description"] = description
        if training is not None:
            config["training"] = json.loads(json.dumps(training, default=str))
        if exported_from is not None:
            config["exported_from"] = json.loads(json.dumps(exported_from, default=str))
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        text = model_card or _card(config, description or "A policy exported with jax.export.")
        (tmp / CARD_FILE).write_text(text, encoding="utf-8")
        load_submission(tmp)  # every loader check, before the folder is put in place
        from kinetix.atomic_io import replace_dir

        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# ------------------------------------------------------------------- registered architectures
def registered_policy_fn(arch_id: str, config, obs_type: str, action_type: str):
    """``(policy_fn, initial_carry)`` for ONE env of a registered architecture, with the
    parameters as an argument: the network's forward pass and sampling, exactly as the
    evaluation engine runs it (``initial_carry`` None for non-recurrent networks)."""
    from baselines.networks import build_network, get_architecture
    from baselines.networks.layers import initial_hidden
    from kinetix.policies import make_policy

    if get_architecture(arch_id).parameter_free:
        inner = make_policy(arch_id, action_type)
        return (lambda params, obs, key: inner(key, obs)), None
    net = build_network(arch_id, config, obs_type, action_type)

    def step(params, obs, key, hidden):
        obs_tb = jax.tree.map(lambda x: jnp.asarray(x)[None, None], obs)
        hidden, dist, _ = net.apply(params, hidden, obs_tb, jnp.zeros((1, 1), bool))
        return dist.sample(key)[0, 0], hidden

    if net.recurrent:
        return step, jax.tree.map(np.asarray, initial_hidden(1))
    return (lambda params, obs, key: step(params, obs, key, initial_hidden(1))[0]), None


def export_registered(
    submission,
    out_dir: str | os.PathLike,
    *,
    env_size: str | None = None,
    obs_type: str = "entity",
    action_type: str = "multi_discrete",
    batch_size: int | None = None,
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS,
    force: bool = False,
) -> Path:
    """Exports a loaded registered-architecture :class:`~harness.submissions.Submission` (or
    ``noop`` / ``random``) as a program folder. ``env_size``: for size-agnostic submissions
    (``env_size: any``), the size to export for (default: the first of ``env_sizes``, else
    ``s``); ``obs_type`` / ``action_type`` only for parameter-free ones (``any``)."""
    from kinetix.env import EnvConfig

    if submission.exported:
        raise SubmissionError(f"{submission.id}: already an exported program")
    size = submission.env_size
    if size == "any":
        sizes = submission.raw_config.get("env_sizes") or ["s"]
        size = env_size or sizes[0]
    elif env_size not in (None, size):
        raise SubmissionError(f"{submission.id}: env_size is {size}, cannot export for {env_size}")
    obs = obs_type if submission.obs_type == "any" else submission.obs_type
    act = action_type if submission.action_type == "any" else submission.action_type
    fn, carry = registered_policy_fn(submission.architecture, submission.arch_config, obs, act)
    config = submission.arch_config.to_dict() if submission.arch_config is not None else {}
    origin = {
        "submission": submission.id,
        "kind": submission.kind,
        "architecture": submission.architecture,
        "arch_kwargs": config,
        "sha256": submission.sha256,
    }
    return export_policy(
        fn,
        submission.params or {},
        EnvConfig(size=size, obs_type=obs, action_type=act),
        out_dir,
        initial_carry=carry,
        batch_size=batch_size,
        platforms=platforms,
        name=f"{submission.raw_config.get('name') or submission.id}-exported",
        description=f"{submission.architecture} exported from {submission.id} (a registered "
        "architecture; the same forward pass and sampling as the registered submission).",
        architecture=submission.architecture,
        exported_from=origin,
        force=force,
    )
