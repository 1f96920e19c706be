"""Multi-seed submissions (``seeds.json``, :mod:`harness.submissions.seeds`): combining
single-seed folders, loading every seed with its checks, and malformed manifests refused with the
field named."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.submissions import SubmissionError, combine_seeds, load_submission
from tests.harness.submissions.submission_helpers import TINY, export_tiny


def _params(k: int):
    import jax

    from baselines.networks import init_params

    return init_params("mlp-flat@v1", TINY, "flat", "multi_discrete", "s", jax.random.PRNGKey(k))


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("members")
    return [export_tiny(root / f"run-seed{k}", _params(k)) for k in range(3)]


@pytest.fixture(scope="module")
def multi(members, tmp_path_factory) -> Path:
    return combine_seeds(members, tmp_path_factory.mktemp("multi") / "tiny-3seeds", seeds=[0, 1, 2])


def _copy(multi: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(multi, out)
    return out


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "seeds.json").read_text())


def _write_manifest(folder: Path, m: dict) -> None:
    (folder / "seeds.json").write_text(json.dumps(m))


def test_combined_folder_loads_every_seed(multi, members):
    sub = load_submission(multi)
    assert sub.kind == "kinetix-bench" and sub.n_seeds == 3 and sub.seed_ids == [0, 1, 2]
    assert sub.sha256 == hashlib.sha256((multi / "seeds.json").read_bytes()).hexdigest()
    singles = [load_submission(m) for m in members]
    for seed, single in zip(sub.seeds, singles, strict=True):
        assert seed.sha256 == single.sha256  # byte copies
        assert seed.file == f"seeds/{seed.seed}/model.safetensors"
        a = seed.params["params"]["Dense_0"]["kernel"]
        np.testing.assert_array_equal(np.asarray(a), single.params["params"]["Dense_0"]["kernel"])
    k0 = np.asarray(sub.seeds[0].params["params"]["Dense_0"]["kernel"])
    k1 = np.asarray(sub.seeds[1].params["params"]["Dense_0"]["kernel"])
    assert not np.array_equal(k0, k1)  # really different seeds
    assert sub.params is sub.seeds[0].params  # episodes / GIFs use the first seed
    views = sub.seed_views()
    assert [v.sha256 for v in views] == [s.sha256 for s in singles]
    assert all(v.seeds is None and v.n_seeds == 1 for v in views)
    summary = sub.summary()
    assert [s["seed"] for s in summary["seeds"]] == [0, 1, 2]
    assert set(summary["files"]) >= {"seeds.json", "seeds/2/model.safetensors", "README.md"}
    card = (multi / "README.md").read_text()
    assert card.startswith("---\n") and "## Seed 2" in card and "run-seed1" in card


def test_single_seed_submission_has_no_seeds(members):
    sub = load_submission(members[0])
    assert sub.seeds is None and sub.n_seeds == 1 and sub.seed_ids is None
    assert sub.seed_views() == [sub] and "seeds" not in sub.summary()


def _set(path, value):
    def edit(m):
        cur = m
        for p in path[:-1]:
            cur = cur[p]
        if value is _DELETE:
            del cur[path[-1]]
        else:
            cur[path[-1]] = value

    return edit


_DELETE = object()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set(("format",), "seeds/2"), r"field 'format' must be 'kinetix-bench-seeds/1'"),
        (_set(("format",), _DELETE), r"field 'format' is missing"),
        (_set(("extra",), 1), r"field 'extra' is not a seeds.json key"),
        (_set(("seeds",), {}), r"field 'seeds' must be a list"),
        (lambda m: m["seeds"].__delitem__(slice(1, None)), r"'seeds' lists 1 seed\(s\)"),
        (_set(("seeds", 1, "seed"), 0), r"field 'seeds\[1\]\.seed' repeats seed 0"),
        (_set(("seeds", 1, "seed"), -1), r"field 'seeds\[1\]\.seed' must be an integer >= 0"),
        (_set(("seeds", 1, "seed"), True), r"field 'seeds\[1\]\.seed' must be an integer"),
        (_set(("seeds", 2, "sha256"), _DELETE), r"field 'seeds\[2\]\.sha256' is missing"),
        (_set(("seeds", 2, "sha256"), "abc"), r"'seeds\[2\]\.sha256' must be a sha256 hex"),
        (_set(("seeds", 2, "sha256"), "0" * 64), r"'seeds\[2\]\.sha256' is 000000000000"),
        (
            _set(("seeds", 0, "file"), "../x/model.safetensors"),
            r"field 'seeds\[0\]\.file' must be 'seeds/0/model.safetensors'",
        ),
        (_set(("seeds", 0, "source"), 3), r"field 'seeds\[0\]\.source' must be a string"),
        (_set(("seeds", 0, "note"), "x"), r"field 'seeds\[0\]\.note' is not a seed entry key"),
    ],
)
def test_bad_manifest_names_the_field(multi, tmp_path, edit, message):
    d = _copy(multi, tmp_path)
    m = _manifest(d)
    edit(m)
    _write_manifest(d, m)
    with pytest.raises(SubmissionError, match=message):
        load_submission(d)


def test_bad_folders_are_refused(multi, members, tmp_path):
    d = _copy(multi, tmp_path)
    shutil.copytree(d / "seeds" / "2", d / "seeds" / "7")
    with pytest.raises(SubmissionError, match=r"seeds/7: not listed in seeds.json"):
        load_submission(d)
    shutil.rmtree(d / "seeds" / "7")
    (d / "seeds" / "1" / "model.safetensors").unlink()
    with pytest.raises(SubmissionError, match=r"'seeds\[1\]\.file' names seeds/1/model"):
        load_submission(d)
    d2 = _copy(multi, tmp_path / "b")
    shutil.copyfile(members[0] / "model.safetensors", d2 / "model.safetensors")
    with pytest.raises(SubmissionError, match=r"holds both model.safetensors and seeds.json"):
        load_submission(d2)
    d3 = _copy(multi, tmp_path / "c")
    (d3 / "seeds" / "0" / "model.safetensors").write_bytes(b"not a safetensors file")
    m = _manifest(d3)
    m["seeds"][0]["sha256"] = hashlib.sha256(b"not a safetensors file").hexdigest()
    _write_manifest(d3, m)
    with pytest.raises(SubmissionError, match=r"seeds/0/model.safetensors"):
        load_submission(d3)  # the seed's weights get the single-seed checks
    d4 = _copy(multi, tmp_path / "d")
    shutil.copyfile(members[0] / "model.safetensors", d4 / "params.safetensors")
    with pytest.raises(SubmissionError, match=r"holds both params.safetensors and seeds.json"):
        load_submission(d4)  # a Kinetix checkpoint is one seed
    d5 = _copy(multi, tmp_path / "e")
    (d5 / "policy.jax_exported").write_bytes(b"x")
    with pytest.raises(SubmissionError, match=r"holds a program .* and seeds.json"):
        load_submission(d5)  # so is an exported program


def test_parameter_free_policy_has_no_seeds(multi, tmp_path):
    d = tmp_path / "noop-seeds"
    shutil.copytree(Path(__file__).resolve().parents[3] / "submissions" / "noop", d)
    shutil.copyfile(multi / "seeds.json", d / "seeds.json")
    with pytest.raises(SubmissionError, match=r"noop has no parameters, so no training seeds"):
        load_submission(d)


def test_combine_refuses_mixed_methods(members, multi, tmp_path):
    from tests.harness.submissions.submission_helpers import export_tiny as _export

    other = tmp_path / "other"
    _export(other, _params(5))
    cfg = json.loads((other / "config.json").read_text())
    cfg["env_size"] = "m"
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SubmissionError):
        combine_seeds([members[0], other], tmp_path / "x")
    with pytest.raises(SubmissionError, match=r"single-seed kinetix-bench submission"):
        combine_seeds([members[0], multi], tmp_path / "y")
    with pytest.raises(SubmissionError, match=r"give 2 to 64"):
        combine_seeds([members[0]], tmp_path / "z")
    with pytest.raises(SubmissionError, match=r"distinct"):
        combine_seeds(members[:2], tmp_path / "w", seeds=[3, 3])
    with pytest.raises(SubmissionError, match=r"exists and is not empty"):
        combine_seeds(members[:2], multi)


def test_submit_dry_run_checks_a_multi_seed_submission(multi, capsys):
    assert main(["submit", str(multi), "--dry-run", "--json", "--steps", "4"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["ok"] and [s["seed"] for s in out["submission"]["seeds"]] == [0, 1, 2]


def test_combine_seeds_command(members, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["submission", "combine-seeds", *map(str, members), "--out", str(out)]
    assert main([*argv, "--seeds", "10,11,12", "--name", "tiny3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["what"] == "combine-seeds" and res["seeds"] == [10, 11, 12]
    sub = load_submission(out)
    assert sub.seed_ids == [10, 11, 12] and sub.raw_config["name"] == "tiny3"
    assert res["sha256"] == sub.sha256
    assert main([*argv]) == 2  # the folder exists now
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["submission", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [s["seed"] for s in info["seeds"]] == [10, 11, 12]


def test_hub_reference_to_a_multi_seed_folder(multi, tmp_path, monkeypatch):
    """Hub snapshots are symlinks into blobs/: every seed loads through them, and the download
    patterns fetch seeds.json and seeds/*/model.safetensors (and nothing else of the folder)."""
    import os

    import huggingface_hub.constants as hc
    from huggingface_hub.utils import filter_repo_objects

    from harness.submissions import HUB_FILES

    sha = "0123456789abcdef0123456789abcdef01234567"
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    root = cache / "models--o--seeds"
    (root / "blobs").mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(sha)
    for f in sorted(p for p in multi.rglob("*") if p.is_file()):
        data = f.read_bytes()
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = root / "snapshots" / sha / "m" / f.relative_to(multi)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    sub = load_submission("hf://o/seeds/m")
    assert sub.seed_ids == [0, 1, 2] and sub.source["commit"] == sha
    assert sub.sha256 == load_submission(multi).sha256
    names = ["m/seeds.json", "m/seeds/1/model.safetensors", "m/config.json", "m/notes.bin"]
    kept = list(filter_repo_objects(names, allow_patterns=["m/" + f for f in HUB_FILES]))
    assert kept == names[:3]
