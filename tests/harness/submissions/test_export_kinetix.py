"""``kinetix-bench submission export-kinetix``: our submissions in Kinetix's checkpoint format,
read back as Kinetix submissions with identical logits; refusals are one-line errors."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import jax
import numpy as np
import pytest

from harness.cli import main
from harness.submissions import load_submission

SMALL_TF = {
    "actor_depth": 2, "critic_depth": 2, "actor_width": 16, "critic_width": 16,
    "transformer_encoder_size": 16, "transformer_size": 8, "num_heads": 4,
    "transformer_depth": 1, "legacy_entity_id": True,
}  # fmt: skip
TINY_FLAT = {"actor_depth": 1, "critic_depth": 1, "actor_width": 8, "critic_width": 8}


def _ours(root, arch, cfg, obs, act, size, name):
    from baselines.networks import abstract_params, flatten_params, unflatten_params
    from baselines.ppo.export import export_submission
    from kinetix.env import EnvConfig

    rng = np.random.default_rng(1)  # noise with the right shapes: no init to compile
    flat = flatten_params(abstract_params(arch, cfg, obs, act, size))
    params = unflatten_params(
        {k: (rng.normal(size=v.shape) * 0.5).astype(np.float32) for k, v in flat.items()}
    )
    env = EnvConfig(size=size, obs_type=obs, action_type=act)
    return export_submission(root / name, arch, cfg, params, env, {"name": name})


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """Two of our submissions: a small entity transformer (any size, discrete actions) and a
    tiny flat MLP (S, multi-discrete)."""
    root = tmp_path_factory.mktemp("ours")
    return {
        "tf": _ours(root, "entity-transformer@v1", SMALL_TF, "entity", "discrete", "s", "tf"),
        "flat": _ours(root, "mlp-flat@v1", TINY_FLAT, "flat", "multi_discrete", "s", "flat"),
    }


def _observation(obs_type: str, batch: int = 3):
    """Random S observations (1, B, ...): normal features, random masks, valid indexes."""
    from baselines.networks import dummy_observation

    rng = np.random.default_rng(0)
    zeros = dummy_observation(obs_type, "s", (1, batch))

    def fill(x):
        x = np.asarray(x)
        if x.dtype == np.bool_:
            return rng.random(x.shape) < 0.7
        if np.issubdtype(x.dtype, np.integer):  # joint / thruster indexes: some shape 0..4
            return rng.integers(0, 5, x.shape).astype(x.dtype)
        return rng.normal(size=x.shape).astype(x.dtype)

    return jax.tree.map(fill, zeros)


def _outputs(sub, obs):
    from baselines.networks import build_network

    net = build_network(sub.architecture, sub.arch_config, sub.obs_type, sub.action_type)
    b = jax.tree.leaves(obs)[0].shape[1]
    _, dist, value = jax.jit(net.apply)(
        sub.params, net.initial_hidden(b), obs, np.zeros((1, b), bool)
    )
    return [np.asarray(x) for x in (*jax.tree.leaves(dist), value)]


@pytest.mark.parametrize("which,obs_type", [("tf", "entity"), ("flat", "flat")])
def test_export_round_trip_gives_identical_logits(ours, tmp_path, capsys, which, obs_type):
    src = ours[which]
    out = tmp_path / "kx"
    assert main(["submission", "export-kinetix", str(src), "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["what"] == "export-kinetix" and set(report["files"]) == {
        "params.safetensors",
        "config.json",
    }
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "params.safetensors"]
    raw = json.loads((out / "config.json").read_text())
    assert raw["name"] == which and raw["exported_from"]["submission"] == which
    assert (
        raw["observation_type"] == {"entity": "symbolic_entity", "flat": "symbolic_flat"}[obs_type]
    )
    for key in ("recurrent_model", "permutation_invariant_mlp", "legacy_entity_id", "cnn_mode"):
        assert key in raw["model"]  # every option stated, as the reference loader needs
    mine, theirs = load_submission(src), load_submission(out)
    assert theirs.kind == "kinetix" and theirs.assumed_options == {}
    assert (theirs.architecture, theirs.arch_config, theirs.action_type, theirs.env_size) == (
        mine.architecture,
        mine.arch_config,
        mine.action_type,
        mine.env_size,
    )
    assert report["param_count"] == mine.param_count == theirs.param_count
    obs = _observation(obs_type)
    for a, b in zip(_outputs(mine, obs), _outputs(theirs, obs), strict=True):
        np.testing.assert_array_equal(a, b)
    assert float(np.std(_outputs(mine, obs)[0])) > 0  # the logits depend on the observation


def test_export_refusals_are_one_line_errors(ours, tmp_path, capsys, monkeypatch):
    def run(*args):
        code = main(["submission", "export-kinetix", *map(str, args)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
        return err[0]

    out = tmp_path / "kx"
    assert "parameter-free" in run("noop", "--out", out)
    assert not out.exists()
    assert main(["submission", "export-kinetix", str(ours["flat"]), "--out", str(out)]) == 0
    capsys.readouterr()
    assert re.search(r"already holds params\.safetensors, config\.json; pass --force",
                     run(ours["flat"], "--out", out))  # fmt: skip
    assert (
        main(["submission", "export-kinetix", str(ours["tf"]), "--out", str(out), "--force"]) == 0
    )
    assert load_submission(out).architecture == "entity-transformer@v1"
    capsys.readouterr()
    assert "holds model.safetensors" in run(ours["flat"], "--out", ours["tf"])
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in run(ours["flat"], "--out", tmp_path / "file")

    # an architecture with no Kinetix equivalent (a stand-in registered name)
    import harness.commands.submission as cmd

    real = cmd._load

    def fake(args):
        return dataclasses.replace(real(args), architecture="toy-net@v1")

    monkeypatch.setattr(cmd, "_load", fake)
    msg = run(ours["flat"], "--out", tmp_path / "toy")
    assert "'toy-net@v1' has no Kinetix equivalent" in msg
    assert not (tmp_path / "toy").exists()


def test_paper_era_checkpoint_is_exported_with_current_names(ours, tmp_path, capsys):
    """A Kinetix checkpoint with paper-era keys and no legacy flag re-exports with 3.x names
    and legacy_entity_id stated true; both load to the same parameters."""
    from safetensors.numpy import load_file, save_file

    kx = tmp_path / "kx"
    assert main(["submission", "export-kinetix", str(ours["tf"]), "--out", str(kx)]) == 0
    capsys.readouterr()
    old = tmp_path / "old"
    shutil.copytree(kx, old)
    head = "params/GeneralActorCriticRNN_0/"
    names = {  # depth 2: actor 0, 1 / critic 2, 3 interleaved, then logits and value
        f"{head}DenseAndActivation_0/Dense_0": f"{head}Dense_0",
        f"{head}DenseAndActivation_2/Dense_0": f"{head}Dense_1",
        f"{head}DenseAndActivation_1/Dense_0": f"{head}Dense_2",
        f"{head}DenseAndActivation_3/Dense_0": f"{head}Dense_3",
        f"{head}Dense_0": f"{head}Dense_4",
        f"{head}Dense_1": f"{head}Dense_5",
    }
    flat = load_file(str(kx / "params.safetensors"))
    renamed = {}
    for k, v in flat.items():
        base, leaf = k.rsplit("/", 1)
        renamed[f"{names.get(base, base)}/{leaf}"] = v
    save_file(renamed, str(old / "params.safetensors"))
    raw = json.loads((old / "config.json").read_text())
    del raw["model"]["legacy_entity_id"]
    (old / "config.json").write_text(json.dumps(raw))
    s = load_submission(old)
    assert s.key_names == "v0.1.0" and s.assumed_options == {"legacy_entity_id": True}
    assert main(["submission", "info", str(old)]) == 0
    text = capsys.readouterr().out
    assert "Kinetix v0.1.0" in text and "legacy_entity_id=True" in text
    new = tmp_path / "new"
    assert main(["submission", "export-kinetix", str(old), "--out", str(new)]) == 0
    back = load_submission(new)
    assert back.key_names == "3.x" and back.assumed_options == {}
    assert json.loads((new / "config.json").read_text())["model"]["legacy_entity_id"] is True
    assert load_file(str(new / "params.safetensors")).keys() == flat.keys()
    assert back.sha256 == load_submission(kx).sha256  # the same bytes as the first export
