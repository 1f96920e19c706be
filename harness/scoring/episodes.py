"""Episodes of any submission on any level: for GIFs (``render --submission``), rollouts
(``env rollout --submission``) and the leaderboard's per-level GIFs.

Every kind of submission (registered architectures, parameter-free ``noop`` / ``random``,
Kinetix checkpoints, exported programs) becomes one
:class:`~harness.submissions.interface.BatchedPolicy` (:func:`batched_policy_for`), run by the
batch-first engine of :mod:`harness.scoring.batched`:

* :func:`submission_config`: the :class:`kinetix.EnvConfig` a submission runs a level under
  (its own size, or the level's for size-agnostic models; its observation and action types;
  ``jax2d-compat`` physics for Kinetix checkpoints unless a setting is given);
* :func:`submission_episodes`: the first episode of K attempts on one level, as ``env rollout``
  reports them (``solved``, ``died``, ``length``, ``return``, each (K,));
* :func:`submission_scenes` / :func:`submission_episode_scenes`: the scenes of first episodes
  (the start, then one per agent step until it ends) on a batch of levels (one compiled
  program) or on one, to render as GIFs.

Attempt ``i`` of ``seed`` uses the key ``fold_in(PRNGKey(seed), i)``, split as the evaluation
engine splits it (a reset key, then per step an action key and an env key).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.env import EnvConfig, KinetixEnv

__all__ = [
    "batched_policy_for",
    "submission_config",
    "submission_episodes",
    "submission_scenes",
    "submission_episode_scenes",
]


def submission_config(sub, level_size, *, setting: str | None = None) -> EnvConfig:
    """The env config ``sub`` runs a level of ``level_size`` under: the submission's size (the
    level is padded into it; a level too large is a ``LevelSizeError`` at reset) or the
    level's for ``env_size: any``; its obs / action types (``any``: entity / multi_discrete);
    ``setting`` or, for a Kinetix checkpoint, Kinetix's own physics (``jax2d-compat``)."""
    from kinetix.sizes import env_size

    size = env_size(level_size) if sub.env_size in (None, "any") else env_size(sub.env_size)
    return EnvConfig(
        size=size,
        obs_type="entity" if sub.obs_type == "any" else sub.obs_type,
        action_type="multi_discrete" if sub.action_type == "any" else sub.action_type,
        physics_setting=setting,
        kinetix_parity=setting is None and sub.kind == "kinetix",
    )


def batched_policy_for(sub, env_config: EnvConfig, *, deterministic: bool = False):
    """``sub``'s policy over a batch of envs (a
    :class:`~harness.submissions.interface.BatchedPolicy`): an exported program as it is, any
    other submission through its per-env stateful policy
    (:func:`~harness.submissions.recurrent_policy_for`), vmapped. Its ``act`` ignores
    ``params`` for the latter (they are in the policy)."""
    from harness.submissions.exported import exported_batched_policy
    from harness.submissions.interface import BatchedPolicy
    from harness.submissions.policies import recurrent_policy_for

    if getattr(sub, "program", None) is not None:
        return exported_batched_policy(sub.program, sub.sha256)
    rp = recurrent_policy_for(sub, env_config, deterministic=deterministic)

    def act(params, obs, keys, carry):
        del params

        def one(state, key, o):
            state, action = rp.step(state, key, o, jnp.bool_(False))
            return action, state

        return jax.vmap(one)(carry, keys, obs)

    def init_carry(n: int):
        return jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), rp.init_state())

    return BatchedPolicy(
        act=act,
        init_carry=init_carry,
        obs_type=env_config.obs_type,
        action_type=env_config.action_type,
        description=f"{sub.id} ({sub.architecture})",
    )


def _attempt_keys(seed: int, n: int) -> jax.Array:
    base = jax.random.PRNGKey(seed)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(n))


def _params(sub):
    return sub.params if getattr(sub, "program", None) is not None else None


def submission_episodes(
    sub, level, *, episodes: int = 1, seed: int = 0, setting: str | None = None
) -> tuple[dict[str, np.ndarray], EnvConfig]:
    """First episodes (up to 256 agent steps) of ``episodes`` attempts of ``sub`` on ``level``.

    Returns ``(outcomes, config)``: ``solved``, ``died`` (bool), ``length`` (int32), ``return``
    (float32), each (episodes,), and the env config used."""
    from harness.scoring.batched import batched_program
    from kinetix.level import stack_levels

    config = submission_config(sub, level.size, setting=setting)
    policy = batched_policy_for(sub, config)
    fn = batched_program(policy, config, 256)
    keys = _attempt_keys(seed, episodes)[None]  # (1, K, 2)
    out = jax.device_get(fn(_params(sub), stack_levels([level], config.size), keys))
    return {k: np.asarray(v[0]) for k, v in out.items()}, config


def _scenes_program(policy, config: EnvConfig, max_steps: int):
    """``fn(params, levels (B stacked), keys (B, 2)) -> (scenes (T + 1, B, ...), ended (T, B),
    rewards (T, B), infos)``: B first episodes, batch-first (the policy sees all B envs)."""
    env = KinetixEnv(config)
    step = jax.vmap(env.step)

    def run(params, levels, keys):
        split = jax.vmap(jax.random.split)(keys)  # (B, 2, 2)
        obs, state = jax.vmap(env.reset)(split[:, 1], levels)
        step_keys = jnp.moveaxis(
            jax.vmap(lambda k: jax.random.split(k, max_steps))(split[:, 0]), 1, 0
        )
        n = keys.shape[0]

        def body(carry, k):
            obs, state, pstate, alive = carry
            ks = jax.vmap(jax.random.split)(k)
            action, pstate = policy.act(params, obs, ks[:, 0], pstate)
            obs2, state2, reward, done, info = step(ks[:, 1], state, action)
            # once an episode is over, keep showing its last scene
            keep = lambda a, b: jnp.where(alive.reshape((n,) + (1,) * (a.ndim - 1)), a, b)  # noqa: E731
            state2 = jax.tree.map(keep, state2, state)
            out = (state2.scene, alive & done, jnp.where(alive, reward, 0.0), info)
            return (obs2, state2, pstate, alive & ~done), out

        carry = (obs, state, policy.init_carry(n), jnp.ones((n,), bool))
        _, (scenes, ended, rewards, infos) = jax.lax.scan(body, carry, step_keys)
        scenes = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), state.scene, scenes)
        return scenes, ended, rewards, infos

    return jax.jit(run)


def submission_scenes(
    sub, levels, *, seed: int = 0, max_steps: int = 256, setting: str | None = None
):
    """The first episode of ``sub`` on each of B stacked ``levels`` (one compiled program; level
    ``b`` runs attempt ``b`` of ``seed``'s keys).

    Returns ``(scenes, levels, summaries)``: scenes (a stacked pytree, leading axes
    (``max_steps`` + 1, B): the start and the scene after each agent step, frozen once the
    episode ends), the levels as run (padded to the env's size) and one dict per level with
    ``steps``, ``done``, ``solved``, ``died`` and ``return`` (the frames to show are
    ``scenes[: steps + 1, b]``)."""
    import dataclasses

    from kinetix.level import num_levels, stack_levels, unstack_levels

    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    config = dataclasses.replace(
        submission_config(sub, levels.size, setting=setting), auto_reset=False
    )
    if levels.size != config.size:
        levels = stack_levels(unstack_levels(levels), config.size)
    n = num_levels(levels)
    fn = _scenes_program(batched_policy_for(sub, config), config, max_steps)
    scenes, ended, rewards, infos = jax.device_get(fn(_params(sub), levels, _attempt_keys(seed, n)))
    summaries = []
    for b in range(n):
        e = np.asarray(ended[:, b])
        done = bool(e.any())
        steps = int(np.argmax(e)) + 1 if done else max_steps
        summaries.append(
            {
                "steps": steps,
                "done": done,
                "solved": bool(done and infos["solved"][steps - 1, b]),
                "died": bool(done and infos["died"][steps - 1, b]),
                "return": float(np.sum(rewards[:steps, b])),
            }
        )
    return scenes, levels, summaries


def submission_episode_scenes(
    sub, level, *, seed: int = 0, max_steps: int = 256, setting: str | None = None
):
    """The first episode of attempt 0 of ``seed`` of ``sub`` on ``level``, as scenes.

    Returns ``(scenes, level, summary)``: the scenes (a stacked pytree, leading axis T + 1:
    the start and the scene after each agent step until the episode ends or ``max_steps``
    pass), the level as run (padded to the env's size; its roles and bindings draw the
    scenes) and a dict with ``steps``, ``done``, ``solved``, ``died`` and ``return``."""
    from kinetix.level import stack_levels

    scenes, levels, (summary,) = submission_scenes(
        sub, stack_levels([level]), seed=seed, max_steps=max_steps, setting=setting
    )
    first = lambda t: jax.tree.map(lambda x: x[0], t)  # noqa: E731
    scenes = jax.tree.map(lambda x: x[: summary["steps"] + 1, 0], scenes)
    return scenes, first(levels), summary
