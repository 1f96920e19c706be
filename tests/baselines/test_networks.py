"""Policy networks: registry, configs, parameter trees, forward parity with Kinetix, distributions,
policies.

Parity tolerance: ``ATOL = 1e-5`` on raw actor outputs, values and log-probabilities, relative to
the output scale (``max(1, |ref|)``), as ``kinetix_checkpoints.md`` §4 recommends (a correct
float32 implementation lands at <= 1e-6 on CPU; every structural deviation moves logits by
>= 2e-2). Sampled discrete actions must match exactly (same key handling as Kinetix).
"""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kinetix as kx
from baselines.networks import (
    ARCHITECTURES,
    EmptyConfig,
    EntityTransformerConfig,
    FlatMLPConfig,
    MultiCategorical,
    NetworkConfigError,
    PermInvariantMLPConfig,
    PixelsCNNConfig,
    abstract_params,
    build_network,
    config_from_kinetix_model,
    expected_tensors,
    get_architecture,
    initial_hidden,
    make_config,
    make_policy_fn,
    make_recurrent_policy,
    param_count,
    policy_init_state,
)
from baselines.networks.distributions import Categorical, DiagGaussian
from baselines.networks.kinetix_checkpoint import KINETIX_OBS_TYPES
from kinetix.rollout import first_episode

ATOL = 1e-5
TF = "entity-transformer@v1"


# ---- registry and parameter trees ----------------------------------------------------------


def test_registry_ids_and_lookup_errors():
    assert set(ARCHITECTURES) == {
        "entity-transformer@v1", "perm-invariant-mlp@v1", "mlp-flat@v1", "pixels-cnn@v1",
        "noop", "random",
    }  # fmt: skip
    assert get_architecture("noop").parameter_free
    assert not get_architecture(TF).parameter_free
    with pytest.raises(NetworkConfigError, match="Did you mean entity-transformer@v1"):
        get_architecture("entity-transformer@v2")
    with pytest.raises(NetworkConfigError, match="observation type 'flat'"):
        build_network(TF, None, "flat")
    with pytest.raises(NetworkConfigError, match="action type 'hybrid'"):
        build_network(TF, None, "entity", "hybrid")


PARAM_COUNTS = [
    # (arch, options, obs, action, size, count) from kinetix_checkpoints.md §2
    (TF, {}, "entity", "multi_discrete", "s", 786_369),
    (TF, {}, "entity", "multi_discrete", "m", 786_369),
    (TF, {}, "entity", "multi_discrete", "l", 786_369),
    (TF, {}, "entity", "discrete", "m", 785_724),
    (TF, {}, "entity", "continuous", "m", 785_085),
    (TF, {"legacy_entity_id": True}, "entity", "multi_discrete", "m", 786_369),
    (TF, {"recurrent_model": True}, "entity", "multi_discrete", "m", 1_115_073),
    (TF, {"transformer_ffn": True}, "entity", "multi_discrete", "m", 1_016_769),
    (TF, {"multilayer_joint_thruster_mixing": True}, "entity", "multi_discrete", "m", 1_542_081),
    ("perm-invariant-mlp@v1", {}, "entity", "multi_discrete", "s", 221_521),
    ("perm-invariant-mlp@v1", {}, "entity", "multi_discrete", "l", 221_521),
    ("perm-invariant-mlp@v1", {"separate_actor_critic": True, "recurrent_model": True},
     "entity", "multi_discrete", "m", 1_026_641),
    ("mlp-flat@v1", {}, "flat", "multi_discrete", "s", 185_361),
    ("mlp-flat@v1", {}, "flat", "multi_discrete", "m", 199_057),
    ("mlp-flat@v1", {}, "flat", "multi_discrete", "l", 254_353),
    ("mlp-flat@v1", {"recurrent_model": True}, "flat", "multi_discrete", "s", 514_065),
    ("pixels-cnn@v1", {}, "pixels", "multi_discrete", "m", 2_243_265),
    ("noop", {}, "entity", "multi_discrete", "l", 0),
    ("random", {}, "pixels", "continuous", "s", 0),
]  # fmt: skip


@pytest.mark.parametrize("arch,options,obs,action,size,count", PARAM_COUNTS)
def test_param_counts(arch, options, obs, action, size, count):
    assert param_count(abstract_params(arch, options, obs, action, size)) == count


def test_transformer_tree_is_size_agnostic_with_96_keys():
    trees = [expected_tensors(abstract_params(TF, None, "entity", "multi_discrete", s))
             for s in "sml"]  # fmt: skip
    assert trees[0] == trees[1] == trees[2]
    assert len(trees[0]) == 96
    assert trees[0]["params/Transformer_0/tf_layers_1/attention1/query/kernel"] == (
        "F32",
        (128, 8, 2),
    )
    assert "params/Transformer_0/tf_layers_0/dense2/kernel" not in trees[0]


def test_abstract_params_equal_real_init():
    """``abstract_params`` (eval_shape) equals a real init (recurrent, continuous: GRU and
    ``log_std`` included); the other families share the same code path."""
    arch = "mlp-flat@v1"
    net = build_network(arch, {"recurrent_model": True, "actor_width": 32}, "flat", "continuous")
    real = jax.jit(net.init, static_argnums=1)(jax.random.PRNGKey(1), "s")
    abstract = abstract_params(arch, net.config, "flat", "continuous", "s")
    assert jax.tree.structure(real) == jax.tree.structure(abstract)
    assert expected_tensors(real) == expected_tensors(abstract)
    assert "params/GeneralActorCriticRNN_0/ScannedRNN_0/GRUCell_1/hn/bias" in expected_tensors(real)
    assert float(jnp.abs(real["params"]["Dense_0"]["kernel"]).max()) > 0


def test_reference_parameter_names_and_shapes(reference):
    """Our trees are exactly Kinetix's (every key, every shape) for every fixture case."""
    for name, case in reference.meta["cases"].items():
        obs = KINETIX_OBS_TYPES[case["obs_type"]]
        arch, cfg = config_from_kinetix_model(case["model"], obs)
        size = case["sizes"][0]
        ours = expected_tensors(abstract_params(arch, cfg, obs, case["action_type"], size))
        theirs = {k: ("F32", tuple(s)) for k, s in case["shapes"].items()}
        assert ours == theirs, name
        assert (
            param_count(abstract_params(arch, cfg, obs, case["action_type"], size))
            == (case["num_params"])
        )


# ---- configs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        EntityTransformerConfig(),
        EntityTransformerConfig(legacy_entity_id=True, aggregate_mode="mean", num_heads=4),
        PermInvariantMLPConfig(separate_actor_critic=True),
        FlatMLPConfig(actor_width=64, recurrent_model=True),
        PixelsCNNConfig(activation="relu"),
        EmptyConfig(),
    ],
)
def test_config_json_round_trip(config):
    d = json.loads(json.dumps(config.to_dict()))
    assert type(config).from_dict(d) == config
    assert (
        make_config(next(a.id for a in ARCHITECTURES.values() if a.config_cls is type(config)), d)
        == config
    )


def test_config_defaults_are_the_paper_transformer():
    c = EntityTransformerConfig()
    assert (c.actor_depth, c.actor_width, c.transformer_depth, c.transformer_size) == (
        5,
        128,
        2,
        16,
    )
    assert (c.transformer_encoder_size, c.num_heads, c.aggregate_mode) == (128, 8, "dummy_and_mean")
    assert not (c.recurrent_model or c.transformer_ffn or c.full_attention_mask)


@pytest.mark.parametrize(
    "cls,d,field",
    [
        (EntityTransformerConfig, {"num_layers": 3}, "num_layers"),
        (EntityTransformerConfig, {"activation": "gelu"}, "activation"),
        (EntityTransformerConfig, {"num_heads": 6}, "num_heads"),
        (EntityTransformerConfig, {"transformer_size": 12}, "transformer_size"),
        (EntityTransformerConfig, {"aggregate_mode": "max"}, "aggregate_mode"),
        (EntityTransformerConfig, {"actor_depth": "5"}, "actor_depth"),
        (EntityTransformerConfig, {"recurrent_model": 1}, "recurrent_model"),
        (EntityTransformerConfig, {"dropout_prob": 0.1}, "dropout_prob"),
        (PermInvariantMLPConfig, {"symbolic_embedding_dim": 100}, "symbolic_embedding_dim"),
        (PixelsCNNConfig, {"cnn_mode": "resnet_18"}, "cnn_mode"),
        (FlatMLPConfig, {"actor_width": 0}, "actor_width"),
        (EmptyConfig, {"x": 1}, "'x'"),
    ],
)
def test_config_errors_name_the_field(cls, d, field):
    with pytest.raises(NetworkConfigError, match=field) as e:
        cls.from_dict(d)
    assert isinstance(e.value, ValueError)


# ---- forward parity with Kinetix (reference observations, hash-noise parameters) -------------

PARITY = [
    (name, size)
    for name, sizes in [
        ("tf_md", "sml"), ("tf_md_legacy", "sl"), ("tf_discrete", "m"), ("tf_continuous", "m"),
        ("tf_gru", "m"), ("tf_ffn_mix", "l"), ("tf_mean_full", "l"), ("perm_inv", "m"),
        ("perm_inv_sep_gru", "m"), ("flat", "s"), ("flat_gru", "s"), ("cnn", "s"),
    ]
    for size in sizes
]  # fmt: skip


@functools.cache
def _net_for(name: str, model_json: str, obs_type: str, action_type: str):
    arch, cfg = config_from_kinetix_model(json.loads(model_json), obs_type)
    net = build_network(arch, cfg, obs_type, action_type)
    return net, jax.jit(net.apply)


def _network_of(reference, name):
    case = reference.case(name)
    obs = KINETIX_OBS_TYPES[case["obs_type"]]
    return _net_for(name, json.dumps(case["model"], sort_keys=True), obs, case["action_type"])


def _assert_close(ours, theirs, what):
    scale = max(1.0, float(np.max(np.abs(theirs))))
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=0, atol=ATOL * scale, err_msg=what)


def _check_against_reference(reference, name, size, obs, params):
    case = reference.case(name)
    net, apply = _network_of(reference, name)
    ref = functools.partial(reference.out, name, size)
    if ref("pick") is not None:  # a (T, B) sequence with resets and a non-zero initial state
        obs = jax.tree.map(lambda x: np.asarray(x)[0][ref("pick")], obs)
        hidden = (jnp.asarray(ref("hidden_in_a")), jnp.asarray(ref("hidden_in_c")))
    else:
        hidden = initial_hidden(ref("dones").shape[1])
    hidden, dist, value = apply(params, hidden, obs, ref("dones"))
    actor = dist.mean if case["action_type"] == "continuous" else dist.logits
    _assert_close(actor, ref("actor_out"), f"{name}/{size} actor output")
    _assert_close(value, ref("value"), f"{name}/{size} value")
    _assert_close(dist.log_prob(ref("action")), ref("log_prob"), f"{name}/{size} log_prob")
    _assert_close(dist.entropy(), ref("entropy"), f"{name}/{size} entropy")
    sample = dist.sample(jax.random.PRNGKey(5))
    if case["action_type"] == "continuous":
        _assert_close(sample, ref("sample"), f"{name}/{size} sample")
    else:
        np.testing.assert_array_equal(sample, ref("sample"))
    if ref("slice_log_probs") is not None:
        _assert_close(jnp.concatenate(dist.log_probs(), -1), ref("slice_log_probs"), "slices")
    if ref("hidden_out_a") is not None:
        _assert_close(hidden[0], ref("hidden_out_a"), f"{name}/{size} actor hidden")
        _assert_close(hidden[1], ref("hidden_out_c"), f"{name}/{size} critic hidden")
    return actor, value


@pytest.mark.parametrize("name,size", PARITY)
def test_forward_matches_kinetix(reference, name, size):
    case = reference.case(name)
    obs = reference.obs(case["obs_type"], size)
    _check_against_reference(reference, name, size, obs, reference.params(name))


def test_legacy_entity_id_is_wired_in(reference):
    for size in "sl":
        a = reference.out("tf_md", size, "actor_out")
        b = reference.out("tf_md_legacy", size, "actor_out")
        assert np.max(np.abs(a - b)) > 1e-2


def _reset_levels(reference, level_json, size):
    """Indexes (in the reference batch of ``size``) of the reset observations, and the levels."""
    names = reference.meta["obs_names"][f"symbolic_entity/{size}"]
    resets = [i for i, n in enumerate(names) if n.endswith("/reset")]
    return resets, [kx.load_kinetix_json(level_json(names[i][: -len("/reset")])) for i in resets]


def _pad_batch(x, n):
    """Repeats the last row of a (B, ...) batch up to ``n`` rows (reuses compiled shapes)."""
    return jnp.concatenate([x] + [x[-1:]] * (n - x.shape[0]))


def test_forward_on_our_env_observations_padded_to_l(reference, level_json):
    """Our env's reset observations of the reference levels of every size, padded into L, give
    Kinetix's transformer outputs of the unpadded levels (the transformer ignores padding)."""
    rows, levels = [], []
    for size in "sml":
        resets, lv = _reset_levels(reference, level_json, size)
        rows += [(size, i) for i in resets]
        levels += [kx.pad_level(x, kx.SIZES["l"]) for x in lv]
    config = kx.EnvConfig(size="l")
    obs = jax.jit(jax.vmap(lambda lv: kx.reset(jax.random.PRNGKey(0), lv, config)[0]))(
        kx.stack_levels(levels)
    )
    _, apply = _network_of(reference, "tf_md")
    params = reference.params("tf_md")
    for start in range(0, len(rows), 3):  # batches of 3: the parity test's compiled shapes
        part = rows[start : start + 3]
        batch = jax.tree.map(lambda x: _pad_batch(x[start : start + 3], 3)[None], obs)
        _, dist, value = apply(params, initial_hidden(3), batch, np.zeros((1, 3), bool))
        for j, (size, i) in enumerate(part):
            ref = functools.partial(reference.out, "tf_md", size)
            _assert_close(dist.logits[0, j], ref("actor_out")[0, i], f"{size} row {i} logits")
            _assert_close(value[0, j], ref("value")[0, i], f"{size} row {i} value")


@pytest.mark.parametrize(
    "name,size",
    [("tf_md", "m"), ("tf_md", "l"), ("tf_discrete", "m"), ("tf_continuous", "m"),
     ("perm_inv", "m")],
)  # fmt: skip
def test_forward_on_our_env_observations_at_own_size(reference, level_json, name, size):
    """Every entity family and head, on our env's reset observations of the reference levels at
    their own size (M, L), gives Kinetix's actor outputs and values within 1e-5."""
    case = reference.case(name)
    resets, levels = _reset_levels(reference, level_json, size)
    config = kx.EnvConfig(size=size)
    obs = jax.jit(jax.vmap(lambda lv: kx.reset(jax.random.PRNGKey(0), lv, config)[0]))(
        kx.stack_levels(levels)
    )
    B = len(reference.meta["obs_names"][f"symbolic_entity/{size}"])  # the parity test's shapes
    _, apply = _network_of(reference, name)
    batch = jax.tree.map(lambda x: _pad_batch(x, B)[None], obs)
    _, dist, value = apply(reference.params(name), initial_hidden(B), batch, np.zeros((1, B), bool))
    actor = dist.mean if case["action_type"] == "continuous" else dist.logits
    ref = functools.partial(reference.out, name, size)
    n = len(resets)
    _assert_close(actor[0, :n], ref("actor_out")[0, resets], f"{name}/{size} actor output")
    _assert_close(value[0, :n], ref("value")[0, resets], f"{name}/{size} value")


def test_forward_on_our_env_observations_size_s(reference, level_json):
    """At the levels' own size S, our entity and flat observations give Kinetix's transformer
    and flat-MLP outputs."""
    resets, levels = _reset_levels(reference, level_json, "s")

    def observe(lv):
        scene = kx.reset(jax.random.PRNGKey(0), lv, kx.EnvConfig(size="s"))[1].scene
        return kx.observe(scene, lv, "entity"), kx.observe(scene, lv, "flat")

    entity, flat = jax.jit(jax.vmap(observe))(kx.stack_levels(levels))
    B = 3
    for name, obs in (("tf_md", entity), ("flat", flat)):
        _, apply = _network_of(reference, name)
        batch = jax.tree.map(lambda x: _pad_batch(x, B)[None], obs)
        _, dist, value = apply(reference.params(name), initial_hidden(B), batch,
                               np.zeros((1, B), bool))  # fmt: skip
        ref = functools.partial(reference.out, name, "s")
        n = len(resets)
        _assert_close(dist.logits[0, :n], ref("actor_out")[0, resets], f"{name} logits")
        _assert_close(value[0, :n], ref("value")[0, resets], f"{name} value")


# ---- distributions --------------------------------------------------------------------------


def _np_log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def test_multi_categorical_is_a_sum_of_categoricals():
    logits = jax.random.normal(jax.random.PRNGKey(0), (4, 3, 16)) * 2
    dist = MultiCategorical(logits, (3, 3, 3, 3, 2, 2))
    action = np.stack([np.arange(12).reshape(4, 3) % n for n in (3, 3, 3, 3, 2, 2)], -1)
    bounds = np.cumsum([0, 3, 3, 3, 3, 2, 2])
    lp = ent = 0.0
    for i in range(6):
        ls = _np_log_softmax(np.asarray(logits)[..., bounds[i] : bounds[i + 1]])
        lp = lp + np.take_along_axis(ls, action[..., i : i + 1], -1)[..., 0]
        ent = ent - (np.exp(ls) * ls).sum(-1)
        np.testing.assert_allclose(dist.log_probs()[i], ls, atol=1e-6)
        sub = Categorical(np.asarray(logits)[..., bounds[i] : bounds[i + 1]])
        np.testing.assert_allclose(sub.log_prob(action[..., i]), np.take_along_axis(
            ls, action[..., i : i + 1], -1)[..., 0], atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(dist.log_prob(action), lp, atol=1e-5)
    np.testing.assert_allclose(dist.entropy(), ent, atol=1e-5)
    np.testing.assert_allclose(dist.log_prob_per_slice(action).sum(-1), lp, atol=1e-5)


def test_samples_are_valid_kinetix_actions():
    @jax.jit
    def draw(key):
        md = MultiCategorical(jax.random.normal(key, (5, 7, 16)), (3, 3, 3, 3, 2, 2))
        uniform = MultiCategorical(jnp.zeros((200, 16)), md.nvec)
        cat = Categorical(jax.random.normal(key, (9, 11)))
        return md.sample(key), md.mode(), uniform.sample(key), cat.sample(key), cat.mode(), cat

    md_sample, md_mode, many, cat_sample, cat_mode, cat = draw(jax.random.PRNGKey(3))
    space = kx.action_space("multi_discrete")
    for a in (md_sample, md_mode):
        assert a.shape == (5, 7, 6) and a.dtype == jnp.int32
        assert all(bool(space.contains(x)) for x in np.asarray(a).reshape(-1, 6))
    # every value of every slice is reachable
    assert [len(np.unique(np.asarray(many)[..., i])) for i in range(6)] == [3, 3, 3, 3, 2, 2]
    assert cat_sample.shape == (9,) and bool(((cat_sample >= 0) & (cat_sample < 11)).all())
    np.testing.assert_array_equal(cat_mode, np.argmax(np.asarray(cat.logits), -1))


def test_diag_gaussian_formulas():
    mean = jnp.array([[0.5, -0.2, 0.0, 1.0, 0.1, -1.0]])
    log_std = jnp.array([0.0, -0.5, 0.3, 0.1, -1.0, 0.2])
    dist = DiagGaussian(mean, log_std)
    a = np.array([[0.1, 0.2, -0.3, 0.9, 0.0, -0.5]])
    std = np.exp(np.asarray(log_std, np.float64))
    ref = (-0.5 * ((a - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(-1)
    np.testing.assert_allclose(dist.log_prob(a), ref, atol=1e-5)
    np.testing.assert_allclose(dist.entropy(), (np.log(std) + 0.5 * np.log(2 * np.pi * np.e)).sum(),
                               atol=1e-5)  # fmt: skip
    s = jax.vmap(dist.sample)(jax.random.split(jax.random.PRNGKey(0), 4000))
    np.testing.assert_allclose(np.std(np.asarray(s)[:, 0], 0), std, rtol=0.1)
    np.testing.assert_array_equal(dist.mode(), mean)


# ---- policies ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_level():
    lv = kx.empty_level("s")
    import jax2d

    sc, green = jax2d.add_circle(lv.scene, (2.5, 1.0), 0.3)
    sc, blue = jax2d.add_circle(sc, (4.0, 3.5), 0.2, static=True)
    sc, _ = jax2d.add_thruster(sc, int(green), rotation=np.pi / 2, power=0.5)
    lv = kx.set_role(lv.replace(scene=sc), int(green), kx.ROLE_GREEN)
    return kx.set_role(lv, int(blue), kx.ROLE_BLUE)


def test_policy_fn_runs_in_first_episode(reference, tiny_level):
    env = kx.KinetixEnv(kx.EnvConfig(size="s"))
    params = reference.params("tf_md")
    policy = make_policy_fn(TF, None, params, env.config)
    obs = jax.tree.map(lambda x: x[0, 0], reference.obs("symbolic_entity", "s"))
    a = jax.jit(policy)(jax.random.PRNGKey(1), obs)
    assert a.shape == (6,) and bool(env.action_space().contains(a))
    # compatible with kinetix.rollout.first_episode (traced, not compiled: fast)
    out = jax.eval_shape(lambda k: first_episode(env, policy, tiny_level, k, num_steps=2),
                         jax.random.PRNGKey(0))  # fmt: skip
    assert out["solved"].dtype == jnp.bool_
    greedy = make_policy_fn(TF, None, params, env.config, deterministic=True)
    assert jax.eval_shape(greedy, jax.random.PRNGKey(0), obs).shape == (6,)
    noop = make_policy_fn("noop", None, {}, env.config)
    np.testing.assert_array_equal(noop(jax.random.PRNGKey(0), obs), np.zeros(6, np.int32))
    with pytest.raises(
        NetworkConfigError, match="(?s)do not match.*Dense_0/kernel.*shape \\[128, 11\\]"
    ):
        make_policy_fn(TF, None, reference.params("tf_discrete"), env.config)


def test_recurrent_policy_state_and_reset(reference, tiny_level):
    config = kx.EnvConfig(size="s", obs_type="flat")
    params = reference.params("flat_gru")
    arch, cfg = config_from_kinetix_model(reference.case("flat_gru")["model"], "flat")
    with pytest.raises(NetworkConfigError, match="make_recurrent_policy"):
        make_policy_fn(arch, cfg, params, config)
    policy = make_recurrent_policy(arch, cfg, params, config, deterministic=True)
    obs, _ = kx.reset(jax.random.PRNGKey(0), tiny_level, config)
    state0 = policy.init_state()
    assert state0[0].shape == (1, 256)
    key = jax.random.PRNGKey(0)
    step = jax.jit(policy.step)
    s1, a1 = step(state0, key, obs, True)
    s2, _ = step(s1, key, obs, False)
    assert float(jnp.abs(s2[0] - s1[0]).max()) > 1e-4  # the state evolves
    s3, a3 = step(s2, key, obs, True)  # a reset forgets it
    np.testing.assert_array_equal(s3[0], s1[0])
    np.testing.assert_array_equal(a3, a1)
    assert policy_init_state("random") == ()
