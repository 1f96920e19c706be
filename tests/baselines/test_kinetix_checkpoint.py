"""Kinetix checkpoint I/O: the reference's own file bytes, our writer, round trips, header checks,
and errors naming the key or field."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct

import jax
import numpy as np
import pytest

from baselines.networks import (
    EntityTransformerConfig,
    FlatMLPConfig,
    KinetixCheckpointError,
    abstract_params,
    build_network,
    check_kinetix_params_file,
    flatten_params,
    header_mismatches,
    read_kinetix_checkpoint,
    read_safetensors_header,
    unflatten_params,
    write_kinetix_checkpoint,
)
from baselines.networks.kinetix_checkpoint import (
    KINETIX_OBS_TYPES,
    config_from_kinetix_model,
    kinetix_key_names,
    paper_era_key_map,
)
from baselines.networks.params_io import load_safetensors, save_safetensors

TF = "entity-transformer@v1"


def _sha(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _flat_np(params) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in flatten_params(params).items()}


@pytest.fixture(scope="module")
def reference_checkpoint(reference, tmp_path_factory):
    """The folder Kinetix's ``save_pretrained_checkpoint`` wrote for the fixture params, rebuilt
    byte for byte from its stored header and the regenerated values (sha256 checked)."""
    ck = reference.case("tf_md")["checkpoint"]
    header = json.loads(ck["header"])
    values = reference.flat_noise("tf_md")
    body = bytearray(ck["size"] - 8 - len(ck["header"].encode()))
    for name, info in header.items():
        start, end = info["data_offsets"]
        body[start:end] = values[name].astype("<f4").tobytes()
    blob = struct.pack("<Q", len(ck["header"].encode())) + ck["header"].encode() + bytes(body)
    assert hashlib.sha256(blob).hexdigest() == ck["sha256"]
    d = tmp_path_factory.mktemp("kinetix_ck")
    (d / "params.safetensors").write_bytes(blob)
    (d / "config.json").write_text(ck["config_json"])
    return d


def test_reads_the_reference_checkpoint_unchanged(reference, reference_checkpoint):
    ck = read_kinetix_checkpoint(reference_checkpoint)
    assert (ck.arch_id, ck.obs_type, ck.action_type, ck.size) == (
        TF,
        "entity",
        "multi_discrete",
        None,
    )
    assert ck.config == EntityTransformerConfig()
    arch_id, config, params = ck  # unpacks as (arch id, config, params)
    got = _flat_np(params)
    want = reference.flat_noise("tf_md")
    assert set(got) == set(want) and len(got) == 96
    for k, v in want.items():
        assert got[k].dtype == np.float32
        np.testing.assert_array_equal(got[k], v, err_msg=k)


def test_our_writer_reproduces_the_reference_bytes(reference, reference_checkpoint, tmp_path):
    ck = read_kinetix_checkpoint(reference_checkpoint)
    write_kinetix_checkpoint(tmp_path, ck.arch_id, ck.config, ck.params, obs_type="entity",
                             action_type="multi_discrete", name="x")  # fmt: skip
    assert _sha(tmp_path / "params.safetensors") == _sha(
        reference_checkpoint / "params.safetensors"
    )
    # and for every other network family of the fixture (same safetensors layout)
    for name, case in reference.meta["cases"].items():
        save_safetensors(reference.flat_noise(name), tmp_path / f"{name}.safetensors")
        assert _sha(tmp_path / f"{name}.safetensors") == case["sha256"], name


def test_write_read_round_trip_is_bitwise(reference, tmp_path):
    for name in ("tf_continuous", "perm_inv_sep_gru", "flat", "cnn"):
        case = reference.case(name)
        obs = KINETIX_OBS_TYPES[case["obs_type"]]
        arch, cfg = config_from_kinetix_model(case["model"], obs)
        params = reference.params(name)
        d = tmp_path / name
        write_kinetix_checkpoint(d, arch, cfg, params, obs_type=obs,
                                 action_type=case["action_type"], size=case["sizes"][0],
                                 description="round trip", extra={"seed": 3})  # fmt: skip
        raw = json.loads((d / "config.json").read_text())
        assert raw["observation_type"] == case["obs_type"] and raw["seed"] == 3
        assert raw["model"]["recurrent_model"] == case["model"]["recurrent_model"]
        ck = read_kinetix_checkpoint(d)
        assert (ck.arch_id, ck.config, ck.action_type, ck.obs_type) == (
            arch,
            cfg,
            case["action_type"],
            obs,
        )
        if name == "flat":
            assert ck.size.name == "s"  # inferred from the first layer's width
        a, b = _flat_np(params), _flat_np(ck.params)
        assert a.keys() == b.keys()
        for k in a:
            assert a[k].tobytes() == b[k].tobytes(), k
        write_kinetix_checkpoint(d / "again", ck.arch_id, ck.config, ck.params, obs_type=obs,
                                 action_type=ck.action_type, size=ck.size)  # fmt: skip
        assert _sha(d / "again" / "params.safetensors") == _sha(d / "params.safetensors")


def _write_flat(path, flat):
    save_safetensors(flat, path)
    return path


def test_header_mismatches_name_every_key(reference, tmp_path):
    flat = reference.flat_noise("tf_md")
    flat.pop("params/Dense_3/bias")  # missing
    flat["params/Dense_0/kernel"] = flat["params/Dense_0/kernel"][:, :100]  # misshaped
    flat["params/GeneralActorCriticRNN_0/Dense_1/bias"] = np.zeros(1, np.float16)  # dtype
    flat["params/Extra_0/kernel"] = np.zeros((2, 2), np.float32)  # unexpected
    flat["custom_intermediates/x"] = np.zeros(3, np.float32)  # not params: ignored
    path = _write_flat(tmp_path / "bad.safetensors", flat)
    problems = check_kinetix_params_file(path, TF, None, "entity", "multi_discrete", "l")
    text = "\n".join(problems)
    assert len(problems) == 4, text
    assert "missing key 'params/Dense_3/bias'" in text
    assert "'params/Dense_0/kernel': shape [19, 100], expected [19, 127]" in text
    assert "'params/GeneralActorCriticRNN_0/Dense_1/bias': dtype F16, expected F32" in text
    assert "unexpected key 'params/Extra_0/kernel'" in text
    # without the filter the non-params key is reported too
    header = read_safetensors_header(path)
    assert any("custom_intermediates/x" in p for p in header_mismatches(
        header, abstract_params(TF)))  # fmt: skip
    os.makedirs(tmp_path / "ck")
    os.replace(path, tmp_path / "ck" / "params.safetensors")
    (tmp_path / "ck" / "config.json").write_text(json.dumps({"model": {}}))
    with pytest.raises(KinetixCheckpointError) as e:
        read_kinetix_checkpoint(tmp_path / "ck")
    for key in ("Dense_3/bias", "Dense_0/kernel", "Dense_1/bias", "Extra_0/kernel"):
        assert key in str(e.value)


def test_extra_collections_are_ignored(reference, tmp_path):
    flat = reference.flat_noise("flat")
    flat["custom_intermediates/GeneralActorCriticRNN_0/dormancy"] = np.ones(2, np.float32)
    _write_flat(tmp_path / "params.safetensors", flat)
    (tmp_path / "config.json").write_text(json.dumps(
        {"model": {"model_name": "x", "override_model_depth": -1},
         "observation_type": "symbolic_flat"}))  # fmt: skip
    ck = read_kinetix_checkpoint(tmp_path)
    assert ck.arch_id == "mlp-flat@v1" and ck.config == FlatMLPConfig()
    assert list(ck.params) == ["params"]


@pytest.mark.parametrize(
    "raw,match",
    [
        ({"model": {"num_layers": 2}}, "'num_layers'"),
        ({"model": {"activation": "gelu"}}, "activation"),
        ({"model": {"num_heads": 6}}, "num_heads"),
        ({"model": {"permutation_invariant_mlp": "yes"}}, "permutation_invariant_mlp"),
        ({"model": {"action_type": "multi_discrete"}}, "model.action_type"),
        ({"model": {}, "observation_type": "symbolic_flat_padded"}, "observation_type"),
        ({"model": {}, "action_type": "hybrid"}, "action_type"),
        ({"name": "no model"}, "'model'"),
    ],
)
def test_config_errors_name_the_field(reference, tmp_path, raw, match):
    _write_flat(tmp_path / "params.safetensors", reference.flat_noise("tf_md"))
    (tmp_path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(KinetixCheckpointError, match=match) as e:
        read_kinetix_checkpoint(tmp_path)
    assert isinstance(e.value, ValueError)


def test_writer_refuses_bad_params(reference, tmp_path):
    params = reference.params("tf_md")
    with pytest.raises(KinetixCheckpointError, match="Dense_0/kernel"):
        write_kinetix_checkpoint(tmp_path, TF, None, reference.params("flat"),
                                 obs_type="entity", action_type="multi_discrete")  # fmt: skip
    with pytest.raises(KinetixCheckpointError, match="outside 'params/'"):
        write_kinetix_checkpoint(tmp_path, TF, None, {**params, "other": {"x": np.zeros(1)}},
                                 obs_type="entity", action_type="multi_discrete")  # fmt: skip
    with pytest.raises(KinetixCheckpointError, match="no Kinetix checkpoint format"):
        write_kinetix_checkpoint(tmp_path, "noop", None, {}, obs_type="entity",
                                 action_type="multi_discrete")  # fmt: skip
    assert not os.path.exists(tmp_path / "params.safetensors")


# ------------------------------------------------------------ paper-era names, assumed options
HEAD = "params/GeneralActorCriticRNN_0/"


def _paper_era(flat: dict, depth: int) -> dict:
    """The 3.x-named tensors renamed as the v0.1.0 code named them (kinetix_checkpoints.md
    §2.4, written out here independently of the loader): hidden layers interleaved actor,
    critic, actor, ... as ``Dense_0..2d-1``, then the logits and the value."""
    out = {}
    for k, v in flat.items():
        m = re.match(rf"^{HEAD}DenseAndActivation_(\d+)/Dense_0/(\w+)$", k)
        n = re.match(rf"^{HEAD}Dense_([01])/(\w+)$", k)
        if m:
            i = int(m.group(1))
            actor = i < depth
            j = 2 * i if actor else 2 * (i - depth) + 1
            out[f"{HEAD}Dense_{j}/{m.group(2)}"] = v
        elif n:
            out[f"{HEAD}Dense_{2 * depth + int(n.group(1))}/{n.group(2)}"] = v
        else:
            out[k] = v
    return out


def _outputs(ck, obs):
    net = build_network(ck.arch_id, ck.config, ck.obs_type, ck.action_type)
    batch = jax.tree.leaves(obs)[0].shape[1]
    apply = jax.jit(net.apply)
    _, dist, value = apply(ck.params, net.initial_hidden(batch), obs, np.zeros((1, batch), bool))
    return jax.tree.leaves(dist), value


def _noise_params(arch, cfg, obs, act, size, seed=0) -> dict:
    """Seeded normal noise with the architecture's parameter shapes (no init to compile)."""
    rng = np.random.default_rng(seed)
    flat = flatten_params(abstract_params(arch, cfg, obs, act, size))
    return unflatten_params(
        {k: (rng.normal(size=v.shape) * 0.5).astype(np.float32) for k, v in flat.items()}
    )


def test_paper_era_key_map_for_the_paper_model():
    keys = flatten_params(abstract_params(TF))
    m = paper_era_key_map(keys, EntityTransformerConfig())
    assert len(m) == 24  # 10 hidden layers + logits + value, kernel and bias each
    assert m[f"{HEAD}DenseAndActivation_0/Dense_0/kernel"] == f"{HEAD}Dense_0/kernel"
    assert m[f"{HEAD}DenseAndActivation_4/Dense_0/bias"] == f"{HEAD}Dense_8/bias"
    assert m[f"{HEAD}DenseAndActivation_5/Dense_0/kernel"] == f"{HEAD}Dense_1/kernel"
    assert m[f"{HEAD}DenseAndActivation_9/Dense_0/kernel"] == f"{HEAD}Dense_9/kernel"
    assert m[f"{HEAD}Dense_0/kernel"] == f"{HEAD}Dense_10/kernel"
    assert m[f"{HEAD}Dense_1/bias"] == f"{HEAD}Dense_11/bias"
    assert kinetix_key_names(m.values()) == "v0.1.0" and kinetix_key_names(m) == "3.x"
    with pytest.raises(KinetixCheckpointError, match="actor_depth == critic_depth"):
        paper_era_key_map(keys, EntityTransformerConfig(critic_depth=4))


def _paper_model_of(case_model: dict) -> dict:
    """A v0.1.0-style "model" block: fc_layer_* instead of actor/critic, no legacy flag."""
    model = {k: v for k, v in case_model.items() if not k.startswith(("actor_", "critic_"))}
    model.pop("legacy_entity_id")
    return {**model, "fc_layer_depth": 5, "fc_layer_width": 128}


def test_paper_era_checkpoint_matches_the_reference(reference, tmp_path):
    """The reference's legacy-flag transformer, renamed to v0.1.0 keys with a v0.1.0-style model
    block: recognised, legacy_entity_id assumed true, outputs equal to Kinetix's own."""
    case = reference.case("tf_md_legacy")
    save_safetensors(_paper_era(reference.flat_noise("tf_md_legacy"), 5),
                     tmp_path / "params.safetensors")  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"model": _paper_model_of(case["model"])}))
    ck = read_kinetix_checkpoint(tmp_path)
    assert ck.key_names == "v0.1.0" and ck.config.legacy_entity_id
    assert ck.config == EntityTransformerConfig(legacy_entity_id=True)
    assert ck.assumed_options == {
        "observation_type": "symbolic_entity",
        "action_type": "multi_discrete",
        "legacy_entity_id": True,
    }
    (actor, *_), value = _outputs(ck, reference.obs("symbolic_entity", "s"))
    for got, key in ((actor, "actor_out"), (value, "value")):
        want = reference.out("tf_md_legacy", "s", key)
        np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-5, err_msg=key)
    # the same file with the flag stated false is read as stated
    model = {**_paper_model_of(case["model"]), "legacy_entity_id": False}
    (tmp_path / "config.json").write_text(json.dumps({"model": model}))
    ck = read_kinetix_checkpoint(tmp_path)
    assert not ck.config.legacy_entity_id and "legacy_entity_id" not in ck.assumed_options


SMALL = {"actor_depth": 2, "critic_depth": 2, "actor_width": 16, "critic_width": 16}
FAMILIES = [  # (arch, options, our obs type, Kinetix obs type, action type, size)
    (TF, {"transformer_encoder_size": 16, "transformer_size": 8, "num_heads": 4,
          "transformer_depth": 1}, "entity", "symbolic_entity", "multi_discrete", "m"),
    (TF, {"transformer_encoder_size": 16, "transformer_size": 8, "num_heads": 4,
          "transformer_depth": 1}, "entity", "symbolic_entity", "discrete", "s"),
    (TF, {"transformer_encoder_size": 16, "transformer_size": 8, "num_heads": 4,
          "transformer_depth": 1}, "entity", "symbolic_entity", "continuous", "l"),
    ("perm-invariant-mlp@v1", {"symbolic_embedding_dim": 16, "num_heads": 4, "encoder_size": 8},
     "entity", "symbolic_entity", "multi_discrete", "m"),
    ("mlp-flat@v1", {}, "flat", "symbolic_flat", "discrete", "s"),
    ("pixels-cnn@v1", {"actor_width": 8, "critic_width": 8}, "pixels", "pixels", "continuous",
     "s"),
]  # fmt: skip


@pytest.mark.parametrize("arch,opts,obs,kx_obs,act,size", FAMILIES)
def test_paper_era_names_give_identical_outputs(reference, tmp_path, arch, opts, obs, kx_obs,
                                                act, size):  # fmt: skip
    """Every family and head: a checkpoint we write, renamed to paper-era keys, loads to the
    same parameters and the same logits and values as the 3.x-named one."""
    cfg = {**SMALL, **opts}
    params = _noise_params(arch, cfg, obs, act, size, seed=7)
    write_kinetix_checkpoint(tmp_path / "new", arch, cfg, params, obs_type=obs,
                             action_type=act, size=size)  # fmt: skip
    old = tmp_path / "old"
    old.mkdir()
    flat = load_safetensors(tmp_path / "new" / "params.safetensors")
    renamed = _paper_era(flat, 2)
    assert set(renamed) != set(flat) and len(renamed) == len(flat)
    save_safetensors(renamed, old / "params.safetensors")
    raw = json.loads((tmp_path / "new" / "config.json").read_text())
    (old / "config.json").write_text(json.dumps(raw))
    a, b = read_kinetix_checkpoint(tmp_path / "new"), read_kinetix_checkpoint(old)
    assert (a.key_names, b.key_names) == ("3.x", "v0.1.0")
    assert (a.arch_id, a.config, a.action_type) == (b.arch_id, b.config, b.action_type)
    assert a.assumed_options == b.assumed_options == {}  # the writer states every option
    fa, fb = _flat_np(a.params), _flat_np(b.params)
    assert fa.keys() == fb.keys() and all(np.array_equal(fa[k], fb[k]) for k in fa)
    x = reference.obs(kx_obs, size)  # the reference's observations of real levels
    (la, va), (lb, vb) = _outputs(a, x), _outputs(b, x)
    for p, q in zip([*la, va], [*lb, vb], strict=True):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))


def test_paper_era_mismatch_names_the_files_keys(reference, tmp_path):
    flat = _paper_era(reference.flat_noise("tf_md"), 5)
    del flat[f"{HEAD}Dense_11/bias"]
    save_safetensors(flat, tmp_path / "params.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"model": {"transformer_depth": 2}}))
    with pytest.raises(KinetixCheckpointError) as e:
        read_kinetix_checkpoint(tmp_path)
    text = str(e.value)
    assert f"missing key '{HEAD}Dense_11/bias'" in text and "v0.1.0 key names" in text
    assert "assumed" in text and "recurrent_model=False" in text


def test_assumed_options_are_the_paper_values(reference, tmp_path):
    save_safetensors(reference.flat_noise("tf_md"), tmp_path / "params.safetensors")
    stated = {"transformer_depth": 2, "num_heads": 8, "activation": "tanh"}
    (tmp_path / "config.json").write_text(json.dumps(
        {"model": stated, "action_type": "multi_discrete"}))  # fmt: skip
    ck = read_kinetix_checkpoint(tmp_path)
    assert ck.config == EntityTransformerConfig() and ck.key_names == "3.x"
    paper = EntityTransformerConfig().to_dict()
    want = {"observation_type": "symbolic_entity", "permutation_invariant_mlp": False}
    want |= {k: v for k, v in paper.items() if k not in stated}
    assert ck.assumed_options == want
    assert ck.assumed_options["recurrent_model"] is False
    assert ck.assumed_options["legacy_entity_id"] is False  # 3.x names: Kinetix's default
    json.dumps(ck.assumed_options)  # JSON values


@pytest.mark.parametrize(
    "raw,match",
    [
        ({"model": {"activation": "gelu"}}, "model.activation = 'gelu' is not supported"),
        ({"model": {"aggregate_mode": "max"}}, "model.aggregate_mode = 'max'"),
        ({"model": {"cnn_mode": "resnet_18"}, "observation_type": "pixels"},
         "model.cnn_mode = 'resnet_18' is not supported"),
        ({"model": {}, "observation_type": "blind"}, "observation_type 'blind' is not supported"),
        ({"model": {}, "action_type_str": "hybrid"}, "action_type_str 'hybrid' is not supported"),
        ({"model": {"fc_layer_depth": 3, "actor_depth": 5}},
         "model.fc_layer_depth = 3 contradicts model.actor_depth = 5"),
        ({"model": {"recurrent_model": "no"}}, "recurrent_model: expected a bool, got 'no'"),
    ],
)  # fmt: skip
def test_unsupported_option_values_name_option_and_value(reference, tmp_path, raw, match):
    save_safetensors(reference.flat_noise("tf_md"), tmp_path / "params.safetensors")
    (tmp_path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(KinetixCheckpointError, match=re.escape(match)):
        read_kinetix_checkpoint(tmp_path)


def test_writer_states_every_model_option(reference, tmp_path):
    """config.json is JSON-native and its model block holds every option Kinetix reads (the
    fixture's set, written by the reference package's own flow), atomically written."""
    for arch, opts, obs, _, act, size in FAMILIES[::3]:
        d = tmp_path / arch
        params = _noise_params(arch, {**SMALL, **opts}, obs, act, size)
        write_kinetix_checkpoint(d, arch, {**SMALL, **opts}, params, obs_type=obs,
                                 action_type=act, size=size)  # fmt: skip
        model = json.loads((d / "config.json").read_text())["model"]
        assert set(model) == set(reference.case("tf_md")["model"]), arch
        assert model["permutation_invariant_mlp"] == (arch == "perm-invariant-mlp@v1")
        assert model["recurrent_model"] is False and model["actor_width"] == SMALL["actor_width"]
        assert sorted(os.listdir(d)) == ["config.json", "params.safetensors"]  # no temp files
