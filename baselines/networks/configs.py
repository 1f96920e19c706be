"""Frozen, JSON round-trippable configs of the registered architectures.

Every option keeps the name Kinetix uses in its ``"model"`` config group, so a Kinetix checkpoint's
options map onto ours by name (see :mod:`baselines.networks.kinetix_checkpoint`). The defaults are
the paper values ("tf-paper", ``kinetix_checkpoints.md`` §1.4).

``to_dict()`` gives plain JSON values; ``from_dict(d)`` checks every field and raises
:class:`NetworkConfigError` naming an unknown or invalid field. Fields missing from ``d`` take
their defaults.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

__all__ = [
    "NetworkConfigError",
    "NetworkConfig",
    "EmptyConfig",
    "EntityTransformerConfig",
    "PermInvariantMLPConfig",
    "FlatMLPConfig",
    "PixelsCNNConfig",
    "ACTIVATIONS",
    "AGGREGATE_MODES",
    "CNN_MODES",
]

ACTIVATIONS = ("tanh", "relu")
AGGREGATE_MODES = ("dummy", "mean", "dummy_and_mean")
CNN_MODES = ("impala_fast",)


class NetworkConfigError(ValueError):
    """An invalid architecture id, config field or value (the message names it)."""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Base class: field checks, ``to_dict`` and ``from_dict``."""

    #: field name -> allowed values (for string options)
    _CHOICES: ClassVar[dict[str, tuple]] = {}

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            where = f"{type(self).__name__}.{f.name}"
            if f.type in (int, "int"):
                if not _is_int(v):
                    raise NetworkConfigError(f"{where}: expected an int, got {v!r}")
                if v < 1 and f.name not in self._ALLOW_ZERO:
                    raise NetworkConfigError(f"{where}: must be >= 1, got {v}")
                if v < 0:
                    raise NetworkConfigError(f"{where}: must be >= 0, got {v}")
            elif f.type in (bool, "bool"):
                if not isinstance(v, bool):
                    raise NetworkConfigError(f"{where}: expected a bool, got {v!r}")
            elif f.type in (float, "float"):
                if not isinstance(v, int | float) or isinstance(v, bool):
                    raise NetworkConfigError(f"{where}: expected a number, got {v!r}")
                object.__setattr__(self, f.name, float(v))
            elif f.type in (str, "str"):
                choices = self._CHOICES.get(f.name)
                if not isinstance(v, str) or (choices and v not in choices):
                    raise NetworkConfigError(
                        f"{where}: got {v!r}; expected one of {', '.join(choices or ())}"
                    )
        self._check()

    _ALLOW_ZERO: ClassVar[tuple[str, ...]] = ()

    def _check(self) -> None:
        """Cross-field checks of subclasses."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-native dict."""
        return dataclasses.asdict(self)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Builds the config from ``d`` (missing fields take their defaults)."""
        if not isinstance(d, dict):
            raise NetworkConfigError(f"{cls.__name__}: expected a dict, got {type(d).__name__}")
        unknown = sorted(set(d) - set(cls.field_names()))
        if unknown:
            raise NetworkConfigError(
                f"{cls.__name__}: unknown field(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(cls.field_names()) or '(none)'}"
            )
        return cls(**d)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class EmptyConfig(NetworkConfig):
    """Config of the parameter-free policies (``noop``, ``random``): no fields."""


@dataclasses.dataclass(frozen=True)
class _HeadConfig(NetworkConfig):
    """Options of the shared actor-critic head (``GeneralActorCriticRNN_0``).

    Attributes:
        actor_depth, critic_depth: hidden Dense + activation layers of the actor / critic MLP.
        actor_width, critic_width: their widths.
        activation: ``"tanh"`` or ``"relu"`` (MLP hidden layers and, where used, encoders).
        recurrent_model: insert a GRU (256 units, reset on done) before the MLPs.
    """

    actor_depth: int = 5
    critic_depth: int = 5
    actor_width: int = 128
    critic_width: int = 128
    activation: str = "tanh"
    recurrent_model: bool = False

    _CHOICES: ClassVar[dict[str, tuple]] = {"activation": ACTIVATIONS}
    _ALLOW_ZERO: ClassVar[tuple[str, ...]] = ("actor_depth", "critic_depth")


@dataclasses.dataclass(frozen=True)
class EntityTransformerConfig(_HeadConfig):
    """The Kinetix paper's entity transformer (``kinetix_checkpoints.md`` §3).

    Attributes:
        transformer_depth: blocks (attention + message passing).
        transformer_size: total q/k/v width over all heads (head dim = size / heads).
        transformer_encoder_size: token width.
        num_heads: attention heads, a multiple of 4 (head h uses mask group ``h // (heads/4)``).
        full_attention_mask: replace the 4 structural masks by "all active pairs".
        aggregate_mode: pooling: ``"dummy_and_mean"`` (mean over the dummy and active shapes),
            ``"mean"`` (no dummy token) or ``"dummy"`` (the dummy token only).
        transformer_ffn: 4x-wide ReLU feed-forward instead of one Dense.
        multilayer_joint_thruster_mixing: an MLP instead of one Dense for the messages.
        joint_thruster_block_num_layers: depth of that MLP.
        joint_thruster_block_hidden_dim_multiplication: its hidden width / token width.
        dropout_prob: FFN dropout; kept for compatibility, never applied (as Kinetix's default
            deterministic call).
        legacy_entity_id: the paper-era quirk: shape-type flag 0 for every shape.
    """

    transformer_depth: int = 2
    transformer_size: int = 16
    transformer_encoder_size: int = 128
    num_heads: int = 8
    full_attention_mask: bool = False
    aggregate_mode: str = "dummy_and_mean"
    transformer_ffn: bool = False
    multilayer_joint_thruster_mixing: bool = False
    joint_thruster_block_num_layers: int = 2
    joint_thruster_block_hidden_dim_multiplication: int = 4
    dropout_prob: float = 0.0
    legacy_entity_id: bool = False

    _CHOICES: ClassVar[dict[str, tuple]] = {
        "activation": ACTIVATIONS,
        "aggregate_mode": AGGREGATE_MODES,
    }

    def _check(self):
        name = type(self).__name__
        if self.num_heads % 4:
            raise NetworkConfigError(
                f"{name}.num_heads: must be a multiple of 4 (the 4 mask groups), got "
                f"{self.num_heads}"
            )
        if self.transformer_size % self.num_heads:
            raise NetworkConfigError(
                f"{name}.transformer_size: must be a multiple of num_heads ({self.num_heads}), "
                f"got {self.transformer_size}"
            )
        if self.transformer_encoder_size < 2:
            raise NetworkConfigError(f"{name}.transformer_encoder_size: must be >= 2")
        if not 0.0 <= self.dropout_prob < 1.0:
            raise NetworkConfigError(f"{name}.dropout_prob: must be in [0, 1)")
        if self.dropout_prob > 0 and not self.transformer_ffn:
            raise NetworkConfigError(f"{name}.dropout_prob: > 0 requires transformer_ffn")


@dataclasses.dataclass(frozen=True)
class PermInvariantMLPConfig(_HeadConfig):
    """Kinetix's permutation-invariant MLP over entities (``kinetix_spec.md`` §8.1, 2).

    Attributes:
        num_heads: heads of the multi-head Dense (each ``symbolic_embedding_dim / heads`` wide).
        symbolic_embedding_dim: width of the pooled embedding.
        encoder_size: per-entity encoding width, including the 4-way type one-hot.
        separate_actor_critic: separate pooled embeddings (and GRUs) for actor and critic.
    """

    num_heads: int = 8
    symbolic_embedding_dim: int = 256
    encoder_size: int = 64
    separate_actor_critic: bool = False

    def _check(self):
        name = type(self).__name__
        if self.symbolic_embedding_dim % self.num_heads:
            raise NetworkConfigError(
                f"{name}.symbolic_embedding_dim: must be a multiple of num_heads "
                f"({self.num_heads}), got {self.symbolic_embedding_dim}"
            )
        if self.encoder_size <= 4:
            raise NetworkConfigError(f"{name}.encoder_size: must be > 4 (4 type features)")


@dataclasses.dataclass(frozen=True)
class FlatMLPConfig(_HeadConfig):
    """Kinetix's MLP on the flat observation: ``relu(Dense(actor_width))`` then the head."""


@dataclasses.dataclass(frozen=True)
class PixelsCNNConfig(_HeadConfig):
    """Kinetix's pixel CNN (``impala_fast``: conv 8x8/4 (16), conv 4x4/2 (32), ReLU, SAME)."""

    cnn_mode: str = "impala_fast"

    _CHOICES: ClassVar[dict[str, tuple]] = {"activation": ACTIVATIONS, "cnn_mode": CNN_MODES}
