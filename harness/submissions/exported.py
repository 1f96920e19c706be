"""Exported policies as submissions: a ``jax.export`` program, its parameters and a model card.

A folder (or a Hub model repo folder) with

* ``policy.jax_exported``: the serialized program (``jax.export.Exported.serialize()``), whose
  calling convention is :mod:`harness.submissions.interface`'s:
  ``(params, obs, keys[, carry]) -> action_or_logits`` or ``-> (action_or_logits, carry)``;
* ``config.json``: ``kind: "jax-exported"``, ``format_version: 1``, ``program`` (``file``,
  ``bytes``, ``sha256``), ``params`` (the same for ``params.safetensors``, or null),
  ``obs_type``, ``action_type``, ``env_size`` (``s``, ``m``, ``l``; ``any`` only for ``pixels``,
  whose observation does not depend on the size), ``output`` (``action`` or ``logits``),
  ``batch`` (``"symbolic"`` or the fixed batch size), ``carry`` (null: stateless;
  ``{"init": "zeros"}``; or ``{"init": "file", "file": "carry.safetensors", "bytes", "sha256"}``:
  the initial state of ONE env); optional ``platforms``, ``architecture`` (a free label, e.g.
  ``custom:gru-mlp``), ``name``, ``description``, ``kinetix_bench_version``, ``exported_from``,
  ``training``;
* ``params.safetensors`` (optional): the program's first argument, ``"/"``-joined keys;
* ``README.md``: the model card.

:func:`load_exported` checks, in order, before anything of the program runs (each failure a
:class:`~harness.submissions.errors.SubmissionError` naming the file and field): the files
present and within their size caps; ``config.json`` (known keys and values); the program's length
and sha256, not a pickle; ``jax.export.deserialize``; its platforms (CPU, and the platform it
will be scored on); isolation (one device, no effects, no disabled safety checks, only jaxlib's
stable ``custom_call`` targets, no host transfers); its signature against the benchmark's
observation and action spaces (:func:`~harness.submissions.exported_checks.check_signature`); its
shape constraints for the batch sizes it will get (``jax.eval_shape``); the params file
(structure from the header, then every key, dtype and shape against the program's params
argument, then finite values); the initial carry the same way.

An exported policy is scored zero-shot only: fine-tuning needs gradients and a training step,
which a forward program does not carry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jax
import numpy as np

from harness.submissions.errors import SubmissionError
from harness.submissions.interface import (
    OUTPUTS,
    BatchedPolicy,
    call_in_batches,
    key_avals,
    obs_to_tree,
    observation_avals,
    sample_logits,
    sanitize_actions,
)

__all__ = [
    "EXPORTED_KIND",
    "FORMAT_VERSION",
    "PROGRAM_FILE",
    "PARAMS_FILE",
    "CARRY_FILE",
    "MAX_PROGRAM_BYTES",
    "ExportedSpec",
    "ExportedProgram",
    "is_exported_folder",
    "parse_exported_config",
    "load_exported",
    "exported_batched_policy",
]

EXPORTED_KIND = "jax-exported"
FORMAT_VERSION = 1
PROGRAM_FILE = "policy.jax_exported"
CONFIG_FILE = "config.json"  # as harness.submissions.loading names them (it imports this module)
MODEL_FILE = "model.safetensors"
PARAMS_FILE = "params.safetensors"
CARRY_FILE = "carry.safetensors"
#: Cap on the program file (bytes); parameters are a separate file with their own cap.
MAX_PROGRAM_BYTES = 256 * 1024 * 1024

_REQUIRED = ("kind", "format_version", "program", "params", "obs_type", "action_type",
             "env_size", "output", "batch", "carry")  # fmt: skip
_OPTIONAL = ("platforms", "architecture", "name", "description", "kinetix_bench_version",
             "exported_from", "training")  # fmt: skip
_SHA = re.compile(r"^[0-9a-f]{64}$")
_LABEL = re.compile(r"^[A-Za-z0-9][\w.@:+-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class ExportedSpec:
    """What ``config.json`` declares about the program (checked against the program itself).

    Attributes:
        obs_type: ``entity``, ``flat`` or ``pixels``.
        action_type: ``multi_discrete``, ``discrete`` or ``continuous``.
        env_size: ``s``, ``m``, ``l`` (or ``any`` for pixels).
        output: ``action`` or ``logits``.
        batch_size: the fixed batch size, or None for a symbolic batch axis.
        carried: the program takes and returns a recurrent state.
        carry_init: ``zeros`` or ``file`` (None when not carried).
    """

    obs_type: str
    action_type: str
    env_size: str
    output: str
    batch_size: int | None
    carried: bool
    carry_init: str | None = None

    def to_json(self) -> dict:
        return {
            "obs_type": self.obs_type,
            "action_type": self.action_type,
            "env_size": self.env_size,
            "output": self.output,
            "batch": "symbolic" if self.batch_size is None else self.batch_size,
            "carry": None if not self.carried else {"init": self.carry_init},
        }


@dataclasses.dataclass(frozen=True, eq=False)
class ExportedProgram:
    """A loaded, checked exported program (what :attr:`Submission.program` holds).

    Attributes:
        exported: the ``jax.export.Exported``.
        spec: its :class:`ExportedSpec`.
        initial_carry: the state of ONE env at an episode's start (numpy pytree), or None.
        platforms: the platforms it was lowered for.
        custom_calls: the (allowed) ``custom_call`` targets it contains.
        program_sha256: sha256 of ``policy.jax_exported``.
    """

    exported: Any
    spec: ExportedSpec
    initial_carry: Any
    platforms: tuple[str, ...]
    custom_calls: tuple[str, ...]
    program_sha256: str

    def summary(self) -> dict:
        return {
            **self.spec.to_json(),
            "platforms": list(self.platforms),
            "custom_calls": list(self.custom_calls),
            "program_sha256": self.program_sha256,
        }


def is_exported_folder(folder: Path) -> bool:
    """The folder holds an exported program (``policy.jax_exported``)."""
    return (Path(folder) / PROGRAM_FILE).exists()


# ------------------------------------------------------------------------------ config.json
def _file_entry(raw, where: str, name: str) -> dict:
    if not isinstance(raw, dict) or set(raw) != {"file", "bytes", "sha256"}:
        raise SubmissionError(f"{where}: must be {{'file', 'bytes', 'sha256'}}, got {raw!r}")
    if raw["file"] != name:
        raise SubmissionError(f"{where}.file: must be {name!r}, got {raw['file']!r}")
    if not isinstance(raw["bytes"], int) or isinstance(raw["bytes"], bool) or raw["bytes"] < 0:
        raise SubmissionError(f"{where}.bytes: must be a byte count, got {raw['bytes']!r}")
    if not isinstance(raw["sha256"], str) or not _SHA.match(raw["sha256"]):
        raise SubmissionError(f"{where}.sha256: must be 64 lower-case hex digits")
    return raw


def parse_exported_config(raw: dict, path: Path) -> ExportedSpec:
    """The :class:`ExportedSpec` of an exported folder's ``config.json`` (every key checked)."""
    from kinetix.actions import ACTION_TYPES
    from kinetix.observations import OBS_TYPES

    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise SubmissionError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))} for a {EXPORTED_KIND} "
            f"submission; known: {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise SubmissionError(f"{path}: missing key(s) {', '.join(map(repr, missing))}")
    if raw["kind"] != EXPORTED_KIND:
        raise SubmissionError(
            f"{path}: kind {raw['kind']!r}; a program folder says {EXPORTED_KIND!r}"
        )
    if raw["format_version"] != FORMAT_VERSION:
        raise SubmissionError(
            f"{path}: format_version {raw['format_version']!r}; this harness reads {FORMAT_VERSION}"
        )
    _file_entry(raw["program"], f"{path}: program", PROGRAM_FILE)
    if raw["params"] is not None:
        _file_entry(raw["params"], f"{path}: params", PARAMS_FILE)
    obs, act, size, out = raw["obs_type"], raw["action_type"], raw["env_size"], raw["output"]
    if obs not in OBS_TYPES:
        raise SubmissionError(f"{path}: obs_type {obs!r} is not one of {', '.join(OBS_TYPES)}")
    if act not in ACTION_TYPES:
        raise SubmissionError(
            f"{path}: action_type {act!r} is not one of {', '.join(ACTION_TYPES)}"
        )
    if size not in ("s", "m", "l", "any"):
        raise SubmissionError(f"{path}: env_size {size!r} is not one of s, m, l, any")
    if size == "any" and obs != "pixels":
        raise SubmissionError(
            f"{path}: env_size 'any' needs obs_type 'pixels' ({obs} observations have the env "
            "size in their shapes: export one folder per size)"
        )
    if out not in OUTPUTS:
        raise SubmissionError(f"{path}: output {out!r} is not one of {', '.join(OUTPUTS)}")
    if out == "logits" and act == "continuous":
        raise SubmissionError(f"{path}: output 'logits' needs a discrete action_type, not {act}")
    batch = raw["batch"]
    if batch != "symbolic" and not (
        isinstance(batch, int) and not isinstance(batch, bool) and 1 <= batch <= 1 << 20
    ):
        raise SubmissionError(f"{path}: batch must be 'symbolic' or a size >= 1, got {batch!r}")
    carry = raw["carry"]
    init = None
    if carry is not None:
        if not isinstance(carry, dict) or carry.get("init") not in ("zeros", "file"):
            raise SubmissionError(
                f"{path}: carry must be null, {{'init': 'zeros'}} or {{'init': 'file', ...}}"
            )
        init = carry["init"]
        if init == "zeros" and set(carry) != {"init"}:
            raise SubmissionError(f"{path}: carry {{'init': 'zeros'}} takes no other key")
        if init == "file":
            _file_entry(
                {k: v for k, v in carry.items() if k != "init"}, f"{path}: carry", CARRY_FILE
            )
    plats = raw.get("platforms")
    if plats is not None and not (
        isinstance(plats, list) and all(isinstance(p, str) for p in plats)
    ):
        raise SubmissionError(f"{path}: platforms must be a list of strings")
    label = raw.get("architecture")
    if label is not None and not (isinstance(label, str) and _LABEL.match(label)):
        raise SubmissionError(
            f"{path}: architecture must be a short label (letters, digits, ._@:+-), got {label!r}"
        )
    for key in ("name", "description", "kinetix_bench_version"):
        if key in raw and not isinstance(raw[key], str):
            raise SubmissionError(f"{path}: {key!r} must be a string")
    for key in ("exported_from", "training"):
        if key in raw and not isinstance(raw[key], dict):
            raise SubmissionError(f"{path}: {key!r} must be an object")
    return ExportedSpec(
        obs, act, size, out, None if batch == "symbolic" else batch, carry is not None, init
    )


# ---------------------------------------------------------------------------------- tensors
def _check_declared(path: Path, declared: dict) -> None:
    n = path.stat().st_size
    if n != declared["bytes"]:
        raise SubmissionError(
            f"{path}: {n} bytes but config.json says {declared['bytes']} (truncated or replaced?)"
        )
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != declared["sha256"]:
        raise SubmissionError(f"{path}: sha256 differs from config.json's (corrupt or replaced)")


def _read_tensors(path: Path, expected, what: str):
    """Checks a safetensors file against the avals ``expected`` (a nested dict), then loads it:
    the tree of finite numpy arrays."""
    from safetensors.numpy import load_file

    from baselines.networks import header_mismatches, unflatten_params
    from harness.submissions.safetensors_check import check_safetensors_file

    header, _ = check_safetensors_file(path)
    problems = header_mismatches(header, expected)
    if problems:
        raise SubmissionError(
            f"{path}: does not match the program's {what}: " + "; ".join(problems)
        )
    try:
        flat = load_file(str(path))
    except Exception as e:  # structure was checked; anything left is a corrupt file
        raise SubmissionError(f"{path}: cannot read tensors ({e})") from None
    bad = sorted(k for k, v in flat.items() if not np.all(np.isfinite(v)))
    if bad:
        raise SubmissionError(
            f"{path}: non-finite (NaN or inf) values in tensor(s) {', '.join(map(repr, bad))}"
        )
    return unflatten_params(flat) if flat else {}


def _is_dict_tree(tree) -> bool:
    if isinstance(tree, dict):
        return all(
            isinstance(k, str) and "/" not in k and _is_dict_tree(v) for k, v in tree.items()
        )
    return not isinstance(tree, list | tuple) and tree is not None


# ----------------------------------------------------------------------------------- loading
def load_exported(folder: Path, raw: dict, config_path: Path, max_bytes: int, platform=None):
    """``(spec, program, params, sha256, files)`` of the exported folder, every check of the
    module docstring passed. ``platform``: where it will be scored (default: here)."""
    from harness.submissions import exported_checks as chk

    spec = parse_exported_config(raw, config_path)
    if (folder / MODEL_FILE).exists():
        raise SubmissionError(f"{folder}: holds {MODEL_FILE} beside {PROGRAM_FILE}; keep one")
    prog_path = folder / PROGRAM_FILE
    if not prog_path.is_file():
        raise SubmissionError(f"{prog_path}: not a regular file")
    files = {CONFIG_FILE: config_path.stat().st_size}
    params_path = folder / PARAMS_FILE if raw["params"] is not None else None
    carry_path = folder / CARRY_FILE if spec.carry_init == "file" else None
    for p, what in ((params_path, "params"), (carry_path, "carry")):
        if p is not None and not p.is_file():
            raise SubmissionError(f"{folder}: missing {p.name} (config.json {what} names it)")
    if params_path is None and (folder / PARAMS_FILE).exists():
        raise SubmissionError(f"{folder / PARAMS_FILE}: present but config.json params is null")
    # size caps, before reading anything large
    for p, cap, what in (
        (prog_path, MAX_PROGRAM_BYTES, "program"),
        (params_path, max_bytes, "weights file"),
        (carry_path, max_bytes, "carry file"),
    ):
        if p is None:
            continue
        n = p.stat().st_size
        if n > cap:
            raise SubmissionError(f"{p}: {n} bytes exceeds the {what} cap of {cap} bytes")
        files[p.name] = n
    data = prog_path.read_bytes()
    program_sha = chk.check_program_bytes(prog_path, data, raw["program"])
    exported, text = chk.deserialize_program(prog_path, data)
    platforms = chk.check_platforms(prog_path, exported, platform)
    if raw.get("platforms") is not None and sorted(raw["platforms"]) != sorted(platforms):
        raise SubmissionError(
            f"{config_path}: platforms {raw['platforms']} but the program was lowered for "
            f"{list(platforms)}"
        )
    custom_calls = chk.check_isolation(prog_path, exported, text)
    sig = chk.check_signature(prog_path, exported, spec)
    _check_traceable(prog_path, exported, spec, sig)
    # parameters: the program's first argument
    if params_path is None:
        if jax.tree.leaves(sig["params"]):
            raise SubmissionError(
                f"{config_path}: params is null but the program takes parameters "
                f"{chk.describe_avals(sig['params'])}; ship {PARAMS_FILE}"
            )
        params = sig["params"] and jax.tree.map(lambda a: np.zeros(a.shape, a.dtype), sig["params"])
    else:
        if not _is_dict_tree(sig["params"]):
            raise SubmissionError(f"{prog_path}: params must be nested dicts of arrays")
        _check_declared(params_path, raw["params"])
        params = _read_tensors(params_path, sig["params"], "params argument")
    # the initial carry of one env
    initial = None
    if spec.carried:
        if spec.carry_init == "zeros":
            initial = jax.tree.map(lambda a: np.zeros(a.shape, a.dtype), sig["carry"])
        else:
            if not _is_dict_tree(sig["carry"]):
                raise SubmissionError(
                    f"{prog_path}: carry init 'file' needs a carry of nested dicts; use 'zeros'"
                )
            _check_declared(carry_path, {k: raw["carry"][k] for k in ("bytes", "sha256")})
            initial = _read_tensors(carry_path, sig["carry"], "carry (one env, no batch axis)")
    digests = {
        "program": program_sha,
        "params": None if params_path is None else raw["params"]["sha256"],
        "carry": None if carry_path is None else raw["carry"]["sha256"],
        "spec": spec.to_json(),
    }
    sha = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
    program = ExportedProgram(exported, spec, initial, platforms, custom_calls, program_sha)
    return spec, program, jax.tree.map(jax.numpy.asarray, params), sha, files


def _check_traceable(path: Path, exported, spec: ExportedSpec, sig) -> None:
    from harness.submissions.exported_checks import check_traceable

    size = "s" if spec.env_size == "any" else spec.env_size

    def args(b):
        out = [sig["params"], observation_avals(size, spec.obs_type, b), key_avals(b)]
        if spec.carried:
            out.append(jax.tree.map(lambda a: jax.ShapeDtypeStruct((b, *a.shape), a.dtype),
                                    sig["carry"]))  # fmt: skip
        return out

    batches = (1, 20) if spec.batch_size is None else (spec.batch_size,)
    check_traceable(path, exported, args, batches)


# ------------------------------------------------------------------------------ running it
def exported_batched_policy(program: ExportedProgram, identity: str = "") -> BatchedPolicy:
    """The :class:`BatchedPolicy` of a loaded program: converts observations to the program's
    plain pytree, calls it (in groups of its fixed batch size, when it has one), samples logits
    with the envs' keys and sanitises the actions."""
    spec, call = program.spec, program.exported.call

    def act(params, obs, keys, carry):
        tree = obs_to_tree(obs, spec.obs_type)
        keys = jax.numpy.asarray(keys, jax.numpy.uint32)
        if spec.carried:
            out, carry = call_in_batches(
                lambda o, k, c: call(params, o, k, c), spec.batch_size, tree, keys, carry
            )
        else:
            out = call_in_batches(lambda o, k: call(params, o, k), spec.batch_size, tree, keys)
        if spec.output == "logits":
            out = sample_logits(out, keys, spec.action_type)
        return sanitize_actions(out, spec.action_type), carry

    def init_carry(b: int):
        if not spec.carried:
            return ()
        return jax.tree.map(
            lambda x: jax.numpy.broadcast_to(jax.numpy.asarray(x), (b, *np.shape(x))),
            program.initial_carry,
        )

    return BatchedPolicy(
        act, init_carry, spec.obs_type, spec.action_type, identity, f"{EXPORTED_KIND} program"
    )
