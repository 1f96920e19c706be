"""The ``finetune-<budget>@v1`` protocol's training step (``DESIGN.md`` §8).

``finetune(arch, arch_config, params, level, budget_env_steps=..., seed=...)`` trains a policy
on ONE level with PPO for ``budget_env_steps`` env steps and returns ``(params, metrics)``;
``params=None`` starts from fresh weights (the from-scratch baseline of the same budget).

Fixed hyper-parameters (:data:`FINETUNE_PPO`): ``kinetix_spec.md`` §8.2 (Adam 5e-5, eps 1e-5,
clip 1.0, gamma 0.995, lambda 0.9, clip 0.2, ent 0.01, vf 0.5, 8 epochs) except 64 envs,
64 steps and 4 minibatches (``DESIGN.md`` §8 decisions), so a 1e5 budget still makes 24 updates.
The number of updates is ``budget // (64 * 64)`` (at least 1); the env is the level's own size
unless ``env_size`` is given (an entity model may be fine-tuned in a larger env).
"""

from __future__ import annotations

import dataclasses

from baselines.ppo.config import (
    ConfigError,
    EnvSettings,
    LevelSourceConfig,
    LoggingConfig,
    NetworkSettings,
    PPOConfig,
    TrainConfig,
)

__all__ = ["FINETUNE_PPO", "finetune", "finetune_config"]

#: The protocol's PPO settings (total_timesteps is set from the budget).
FINETUNE_PPO = PPOConfig(num_envs=64, num_steps=64, num_minibatches=4)


def finetune_config(
    arch: str,
    arch_config,
    budget_env_steps: int,
    seed: int,
    *,
    env_size: str,
    obs_type: str,
    action_type: str = "multi_discrete",
    ppo_config: PPOConfig = FINETUNE_PPO,
) -> TrainConfig:
    if budget_env_steps < 1:
        raise ConfigError(f"budget_env_steps: must be >= 1, got {budget_env_steps}")
    per_update = ppo_config.num_envs * ppo_config.num_steps
    updates = max(1, budget_env_steps // per_update)
    ppo = dataclasses.replace(ppo_config, total_timesteps=updates * per_update)
    kwargs = arch_config.to_dict() if hasattr(arch_config, "to_dict") else dict(arch_config or {})
    return TrainConfig(
        seed=int(seed),
        name=f"finetune-{arch}",
        ppo=ppo,
        env=EnvSettings(size=env_size, obs_type=obs_type, action_type=action_type),
        network=NetworkSettings(arch=arch, config=kwargs),
        levels=LevelSourceConfig(source="single", ids=("<given>",)),
        logging=LoggingConfig(
            log_every=1, checkpoint_every=0, progress=False, plot=False, eval_episodes=0
        ),
    ).validate()


def finetune(
    arch: str,
    arch_config,
    params,
    level,
    *,
    budget_env_steps: int,
    seed: int,
    ppo_config: PPOConfig = FINETUNE_PPO,
    obs_type: str | None = None,
    action_type: str = "multi_discrete",
    env_size: str | None = None,
    mesh=None,
):
    """PPO on ``level`` (a single :class:`kinetix.Level`) from ``params`` (``None``: fresh).

    Returns ``(params, metrics)``: the trained ``{"params": ...}`` tree (host arrays) and the
    per-update metric rows (``env_steps``, ``mean_return``, ``solve_rate``, losses, ...).
    ``obs_type`` defaults to the architecture's first accepted observation type.
    """
    from baselines.networks.registry import get_architecture
    from baselines.ppo.train import train

    obs_type = obs_type or get_architecture(arch).obs_types[0]
    size = env_size or level.size.name
    if size not in ("s", "m", "l"):
        raise ConfigError(f"env_size: level size {size!r} is not standard; pass env_size")
    cfg = finetune_config(
        arch,
        arch_config,
        budget_env_steps,
        seed,
        env_size=size,
        obs_type=obs_type,
        action_type=action_type,
        ppo_config=ppo_config,
    )
    result = train(
        cfg, None, levels=level, level_names=["level"], params=params, mesh=mesh, export=False
    )
    return result.params, result.metrics
