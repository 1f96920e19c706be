"""Typed, frozen configuration of a PPO training run, loaded from YAML.

A run config has six groups (``kinetix_spec.md`` §8.2 defaults for :class:`PPOConfig`)::

    seed: 0
    ppo:      {lr: 5.0e-5, num_envs: 2048, num_steps: 64, total_timesteps: 1073741824, ...}
    env:      {size: s, obs_type: flat, action_type: multi_discrete, ...}
    network:  {arch: mlp-flat@v1, config: {...}}       # registry id + its config dict
    levels:   {source: handmade, ids: [handmade-s/lift_to_shelf], ...}
    logging:  {log_every: 1, checkpoint_every: 50, plot: true, progress: true}

:func:`load_config` reads a YAML file and applies ``--set key.sub=value`` overrides (values are
parsed as YAML scalars: ``--set ppo.lr=3e-4``, ``--set levels.ids=[a,b]``). Unknown keys and bad
values raise :class:`ConfigError` (a ``ValueError``) naming the dotted key.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any

__all__ = [
    "ConfigError",
    "PPOConfig",
    "EnvSettings",
    "NetworkSettings",
    "LevelSourceConfig",
    "SFLConfig",
    "LoggingConfig",
    "TrainConfig",
    "LEVEL_SOURCES",
    "load_config",
    "parse_overrides",
    "config_from_dict",
    "config_to_dict",
]

LEVEL_SOURCES = ("single", "handmade", "list", "benchmark", "bank")


class ConfigError(ValueError):
    """A bad training config: unknown key, wrong type or invalid value (the message names it)."""


def _check(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {msg}")


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters (defaults: Kinetix ``ppo-base``, ``kinetix_spec.md`` §8.2).

    Attributes:
        lr: Adam learning rate (constant unless ``anneal_lr``).
        anneal_lr: linear decay of ``lr`` to 0 over the run.
        adam_eps: Adam epsilon.
        max_grad_norm: global-norm gradient clip.
        gamma, gae_lambda: discount and GAE lambda.
        clip_eps: PPO ratio clip, also used for the value clip.
        ent_coef, vf_coef: entropy bonus and value-loss weights.
        update_epochs: passes over each rollout.
        num_minibatches: minibatches per epoch, split by environment (whole time sequences).
        num_envs: parallel environments (global, over all devices).
        num_steps: rollout length per update.
        total_timesteps: env steps of the run (``num_updates = total // (envs * steps)``).
    """

    lr: float = 5e-5
    anneal_lr: bool = False
    adam_eps: float = 1e-5
    max_grad_norm: float = 1.0
    gamma: float = 0.995
    gae_lambda: float = 0.9
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    update_epochs: int = 8
    num_minibatches: int = 32
    num_envs: int = 2048
    num_steps: int = 64
    total_timesteps: int = 2**30

    def validate(self, prefix: str = "ppo") -> None:
        for name in ("lr", "adam_eps", "max_grad_norm", "clip_eps"):
            _check(getattr(self, name) > 0, f"{prefix}.{name}", "must be > 0")
        for name in ("gamma", "gae_lambda"):
            _check(0 <= getattr(self, name) <= 1, f"{prefix}.{name}", "must be in [0, 1]")
        for name in ("ent_coef", "vf_coef"):
            _check(getattr(self, name) >= 0, f"{prefix}.{name}", "must be >= 0")
        for name in ("update_epochs", "num_minibatches", "num_envs", "num_steps"):
            _check(getattr(self, name) >= 1, f"{prefix}.{name}", "must be >= 1")
        _check(
            self.num_envs % self.num_minibatches == 0,
            f"{prefix}.num_minibatches",
            f"must divide num_envs ({self.num_envs}), got {self.num_minibatches}",
        )
        _check(
            self.total_timesteps >= self.num_envs * self.num_steps,
            f"{prefix}.total_timesteps",
            f"must be >= num_envs * num_steps = {self.num_envs * self.num_steps}",
        )

    @property
    def batch_steps(self) -> int:
        """Env steps per update."""
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.batch_steps


@dataclasses.dataclass(frozen=True)
class EnvSettings:
    """Environment options (:class:`kinetix.env.EnvConfig` fields plus episode parameters).

    Attributes:
        size, obs_type, action_type, physics_setting, solver, kinetix_parity: as ``EnvConfig``.
        max_timesteps: agent steps per episode.
        dense_reward_scale: distance shaping weight.
    """

    size: str = "s"
    obs_type: str = "entity"
    action_type: str = "multi_discrete"
    physics_setting: str | None = None
    solver: str | None = None
    kinetix_parity: bool = False
    max_timesteps: int = 256
    dense_reward_scale: float = 0.2

    def validate(self, prefix: str = "env") -> None:
        size_ok = self.size in ("s", "m", "l")
        _check(size_ok, f"{prefix}.size", f"must be s, m or l, got {self.size!r}")
        _check(
            self.obs_type in ("entity", "flat", "pixels"),
            f"{prefix}.obs_type",
            f"must be entity, flat or pixels, got {self.obs_type!r}",
        )
        _check(
            self.action_type in ("multi_discrete", "discrete", "continuous"),
            f"{prefix}.action_type",
            f"must be multi_discrete, discrete or continuous, got {self.action_type!r}",
        )
        _check(self.max_timesteps >= 1, f"{prefix}.max_timesteps", "must be >= 1")

    def env_config(self):
        """The :class:`kinetix.env.EnvConfig` (auto-reset on)."""
        from kinetix.env import EnvConfig

        return EnvConfig(
            size=self.size,
            obs_type=self.obs_type,
            action_type=self.action_type,
            physics_setting=self.physics_setting,
            solver=self.solver,
            kinetix_parity=self.kinetix_parity,
        )

    def env_params(self):
        from kinetix.env import EnvParams

        return EnvParams(
            max_timesteps=self.max_timesteps, dense_reward_scale=self.dense_reward_scale
        )


@dataclasses.dataclass(frozen=True)
class NetworkSettings:
    """The policy network: a registry architecture id and its config dict (``{}``: defaults)."""

    arch: str = "entity-transformer@v1"
    config: dict = dataclasses.field(default_factory=dict)

    def validate(self, prefix: str = "network") -> None:
        from baselines.networks.registry import make_config

        try:
            make_config(self.arch, dict(self.config))
        except ValueError as e:
            raise ConfigError(f"{prefix}: {e}") from None


@dataclasses.dataclass(frozen=True)
class SFLConfig:
    """SFL-style learnability sampling (``kinetix_spec.md`` §8.3, simplified; see ``levels``).

    Attributes:
        enabled: turn it on (needs a level pool of more than one level).
        update_every: rescore every this many PPO updates.
        num_score: bank levels scored per rescoring (a fresh uniform subset each time).
        score_steps: rollout steps per scored level (auto-reset to the same level).
        top_k: levels kept in the buffer.
        ratio: fraction of episode starts drawn from the buffer (the rest: uniform over pool).
    """

    enabled: bool = False
    update_every: int = 128
    num_score: int = 4096
    score_steps: int = 512
    top_k: int = 1024
    ratio: float = 0.5

    def validate(self, prefix: str = "levels.sfl") -> None:
        for name in ("update_every", "num_score", "score_steps", "top_k"):
            _check(getattr(self, name) >= 1, f"{prefix}.{name}", "must be >= 1")
        _check(self.top_k <= self.num_score, f"{prefix}.top_k", "must be <= num_score")
        _check(0 <= self.ratio <= 1, f"{prefix}.ratio", "must be in [0, 1]")


@dataclasses.dataclass(frozen=True)
class LevelSourceConfig:
    """Where training levels come from.

    ``source``:

    * ``single``: one level, ``ids[0]`` (a hand-made id or a Kinetix level JSON path);
    * ``handmade``: the hand-made levels ``ids`` (ids like ``handmade-s/lift_to_shelf``), or all
      certified ones of ``env.size`` if ``ids`` is empty;
    * ``list``: level JSON files ``ids``;
    * ``benchmark``: a benchmark ``benchmark`` via ``harness.levels.load_benchmark``
      (resolved by the CLI; the trainer itself takes a level batch);
    * ``bank``: ``bank_size`` procedural levels (stream ``bank_seed``, no-op filtered when
      ``noop_filter``) materialised once on device.

    A pool of several levels resets a finished episode to a level drawn uniformly by index (or
    from the SFL buffer with probability ``sfl.ratio``).
    """

    source: str = "handmade"
    ids: tuple[str, ...] = ()
    benchmark: str | None = None
    bank_size: int = 4096
    bank_seed: int = 0
    noop_filter: bool = True
    sfl: SFLConfig = SFLConfig()

    def validate(self, prefix: str = "levels") -> None:
        _check(
            self.source in LEVEL_SOURCES,
            f"{prefix}.source",
            f"must be one of {', '.join(LEVEL_SOURCES)}, got {self.source!r}",
        )
        if self.source in ("single", "list"):
            _check(len(self.ids) >= 1, f"{prefix}.ids", f"source {self.source!r} needs ids")
        if self.source == "benchmark":
            _check(bool(self.benchmark), f"{prefix}.benchmark", "source 'benchmark' needs it")
        _check(self.bank_size >= 1, f"{prefix}.bank_size", "must be >= 1")
        self.sfl.validate(f"{prefix}.sfl")


@dataclasses.dataclass(frozen=True)
class LoggingConfig:
    """Logging and checkpointing.

    Attributes:
        log_every: updates per compiled call (metrics are logged for every update).
        checkpoint_every: updates between resume checkpoints (0: only at the end).
        progress: a tqdm bar on stderr.
        plot: a learning-curve PNG at the end.
        eval_episodes: first-episode attempts per training level evaluated at the end (0: none;
            at most 64 levels are evaluated).
        snapshot_every: updates between snapshots, each a complete submission folder
            ``snapshots/update_NNNNNN/`` in the output folder (the candidates of checkpoint
            selection on a validation split, ``kinetix-bench select``); 0: none.
    """

    log_every: int = 1
    checkpoint_every: int = 50
    progress: bool = True
    plot: bool = True
    eval_episodes: int = 16
    snapshot_every: int = 0

    def validate(self, prefix: str = "logging") -> None:
        _check(self.log_every >= 1, f"{prefix}.log_every", "must be >= 1")
        _check(self.checkpoint_every >= 0, f"{prefix}.checkpoint_every", "must be >= 0")
        _check(self.eval_episodes >= 0, f"{prefix}.eval_episodes", "must be >= 0")
        _check(self.snapshot_every >= 0, f"{prefix}.snapshot_every", "must be >= 0")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A whole training run."""

    seed: int = 0
    name: str = "ppo"
    ppo: PPOConfig = PPOConfig()
    env: EnvSettings = EnvSettings()
    network: NetworkSettings = NetworkSettings()
    levels: LevelSourceConfig = LevelSourceConfig()
    logging: LoggingConfig = LoggingConfig()

    def validate(self) -> TrainConfig:
        self.ppo.validate()
        self.env.validate()
        self.network.validate()
        self.levels.validate()
        self.logging.validate()
        return self


# ------------------------------------------------------------------------------------------------
# dict <-> dataclass with type checks


def _type_ok(value, tp) -> tuple[bool, Any]:
    """(ok, converted value) for a field type annotation."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            ok, v = _type_ok(value, arg)
            if ok:
                return True, v
        return False, value
    if tp is type(None):
        return value is None, value
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
            return True, int(value)  # YAML "1e6" style sizes
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return math.isfinite(float(value)), float(value)
        return False, value
    if tp is str:
        return isinstance(value, str), value
    if tp is dict:
        return isinstance(value, dict), value
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return False, value
        return True, tuple(value)
    raise TypeError(f"unsupported config field type {tp!r}")


def _from_dict(cls, data, prefix: str):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            raise ConfigError(f"{where}: unknown key; known: {', '.join(fields)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _from_dict(tp, value, where)
            continue
        ok, conv = _type_ok(value, tp)
        if not ok:
            raise ConfigError(f"{where}: bad value {value!r} (expected {_type_name(tp)})")
        kwargs[key] = conv
    return cls(**kwargs)


def _type_name(tp) -> str:
    if typing.get_origin(tp) is tuple:
        return "a list of strings"
    return str(tp).replace("<class '", "").replace("'>", "")


def config_from_dict(data: dict) -> TrainConfig:
    """A validated :class:`TrainConfig` from nested plain data."""
    return _from_dict(TrainConfig, data, "").validate()


def config_to_dict(cfg) -> dict:
    """Nested JSON/YAML-native data (tuples become lists)."""

    def plain(x):
        if isinstance(x, tuple):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        return x

    return plain(dataclasses.asdict(cfg))


def parse_overrides(overrides) -> dict:
    """``["ppo.lr=3e-4", "levels.ids=[a,b]"]`` -> nested dict (values parsed as YAML)."""
    import yaml

    out: dict = {}
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key.sub=value")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: empty key")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"{key}: cannot parse value {text!r}: {e}") from None
        if isinstance(value, str) and _looks_numeric(value):
            value = float(value)  # YAML 1.1 reads "3e-4" as a string
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: conflicts with another --set")
        node[parts[-1]] = value
    return out


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "config":
            out[k] = _merge(out[k], v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}  # network.config: merge architecture options
        else:
            out[k] = v
    return out


def _fix_yaml_numbers(x):
    if isinstance(x, dict):
        return {k: _fix_yaml_numbers(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_fix_yaml_numbers(v) for v in x]
    if isinstance(x, str) and _looks_numeric(x) and any(c in x for c in "eE."):
        return float(x)
    return x


def load_config(path: str | Path | None = None, overrides=()) -> TrainConfig:
    """Reads a YAML config (``None``: all defaults) and applies ``--set`` overrides."""
    import yaml

    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        data = _fix_yaml_numbers(data)
    data = _merge(data, parse_overrides(overrides))
    return config_from_dict(data)
