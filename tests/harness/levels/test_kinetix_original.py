"""``kinetix-original-v1`` and the local import registry: a registry entry with no data of its
own, found through ``levels import-kinetix``'s record by level-set hash.

The 74 levels are Kinetix's and not in the repository, so the data-dependent tests use a
stand-in: a fake imported registry entry pinned to three hand-made S levels exported as Kinetix
JSON under ``s/`` (Kinetix's folder layout). The shipped 74 are checked only where a Kinetix
installation is at hand (``$KINETIX_LEVELS_DIR`` or the reference venv of
``../shared/tools/ref_venv.sh``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

import kinetix.handmade as hm
from harness import levels as hb
from harness.cli import main
from harness.levels.imports import IMPORTS_ENV, find_import, read_imports, record_import
from harness.levels.manifest import DatasetError, DatasetIntegrityError, load_manifest
from kinetix import save_kinetix_json

SHIPPED = os.environ.get(
    "KINETIX_LEVELS_DIR", "/tmp/kx_ref/venv/lib/python3.11/site-packages/kinetix/levels"
)


@pytest.fixture
def registry(tmp_path, monkeypatch):
    path = tmp_path / "imports.json"
    monkeypatch.setenv(IMPORTS_ENV, str(path))
    return path


def test_registry_entry():
    b = hb.BENCHMARKS["kinetix-original-v1"]
    assert b is hb.KINETIX_ORIGINAL and b.imported and b.leaderboard
    assert (b.num_levels, b.size, b.configs, b.split) == (74, "l", ("kinetix-l",), "test")
    assert [g[0] for g in b.groups] == ["s", "m", "l"] and sum(g[2] for g in b.groups) == 74
    assert len(b.level_set_hash) == 64 and all(len(g[1]) == 64 for g in b.groups)
    assert "kinetix-original-v1" not in load_manifest(hb.bundled_levels_dir())["benchmarks"]


def test_not_imported_is_a_clear_error(registry, capsys):
    with pytest.raises(hb.BenchmarkNotImportedError) as e:
        hb.load_benchmark("kinetix-original-v1", offline=True)
    msg = str(e.value)
    assert "kinetix-bench levels import-kinetix PATH/TO/kinetix/levels" in msg
    assert "never ships or uploads" in msg and "Kinetix's work" in msg
    assert main(["eval", "random", "--benchmark", "kinetix-original-v1", "--offline"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: kinetix-original-v1 is not imported")
    assert main(["levels", "list", "--json"]) == 0
    rows = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["kinetix-original-v1"]["imported"] is None


def test_registry_file_errors(registry):
    assert read_imports() == {} and find_import("0" * 64) is None
    registry.write_text("{not json")
    with pytest.raises(DatasetError, match="import registry cannot be read"):
        read_imports()
    registry.write_text(json.dumps({"schema": 7, "imports": {}}))
    with pytest.raises(DatasetError, match="'schema' must be 1"):
        find_import("0" * 64)
    registry.write_text(json.dumps({"schema": 1, "imports": {"h": [{"no": "path"}]}}))
    with pytest.raises(DatasetError, match="'imports' must map"):
        read_imports()


# ---- a stand-in imported benchmark ----------------------------------------------------------


@pytest.fixture(scope="module")
def kinetix_src(tmp_path_factory):
    src = tmp_path_factory.mktemp("kx") / "levels"
    (src / "s").mkdir(parents=True)
    for entry, level, _ in hm.certified_levels("s", release="v1")[:3]:
        save_kinetix_json(level, src / "s" / f"{entry.name}.json")
    return src


@pytest.fixture(scope="module")
def fake(kinetix_src, tmp_path_factory):
    """``fake-original-v1`` (imported, pinned to ``kinetix_src``) and its first import."""
    from harness.levels.build import config_levels
    from harness.levels.recipes import parse_recipe
    from kinetix.hashing import level_hashes, level_set_hash

    recipe = parse_recipe({"name": "p", "version": "1.0.0", "configs": [
        {"name": "kinetix-s", "source": "kinetix", "size": "s", "path": str(kinetix_src),
         "splits": {"test": {}}}]})  # fmt: skip
    cfg = recipe.configs[0]
    h = level_set_hash(level_hashes(config_levels(cfg, cfg.splits[0]).levels))
    bench = dataclasses.replace(
        hb.KINETIX_ORIGINAL, id="fake-original-v1", configs=("kinetix-s",), size="s",
        level_set_hash=h, num_levels=3, groups=(("s", h, 3),), description="three stand-ins",
    )  # fmt: skip
    root = tmp_path_factory.mktemp("imports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(hb.BENCHMARKS, bench.id, bench)
        mp.setenv(IMPORTS_ENV, str(root / "imports.json"))
        out = root / "first"
        args = ["levels", "import-kinetix", str(kinetix_src), "--out", str(out), "--size", "s"]
        assert main([*args, "--random-episodes", "0", "--json"]) == 0
        yield bench, out, root / "imports.json"


@pytest.mark.slow
def test_import_registers_the_pinned_id(fake, capsys):
    bench, out, registry = fake
    # the dataset took the registry id; the registry file records the folder by hash
    assert list(load_manifest(out)["benchmarks"]) == ["fake-original-v1"]
    entry = find_import(bench.level_set_hash)
    assert entry["path"] == str(out.resolve()) and entry["benchmark_id"] == "fake-original-v1"
    got = hb.load_benchmark("fake-original-v1", offline=True)
    assert got.benchmark.id == "fake-original-v1" and got.origin == "import"
    assert got.commit == f"levels:{bench.level_set_hash}" and got.revision == "import"
    names = sorted(e.name for e, _, _ in hm.certified_levels("s", release="v1")[:3])
    assert got.level_ids == [f"kinetix-s/s/{n}" for n in names]
    # --benchmark DIR gives the same benchmark (same id, same identity of the data)
    local = hb.load_benchmark(str(out), offline=True)
    assert (local.benchmark.id, local.commit, local.origin) == (bench.id, got.commit, "import")


@pytest.mark.slow
def test_same_files_imported_elsewhere_give_the_same_id(fake, kinetix_src, tmp_path, capsys):
    bench, first, registry = fake
    src = tmp_path / "another_copy" / "levels"
    shutil.copytree(kinetix_src, src)
    out = tmp_path / "second"
    capsys.readouterr()
    args = ["levels", "import-kinetix", str(src), "--out", str(out), "--size", "s"]
    assert main([*args, "--random-episodes", "0"]) == 0
    text = capsys.readouterr().out
    assert "registered fake-original-v1 (three stand-ins" in text
    assert "use --benchmark fake-original-v1" in text
    entries = read_imports()[bench.level_set_hash]
    assert [e["path"] for e in entries] == [str(out.resolve()), str(first.resolve())]
    assert hb.load_benchmark("fake-original-v1", offline=True).path == out.resolve()
    # a folder that is gone is skipped, then dropped at the next write
    shutil.rmtree(out)
    assert hb.load_benchmark("fake-original-v1", offline=True).path == first.resolve()
    record_import(first)
    assert [e["path"] for e in read_imports()[bench.level_set_hash]] == [str(first.resolve())]


@pytest.mark.slow
def test_ids_must_give_the_pinned_size_groups(fake, monkeypatch):
    bench, out, registry = fake
    wrong = dataclasses.replace(bench, groups=(("m", bench.level_set_hash, 3),))
    monkeypatch.setitem(hb.BENCHMARKS, bench.id, wrong)
    with pytest.raises(DatasetIntegrityError, match="size group 'm'.*holding s/, m/ and l/"):
        hb.load_benchmark("fake-original-v1", offline=True)


@pytest.mark.slow
@pytest.mark.skipif(not Path(SHIPPED, "s").is_dir(), reason="no Kinetix installation at hand")
def test_the_shipped_levels_have_the_pinned_hashes():
    """The 74 levels kinetix-env 3.0.2 ships, loaded as the import loads them (no outcomes)."""
    from harness.levels.build import config_levels
    from harness.levels.recipes import parse_recipe
    from harness.scoring.protocols import kinetix_size_group
    from kinetix.hashing import level_hashes, level_set_hash

    recipe = parse_recipe({"name": "p", "version": "1.0.0", "configs": [
        {"name": "kinetix-l", "source": "kinetix", "size": "l", "path": SHIPPED,
         "splits": {"test": {}}}]})  # fmt: skip
    cfg = recipe.configs[0]
    data = config_levels(cfg, cfg.splits[0])
    hashes = level_hashes(data.levels)
    b = hb.KINETIX_ORIGINAL
    assert level_set_hash(hashes) == b.level_set_hash and len(hashes) == 74
    for name, h, n in b.groups:
        got = [x for i, x in zip(data.meta["level_id"], hashes) if kinetix_size_group(i) == name]
        assert (len(got), level_set_hash(got)) == (n, h), name
