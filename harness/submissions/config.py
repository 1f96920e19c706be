"""``config.json`` of a kinetix-bench submission: its keys and what they may say (DESIGN §7).

:func:`parse_config` checks a parsed ``config.json``: only the keys of :data:`REQUIRED_KEYS` and
:data:`OPTIONAL_KEYS`, a registered architecture (``entity-transformer@v1``, or the bare name with
``architecture_version``) and its ``arch_kwargs``, observation / action types that architecture
supports (``any`` for parameter-free policies), an ``env_size`` of :data:`ENV_SIZES` (``any`` only
for size-agnostic architectures). Every refusal is a :class:`SubmissionError` naming the key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness.submissions.errors import SubmissionError

__all__ = ["ENV_SIZES", "ANY", "REQUIRED_KEYS", "OPTIONAL_KEYS", "ParsedConfig", "parse_config"]

ENV_SIZES = ("s", "m", "l", "any")
ANY = "any"


REQUIRED_KEYS = ("architecture", "obs_type", "action_type", "env_size")
OPTIONAL_KEYS = (
    "architecture_version",
    "arch_kwargs",
    "env_sizes",
    "kinetix_bench_version",
    "model",
    "name",
    "description",
    "param_dtype",
)


@dataclasses.dataclass(frozen=True)
class ParsedConfig:
    """What a checked ``config.json`` of our format declares (``arch_id`` with its version,
    ``config`` the architecture's :class:`~baselines.networks.NetworkConfig`)."""

    arch_id: str
    config: Any
    obs_type: str
    action_type: str
    env_size: str


def parse_config(raw: dict, path: Path) -> ParsedConfig:
    """Checks ``raw`` (the parsed ``config.json`` at ``path``): known keys, a registered
    architecture and its options, observation / action types it supports, a valid
    ``env_size``; raises :class:`SubmissionError` naming the key."""
    from baselines.networks import NetworkConfigError, get_architecture, make_config
    from kinetix.actions import ACTION_TYPES
    from kinetix.observations import OBS_TYPES

    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise SubmissionError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise SubmissionError(f"{path}: missing key(s) {', '.join(map(repr, missing))}")
    arch_id, version = raw["architecture"], raw.get("architecture_version")
    if not isinstance(arch_id, str) or not (version is None or isinstance(version, str)):
        raise SubmissionError(f"{path}: 'architecture' and 'architecture_version' must be strings")
    if "@" in arch_id:
        if version is not None and arch_id.partition("@")[2] != version:
            raise SubmissionError(
                f"{path}: architecture_version {version!r} contradicts architecture {arch_id!r}"
            )
    elif version:
        arch_id = f"{arch_id}@{version}"
    try:
        arch = get_architecture(arch_id)
    except NetworkConfigError as e:
        raise SubmissionError(f"{path}: architecture: {e}") from None
    kwargs = raw.get("arch_kwargs", {})
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise SubmissionError(f"{path}: 'arch_kwargs' must be an object")
    if "model" in raw and raw["model"] != kwargs:
        raise SubmissionError(f"{path}: 'model' differs from 'arch_kwargs' (it must be a copy)")
    try:
        config = make_config(arch_id, kwargs)
    except NetworkConfigError as e:
        raise SubmissionError(f"{path}: arch_kwargs: {e}") from None
    obs, act, size = raw["obs_type"], raw["action_type"], raw["env_size"]
    free = arch.parameter_free
    if not (free and obs == ANY):
        if obs not in OBS_TYPES:
            raise SubmissionError(
                f"{path}: obs_type {obs!r} is not an observation type of the env "
                f"({', '.join(OBS_TYPES)}{', any' if free else ''})"
            )
        if obs not in arch.obs_types:
            raise SubmissionError(
                f"{path}: obs_type {obs!r} is not supported by {arch_id} "
                f"(expects {', '.join(arch.obs_types)})"
            )
    if not (free and act == ANY):
        if act not in ACTION_TYPES or act not in arch.action_types:
            raise SubmissionError(
                f"{path}: action_type {act!r} is not an action type of {arch_id} "
                f"({', '.join(arch.action_types)}{', any' if free else ''})"
            )
    if size not in ENV_SIZES:
        raise SubmissionError(f"{path}: env_size {size!r} is not one of {', '.join(ENV_SIZES)}")
    if size == ANY and not arch.size_agnostic:
        raise SubmissionError(
            f"{path}: env_size 'any' but {arch_id} depends on the env size (give s, m or l)"
        )
    sizes = raw.get("env_sizes")
    if sizes is not None and (
        not isinstance(sizes, list) or not all(s in ("s", "m", "l") for s in sizes)
    ):
        raise SubmissionError(f"{path}: 'env_sizes' must be a list of s, m, l")
    for key in ("name", "description", "kinetix_bench_version"):
        if key in raw and not isinstance(raw[key], str):
            raise SubmissionError(f"{path}: {key!r} must be a string")
    if raw.get("param_dtype", "float32") != "float32":
        raise SubmissionError(f"{path}: param_dtype {raw['param_dtype']!r}; only float32")
    return ParsedConfig(arch_id, config, obs, act, size)
