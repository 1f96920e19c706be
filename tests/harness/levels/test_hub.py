"""harness.levels.hub and ``levels push`` / ``levels download``, fully offline.

* A tiny valid level dataset (4 random S levels, config ``random-s``, split ``test``) is built
  by hand once per session and copied per test.
* Downloads through the real huggingface_hub code use a fabricated Hub cache
  (``datasets--org--levels/refs/<tag>`` + ``snapshots/<sha>/``) with ``local_files_only``.
* Uploads use ``create_autospec(HfApi)``: calls are checked against the real signatures.
* The Hub cache and HF home point at tmp dirs; ``HF_HUB_OFFLINE=1`` (tests/conftest.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest

from harness.cli import main
from harness.levels import hub
from harness.levels.hub import (
    DownloadedDataset,
    HfHubBackend,
    HubError,
    LocalFolderHub,
    dataset_files,
    download_levels,
    levels_repo_id,
    push_levels,
)
from harness.levels.manifest import (
    DatasetIntegrityError,
    sha256_file,
    verify_dataset,
    write_manifest,
)

REPO = "org/levels"
SHA = "0123456789abcdef0123456789abcdef01234567"
CARD = """---
configs:
- config_name: random-s
  data_files:
  - split: test
    path: random-s/test-*.parquet
---
# test levels (4 random S levels)
"""


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def dataset_src(tmp_path_factory) -> Path:
    """A valid dataset folder in Hub layout (built once; never modify it: use ``dataset``)."""
    import jax
    import pyarrow.parquet as pq

    import kinetix
    from kinetix.level_table import levels_to_table

    root = tmp_path_factory.mktemp("levels-src")
    batch = kinetix.sample_levels(jax.random.PRNGKey(0), 4, "s")
    hashes = kinetix.level_hashes(batch)
    ids = [f"random-s/test/{i:07d}" for i in range(4)]
    table = levels_to_table(
        batch, {"level_id": ids, "level_hash": hashes, "source": ["random"] * 4}
    )
    rel = "random-s/test-00000-of-00001.parquet"
    (root / "random-s").mkdir()
    pq.write_table(table, root / rel, compression="zstd")
    (root / "README.md").write_text(CARD)
    (root / "thumbnails").mkdir()
    (root / "thumbnails" / "random-s.png").write_bytes(b"\x89PNG\r\n\x1a\nnot-a-real-image")
    manifest = {
        "format": "kinetix-bench/levels",
        "manifest_version": 1,
        "name": "kinetix-levels-test",
        "configs": {
            "random-s": {
                "source": "random",
                "env_size": "s",
                "splits": {
                    "test": {
                        "files": [rel],
                        "num_rows": 4,
                        "level_set_hash": kinetix.level_set_hash(hashes),
                    }
                },
            }
        },
        "files": {
            rel: {
                "sha256": sha256_file(root / rel),
                "bytes": (root / rel).stat().st_size,
                "num_rows": 4,
            }
        },
    }
    write_manifest(root, manifest)
    verify_dataset(root)
    return root


@pytest.fixture
def dataset(dataset_src, tmp_path) -> Path:
    dst = tmp_path / "dataset"
    shutil.copytree(dataset_src, dst)
    return dst


@pytest.fixture(autouse=True)
def hf_env(tmp_path, monkeypatch):
    """HF home and caches in tmp; offline; no levels-repo override from the caller's env."""
    import huggingface_hub.constants as hc

    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.delenv(hub.LEVELS_REPO_ENV, raising=False)
    return home


def fabricate_cache(cache: Path, src: Path, repo=REPO, ref="v1.0.0", sha=SHA) -> Path:
    """The Hub cache as snapshot_download leaves it: refs/<ref> -> sha, snapshots/<sha>/."""
    storage = cache / ("datasets--" + repo.replace("/", "--"))
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / ref).write_text(sha)
    snap = storage / "snapshots" / sha
    if not snap.exists():
        shutil.copytree(src, snap)
    return snap


def mock_api(tags=(), main_head=None, remote_files=(), new_sha="f" * 40):
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import GitRefInfo, GitRefs

    api = create_autospec(HfApi, instance=True)
    branches = []
    if main_head:
        branches.append(GitRefInfo(name="main", ref="refs/heads/main", target_commit=main_head))
    api.list_repo_refs.return_value = GitRefs(
        branches=branches,
        converts=[],
        tags=[GitRefInfo(name=t, ref=f"refs/tags/{t}", target_commit=s) for t, s in tags],
    )
    api.list_repo_files.return_value = list(remote_files)
    api.create_commit.return_value = SimpleNamespace(
        oid=new_sha, commit_url=f"https://huggingface.co/datasets/{REPO}/commit/{new_sha}"
    )
    return api


# ------------------------------------------------------------------- HfHubBackend: download
def test_download_from_fabricated_cache_offline(dataset_src, tmp_path):
    cache = tmp_path / "cache"
    snap = fabricate_cache(cache, dataset_src)
    backend = HfHubBackend(cache_dir=cache)
    ds = download_levels(REPO, "v1.0.0", ["random-s"], backend=backend, offline=True)
    assert isinstance(ds, DownloadedDataset)
    assert ds.path == snap and ds.commit_sha == SHA
    assert (ds.repo, ds.revision) == (REPO, "v1.0.0")
    # all configs, and by commit sha
    assert download_levels(REPO, "v1.0.0", backend=backend, offline=True).commit_sha == SHA
    assert download_levels(REPO, SHA, backend=backend, offline=True).path == snap
    assert backend.resolve(REPO, "v1.0.0", offline=True) == SHA


def test_download_with_hf_hub_offline_env_falls_back_to_cache(dataset_src, tmp_path):
    cache = tmp_path / "cache"
    fabricate_cache(cache, dataset_src)
    ds = download_levels(REPO, "v1.0.0", ["random-s"], backend=HfHubBackend(cache_dir=cache))
    assert ds.commit_sha == SHA


def test_download_corrupted_cache_file_raises(dataset_src, tmp_path):
    cache = tmp_path / "cache"
    snap = fabricate_cache(cache, dataset_src)
    f = snap / "random-s" / "test-00000-of-00001.parquet"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(DatasetIntegrityError, match="sha256"):
        download_levels(
            REPO, "v1.0.0", ["random-s"], backend=HfHubBackend(cache_dir=cache), offline=True
        )


def test_download_unknown_revision_offline_is_clear(dataset_src, tmp_path):
    cache = tmp_path / "cache"
    fabricate_cache(cache, dataset_src)
    with pytest.raises(HubError) as e:
        download_levels(REPO, "v9.9.9", backend=HfHubBackend(cache_dir=cache), offline=True)
    msg = str(e.value)
    assert "revision v9.9.9 of org/levels is not in the local Hub cache" in msg
    assert "--offline is set" in msg


def test_download_missing_config_offline_is_not_cached(dataset_src, tmp_path):
    cache = tmp_path / "cache"
    snap = fabricate_cache(cache, dataset_src)
    shutil.rmtree(snap / "random-s")  # a partial download: the config was never fetched
    with pytest.raises(HubError, match="config random-s .* not in the local Hub cache"):
        download_levels(
            REPO, "v1.0.0", ["random-s"], backend=HfHubBackend(cache_dir=cache), offline=True
        )


def test_download_requires_pinned_revision(dataset_src, tmp_path):
    cache = tmp_path / "cache"
    fabricate_cache(cache, dataset_src, ref="main")
    backend = HfHubBackend(cache_dir=cache)
    with pytest.raises(HubError, match="revision: 'main' is not pinned"):
        download_levels(REPO, "main", backend=backend, offline=True)
    with pytest.raises(HubError, match="revision: required"):
        download_levels(REPO, None, backend=backend, offline=True)
    ds = download_levels(REPO, "main", backend=backend, offline=True, allow_unpinned=True)
    assert ds.commit_sha == SHA


# ----------------------------------------------------------------------- HfHubBackend: push
def test_push_with_autospec_api(dataset):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    parent = "a" * 40
    api = mock_api(
        main_head=parent, remote_files=[".gitattributes", "random-m/test-00000-of-00001.parquet"]
    )
    (dataset / ".cache").mkdir()
    (dataset / ".cache" / "junk").write_text("x")
    (dataset / "benchmark.json.tmp").write_text("x")
    res = push_levels(dataset, REPO, "v1.0.0", "release 1", backend=HfHubBackend(api=api))

    api.create_repo.assert_called_once_with(REPO, repo_type="dataset", exist_ok=True)
    api.create_commit.assert_called_once()
    args, kwargs = api.create_commit.call_args
    assert args[0] == REPO
    ops = args[1]
    adds = [op.path_in_repo for op in ops if isinstance(op, CommitOperationAdd)]
    deletes = [op.path_in_repo for op in ops if isinstance(op, CommitOperationDelete)]
    assert adds == [
        "README.md",
        "benchmark.json",
        "random-s/test-00000-of-00001.parquet",
        "thumbnails/random-s.png",
    ]
    assert deletes == ["random-m/test-00000-of-00001.parquet"]  # .gitattributes kept
    assert kwargs["repo_type"] == "dataset" and kwargs["commit_message"] == "release 1"
    assert kwargs["parent_commit"] == parent and kwargs["revision"] == "main"
    api.create_tag.assert_called_once()
    t_args, t_kwargs = api.create_tag.call_args
    assert t_args == (REPO,)
    assert t_kwargs["tag"] == "v1.0.0" and t_kwargs["revision"] == "f" * 40
    assert t_kwargs["repo_type"] == "dataset"
    order = [c[0] for c in api.mock_calls if c[0] in ("create_repo", "create_commit", "create_tag")]
    assert order == ["create_repo", "create_commit", "create_tag"]
    assert res["commit_sha"] == "f" * 40 and res["tag"] == "v1.0.0" and not res["dry_run"]


def test_push_onto_existing_tag_is_refused(dataset):
    api = mock_api(tags=[("v1.0.0", "b" * 40)], main_head="b" * 40)
    with pytest.raises(HubError, match="tag: v1.0.0 already exists"):
        push_levels(dataset, REPO, "v1.0.0", backend=HfHubBackend(api=api))
    api.create_commit.assert_not_called()
    api.create_tag.assert_not_called()


def test_push_refuses_a_broken_dataset(dataset):
    api = mock_api()
    (dataset / "random-s" / "test-00000-of-00001.parquet").write_bytes(b"garbage")
    with pytest.raises(DatasetIntegrityError):
        push_levels(dataset, REPO, "v1.0.0", backend=HfHubBackend(api=api))
    assert api.mock_calls == []


def test_push_refuses_more_than_99_files(dataset):
    for i in range(100):
        (dataset / "thumbnails" / f"t{i:03d}.png").write_bytes(b"x")
    api = mock_api()
    with pytest.raises(HubError, match="fewer than 100 files per commit"):
        push_levels(dataset, REPO, "v1.0.0", backend=HfHubBackend(api=api))
    assert api.mock_calls == []


def test_dataset_files_skips_hidden_and_temporary(dataset):
    (dataset / ".git").mkdir()
    (dataset / ".git" / "HEAD").write_text("x")
    (dataset / "thumbnails" / ".DS_Store").write_text("x")
    (dataset / "random-s" / "x.parquet.part").write_text("x")
    (dataset / "notes~").write_text("x")
    assert dataset_files(dataset) == [
        "README.md",
        "benchmark.json",
        "random-s/test-00000-of-00001.parquet",
        "thumbnails/random-s.png",
    ]


# ---------------------------------------------------------------------------- LocalFolderHub
def test_local_folder_hub_round_trip_and_tag_immutability(dataset, tmp_path):
    h = LocalFolderHub(tmp_path / "hub")
    res = push_levels(dataset, REPO, "v1.0.0", backend=h)
    sha = res["commit_sha"]
    assert len(sha) == 40 and h.tags(REPO) == {"v1.0.0": sha}
    ds = download_levels(REPO, "v1.0.0", ["random-s"], backend=h)
    assert ds.commit_sha == sha and (ds.path / "benchmark.json").is_file()
    assert download_levels(REPO, sha, backend=h).path == ds.path
    assert json.loads((tmp_path / "hub" / "org--levels" / "refs.json").read_text()) == {
        "v1.0.0": sha
    }

    # a new release with other content: new commit; the old tag and its files do not move
    (dataset / "README.md").write_text(CARD + "\nv1.1.0\n")
    with pytest.raises(HubError, match="tag: v1.0.0 already exists"):
        push_levels(dataset, REPO, "v1.0.0", backend=h)
    assert h.tags(REPO) == {"v1.0.0": sha}
    sha2 = push_levels(dataset, REPO, "v1.1.0", backend=h)["commit_sha"]
    assert sha2 != sha
    assert h.tags(REPO) == {"v1.0.0": sha, "v1.1.0": sha2}
    old = download_levels(REPO, "v1.0.0", backend=h)
    assert old.commit_sha == sha and "v1.1.0" not in (old.path / "README.md").read_text()
    assert h.resolve(REPO, "main") == sha2
    with pytest.raises(HubError, match="revision v2.0.0 not found"):
        download_levels(REPO, "v2.0.0", backend=h)


# ------------------------------------------------------------------------ repo ids and tags
def test_repo_id_env_override(monkeypatch, dataset, tmp_path):
    assert levels_repo_id() == "kinetix-bench/levels" == hub.DEFAULT_LEVELS_REPO
    monkeypatch.setenv("KINETIX_BENCH_LEVELS_REPO", "mirror/levels")
    assert levels_repo_id() == "mirror/levels"
    assert levels_repo_id("other/levels") == "other/levels"
    h = LocalFolderHub(tmp_path / "hub")
    push_levels(dataset, "mirror/levels", "v1.0.0", backend=h)
    assert download_levels(revision="v1.0.0", backend=h).repo == "mirror/levels"
    monkeypatch.setenv("KINETIX_BENCH_LEVELS_REPO", "not a repo")
    with pytest.raises(HubError, match="KINETIX_BENCH_LEVELS_REPO: 'not a repo'"):
        levels_repo_id()


@pytest.mark.parametrize("repo", ["levels", "a/b/c", "org/", "/x", "org--x/y", "o/a..b", "o/x y"])
def test_bad_repo_ids(repo):
    with pytest.raises(HubError, match="repo: "):
        hub.validate_repo_id(repo)


@pytest.mark.parametrize("tag", ["1.0.0", "v1.0", "v1.0.0-rc1", "latest", "main", ""])
def test_bad_tags(tag):
    with pytest.raises(HubError, match="tag: "):
        hub.validate_tag(tag)


# ------------------------------------------------------------------------------------ CLI
def test_cli_push_dry_run_json(dataset, capsys):
    rc = main(["levels", "push", str(dataset), "--repo", REPO, "--tag", "v1.0.0", "--dry-run",
               "--json"])  # fmt: skip
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["what"] == "levels-push" and rec["dry_run"] is True
    assert (rec["repo"], rec["tag"]) == (REPO, "v1.0.0")
    assert "random-s/test-00000-of-00001.parquet" in rec["files"]
    assert [op["op"] for op in rec["operations"]] == [
        "create_repo",
        "check_tag_absent",
        "create_commit",
        "create_tag",
    ]


def test_cli_push_dry_run_text(dataset, capsys):
    assert main(["levels", "push", str(dataset), "--repo", REPO, "--tag", "v1.0.0",
                 "--dry-run"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "dry run" in out and "add random-s/test-00000-of-00001.parquet" in out


def test_cli_download_offline(dataset_src, tmp_path, capsys):
    cache = tmp_path / "cache"
    snap = fabricate_cache(cache, dataset_src)
    argv = ["levels", "download", REPO, "--revision", "v1.0.0", "--config", "random-s",
            "--cache-dir", str(cache), "--offline"]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["what"] == "levels-download"
    assert rec["commit_sha"] == SHA and Path(rec["path"]) == snap
    assert rec["configs"] == ["random-s"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [str(snap), f"commit_sha {SHA}"]


def test_cli_download_unknown_revision_offline(dataset_src, tmp_path, capsys):
    cache = tmp_path / "cache"
    fabricate_cache(cache, dataset_src)
    rc = main(["levels", "download", REPO, "--revision", "v2.0.0", "--cache-dir", str(cache),
               "--offline"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: revision v2.0.0 of org/levels is not in the local Hub cache")


def test_cli_push_and_download_local_hub(dataset, tmp_path, capsys):
    hubdir = str(tmp_path / "hub")
    assert main(["levels", "push", str(dataset), "--repo", REPO, "--tag", "v1.0.0",
                 "--local-hub", hubdir, "--json"]) == 0  # fmt: skip
    pushed = json.loads(capsys.readouterr().out)
    assert main(["levels", "download", REPO, "--revision", "v1.0.0", "--local-hub", hubdir,
                 "--json"]) == 0  # fmt: skip
    got = json.loads(capsys.readouterr().out)
    assert got["commit_sha"] == pushed["commit_sha"]
    assert main(["levels", "push", str(dataset), "--repo", REPO, "--tag", "v1.0.0",
                 "--local-hub", hubdir]) == 2  # fmt: skip
    assert "error: tag: v1.0.0 already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--repo", REPO, "--tag", "1.0"], "error: tag: '1.0' is not a release tag"),
        (["--repo", "levels", "--tag", "v1.0.0"], "error: repo: 'levels' is not a valid"),
    ],
)
def test_cli_push_bad_tag_or_repo(dataset, capsys, argv, needle):
    assert main(["levels", "push", str(dataset), *argv, "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith(needle)


def test_cli_download_bad_repo_and_unpinned(capsys):
    assert main(["levels", "download", "bad", "--revision", "v1.0.0", "--offline"]) == 2
    assert capsys.readouterr().err.startswith("error: repo: 'bad'")
    assert main(["levels", "download", REPO, "--revision", "main", "--offline"]) == 2
    assert capsys.readouterr().err.startswith("error: revision: 'main' is not pinned")


def test_push_refuses_parquet_files_missing_from_the_manifest(dataset):
    (dataset / "random-m").mkdir()
    shutil.copy(dataset / "random-s" / "test-00000-of-00001.parquet", dataset / "random-m")
    with pytest.raises(HubError, match="not in benchmark.json: random-m/test-00000"):
        push_levels(dataset, REPO, "v1.0.0", dry_run=True)
