"""PPO trainer pieces: GAE, losses, config, level sources, checkpoints, export (fast tests)."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from baselines.ppo import config as C
from baselines.ppo.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from baselines.ppo.export import export_submission
from baselines.ppo.levels import (
    learnability,
    make_sampler,
    resolve_levels,
    sample_indices,
    take_levels,
    top_k_buffer,
)
from baselines.ppo.losses import gae, policy_loss, value_loss
from kinetix.level import stack_levels

TINY_YAML = "baselines/configs/tiny-s-handmade.yaml"


# ---- GAE and losses ----------------------------------------------------------------------------


def test_gae_hand_computed():
    # gamma 0.9, lambda 0.5; the episode ends at t=1 (no bootstrap through it)
    rewards = jnp.array([[1.0], [0.0], [2.0]])
    values = jnp.array([[0.5], [1.0], [1.5]])
    dones = jnp.array([[False], [True], [False]])
    adv, targets = gae(rewards, values, dones, jnp.array([2.0]), 0.9, 0.5)
    # t=2: 2 + 0.9*2 - 1.5 = 2.3;  t=1: 0 - 1 = -1;  t=0: (1 + 0.9*1 - 0.5) + 0.45*(-1) = 0.95
    np.testing.assert_allclose(adv[:, 0], [0.95, -1.0, 2.3], rtol=1e-6)
    np.testing.assert_allclose(targets[:, 0], [1.45, 0.0, 3.8], rtol=1e-6)


def test_policy_loss_clipping():
    old = jnp.zeros(3)
    logp = jnp.log(jnp.array([1.5, 0.5, 1.1]))
    adv = jnp.array([1.0, 1.0, -1.0])
    loss, clip_frac = policy_loss(logp, old, adv, 0.2)
    # min(rA, clip(r)A): 1.2 (clipped above), 0.5 (unclipped: pessimistic), -1.1
    np.testing.assert_allclose(loss, -(1.2 + 0.5 - 1.1) / 3, rtol=1e-6)
    np.testing.assert_allclose(clip_frac, 2 / 3, rtol=1e-6)


def test_value_loss_clipping():
    v = jnp.array([2.0, 0.0])
    old = jnp.array([1.0, 0.0])
    tgt = jnp.array([3.0, 1.0])
    # clipped value 1.2 -> (1.8)^2 = 3.24 beats 1.0; second: both 1.0
    np.testing.assert_allclose(value_loss(v, old, tgt, 0.2), 0.5 * (3.24 + 1.0) / 2, rtol=1e-6)


# ---- config ------------------------------------------------------------------------------------


def test_defaults_are_kinetix_ppo():
    p = C.PPOConfig()
    assert (p.lr, p.adam_eps, p.max_grad_norm, p.gamma, p.gae_lambda) == (
        5e-5,
        1e-5,
        1.0,
        0.995,
        0.9,
    )
    assert (p.clip_eps, p.ent_coef, p.vf_coef, p.update_epochs, p.num_minibatches) == (
        0.2,
        0.01,
        0.5,
        8,
        32,
    )
    assert (p.num_steps, p.num_envs, p.total_timesteps) == (64, 2048, 2**30)


def test_load_yaml_and_overrides():
    cfg = C.load_config(
        TINY_YAML,
        [
            "ppo.lr=1e-3",
            "seed=7",
            "levels.ids=[a.json, b.json]",
            "levels.source=list",
            "network.config.actor_depth=2",
        ],
    )
    assert cfg.ppo.lr == 1e-3 and isinstance(cfg.ppo.lr, float)
    assert cfg.seed == 7 and cfg.levels.ids == ("a.json", "b.json")
    assert cfg.network.config == {"actor_depth": 2}
    assert cfg.ppo.num_envs == 64  # from the file
    # round trip through plain data
    assert C.config_from_dict(C.config_to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    "override, key",
    [
        ("ppo.lrr=1", "ppo.lrr"),
        ("ppo.num_envs=abc", "ppo.num_envs"),
        ("ppo.num_envs=1.5", "ppo.num_envs"),
        ("ppo.gamma=2", "ppo.gamma"),
        ("ppo.num_minibatches=3", "ppo.num_minibatches"),
        ("env.size=xl", "env.size"),
        ("levels.source=nowhere", "levels.source"),
        ("levels.sfl.top_k=0", "levels.sfl.top_k"),
        ("network.config.not_an_option=1", "not_an_option"),
        ("network.arch=nope@v1", "network"),
        ("bogus=1", "bogus"),
        ("ppo=3", "ppo"),
    ],
)
def test_bad_overrides_name_the_key(override, key):
    with pytest.raises(C.ConfigError, match=key.replace(".", r"\.")):
        C.load_config(TINY_YAML, [override])


def test_override_syntax_and_missing_file(tmp_path):
    with pytest.raises(C.ConfigError, match="key.sub=value"):
        C.load_config(TINY_YAML, ["ppo.lr"])
    with pytest.raises(C.ConfigError, match="not found"):
        C.load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("ppo:\n  unknown_thing: 3\n")
    with pytest.raises(C.ConfigError, match=r"ppo\.unknown_thing"):
        C.load_config(bad)
    assert issubclass(C.ConfigError, ValueError)


def test_shipped_configs_load():
    from pathlib import Path

    files = sorted(Path("baselines/configs").glob("*.yaml"))
    assert len(files) >= 5
    for f in files:
        C.load_config(f)


# ---- level sources -----------------------------------------------------------------------------


def _levels(n=5):
    import kinetix.handmade as hm

    entries = hm.all_levels("s")[:n]
    return stack_levels([e.build() for e in entries], "s"), [e.id for e in entries]


def test_resolve_single_and_list():
    cfg = C.LevelSourceConfig(source="single", ids=("handmade-s/lift_to_shelf",))
    batch, names = resolve_levels(cfg, "s")
    assert names == ["handmade-s/lift_to_shelf"] and batch.polygon_roles.shape[0] == 1
    cfg = C.LevelSourceConfig(
        source="handmade", ids=("handmade-s/tilt_plate", "handmade-s/lift_to_shelf")
    )
    batch, names = resolve_levels(cfg, "m")  # padded into M
    assert batch.polygon_roles.shape[0] == 2 and len(names) == 2
    with pytest.raises(C.ConfigError, match="levels.ids"):
        resolve_levels(C.LevelSourceConfig(source="single", ids=("handmade-s/nope",)), "s")


def test_uniform_and_buffer_sampling():
    pool, _ = _levels(5)
    sampler = make_sampler(pool, buffer_size=2)
    idx = np.asarray(sample_indices(jax.random.PRNGKey(0), sampler, 4000))
    counts = np.bincount(idx, minlength=5)
    assert counts.min() > 700 and counts.max() < 900  # uniform over 5 (800 each)
    sampler = dataclasses.replace(
        sampler, buffer=jnp.array([1, 3], jnp.int32), ratio=jnp.float32(1)
    )
    idx = np.asarray(sample_indices(jax.random.PRNGKey(1), sampler, 1000))
    assert set(idx.tolist()) == {1, 3}
    sampler = dataclasses.replace(sampler, ratio=jnp.float32(0.5))
    idx = np.asarray(sample_indices(jax.random.PRNGKey(2), sampler, 4000))
    frac_buffer = np.isin(idx, [1, 3]).mean()  # 0.5 + 0.5 * 2/5 = 0.7
    assert abs(frac_buffer - 0.7) < 0.04
    got = take_levels(pool, jnp.array([3, 0]))
    np.testing.assert_array_equal(got.polygon_roles[0], pool.polygon_roles[3])


def test_learnability_and_top_k():
    solved = jnp.array([0.0, 1.0, 2.0, 4.0, 0.0])
    completed = jnp.array([4.0, 4.0, 4.0, 4.0, 0.0])
    s = np.asarray(learnability(solved, completed))
    np.testing.assert_allclose(s, [0.0, 0.1875 + 0.00025, 0.25 + 0.0005, 0.001, 0.0], rtol=1e-5)
    scores = jnp.array([0.1, 0.9, 0.3, 0.25, 0.8])
    indices = jnp.array([10, 11, 12, 13, 14])
    np.testing.assert_array_equal(top_k_buffer(scores, indices, 3), [11, 14, 12])


# ---- a tiny compiled run: determinism and checkpoint round trip ---------------------------


def _tiny_cfg(**ppo):
    kw = dict(
        lr=1e-3, num_envs=8, num_steps=8, num_minibatches=2, update_epochs=1, total_timesteps=4 * 64
    )
    kw.update(ppo)
    return C.TrainConfig(
        ppo=C.PPOConfig(**kw),
        env=C.EnvSettings(size="s", obs_type="flat"),
        network=C.NetworkSettings(
            "mlp-flat@v1",
            {"actor_depth": 1, "critic_depth": 1, "actor_width": 32, "critic_width": 32},
        ),
        levels=C.LevelSourceConfig(
            source="handmade", ids=("handmade-s/lift_to_shelf", "handmade-s/tilt_plate")
        ),
        logging=C.LoggingConfig(progress=False, plot=False, eval_episodes=0),
    ).validate()


@pytest.fixture(scope="module")
def tiny_run():
    from baselines.ppo.agent import make_agent
    from baselines.ppo.train import make_train

    cfg = _tiny_cfg()
    agent = make_agent(cfg.network.arch, cfg.network.config, "flat", "multi_discrete", "s")
    pool, _ = resolve_levels(cfg.levels, "s")
    fns = make_train(cfg, agent, pool)
    runner = fns.init(jax.random.PRNGKey(0))
    return cfg, agent, fns, fns.compiled_update(runner), runner


def test_programs_are_shared_across_seeds_and_levels(tiny_run):
    """Another training seed or level pool of the same settings reuses the compiled programs
    (each fine-tuning cell is one (level, seed) run), so nothing is traced or compiled again."""
    import dataclasses

    import kinetix.handmade as hm
    from baselines.ppo.train import make_train
    from kinetix.level import stack_levels

    cfg, agent, fns, update, runner = tiny_run
    other = dataclasses.replace(cfg, seed=cfg.seed + 7, name="another-run")
    pool = stack_levels([hm.REGISTRY["handmade-s/tilt_plate"].build()] * 2, "s")
    fns2 = make_train(other, agent, pool)
    assert fns2.compiled_update(runner) is update
    changed = dataclasses.replace(cfg, ppo=dataclasses.replace(cfg.ppo, lr=2e-3))
    assert make_train(changed, agent, pool).compiled_update(runner) is not update


def _copy(tree):
    return jax.tree.map(lambda x: jnp.array(x, copy=True), tree)


def test_checkpoint_resume_is_bit_identical(tiny_run, tmp_path):
    cfg, _, fns, update, runner0 = tiny_run
    straight = _copy(runner0)
    rows = []
    for _ in range(4):
        straight, m = update(straight)
        rows.append(jax.device_get(m))
    assert int(straight.update) == 4
    assert all(np.isfinite(r["policy_loss"]).all() for r in rows)

    part = _copy(runner0)
    for _ in range(2):
        part, _ = update(part)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, part, {"update": 2})
    template = fns.init(jax.random.PRNGKey(123))  # a different fresh state, same structure
    resumed, meta = load_checkpoint(path, template)
    assert meta == {"update": 2} and int(resumed.update) == 2
    for _ in range(2):
        resumed, _ = update(resumed)
    for a, b in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_checkpoint_mismatch_names_tensor(tiny_run, tmp_path):
    _, _, _, _, runner0 = tiny_run
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, runner0, {})
    wrong = runner0._replace(first=jnp.zeros((3,), bool))
    with pytest.raises(CheckpointError, match="first"):
        load_checkpoint(path, wrong)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing", runner0)


def test_export_submission(tiny_run, tmp_path):
    from safetensors import safe_open

    cfg, agent, fns, _, runner0 = tiny_run
    info = {
        "env_steps": 4096,
        "wall_seconds": 1.5,
        "seed": 0,
        "levels": ["a", "b"],
        "hyperparameters": C.config_to_dict(cfg),
    }
    out = export_submission(
        tmp_path / "sub", cfg.network.arch, agent.arch_config, runner0.params, fns.env.config, info
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    conf = json.loads((out / "config.json").read_text())
    assert conf["architecture"] == "mlp-flat@v1" and conf["architecture_version"] == "v1"
    assert conf["obs_type"] == "flat" and conf["env_size"] == "s"
    assert conf["arch_kwargs"]["actor_width"] == 32
    with safe_open(str(out / "model.safetensors"), framework="numpy") as f:
        names = list(f.keys())
        assert names and all(n.startswith("params/") for n in names)
        n_params = sum(f.get_tensor(n).size for n in names)
    assert n_params == sum(x.size for x in jax.tree.leaves(runner0.params))
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "4,096" in card and "library_name" in card
    # overwrite in place (atomic replace)
    export_submission(out, cfg.network.arch, agent.arch_config, runner0.params, fns.env.config)
    assert (out / "model.safetensors").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
