"""Kinetix ``"model"`` options <-> our network configs (``kinetix_checkpoints.md`` §1).

The option half of :mod:`~baselines.networks.kinetix_checkpoint` (which re-exports every name
here): :func:`resolve_kinetix_model` picks the family and config a Kinetix ``"model"`` dict
describes for one of our observation types (``"entity"``, ``"flat"``, ``"pixels"``) and lists the
options it does not state (taken at the paper model's values, "tf-paper", §1.4);
:func:`kinetix_model_options` is the reverse, the ``"model"`` dict the writer stores, with every
option of every family explicit. Option names are taken as they are, except the paper-era
``fc_layer_depth`` / ``fc_layer_width``, which set both the actor's and the critic's depth / width;
Kinetix's labels (``model_name``, ``override_model_*``) are ignored. Unknown options and values we
do not support raise :class:`KinetixCheckpointError` naming the option and the value.
"""

from __future__ import annotations

from typing import Any

from baselines.networks.configs import (
    EntityTransformerConfig,
    FlatMLPConfig,
    NetworkConfig,
    NetworkConfigError,
    PermInvariantMLPConfig,
    PixelsCNNConfig,
)
from baselines.networks.registry import make_config

__all__ = [
    "KinetixCheckpointError",
    "resolve_kinetix_model",
    "config_from_kinetix_model",
    "kinetix_model_options",
]

_TF = "entity-transformer@v1"
_PERM = "perm-invariant-mlp@v1"
_FAMILY_CLS = {
    _TF: EntityTransformerConfig,
    _PERM: PermInvariantMLPConfig,
    "mlp-flat@v1": FlatMLPConfig,
    "pixels-cnn@v1": PixelsCNNConfig,
}
# Kinetix "model" keys that never change the network in Kinetix's own flow.
_LABELS = {"model_name", "override_model_depth", "override_model_width"}
# Paper-era (v0.1.0) option names: one depth and one width for both the actor and the critic.
_PAPER_ALIASES = {
    "fc_layer_depth": ("actor_depth", "critic_depth"),
    "fc_layer_width": ("actor_width", "critic_width"),
}
_KNOWN_OPTIONS = (
    {f for cls in _FAMILY_CLS.values() for f in cls.field_names()}
    | {"permutation_invariant_mlp"}
    | _LABELS
    | set(_PAPER_ALIASES)
)
#: Every model option of every family at the paper model's values (§1.4), in the order written.
_PAPER_MODEL: dict[str, Any] = {
    **EntityTransformerConfig().to_dict(),
    "permutation_invariant_mlp": False,
    **PermInvariantMLPConfig().to_dict(),
    **PixelsCNNConfig().to_dict(),
}


class KinetixCheckpointError(NetworkConfigError):
    """A Kinetix checkpoint that cannot be mapped or loaded (the message names the key/field)."""


def _resolve_aliases(model: dict) -> dict:
    """``fc_layer_depth`` / ``fc_layer_width`` -> actor and critic options (conflicts raise)."""
    out = {k: v for k, v in model.items() if k not in _PAPER_ALIASES}
    for alias, targets in _PAPER_ALIASES.items():
        if alias not in model:
            continue
        for t in targets:
            if t in out and out[t] != model[alias]:
                raise KinetixCheckpointError(
                    f"config.json: model.{alias} = {model[alias]!r} contradicts model.{t} = "
                    f"{out[t]!r}"
                )
            out[t] = model[alias]
    return out


def resolve_kinetix_model(
    model: dict, obs_type: str = "entity"
) -> tuple[str, NetworkConfig, dict[str, Any]]:
    """``(arch_id, config, assumed)`` from a Kinetix ``"model"`` dict for our ``obs_type``;
    ``assumed`` maps each option of the family that ``model`` does not state to the paper value
    used. Unknown options and unsupported values raise :class:`KinetixCheckpointError`."""
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
    model = _resolve_aliases(model)
    assumed: dict[str, Any] = {}
    if obs_type == "entity":
        perm = model.get("permutation_invariant_mlp", False)
        if not isinstance(perm, bool):
            raise KinetixCheckpointError(
                f"config.json: model.permutation_invariant_mlp must be a bool, got {perm!r}"
            )
        if "permutation_invariant_mlp" not in model:
            assumed["permutation_invariant_mlp"] = False
        arch_id = _PERM if perm else _TF
    elif obs_type == "flat":
        arch_id = "mlp-flat@v1"
    elif obs_type == "pixels":
        arch_id = "pixels-cnn@v1"
    else:
        raise KinetixCheckpointError(f"observation type {obs_type!r} has no Kinetix network")
    cls = _FAMILY_CLS[arch_id]
    options = {k: v for k, v in model.items() if k in cls.field_names()}
    for name, choices in cls._CHOICES.items():
        if name in options and options[name] not in choices:
            raise KinetixCheckpointError(
                f"config.json: model.{name} = {options[name]!r} is not supported "
                f"(supported: {', '.join(choices)})"
            )
    try:
        config = cls.from_dict(options)
    except KinetixCheckpointError:
        raise
    except NetworkConfigError as e:
        raise KinetixCheckpointError(f"config.json: model option {e}") from None
    defaults = config.to_dict()
    assumed.update({k: defaults[k] for k in cls.field_names() if k not in options})
    return arch_id, config, assumed


def config_from_kinetix_model(model: dict, obs_type: str = "entity") -> tuple[str, NetworkConfig]:
    """``(arch_id, config)`` from a Kinetix ``"model"`` dict for our ``obs_type``."""
    arch_id, config, _ = resolve_kinetix_model(model, obs_type)
    return arch_id, config


def kinetix_model_options(arch_id: str, config: NetworkConfig | dict | None) -> dict[str, Any]:
    """The Kinetix ``"model"`` dict of ``arch_id`` with ``config``: every option of every family
    explicit (the other families' at the paper values, which Kinetix ignores for this one)."""
    if arch_id not in _FAMILY_CLS:
        raise KinetixCheckpointError(
            f"{arch_id!r} has no Kinetix equivalent, so no Kinetix checkpoint format "
            f"(Kinetix networks: {', '.join(_FAMILY_CLS)})"
        )
    cfg = make_config(arch_id, config)
    return {**_PAPER_MODEL, **cfg.to_dict(), "permutation_invariant_mlp": arch_id == _PERM}
