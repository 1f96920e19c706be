"""Submission loading (harness.submissions) and ``kinetix-bench submit --dry-run``: valid
folders load; a malformed ``config.json`` (in either format), missing files or a benchmark the
submission does not fit is refused with an error naming the file/key. Malformed and hostile weight
files: test_submission_hostile.py; shared helpers: submission_helpers.py."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
from submission_helpers import (
    KEY,
    edit_tensors,
    export_tiny,
    make_tiny_params,
    model_path,
    write_tiny_kinetix,
)

from harness.cli import main
from harness.submissions import SubmissionError, check_compatible, load_submission
from harness.submissions.policies import policy_for, write_parameter_free_submission

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tiny_params():
    return make_tiny_params()


@pytest.fixture(scope="module")
def valid_dir(tmp_path_factory, tiny_params):
    return export_tiny(tmp_path_factory.mktemp("subs") / "tiny-flat", tiny_params)


@pytest.fixture(scope="module")
def kinetix_dir(tmp_path_factory, tiny_params):
    return write_tiny_kinetix(tmp_path_factory.mktemp("kx") / "kinetix-flat", tiny_params)


@pytest.fixture
def sub(tmp_path, valid_dir):
    """A fresh writable copy of the valid submission."""
    return Path(shutil.copytree(valid_dir, tmp_path / "sub"))


@pytest.fixture
def kx(tmp_path, kinetix_dir):
    """A fresh writable copy of the Kinetix-format checkpoint."""
    return Path(shutil.copytree(kinetix_dir, tmp_path / "kx"))


def _edit_config(d: Path, **changes) -> None:
    raw = json.loads((d / "config.json").read_text())
    raw.update(changes)
    (d / "config.json").write_text(json.dumps(raw))


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
    assert s.sha256 == hashlib.sha256(model_path(valid_dir).read_bytes()).hexdigest()
    assert s.model_card.startswith("---\nlibrary_name: kinetix-bench")
    got = np.asarray(s.params["params"]["Dense_0"]["kernel"])
    np.testing.assert_array_equal(got, np.asarray(tiny_params["params"]["Dense_0"]["kernel"]))
    assert s.summary()["files"]["model.safetensors"] == model_path(valid_dir).stat().st_size


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
    model_path(sub).unlink()
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
    edit_tensors(d, lambda f: f.update({KEY: np.full_like(f[KEY], np.nan)}))


@pytest.mark.parametrize(
    ("damage", "extra", "match"),
    [
        (lambda d: model_path(d).write_bytes(pickle.dumps(1)), [], "model.safetensors: not a"),
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
    # the queue itself is tested in tests/harness/leaderboard/test_queue.py
    queue = tmp_path / "queue"
    assert main(["submit", str(valid_dir), "--queue", str(queue), "--json"]) == 0
    assert len(list(queue.glob("*.json"))) == 1
    capsys.readouterr()
    bad = tmp_path / "bad"
    bad.mkdir()
    assert main(["submit", str(bad), "--queue", str(queue)]) == 2  # checks fail: not queued
    assert len(list(queue.glob("*.json"))) == 1
