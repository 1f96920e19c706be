"""Kinetix checkpoint I/O: the reference's own file bytes, our writer, round trips, header checks,
and errors naming the key or field."""

from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np
import pytest

from baselines.networks import (
    EntityTransformerConfig,
    FlatMLPConfig,
    KinetixCheckpointError,
    abstract_params,
    check_kinetix_params_file,
    flatten_params,
    header_mismatches,
    read_kinetix_checkpoint,
    read_safetensors_header,
    write_kinetix_checkpoint,
)
from baselines.networks.kinetix_checkpoint import KINETIX_OBS_TYPES, config_from_kinetix_model
from baselines.networks.params_io import save_safetensors

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
