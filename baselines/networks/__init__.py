"""Policy networks: a registry of versioned architectures with Kinetix-compatible parameters.

Registered ids: ``entity-transformer@v1`` (the Kinetix paper transformer),
``perm-invariant-mlp@v1``, ``mlp-flat@v1``, ``pixels-cnn@v1``, and the parameter-free ``noop``
and ``random``. Parameter trees
use Kinetix 3.0.2's flax names, so Kinetix's published ``params.safetensors`` load unchanged
(:func:`read_kinetix_checkpoint`). Modules: :mod:`~baselines.networks.configs`,
:mod:`~baselines.networks.distributions`, :mod:`~baselines.networks.layers`,
:mod:`~baselines.networks.entity_transformer`, :mod:`~baselines.networks.mlp`,
:mod:`~baselines.networks.cnn`, :mod:`~baselines.networks.registry`,
:mod:`~baselines.networks.params_io` (on :mod:`~baselines.networks.safetensors_header`, the
project's one safetensors header parser), :mod:`~baselines.networks.kinetix_checkpoint` (with
:mod:`~baselines.networks.kinetix_options`), :mod:`~baselines.networks.policy`.
"""

from baselines.networks.configs import (
    EmptyConfig,
    EntityTransformerConfig,
    FlatMLPConfig,
    NetworkConfig,
    NetworkConfigError,
    PermInvariantMLPConfig,
    PixelsCNNConfig,
)
from baselines.networks.distributions import Categorical, DiagGaussian, MultiCategorical
from baselines.networks.kinetix_checkpoint import (
    KEY_NAMES_CURRENT,
    KEY_NAMES_PAPER,
    KinetixCheckpoint,
    KinetixCheckpointError,
    check_kinetix_params_file,
    config_from_kinetix_model,
    kinetix_key_names,
    kinetix_model_options,
    paper_era_key_map,
    read_kinetix_checkpoint,
    resolve_kinetix_model,
    write_kinetix_checkpoint,
)
from baselines.networks.layers import GRU_WIDTH, initial_hidden
from baselines.networks.params_io import (
    expected_tensors,
    flatten_params,
    header_mismatches,
    read_safetensors_header,
    unflatten_params,
)
from baselines.networks.policy import (
    RecurrentPolicy,
    make_policy_fn,
    make_recurrent_policy,
    policy_init_state,
)
from baselines.networks.registry import (
    ARCHITECTURES,
    Architecture,
    Network,
    abstract_params,
    build_network,
    dummy_observation,
    get_architecture,
    init_params,
    make_config,
    param_count,
)

__all__ = [
    "KEY_NAMES_CURRENT",
    "KEY_NAMES_PAPER",
    "kinetix_key_names",
    "paper_era_key_map",
    "resolve_kinetix_model",
    "ARCHITECTURES",
    "Architecture",
    "Categorical",
    "DiagGaussian",
    "EmptyConfig",
    "EntityTransformerConfig",
    "FlatMLPConfig",
    "GRU_WIDTH",
    "KinetixCheckpoint",
    "KinetixCheckpointError",
    "MultiCategorical",
    "Network",
    "NetworkConfig",
    "NetworkConfigError",
    "PermInvariantMLPConfig",
    "PixelsCNNConfig",
    "RecurrentPolicy",
    "abstract_params",
    "build_network",
    "check_kinetix_params_file",
    "config_from_kinetix_model",
    "dummy_observation",
    "expected_tensors",
    "flatten_params",
    "get_architecture",
    "header_mismatches",
    "init_params",
    "initial_hidden",
    "kinetix_model_options",
    "make_config",
    "make_policy_fn",
    "make_recurrent_policy",
    "param_count",
    "policy_init_state",
    "read_kinetix_checkpoint",
    "read_safetensors_header",
    "unflatten_params",
    "write_kinetix_checkpoint",
]
