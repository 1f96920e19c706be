"""harness.levels.build / harness.levels.card / harness.levels.manifest: ``levels build``.

The tiny recipe of ``conftest.py`` is built twice per module (the second time with
``force`` over a folder holding junk): the two folders must be byte-identical. Every other test
reads these builds (copies when it tampers with them). Building compiles the generator and env
programs, so nothing else builds a full dataset.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.levels.build import build_dataset
from harness.levels.manifest import (
    DatasetError,
    DatasetIntegrityError,
    load_manifest,
    split_files,
    verify_dataset,
)
from harness.levels.recipes import load_recipe


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def builds(recipe_file, tmp_path_factory):
    """``(first, second, manifest, log)``: the recipe built twice into two folders."""
    recipe = load_recipe(recipe_file)
    log: list[str] = []
    first = tmp_path_factory.mktemp("build1") / "levels"
    manifest = build_dataset(recipe, first, progress=False, log=log.append)
    parent = tmp_path_factory.mktemp("build2")
    second = parent / "levels"
    second.mkdir()
    (second / "junk.txt").write_text("replaced by a forced build")
    build_dataset(recipe, second, force=True, progress=False)
    assert sorted(p.name for p in parent.iterdir()) == ["levels"]  # no temp or old folder left
    return first, second, manifest, log


@pytest.fixture(scope="module")
def dataset(builds) -> Path:
    return builds[0]


@pytest.fixture
def copy(dataset, tmp_path) -> Path:
    """A private copy of the dataset (for tampering)."""
    dst = tmp_path / "copy"
    shutil.copytree(dataset, dst)
    return dst


# ----------------------------------------------------------------------------- the build
def test_builds_are_byte_identical(builds):
    first, second, _, _ = builds
    a, b = _digests(first), _digests(second)
    assert "README.md" in a and "benchmark.json" in a
    assert "thumbnails/handmade-s.png" in a and "thumbnails/random-s.png" in a
    assert "junk.txt" not in b
    assert a == b


def test_layout_and_manifest(builds):
    root, _, manifest, log = builds
    assert load_manifest(root) == json.loads(json.dumps(manifest))
    assert manifest["name"] == "tiny-levels" and manifest["version"] == "1.2.3"
    assert manifest["platform"] == "cpu"
    assert manifest["recipe"]["shard_rows"] == 5
    rnd = manifest["configs"]["random-s"]
    assert rnd["filter"] == "noop" and rnd["random_episodes"] == 0 and rnd["env_size"] == "s"
    assert rnd["splits"]["validation"]["files"] == [
        f"random-s/validation-{i:05d}-of-00003.parquet" for i in range(3)
    ]
    assert rnd["splits"]["test"]["files"] == [
        f"random-s/test-{i:05d}-of-00002.parquet" for i in range(2)
    ]
    assert rnd["splits"]["validation"]["num_rows"] == 12
    assert rnd["splits"]["validation"]["seed"] == 1
    assert "mean_random_solve_rate" not in rnd["splits"]["validation"]
    hm = manifest["configs"]["handmade-s"]["splits"]["test"]
    assert "mean_random_solve_rate" in hm
    rows = [manifest["files"][f]["num_rows"] for f in rnd["splits"]["validation"]["files"]]
    assert rows == [5, 5, 2]
    parquet = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert parquet == sorted(manifest["files"])
    assert any("random-s/validation: 12 levels, 3 shard(s)" in line for line in log)


def test_verify_passes(dataset):
    verify_dataset(dataset)
    verify_dataset(dataset, deep=False)
    verify_dataset(dataset, configs=["random-s"])
    with pytest.raises(DatasetError, match="no config 'nope'"):
        verify_dataset(dataset, configs=["nope"])


def test_columns(dataset):
    from kinetix.generator import GENERATOR_VERSION
    from kinetix.level_files import read_level_table

    val = read_level_table(split_files(dataset, "random-s", "validation"))
    assert val.column("level_id").to_pylist() == [f"random-s/validation/{i:07d}" for i in range(12)]
    assert val.column("generator_seed").to_pylist() == [1] * 12
    assert val.column("generator_index").to_pylist() == list(range(12))
    assert val.column("generator_version").to_pylist() == [GENERATOR_VERSION] * 12
    assert val.column("source").to_pylist() == ["random"] * 12
    assert val.column("env_size").to_pylist() == ["s"] * 12
    assert val.column("random_solve_rate").null_count == 12  # random_episodes = 0
    assert val.column("noop_solved").null_count == 0
    test = read_level_table(split_files(dataset, "random-s", "test"))
    assert test.column("generator_seed").to_pylist() == [2] * 8
    assert not set(val.column("level_hash").to_pylist()) & set(
        test.column("level_hash").to_pylist()
    )
    hm = read_level_table(split_files(dataset, "handmade-s", "test"))
    assert hm.column("generator_seed").null_count == hm.num_rows
    assert all(i.startswith("handmade-s/") for i in hm.column("level_id").to_pylist())


def test_levels_match_the_generator(dataset):
    import kinetix as kx
    from kinetix.batch_generation import generate_levels
    from kinetix.level_files import read_level_parquet

    levels, table = read_level_parquet(split_files(dataset, "random-s", "test"))
    want = generate_levels(2, np.arange(8), "s", noop_filter=kx.NoopFilter())
    assert kx.level_hashes(levels) == kx.level_hashes(want)
    assert table.column("level_hash").to_pylist() == kx.level_hashes(want)


def test_noop_outcomes_match_reference(dataset):
    import kinetix as kx
    from kinetix.level_files import read_level_parquet
    from kinetix.outcomes import reference_outcomes

    levels, table = read_level_parquet(split_files(dataset, "random-s", "validation"))
    out = reference_outcomes(levels, kx.level_hashes(levels), random_episodes=0)
    assert table.column("noop_solved").to_pylist() == out["noop_solved"].tolist()
    np.testing.assert_array_equal(
        np.asarray(table.column("noop_return").to_pylist(), np.float32), out["noop_return"]
    )


def test_handmade_outcomes_and_witnesses(dataset):
    import kinetix as kx
    from kinetix.handmade import certified_levels
    from kinetix.level_files import read_level_parquet
    from kinetix.outcomes import reference_outcomes
    from kinetix.planner import replay_outcomes

    levels, table = read_level_parquet(split_files(dataset, "handmade-s", "test"))
    certified = certified_levels("s", release="v1")  # the recipe names no release: v1
    assert table.num_rows == len(certified)
    assert table.column("level_id").to_pylist() == [e.id for e, _, _ in certified]
    witnesses = [np.asarray(w, np.int8) for w in table.column("witness_actions").to_pylist()]
    assert replay_outcomes(levels, witnesses)["solved"].all()
    out = reference_outcomes(levels, kx.level_hashes(levels), random_episodes=2)
    assert table.column("noop_solved").to_pylist() == out["noop_solved"].tolist()
    np.testing.assert_array_equal(
        np.asarray(table.column("random_solve_rate").to_pylist(), np.float32),
        out["random_solve_rate"],
    )


@pytest.mark.parametrize("count", [2, 3])
def test_outcomes_by_process_blocks_equal_one_process(dataset, monkeypatch, count):
    """Each of ``count`` processes computes whole chunks (5 levels here: 12 levels are 3 chunks,
    the last padded), so the gathered figures are bit for bit those of one process."""
    import kinetix as kx
    import kinetix.distributed as kd
    from harness.levels import build
    from kinetix.level_files import read_level_parquet

    levels, _ = read_level_parquet(split_files(dataset, "handmade-s", "test"))
    hashes = kx.level_hashes(levels)
    monkeypatch.setattr("kinetix.outcomes.CHUNK", 5)
    one = build._outcomes(levels, hashes, 2, None)
    real = kd.process_block
    parts = []
    for p in range(count):
        monkeypatch.setattr(
            kd, "process_block", lambda n, *, unit, p=p: real(n, p, count, unit=unit)
        )
        monkeypatch.setattr(kd, "gather_rows", lambda tree, n, *, unit: tree)
        parts.append(build._outcomes(levels, hashes, 2, None))
    assert [len(x["noop_return"]) for x in parts] == [[10, 2], [5, 5, 2]][count - 2]
    for k, v in one.items():
        np.testing.assert_array_equal(np.concatenate([x[k] for x in parts]), v, err_msg=k)


def test_load_dataset(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))
    import datasets

    ds = datasets.load_dataset(str(dataset), "random-s", cache_dir=str(tmp_path / "hf-datasets"))
    assert sorted(ds) == ["test", "validation"]
    assert ds["validation"].num_rows == 12 and ds["test"].num_rows == 8
    assert ds["validation"][0]["level_id"] == "random-s/validation/0000000"
    assert len(ds["validation"][0]["polygon_position"]) == 5
    hm = datasets.load_dataset(str(dataset), "handmade-s", cache_dir=str(tmp_path / "hf-datasets"))
    assert list(hm) == ["test"]


def test_card(dataset):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(dataset / "README.md")
    configs = {c["config_name"]: c for c in card.data.configs}
    assert sorted(configs) == ["handmade-s", "random-s"]
    assert configs["random-s"]["data_files"] == [
        {"split": "validation", "path": "random-s/validation-*.parquet"},
        {"split": "test", "path": "random-s/test-*.parquet"},
    ]
    assert card.data.license  # whatever the project's license, the card declares one
    text = (dataset / "README.md").read_text()
    assert "tiny-levels v1.2.3" in text and "tiny.toml" in text
    assert "thumbnails/random-s.png" in text


def test_measured_columns_and_card_table(dataset):
    """Hand-made rows carry the committed measurements (schema 2) and the witness store's CEM
    iterations and robustness; the card has one table row per level with the same figures."""
    import kinetix.handmade as hm
    from harness.levels.build import simulator_version
    from kinetix.handmade.measurements import current_measurements
    from kinetix.level_files import read_level_parquet

    _, table = read_level_parquet(split_files(dataset, "handmade-s", "test"))
    assert set(table.column("schema_version").to_pylist()) == {2}
    rows = {
        k: r for k, r in current_measurements().items() if r["simulator"] == simulator_version()
    }
    witnesses = hm.load_witnesses()
    ids = table.column("level_id").to_pylist()
    assert any(i in rows for i in ids)  # the committed store measures these levels
    text = (dataset / "README.md").read_text()
    assert "## Measured difficulty of the hand-made levels" in text
    for j, i in enumerate(ids):
        m, w = rows.get(i, {}), witnesses[i]
        assert table.column("constant_solves")[j].as_py() == m.get("constant_solves")
        assert table.column("best_constant_action")[j].as_py() == m.get("best_constant_action")
        assert table.column("tier")[j].as_py() == m.get("tier")
        got = table.column("scratch_solve_rate_1e5")[j].as_py()
        assert got == pytest.approx(m.get("scratch_solve_rate_1e5"))
        assert table.column("witness_robustness")[j].as_py() == pytest.approx(w.get("robustness"))
        iters = w["planner"]["iterations"] if w["method"] == "cem" else None
        assert table.column("witness_cem_iterations")[j].as_py() == iters
        line = next(x for x in text.splitlines() if x.startswith(f"| `{i}` |"))
        solves = "-" if m.get("constant_solves") is None else str(m["constant_solves"])
        assert line.split(" | ")[3] == solves
        assert line.split(" | ")[7] == str(len(w["actions"]))


def test_a_later_release_needs_every_level_measured():
    from types import SimpleNamespace

    from harness.levels.build import _measured_meta

    cfg = SimpleNamespace(name="handmade-s")
    meta = _measured_meta(cfg, ["handmade-s/not_a_level"], required=False)
    assert meta["constant_solves"] == [None] and meta["witness_robustness"] == [None]
    with pytest.raises(
        DatasetError, match="handmade-s: 1 level.*handmade-s/not_a_level.*calibrate"
    ):
        _measured_meta(cfg, ["handmade-s/not_a_level"], required=True)


# ----------------------------------------------------------------------------- tampering
def test_flipped_byte(copy):
    rel = "random-s/validation-00001-of-00003.parquet"
    data = bytearray((copy / rel).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / rel).write_bytes(bytes(data))
    with pytest.raises(DatasetIntegrityError, match=f"file {rel} has sha256"):
        verify_dataset(copy, deep=False)
    verify_dataset(copy, configs=["handmade-s"])  # a partial check skips it


def test_truncated_file(copy):
    rel = "handmade-s/test-00000-of-00003.parquet"
    assert (copy / rel).is_file()
    with open(copy / rel, "ab") as f:
        f.write(b"\0")
    with pytest.raises(DatasetIntegrityError, match=f"file {rel} has .* bytes"):
        verify_dataset(copy)


def test_deleted_file(copy):
    rel = "random-s/test-00001-of-00002.parquet"
    (copy / rel).unlink()
    with pytest.raises(DatasetIntegrityError, match=f"file {rel} is missing"):
        verify_dataset(copy)


def test_unlisted_parquet(copy):
    shutil.copy(copy / "random-s/test-00000-of-00002.parquet", copy / "random-s/extra.parquet")
    with pytest.raises(
        DatasetIntegrityError, match="random-s/extra.parquet is not in the manifest"
    ):
        verify_dataset(copy, deep=False)


def test_edited_level_set_hash(copy):
    path = copy / "benchmark.json"
    m = json.loads(path.read_text())
    m["configs"]["random-s"]["splits"]["test"]["level_set_hash"] = "0" * 64
    path.write_text(json.dumps(m))
    verify_dataset(copy, deep=False)  # files unchanged: only the deep check sees it
    with pytest.raises(DatasetIntegrityError, match="random-s/test level-set hash"):
        verify_dataset(copy)


def test_edited_row_count(copy):
    path = copy / "benchmark.json"
    m = json.loads(path.read_text())
    m["configs"]["random-s"]["splits"]["validation"]["num_rows"] = 13
    path.write_text(json.dumps(m))
    with pytest.raises(DatasetIntegrityError, match="random-s/validation has 12 rows"):
        verify_dataset(copy)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.update(format="other"), "'format'"),
        (lambda m: m.update(manifest_version=2), "manifest_version 2"),
        (lambda m: m["configs"]["random-s"]["splits"]["test"].pop("files"), "test.files missing"),
        (lambda m: m["files"].pop("random-s/test-00000-of-00002.parquet"), "absent from 'files'"),
    ],
)
def test_bad_manifest(copy, edit, match):
    path = copy / "benchmark.json"
    m = json.loads(path.read_text())
    edit(m)
    path.write_text(json.dumps(m))
    with pytest.raises(DatasetIntegrityError, match=match):
        verify_dataset(copy)


def test_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match="no benchmark.json"):
        verify_dataset(tmp_path)
    (tmp_path / "benchmark.json").write_text("{not json")
    with pytest.raises(DatasetIntegrityError, match="not valid JSON"):
        verify_dataset(tmp_path)


# ----------------------------------------------------------------------------- atomicity
def test_refuses_non_empty_folder(recipe_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    before = _digests(out)
    with pytest.raises(DatasetError, match="exists and is not empty"):
        build_dataset(load_recipe(recipe_file), out, progress=False)
    assert _digests(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_build_leaves_nothing(recipe_file, tmp_path, monkeypatch, builds):
    # ``builds`` first: the programs are compiled, so this build fails fast at the thumbnails
    import harness.levels.build

    def boom(*args, **kwargs):
        raise RuntimeError("thumbnail renderer exploded")

    monkeypatch.setattr(harness.levels.build, "_thumbnails", boom)
    parent = tmp_path / "parent"
    parent.mkdir()
    with pytest.raises(RuntimeError, match="exploded"):
        build_dataset(load_recipe(recipe_file), parent / "out", progress=False)
    assert list(parent.iterdir()) == []


def test_failed_forced_build_keeps_the_old_dataset(recipe_file, tmp_path, monkeypatch, builds):
    import harness.levels.build

    def boom(*args, **kwargs):
        raise RuntimeError("thumbnail renderer exploded")

    monkeypatch.setattr(harness.levels.build, "_thumbnails", boom)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old dataset")
    with pytest.raises(RuntimeError, match="exploded"):
        build_dataset(load_recipe(recipe_file), out, force=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "old.txt").read_text() == "old dataset"
