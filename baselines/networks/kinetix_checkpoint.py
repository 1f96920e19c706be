"""Kinetix pretrained-checkpoint I/O (``kinetix_checkpoints.md`` §1, §2.4).

A Kinetix checkpoint is a folder with ``params.safetensors`` (float32 tensors named
``params/<module path>/<leaf>``) and ``config.json`` (model options under ``"model"``, anything
else beside it). :func:`read_kinetix_checkpoint` maps it onto a registered architecture:

* family: symbolic-entity observations give ``entity-transformer@v1``, or
  ``perm-invariant-mlp@v1`` when ``model.permutation_invariant_mlp`` is true; symbolic-flat gives
  ``mlp-flat@v1``; pixels give ``pixels-cnn@v1``;
* options (:mod:`~baselines.networks.kinetix_options`): every ``"model"`` key of that family's
  config is taken by name (the paper-era names ``fc_layer_depth`` / ``fc_layer_width`` set both
  the actor's and the critic's depth / width);
  options of the other families and Kinetix's labels (``model_name``, ``override_model_*``, which
  have no effect in Kinetix's own loading flow) are ignored; any other key, or a value we do not
  support (an activation, aggregate mode, CNN mode, observation or action type), is an error
  naming the option and the value;
* options ``"model"`` does not state take the paper model's values ("tf-paper", §1.4), and
  :attr:`KinetixCheckpoint.assumed_options` lists them. ``legacy_entity_id`` is the exception: it
  is assumed ``true`` for a file with paper-era key names (the v0.1.0 code always had the quirk)
  and ``false`` otherwise (Kinetix 3.x's own default). (Kinetix's own builder reads a missing
  ``recurrent_model`` as true; we assume the paper's false, and a recurrent file then fails the
  key check with an error that lists every assumed option);
* observation and action types: top-level ``observation_type`` / ``action_type`` (or the
  ``*_str`` variants) in Kinetix's vocabulary, else the arguments, else symbolic_entity /
  multi_discrete (the published SFL agents); unstated ones are listed as assumed too;
* key names: Kinetix 3.x names, or the paper-era (v0.1.0) ones, whose actor-critic layers are
  ``GeneralActorCriticRNN_0/Dense_0..2d+1`` interleaved (actor layer i = ``Dense_2i``, critic
  layer i = ``Dense_2i+1``, logits ``Dense_2d``, value ``Dense_2d+1``; :func:`paper_era_key_map`).
  Paper-era files are recognised by their keys and renamed on load;
* parameters: the header is checked against :func:`abstract_params` before any data is read
  (every mismatch listed, named by the file's own keys); tensors outside ``params/`` are ignored
  and never read.

:func:`write_kinetix_checkpoint` writes the format back (3.x names; bitwise round trip), with
every model option of every family stated, as Kinetix's reference loader needs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np

from baselines.networks.configs import NetworkConfig
from baselines.networks.kinetix_options import (
    KinetixCheckpointError,
    config_from_kinetix_model,
    kinetix_model_options,
    resolve_kinetix_model,
)
from baselines.networks.params_io import (
    dtype_name,
    flatten_params,
    header_mismatches,
    read_safetensors_header,
    save_safetensors,
    unflatten_params,
)
from baselines.networks.registry import abstract_params, get_architecture
from kinetix.observations import flat_size
from kinetix.sizes import SIZES, EnvSize, env_size

__all__ = [
    "KinetixCheckpointError",
    "KinetixCheckpoint",
    "PARAMS_FILE",
    "CONFIG_FILE",
    "KINETIX_OBS_TYPES",
    "KEY_NAMES_CURRENT",
    "KEY_NAMES_PAPER",
    "read_kinetix_checkpoint",
    "write_kinetix_checkpoint",
    "check_kinetix_params_file",
    "config_from_kinetix_model",
    "resolve_kinetix_model",
    "kinetix_model_options",
    "kinetix_key_names",
    "paper_era_key_map",
]

PARAMS_FILE = "params.safetensors"
CONFIG_FILE = "config.json"
#: Key-naming schemes: Kinetix 3.x, and the paper release (v0.1.0).
KEY_NAMES_CURRENT = "3.x"
KEY_NAMES_PAPER = "v0.1.0"

#: Kinetix observation-type strings -> ours (``blind`` and ``symbolic_flat_padded`` have no
#: counterpart in our env).
KINETIX_OBS_TYPES = {"symbolic_entity": "entity", "symbolic_flat": "flat", "pixels": "pixels"}
_OUR_OBS_TYPES = {v: k for k, v in KINETIX_OBS_TYPES.items()}
_KINETIX_ACTION_TYPES = ("multi_discrete", "discrete", "continuous")
_HEAD = "params/GeneralActorCriticRNN_0/"
_NEW_HIDDEN = re.compile(rf"^{_HEAD}DenseAndActivation_(\d+)/Dense_0/(.+)$")
_NEW_OUT = re.compile(rf"^{_HEAD}Dense_([01])/(.+)$")
_OLD_DENSE = re.compile(rf"^{_HEAD}Dense_(\d+)/")


@dataclasses.dataclass(frozen=True)
class KinetixCheckpoint:
    """A Kinetix checkpoint mapped onto a registered architecture.

    Attributes:
        arch_id: registered architecture id.
        config: its config.
        params: ``{"params": ...}`` (float32 jax arrays, 3.x key names).
        obs_type: our observation type (``"entity"``, ``"flat"``, ``"pixels"``).
        action_type: ``"multi_discrete"``, ``"discrete"`` or ``"continuous"``.
        size: the env size the parameters need (``None``: size-agnostic).
        raw_config: the parsed ``config.json``.
        assumed_options: ``{name: value}`` of the options ``config.json`` did not state
            (model options, ``observation_type``, ``action_type``; JSON values).
        key_names: :data:`KEY_NAMES_CURRENT` or :data:`KEY_NAMES_PAPER` (the file's naming).
    """

    arch_id: str
    config: NetworkConfig
    params: dict
    obs_type: str
    action_type: str
    size: EnvSize | None
    raw_config: dict
    assumed_options: dict = dataclasses.field(default_factory=dict)
    key_names: str = KEY_NAMES_CURRENT

    def __iter__(self):  # ``arch_id, config, params = read_kinetix_checkpoint(...)``
        return iter((self.arch_id, self.config, self.params))


# ------------------------------------------------------------------------------ key names
def kinetix_key_names(keys: Iterable[str]) -> str:
    """:data:`KEY_NAMES_PAPER` when the actor-critic layers carry paper-era (v0.1.0) names
    (``GeneralActorCriticRNN_0/Dense_k`` with k >= 2 and no ``DenseAndActivation_*``), else
    :data:`KEY_NAMES_CURRENT`."""
    keys = list(keys)
    if any(k.startswith(f"{_HEAD}DenseAndActivation_") for k in keys):
        return KEY_NAMES_CURRENT
    for k in keys:
        m = _OLD_DENSE.match(k)
        if m and int(m.group(1)) >= 2:
            return KEY_NAMES_PAPER
    return KEY_NAMES_CURRENT


def paper_era_key_map(keys: Iterable[str], config: NetworkConfig) -> dict[str, str]:
    """``{3.x key: v0.1.0 key}`` for the actor-critic keys among ``keys`` (3.x names) that the
    paper release named differently (§2.4). With depth d: ``DenseAndActivation_i`` (actor, i < d)
    was ``Dense_2i``; ``DenseAndActivation_(d+i)`` (critic) was ``Dense_(2i+1)``; the logits
    ``Dense_0`` and value ``Dense_1`` were ``Dense_2d`` and ``Dense_(2d+1)``. The v0.1.0 code had
    one depth for both MLPs, so ``actor_depth`` must equal ``critic_depth``."""
    d, dc = config.actor_depth, config.critic_depth
    if d != dc:
        raise KinetixCheckpointError(
            "paper-era (v0.1.0) key names interleave the actor's and critic's layers, which "
            f"needs actor_depth == critic_depth (got {d} and {dc})"
        )
    out = {}
    for k in keys:
        if m := _NEW_HIDDEN.match(k):
            i = int(m.group(1))
            j = 2 * i if i < d else 2 * (i - d) + 1
            out[k] = f"{_HEAD}Dense_{j}/{m.group(2)}"
        elif m := _NEW_OUT.match(k):
            out[k] = f"{_HEAD}Dense_{2 * d + int(m.group(1))}/{m.group(2)}"
    return out


def _renamed(abstract: dict, rename: dict[str, str]) -> dict:
    flat = flatten_params(abstract)
    return unflatten_params({rename.get(k, k): v for k, v in flat.items()})


# ------------------------------------------------------------------------------ reading
def _type_field(raw: dict, key: str, vocabulary, default: str | None) -> tuple[str, bool]:
    """``(value, assumed)`` of a top-level type field."""
    for k in (key, f"{key}_str"):
        if k in raw:
            v = raw[k]
            if v not in vocabulary:
                raise KinetixCheckpointError(
                    f"config.json: {k} {v!r} is not supported; expected one of "
                    f"{', '.join(vocabulary)}"
                )
            return v, False
    if default is None:
        raise KinetixCheckpointError(f"config.json: no {key}")
    return default, True


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


def _read_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KinetixCheckpointError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(raw, dict) or "model" not in raw:
        raise KinetixCheckpointError(f"{path}: no 'model' options")
    return raw


def _load_params_tensors(path: str, names: list[str]) -> dict[str, np.ndarray]:
    """The named tensors only (others in the file are never read)."""
    from safetensors import safe_open

    try:
        with safe_open(path, framework="numpy") as f:
            return {k: f.get_tensor(k) for k in names}
    except Exception as e:  # the header was checked; anything left is a corrupt file
        raise KinetixCheckpointError(f"{path}: cannot read tensors ({e})") from None


def read_kinetix_checkpoint(
    directory: str | os.PathLike,
    *,
    obs_type: str | None = None,
    action_type: str | None = None,
    size: EnvSize | str | None = None,
    check_finite: bool = False,
) -> KinetixCheckpoint:
    """Reads a Kinetix checkpoint folder (see the module docstring).

    ``obs_type`` (ours) / ``action_type`` are used when ``config.json`` does not say; ``size`` is
    needed only by the flat MLP, and inferred from its first layer when not given.
    ``check_finite``: raise if a parameter holds NaN or inf (naming the file's keys).
    """
    directory = os.fspath(directory)
    cfg_path = os.path.join(directory, CONFIG_FILE)
    params_path = os.path.join(directory, PARAMS_FILE)
    for p in (cfg_path, params_path):
        if not os.path.isfile(p):
            raise KinetixCheckpointError(f"{directory}: missing {os.path.basename(p)}")
    raw = _read_config(cfg_path)
    default_obs = _OUR_OBS_TYPES.get(obs_type or "entity", "symbolic_entity")
    kx_obs, obs_assumed = _type_field(
        raw, "observation_type", tuple(KINETIX_OBS_TYPES), default_obs
    )
    obs = KINETIX_OBS_TYPES[kx_obs]
    act, act_assumed = _type_field(
        raw, "action_type", _KINETIX_ACTION_TYPES, action_type or "multi_discrete"
    )
    arch_id, config, model_assumed = resolve_kinetix_model(raw["model"], obs)
    assumed = {"observation_type": kx_obs} if obs_assumed else {}
    if act_assumed:
        assumed["action_type"] = act
    try:
        header = read_safetensors_header(params_path)
    except ValueError as e:
        raise KinetixCheckpointError(str(e)) from None
    names = kinetix_key_names(k for k in header if k.startswith("params/"))
    if names == KEY_NAMES_PAPER and "legacy_entity_id" in model_assumed:
        config = config.replace(legacy_entity_id=True)  # the v0.1.0 code always had the quirk
        model_assumed["legacy_entity_id"] = True
    assumed.update(model_assumed)
    if size is not None:
        size = env_size(size)
    elif not get_architecture(arch_id).size_agnostic:
        size = _flat_size_of(header, arch_id)
    expected = abstract_params(arch_id, config, obs, act, size or "l")
    rename: dict[str, str] = {}
    if names == KEY_NAMES_PAPER:
        rename = paper_era_key_map(flatten_params(expected), config)
        expected = _renamed(expected, rename)
    problems = header_mismatches(header, expected, ignore_outside="params/")
    if problems:
        hint = ""
        if model_assumed:
            shown = ", ".join(f"{k}={v!r}" for k, v in model_assumed.items())
            hint = f"\n  (options config.json does not state were assumed: {shown})"
        raise KinetixCheckpointError(
            f"{params_path}: does not match {arch_id} ({obs}, {act}, {names} key names):\n  "
            + "\n  ".join(problems)
            + hint
        )
    flat = _load_params_tensors(params_path, sorted(k for k in header if k.startswith("params/")))
    if check_finite:
        bad = sorted(k for k, v in flat.items() if not np.all(np.isfinite(v)))
        if bad:
            raise KinetixCheckpointError(
                f"{params_path}: non-finite (NaN or inf) values in tensor(s) "
                f"{', '.join(map(repr, bad))}"
            )
    back = {old: new for new, old in rename.items()}
    params = unflatten_params({back.get(k, k): jnp.asarray(v) for k, v in flat.items()})
    return KinetixCheckpoint(arch_id, config, params, obs, act, size, raw, assumed, names)


# ------------------------------------------------------------------------------ writing
def _replace_into(directory: str, name: str, write) -> None:
    """``write(tmp_path)`` then an atomic rename to ``directory/name``."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
    ``"model"`` key). The parameters are checked against the architecture first; each file is
    written to a temporary file and renamed into place.
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
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    flat = jax.device_get(flat)
    _replace_into(directory, PARAMS_FILE, lambda p: save_safetensors(flat, p))

    def write_text(p):
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)

    _replace_into(directory, CONFIG_FILE, write_text)
