"""Submission loading (harness.submissions) and ``kinetix-bench submit --dry-run``: valid
folders load; every malformed or hostile one is refused with an error naming the file/key."""

from __future__ import annotations

import builtins
import hashlib
import json
import pickle
import re
import shutil
import struct
import types
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from harness.cli import main
from harness.submission_policies import policy_for, write_parameter_free_submission
from harness.submissions import SubmissionError, check_compatible, load_submission

REPO = Path(__file__).resolve().parents[2]
TINY = {"actor_depth": 1, "critic_depth": 1, "actor_width": 8, "critic_width": 8}
KEY = "params/Dense_0/kernel"
BIAS = "params/GeneralActorCriticRNN_0/Dense_1/bias"


@pytest.fixture(scope="module")
def tiny_params():
    import jax

    from baselines.networks import init_params

    return init_params("mlp-flat@v1", TINY, "flat", "multi_discrete", "s", jax.random.PRNGKey(0))


@pytest.fixture(scope="module")
def valid_dir(tmp_path_factory, tiny_params):
    from baselines.ppo.export import export_submission
    from kinetix.env import EnvConfig

    out = tmp_path_factory.mktemp("subs") / "tiny-flat"
    env = EnvConfig(size="s", obs_type="flat", action_type="multi_discrete")
    return export_submission(out, "mlp-flat@v1", TINY, tiny_params, env, {"name": "tiny"})


@pytest.fixture(scope="module")
def kinetix_dir(tmp_path_factory, tiny_params):
    from baselines.networks import write_kinetix_checkpoint

    out = tmp_path_factory.mktemp("kx") / "kinetix-flat"
    write_kinetix_checkpoint(
        out,
        "mlp-flat@v1",
        TINY,
        tiny_params,
        obs_type="flat",
        action_type="multi_discrete",
        size="s",
    )
    return out


@pytest.fixture
def sub(tmp_path, valid_dir):
    """A fresh writable copy of the valid submission."""
    return Path(shutil.copytree(valid_dir, tmp_path / "sub"))


def _model(d: Path) -> Path:
    return d / "model.safetensors"


def _edit_tensors(d: Path, fn) -> None:
    flat = dict(load_file(str(_model(d))))
    fn(flat)
    save_file(flat, str(_model(d)))


def _edit_config(d: Path, **changes) -> None:
    raw = json.loads((d / "config.json").read_text())
    raw.update(changes)
    (d / "config.json").write_text(json.dumps(raw))


def _write_raw(path: Path, header: dict, data: bytes) -> None:
    hb = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(hb)) + hb + data)


# ------------------------------------------------------------------------------ valid ones
def test_valid_submission_loads(valid_dir, tiny_params):
    from baselines.networks import param_count

    s = load_submission(valid_dir, benchmark="handmade-s-v1")
    assert (s.kind, s.architecture, s.obs_type, s.env_size) == (
        "kinetix-bench",
        "mlp-flat@v1",
        "flat",
        "s",
    )
    assert s.arch_config.actor_width == 8
    assert s.param_count == param_count(tiny_params) > 0
    assert s.sha256 == hashlib.sha256(_model(valid_dir).read_bytes()).hexdigest()
    assert s.model_card.startswith("---\nlibrary_name: kinetix-bench")
    got = np.asarray(s.params["params"]["Dense_0"]["kernel"])
    np.testing.assert_array_equal(got, np.asarray(tiny_params["params"]["Dense_0"]["kernel"]))
    assert s.summary()["files"]["model.safetensors"] == _model(valid_dir).stat().st_size


def test_kinetix_checkpoint_loads(kinetix_dir, tiny_params):
    s = load_submission(kinetix_dir, benchmark="handmade-s-v1")
    assert (s.kind, s.architecture, s.obs_type, s.action_type, s.env_size) == (
        "kinetix",
        "mlp-flat@v1",
        "flat",
        "multi_discrete",
        "s",
    )
    assert s.model_card == ""
    got = np.asarray(s.params["params"]["Dense_0"]["bias"])
    np.testing.assert_array_equal(got, np.asarray(tiny_params["params"]["Dense_0"]["bias"]))


@pytest.mark.parametrize("name", ["noop", "random"])
def test_parameter_free_submissions(tmp_path, name):
    committed = REPO / "submissions" / name
    s = load_submission(committed, benchmark="handmade-all-v1")
    assert s.params is None and s.param_count == 0 and s.architecture == name
    assert (s.obs_type, s.action_type, s.env_size) == ("any", "any", "any")
    assert s.sha256 == hashlib.sha256((committed / "config.json").read_bytes()).hexdigest()
    assert "library_name: kinetix-bench" in s.model_card
    fresh = write_parameter_free_submission(tmp_path / name, name)
    for f in ("config.json", "README.md"):  # the committed folders are what the writer writes
        assert (fresh / f).read_bytes() == (committed / f).read_bytes()

    from kinetix.env import EnvConfig

    assert callable(policy_for(s, EnvConfig(size="m", obs_type="pixels", action_type="discrete")))


def test_hub_repo_from_fabricated_cache(tmp_path):
    sha = "a" * 40
    root = tmp_path / "models--org--noop"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(sha)
    shutil.copytree(REPO / "submissions" / "noop", root / "snapshots" / sha)
    s = load_submission("org/noop@main", cache_dir=tmp_path)
    assert (s.id, s.architecture) == ("org/noop@main", "noop")
    with pytest.raises(SubmissionError, match="org/missing@v1.*could not be fetched"):
        load_submission("org/missing@v1", cache_dir=tmp_path)


# ------------------------------------------------------------------------ hostile weights
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_renamed_to_safetensors_is_never_executed(sub, tmp_path, protocol):
    marker = tmp_path / "EXECUTED"

    class Boom:
        def __reduce__(self):
            return (builtins.open, (str(marker), "w"))

    _model(sub).write_bytes(pickle.dumps(Boom(), protocol=protocol))
    with pytest.raises(SubmissionError, match=r"model\.safetensors: not a safetensors file"):
        load_submission(sub)
    assert not marker.exists()


def test_pickle_message_says_pickle(sub):
    _model(sub).write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(SubmissionError, match="pickle"):
        load_submission(sub)


def test_oversized_header_length(sub):
    _model(sub).write_bytes(struct.pack("<Q", 17 * 1024 * 1024) + b"{}" + b"\0" * 64)
    with pytest.raises(SubmissionError, match=r"model\.safetensors.*header length .* cap"):
        load_submission(sub)


def test_header_length_beyond_file(sub):
    _model(sub).write_bytes(struct.pack("<Q", 1000) + b"{}" + b"\0" * 64)
    with pytest.raises(SubmissionError, match=r"model\.safetensors.*exceeds the file size"):
        load_submission(sub)


def test_too_short_and_non_json_header(sub):
    _model(sub).write_bytes(b"\x01\x02")
    with pytest.raises(SubmissionError, match="too short"):
        load_submission(sub)
    _model(sub).write_bytes(struct.pack("<Q", 4) + b"\xff\xfe{[")
    with pytest.raises(SubmissionError, match="header is not JSON"):
        load_submission(sub)


def test_truncated_data(sub):
    data = _model(sub).read_bytes()
    _model(sub).write_bytes(data[:-10])
    with pytest.raises(SubmissionError, match=r"tensor 'params/.*beyond the data.*truncated"):
        load_submission(sub)


def test_overlapping_offsets(sub):
    header = {
        "params/a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "params/b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
    }
    _write_raw(_model(sub), header, b"\0" * 24)
    with pytest.raises(SubmissionError, match="tensor 'params/b'.*overlap tensor 'params/a'"):
        load_submission(sub)


def test_offsets_disagree_with_shape_and_unknown_dtype(sub):
    header = {"params/a": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}}
    _write_raw(_model(sub), header, b"\0" * 16)
    with pytest.raises(SubmissionError, match="tensor 'params/a'.*needs 20"):
        load_submission(sub)
    header = {"params/a": {"dtype": "O", "shape": [4], "data_offsets": [0, 16]}}
    _write_raw(_model(sub), header, b"\0" * 16)
    with pytest.raises(SubmissionError, match="tensor 'params/a': unknown dtype 'O'"):
        load_submission(sub)


def test_metadata_surprises(sub):
    flat = dict(load_file(str(_model(sub))))
    save_file(flat, str(_model(sub)), metadata={"architecture": "pixels-cnn@v1"})
    with pytest.raises(SubmissionError, match="__metadata__ architecture 'pixels-cnn@v1'"):
        load_submission(sub)
    data = _model(sub).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"] = {"format": 1}
    _write_raw(_model(sub), header, data[8 + n :])
    with pytest.raises(SubmissionError, match="__metadata__ must map strings to strings"):
        load_submission(sub)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_wrong_dtype(sub, dtype):
    name = {np.float16: "F16", np.float64: "F64"}[dtype]

    def cast(flat):
        flat[KEY] = flat[KEY].astype(dtype)

    _edit_tensors(sub, cast)
    with pytest.raises(SubmissionError, match=f"key '{KEY}': dtype {name}, expected F32"):
        load_submission(sub)


def test_missing_key(sub):
    _edit_tensors(sub, lambda flat: flat.pop(BIAS))
    with pytest.raises(SubmissionError, match=f"missing key {BIAS!r}"):
        load_submission(sub)


def test_extra_key(sub):
    _edit_tensors(sub, lambda flat: flat.update({"params/Extra/kernel": np.zeros(3, np.float32)}))
    with pytest.raises(SubmissionError, match="unexpected key 'params/Extra/kernel'"):
        load_submission(sub)


def test_misshaped_key_and_all_mismatches_listed(sub):
    def damage(flat):
        flat[KEY] = flat[KEY][:, :4].copy()
        del flat[BIAS]

    _edit_tensors(sub, damage)
    with pytest.raises(SubmissionError, match=rf"key '{KEY}': shape \[\d+, 4\], expected") as e:
        load_submission(sub)
    assert f"missing key {BIAS!r}" in str(e.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights(sub, bad):
    def poison(flat):
        flat[KEY] = flat[KEY].copy()
        flat[KEY][0, 0] = bad

    _edit_tensors(sub, poison)
    with pytest.raises(SubmissionError, match=f"non-finite.*'{KEY}'"):
        load_submission(sub)


def test_model_too_big(sub):
    with pytest.raises(
        SubmissionError, match=r"model\.safetensors: \d+ bytes exceeds .*cap of 100"
    ):
        load_submission(sub, max_bytes=100)


# ----------------------------------------------------------------------------- config.json
def test_config_not_json(sub):
    (sub / "config.json").write_text("{'architecture': 'mlp-flat@v1',")
    with pytest.raises(SubmissionError, match=r"config\.json: not valid JSON"):
        load_submission(sub)
    (sub / "config.json").write_text("[1, 2]")
    with pytest.raises(SubmissionError, match=r"config\.json: must be a JSON object"):
        load_submission(sub)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"architecture": "mlp-huge@v1"}, r"config\.json: architecture: unknown .*'mlp-huge@v1'"),
        ({"architecture_version": "v2"}, r"config\.json: architecture_version 'v2' contradicts"),
        ({"obs_type": "lidar"}, r"config\.json: obs_type 'lidar' is not an observation type"),
        ({"obs_type": "entity"}, r"config\.json: obs_type 'entity' is not supported by mlp-flat"),
        ({"action_type": "joystick"}, r"config\.json: action_type 'joystick'"),
        ({"env_size": "xl"}, r"config\.json: env_size 'xl' is not one of"),
        ({"env_size": "any"}, r"config\.json: env_size 'any' but mlp-flat@v1 depends"),
        ({"backdoor": "import os"}, r"config\.json: unknown key\(s\) 'backdoor'"),
        ({"trust_remote_code": True}, r"config\.json: unknown key\(s\) 'trust_remote_code'"),
        (
            {"arch_kwargs": {"actor_width": "wide"}, "model": {"actor_width": "wide"}},
            r"config\.json: arch_kwargs: .*actor_width",
        ),
        ({"model": {"actor_width": 4}}, r"config\.json: 'model' differs from 'arch_kwargs'"),
    ],
)
def test_bad_config(sub, changes, match):
    _edit_config(sub, **changes)
    with pytest.raises(SubmissionError, match=match):
        load_submission(sub)


def test_missing_config_key(sub):
    raw = json.loads((sub / "config.json").read_text())
    del raw["env_size"]
    (sub / "config.json").write_text(json.dumps(raw))
    with pytest.raises(SubmissionError, match=r"config\.json: missing key\(s\) 'env_size'"):
        load_submission(sub)


def test_missing_files(tmp_path, sub):
    with pytest.raises(SubmissionError, match="no such folder"):
        load_submission(tmp_path / "nothing-here")
    (sub / "README.md").unlink()
    with pytest.raises(SubmissionError, match=r"missing README\.md"):
        load_submission(sub)
    (sub / "config.json").unlink()
    with pytest.raises(SubmissionError, match=r"missing config\.json"):
        load_submission(sub)


def test_weights_required_or_forbidden(sub, tmp_path):
    _model(sub).unlink()
    with pytest.raises(SubmissionError, match=r"missing model\.safetensors"):
        load_submission(sub)
    free = write_parameter_free_submission(tmp_path / "noop", "noop")
    shutil.copy(REPO / "submissions" / "noop" / "config.json", free / "model.safetensors")
    with pytest.raises(SubmissionError, match=r"model\.safetensors: noop has no parameters"):
        load_submission(free)


# ---------------------------------------------------------------------------- compatibility
def test_env_size_mismatch_with_benchmark(valid_dir):
    with pytest.raises(SubmissionError, match="env_size 's' does not match benchmark handmade-m"):
        load_submission(valid_dir, benchmark="handmade-m-v1")


def test_obs_type_the_benchmark_does_not_accept(valid_dir):
    from kinetix.actions import ACTION_TYPES

    entity_only = types.SimpleNamespace(
        id="entity-only-v1", size="s", obs_types=("entity",), action_types=ACTION_TYPES
    )
    with pytest.raises(SubmissionError, match="obs_type 'flat' is not accepted by benchmark"):
        load_submission(valid_dir, benchmark=entity_only)
    s = load_submission(valid_dir)
    discrete_only = types.SimpleNamespace(
        id="d-v1", size="s", obs_types=("flat",), action_types=("discrete",)
    )
    with pytest.raises(SubmissionError, match="action_type 'multi_discrete' is not accepted"):
        check_compatible(s, discrete_only)


# ------------------------------------------------------------------------- Kinetix format
def test_kinetix_checkpoint_bad_weights(tmp_path, kinetix_dir):
    d = Path(shutil.copytree(kinetix_dir, tmp_path / "kx"))
    p = d / "params.safetensors"
    flat = dict(load_file(str(p)))
    flat[KEY] = flat[KEY].copy()
    flat[KEY][1, 1] = np.nan
    save_file(flat, str(p))
    with pytest.raises(SubmissionError, match=f"params.safetensors: non-finite.*'{KEY}'"):
        load_submission(d)
    del flat[BIAS]
    save_file(flat, str(p))
    with pytest.raises(SubmissionError, match=f"missing key {BIAS!r}"):
        load_submission(d)
    p.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(SubmissionError, match="params.safetensors: not a safetensors file"):
        load_submission(d)


@pytest.fixture
def kx(tmp_path, kinetix_dir):
    """A fresh writable copy of the Kinetix-format checkpoint."""
    return Path(shutil.copytree(kinetix_dir, tmp_path / "kx"))


def _kx_edit(d: Path, fn) -> None:
    p = d / "params.safetensors"
    flat = dict(load_file(str(p)))
    fn(flat)
    save_file(flat, str(p))


def _set(key, value):
    return lambda flat: flat.update({key: value})


def _poison(value):
    def poison(flat):
        flat[KEY] = flat[KEY].copy()
        flat[KEY][0, 1] = value

    return poison


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda f: f.update({KEY: f[KEY].astype(np.float16)}), f"'{KEY}': dtype F16, expected F32"),
        (lambda f: f.update({KEY: f[KEY].astype(np.float64)}), f"'{KEY}': dtype F64, expected F32"),
        (lambda f: f.pop(BIAS), f"missing key {BIAS!r}"),
        (_set("params/Extra_0/kernel", np.zeros((2, 2), np.float32)),
         "unexpected key 'params/Extra_0/kernel'"),
        (lambda f: f.update({KEY: f[KEY][:, :3].copy()}), rf"'{KEY}': shape \[140, 3\]"),
        (_poison(np.nan), f"params.safetensors: non-finite.*'{KEY}'"),
        (_poison(-np.inf), f"params.safetensors: non-finite.*'{KEY}'"),
    ],
)  # fmt: skip
def test_kinetix_checkpoint_hostile_tensors(kx, damage, match):
    _kx_edit(kx, damage)
    with pytest.raises(SubmissionError, match=match) as e:
        load_submission(kx)
    assert "(Kinetix checkpoint)" in str(e.value)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_kinetix_pickle_renamed_is_never_executed(kx, tmp_path, protocol):
    marker = tmp_path / "EXECUTED"

    class Boom:
        def __reduce__(self):
            return (builtins.open, (str(marker), "w"))

    (kx / "params.safetensors").write_bytes(pickle.dumps(Boom(), protocol=protocol))
    with pytest.raises(SubmissionError, match=r"params\.safetensors: not a safetensors file"):
        load_submission(kx)
    assert not marker.exists()


def test_kinetix_oversized_header_and_size_cap(kx):
    p = kx / "params.safetensors"
    with pytest.raises(SubmissionError, match=r"params\.safetensors: \d+ bytes exceeds .*cap"):
        load_submission(kx, max_bytes=100)
    p.write_bytes(struct.pack("<Q", 17 * 1024 * 1024) + b"{}" + b"\0" * 64)
    with pytest.raises(SubmissionError, match=r"params\.safetensors.*header length .* cap"):
        load_submission(kx)


def test_kinetix_keys_outside_params_are_ignored_but_checked(kx, kinetix_dir):
    """Another collection (``custom_intermediates/...``) is ignored: not in the parameters, its
    data never read; its header entry is still checked like every other."""
    _kx_edit(kx, _set("custom_intermediates/dormancy", np.full(3, np.nan, np.float32)))
    s = load_submission(kx)  # NaN outside params/ does not matter: never read
    assert list(s.params) == ["params"]
    ref = load_submission(kinetix_dir)
    assert (s.architecture, s.param_count) == (ref.architecture, ref.param_count)
    p = kx / "params.safetensors"
    data = p.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    header["custom_intermediates/dormancy"]["dtype"] = "O"
    _write_raw(p, header, data[8 + n :])
    with pytest.raises(SubmissionError, match="'custom_intermediates/dormancy': unknown dtype"):
        load_submission(kx)


def test_kinetix_assumed_options_and_unsupported_values(kx):
    raw = json.loads((kx / "config.json").read_text())
    model = raw["model"]
    for k in ("activation", "recurrent_model", "critic_width"):
        model.pop(k)
    (kx / "config.json").write_text(json.dumps(raw))
    with pytest.raises(SubmissionError, match="critic_width") as e:  # paper width 128 != 8
        load_submission(kx)
    assert "assumed" in str(e.value)
    model["critic_width"] = 8
    (kx / "config.json").write_text(json.dumps(raw))
    s = load_submission(kx)
    assert s.assumed_options == {"activation": "tanh", "recurrent_model": False}
    assert s.summary()["assumed_options"] == s.assumed_options and s.key_names == "3.x"
    for key, value in (("activation", "gelu"), ("cnn_mode", "resnet_18")):
        (kx / "config.json").write_text(json.dumps({**raw, "model": {**model, key: value}}))
        if key == "cnn_mode":  # another family's option: Kinetix ignores it for a flat MLP
            assert load_submission(kx).architecture == "mlp-flat@v1"
            continue
        with pytest.raises(SubmissionError, match=f"model.{key} = '{value}' is not supported"):
            load_submission(kx)
    (kx / "config.json").write_text(json.dumps({**raw, "observation_type": "blind"}))
    with pytest.raises(SubmissionError, match="observation_type 'blind' is not supported"):
        load_submission(kx)


# -------------------------------------------------------------------------------------- CLI
def test_cli_dry_run_ok(valid_dir, capsys):
    assert main(["submit", "--dry-run", str(valid_dir), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    rec = json.loads(out[0])
    assert rec["ok"] and rec["what"] == "submit-dry-run"
    assert rec["submission"]["architecture"] == "mlp-flat@v1"
    assert rec["submission"]["sha256"] == load_submission(valid_dir).sha256
    assert rec["rollout"]["attempts"] == 2 and rec["rollout"]["steps"] == 32
    assert np.isfinite(rec["rollout"]["mean_return"])


def _nan(d):
    _edit_tensors(d, lambda f: f.update({KEY: np.full_like(f[KEY], np.nan)}))


@pytest.mark.parametrize(
    ("damage", "extra", "match"),
    [
        (lambda d: _model(d).write_bytes(pickle.dumps(1)), [], "model.safetensors: not a"),
        (_nan, [], f"non-finite.*{KEY}"),
        (lambda d: _edit_config(d, architecture="nope@v1"), [], "config.json: architecture"),
        (lambda d: None, ["--benchmark", "handmade-l-v1"], "env_size 's' does not match"),
        (lambda d: None, ["--max-bytes", "10"], "model.safetensors: .* exceeds"),
        (lambda d: (d / "config.json").write_text("nope"), [], "config.json: not valid JSON"),
    ],
)
def test_cli_dry_run_errors(sub, capsys, damage, extra, match):
    damage(sub)
    assert main(["submit", "--dry-run", str(sub), "--json", *extra]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(match, lines[0]), lines[0]


def test_cli_submit_without_dry_run_queues_after_the_checks(valid_dir, capsys, tmp_path):
    # the queue itself is tested in tests/harness/test_queue.py
    queue = tmp_path / "queue"
    assert main(["submit", str(valid_dir), "--queue", str(queue), "--json"]) == 0
    assert len(list(queue.glob("*.json"))) == 1
    capsys.readouterr()
    bad = tmp_path / "bad"
    bad.mkdir()
    assert main(["submit", str(bad), "--queue", str(queue)]) == 2  # checks fail: not queued
    assert len(list(queue.glob("*.json"))) == 1
