"""Kinetix pretrained-checkpoint I/O (``kinetix_checkpoints.md`` §1).

A Kinetix checkpoint is a folder with ``params.safetensors`` (float32 tensors named
``params/<module path>/<leaf>``) and ``config.json`` (model options under ``"model"``, anything
else beside it). :func:`read_kinetix_checkpoint` maps it onto a registered architecture:

* family: symbolic-entity observations give ``entity-transformer@v1``, or
  ``perm-invariant-mlp@v1`` when ``model.permutation_invariant_mlp`` is true; symbolic-flat gives
  ``mlp-flat@v1``; pixels give ``pixels-cnn@v1``;
* options: every ``"model"`` key of that family's config is taken by name; options of the other
  families and Kinetix's labels (``model_name``, ``override_model_*``, which have no effect in
  Kinetix's own loading flow) are ignored; any other key is an error. Missing options take the
  paper defaults (Kinetix merges ``"model"`` into its repository defaults, which are the same);
* observation and action types: top-level ``observation_type`` / ``action_type`` (or the
  ``*_str`` variants) in Kinetix's vocabulary, else the arguments, else symbolic_entity /
  multi_discrete (the published SFL agents);
* parameters: the header is checked against :func:`abstract_params` before any data is read
  (every mismatch listed); tensors outside ``params/`` are ignored.

:func:`write_kinetix_checkpoint` writes the same format back (bitwise round trip).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax.numpy as jnp

from baselines.networks.configs import (
    EntityTransformerConfig,
    FlatMLPConfig,
    NetworkConfig,
    NetworkConfigError,
    PermInvariantMLPConfig,
    PixelsCNNConfig,
)
from baselines.networks.params_io import (
    dtype_name,
    flatten_params,
    header_mismatches,
    load_safetensors,
    read_safetensors_header,
    save_safetensors,
    unflatten_params,
)
from baselines.networks.registry import abstract_params, get_architecture, make_config
from kinetix.observations import flat_size
from kinetix.sizes import SIZES, EnvSize, env_size

__all__ = [
    "KinetixCheckpointError",
    "KinetixCheckpoint",
    "PARAMS_FILE",
    "CONFIG_FILE",
    "KINETIX_OBS_TYPES",
    "read_kinetix_checkpoint",
    "write_kinetix_checkpoint",
    "check_kinetix_params_file",
    "config_from_kinetix_model",
    "kinetix_model_options",
]

PARAMS_FILE = "params.safetensors"
CONFIG_FILE = "config.json"

#: Kinetix observation-type strings -> ours (``blind`` and ``symbolic_flat_padded`` have no
#: counterpart in our env).
KINETIX_OBS_TYPES = {"symbolic_entity": "entity", "symbolic_flat": "flat", "pixels": "pixels"}
_OUR_OBS_TYPES = {v: k for k, v in KINETIX_OBS_TYPES.items()}
_KINETIX_ACTION_TYPES = ("multi_discrete", "discrete", "continuous")
_FAMILY_CLS = {
    "entity-transformer@v1": EntityTransformerConfig,
    "perm-invariant-mlp@v1": PermInvariantMLPConfig,
    "mlp-flat@v1": FlatMLPConfig,
    "pixels-cnn@v1": PixelsCNNConfig,
}
# Kinetix "model" keys that never change the network in Kinetix's own flow.
_LABELS = {"model_name", "override_model_depth", "override_model_width"}
_KNOWN_OPTIONS = (
    {f for cls in _FAMILY_CLS.values() for f in cls.field_names()}
    | {"permutation_invariant_mlp"}
    | _LABELS
)


class KinetixCheckpointError(NetworkConfigError):
    """A Kinetix checkpoint that cannot be mapped or loaded (the message names the key/field)."""


@dataclasses.dataclass(frozen=True)
class KinetixCheckpoint:
    """A Kinetix checkpoint mapped onto a registered architecture.

    Attributes:
        arch_id: registered architecture id.
        config: its config.
        params: ``{"params": ...}`` (float32 jax arrays, as stored).
        obs_type: our observation type (``"entity"``, ``"flat"``, ``"pixels"``).
        action_type: ``"multi_discrete"``, ``"discrete"`` or ``"continuous"``.
        size: the env size the parameters need (``None``: size-agnostic).
        raw_config: the parsed ``config.json``.
    """

    arch_id: str
    config: NetworkConfig
    params: dict
    obs_type: str
    action_type: str
    size: EnvSize | None
    raw_config: dict

    def __iter__(self):  # ``arch_id, config, params = read_kinetix_checkpoint(...)``
        return iter((self.arch_id, self.config, self.params))


def _type_field(raw: dict, key: str, vocabulary, default: str | None) -> str:
    for k in (key, f"{key}_str"):
        if k in raw:
            v = raw[k]
            if v not in vocabulary:
                raise KinetixCheckpointError(
                    f"config.json: {k} {v!r} not supported; expected one of {', '.join(vocabulary)}"
                )
            return v
    if default is None:
        raise KinetixCheckpointError(f"config.json: no {key}")
    return default


def config_from_kinetix_model(model: dict, obs_type: str = "entity") -> tuple[str, NetworkConfig]:
    """``(arch_id, config)`` from a Kinetix ``"model"`` dict for our ``obs_type``."""
    if not isinstance(model, dict):
        raise KinetixCheckpointError("config.json: 'model' must be an object")
    for k in ("action_type", "observation_type"):
        if k in model:
            raise KinetixCheckpointError(
                f"config.json: model.{k} is not a model option (Kinetix would read it as a "
                "string and build a different network); put it at the top level"
            )
    unknown = sorted(set(model) - _KNOWN_OPTIONS)
    if unknown:
        raise KinetixCheckpointError(
            f"config.json: unknown model option(s) {', '.join(map(repr, unknown))}"
        )
    if obs_type == "entity":
        perm = model.get("permutation_invariant_mlp", False)
        if not isinstance(perm, bool):
            raise KinetixCheckpointError(
                f"config.json: model.permutation_invariant_mlp must be a bool, got {perm!r}"
            )
        arch_id = "perm-invariant-mlp@v1" if perm else "entity-transformer@v1"
    elif obs_type == "flat":
        arch_id = "mlp-flat@v1"
    elif obs_type == "pixels":
        arch_id = "pixels-cnn@v1"
    else:
        raise KinetixCheckpointError(f"observation type {obs_type!r} has no Kinetix network")
    cls = _FAMILY_CLS[arch_id]
    options = {k: v for k, v in model.items() if k in cls.field_names()}
    try:
        return arch_id, cls.from_dict(options)
    except KinetixCheckpointError:
        raise
    except NetworkConfigError as e:
        raise KinetixCheckpointError(f"config.json: model option {e}") from None


def kinetix_model_options(arch_id: str, config: NetworkConfig | dict | None) -> dict[str, Any]:
    """The Kinetix ``"model"`` dict of ``arch_id`` with ``config`` (every option explicit)."""
    if arch_id not in _FAMILY_CLS:
        raise KinetixCheckpointError(f"{arch_id!r} has no Kinetix checkpoint format")
    cfg = make_config(arch_id, config)
    model = cfg.to_dict()
    if get_architecture(arch_id).obs_types == ("entity",):
        model["permutation_invariant_mlp"] = arch_id == "perm-invariant-mlp@v1"
    return model


def _flat_size_of(header: dict, arch_id: str) -> EnvSize | None:
    """The env size a flat MLP's ``Dense_0`` input width implies."""
    info = header.get("params/Dense_0/kernel")
    if info is None or len(info[1]) != 2:
        return None
    for size in SIZES.values():
        if flat_size(size) == info[1][0]:
            return size
    raise KinetixCheckpointError(
        f"params/Dense_0/kernel: input width {info[1][0]} matches no env size of {arch_id} "
        f"({', '.join(f'{k} {flat_size(s)}' for k, s in SIZES.items())})"
    )


def check_kinetix_params_file(
    path: str | os.PathLike, arch_id: str, config, obs_type: str, action_type: str, size
) -> list[str]:
    """Header-only check of a ``params.safetensors`` against the architecture's abstract params:
    every mismatch (missing, unexpected, dtype, shape; keys outside ``params/`` ignored)."""
    header = read_safetensors_header(path)
    expected = abstract_params(arch_id, config, obs_type, action_type, size)
    return header_mismatches(header, expected, ignore_outside="params/")


def read_kinetix_checkpoint(
    directory: str | os.PathLike,
    *,
    obs_type: str | None = None,
    action_type: str | None = None,
    size: EnvSize | str | None = None,
) -> KinetixCheckpoint:
    """Reads a Kinetix checkpoint folder (see the module docstring).

    ``obs_type`` (ours) / ``action_type`` are used when ``config.json`` does not say; ``size`` is
    needed only by the flat MLP, and inferred from its first layer when not given.
    """
    directory = os.fspath(directory)
    cfg_path = os.path.join(directory, CONFIG_FILE)
    params_path = os.path.join(directory, PARAMS_FILE)
    for p in (cfg_path, params_path):
        if not os.path.isfile(p):
            raise KinetixCheckpointError(f"{directory}: missing {os.path.basename(p)}")
    try:
        with open(cfg_path, encoding="utf-8") as f:
            raw = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KinetixCheckpointError(f"{cfg_path}: not valid JSON ({e})") from None
    if not isinstance(raw, dict) or "model" not in raw:
        raise KinetixCheckpointError(f"{cfg_path}: no 'model' options")
    default_obs = _OUR_OBS_TYPES.get(obs_type or "entity", "symbolic_entity")
    kx_obs = _type_field(raw, "observation_type", tuple(KINETIX_OBS_TYPES), default_obs)
    obs = KINETIX_OBS_TYPES[kx_obs]
    act = _type_field(raw, "action_type", _KINETIX_ACTION_TYPES, action_type or "multi_discrete")
    arch_id, config = config_from_kinetix_model(raw["model"], obs)
    try:
        header = read_safetensors_header(params_path)
    except ValueError as e:
        raise KinetixCheckpointError(str(e)) from None
    arch = get_architecture(arch_id)
    if size is not None:
        size = env_size(size)
    elif not arch.size_agnostic:
        size = _flat_size_of(header, arch_id)
    expected = abstract_params(arch_id, config, obs, act, size or "l")
    problems = header_mismatches(header, expected, ignore_outside="params/")
    if problems:
        raise KinetixCheckpointError(
            f"{params_path}: does not match {arch_id} ({obs}, {act}):\n  " + "\n  ".join(problems)
        )
    flat = {k: jnp.asarray(v) for k, v in load_safetensors(params_path).items()
            if k.startswith("params/")}  # fmt: skip
    params = unflatten_params(flat)
    return KinetixCheckpoint(arch_id, config, params, obs, act, size, raw)


def write_kinetix_checkpoint(
    directory: str | os.PathLike,
    arch_id: str,
    config: NetworkConfig | dict | None,
    params: dict,
    *,
    obs_type: str,
    action_type: str,
    size: EnvSize | str | None = None,
    name: str = "",
    description: str = "",
    extra: dict | None = None,
) -> None:
    """Writes ``params`` (``{"params": ...}``) in Kinetix's checkpoint format.

    ``config.json`` gets ``name``, ``description``, ``observation_type`` and ``action_type``
    (Kinetix strings), ``"model"`` (:func:`kinetix_model_options`) and ``extra`` (JSON values, no
    ``"model"`` key). The parameters are checked against the architecture first.
    """
    model = kinetix_model_options(arch_id, config)
    arch = get_architecture(arch_id)
    if obs_type not in arch.obs_types:
        raise KinetixCheckpointError(f"{arch_id}: observation type {obs_type!r} not supported")
    extra = dict(extra or {})
    if "model" in extra:
        raise KinetixCheckpointError("extra: must not contain 'model'")
    flat = flatten_params(params)
    outside = sorted(k for k in flat if not k.startswith("params/"))
    if outside:
        raise KinetixCheckpointError(f"params: keys outside 'params/': {', '.join(outside)}")
    header = {k: (dtype_name(v.dtype), tuple(v.shape)) for k, v in flat.items()}
    expected = abstract_params(arch_id, config, obs_type, action_type, size or "l")
    problems = header_mismatches(header, expected)
    if problems:
        raise KinetixCheckpointError(f"params do not match {arch_id}:\n  " + "\n  ".join(problems))
    raw = {
        "name": name,
        "description": description,
        "observation_type": _OUR_OBS_TYPES[obs_type],
        "action_type": action_type,
        **extra,
        "model": model,
    }
    text = json.dumps(raw, indent=2)  # fails before anything is written if not JSON-native
    os.makedirs(directory, exist_ok=True)
    save_safetensors(flat, os.path.join(directory, PARAMS_FILE))
    with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
        f.write(text)
