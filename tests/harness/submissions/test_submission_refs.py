"""Hub references ``hf://OWNER/REPO[/SUBFOLDER][@REVISION]``: parsing, and loading from a
FABRICATED Hub cache (``models--OWNER--REPO/{refs, snapshots/<sha>, blobs}``) that holds a
Kinetix-format checkpoint written by our writer, offline (``HF_HUB_OFFLINE=1``), through the
real ``huggingface_hub.snapshot_download``; the resolved commit reaches the record."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.submissions import SubmissionError, load_submission
from harness.submissions.refs import HubRef, parse_hub_ref, pinned_reference, resolve_submission

SHA = "0123456789abcdef0123456789abcdef01234567"
OLD = "fedcba9876543210fedcba9876543210fedcba98"
TINY = {"actor_depth": 1, "critic_depth": 1, "actor_width": 8, "critic_width": 8}
REF = "hf://kx-user/Kinetix-Checkpoints/sfl-tiny"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A Kinetix-format flat-MLP checkpoint (S) written by our writer."""
    import jax

    from baselines.networks import init_params, write_kinetix_checkpoint

    params = init_params("mlp-flat@v1", TINY, "flat", "multi_discrete", "s", jax.random.PRNGKey(3))
    out = tmp_path_factory.mktemp("kx") / "sfl-tiny"
    write_kinetix_checkpoint(out, "mlp-flat@v1", TINY, params, obs_type="flat",
                             action_type="multi_discrete", size="s", name="tiny")  # fmt: skip
    return out


def fabricate(cache: Path, repo: str, commit: str, folders: dict[str, Path], refs: dict) -> Path:
    """Lays out ``cache/models--OWNER--REPO`` as huggingface_hub does: file contents in
    ``blobs/<sha256>``, ``snapshots/<commit>/<folder>/<file>`` symlinks to them, and
    ``refs/<name>`` holding a commit sha (no newline)."""
    root = cache / ("models--" + repo.replace("/", "--"))
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    for name, sha in refs.items():
        (root / "refs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "refs" / name).write_text(sha)
    for sub, src in folders.items():
        for f in sorted(Path(src).iterdir()):
            data = f.read_bytes()
            blob = root / "blobs" / hashlib.sha256(data).hexdigest()
            blob.write_bytes(data)
            link = root / "snapshots" / commit / sub / f.name
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(blob, link.parent), link)
    return root


@pytest.fixture
def hub(tmp_path, checkpoint, monkeypatch):
    """A Hub cache under tmp_path (HF_HOME / HF_HUB_CACHE point there; offline) holding the
    checkpoint at commit SHA (main and tag v1) in two folders, and an older commit OLD."""
    import huggingface_hub.constants as hc

    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))  # read at import otherwise
    repo = "kx-user/Kinetix-Checkpoints"
    fabricate(cache, repo, SHA, {"sfl-tiny": checkpoint, "sfl-copy": checkpoint},
              {"main": SHA, "v1": SHA})  # fmt: skip
    fabricate(cache, repo, OLD, {"sfl-old": checkpoint}, {})
    fabricate(cache, "kx-user/top", SHA, {"": checkpoint}, {"main": SHA})
    return cache


# ------------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize(
    "text,want",
    [
        ("hf://o/r", HubRef("o/r", None, "main")),
        ("hf://mbeukman/Kinetix-Checkpoints/sfl-paper",
         HubRef("mbeukman/Kinetix-Checkpoints", "sfl-paper", "main")),
        ("hf://o/r.x/a/b_c@v1.0.0", HubRef("o/r.x", "a/b_c", "v1.0.0")),
        (f"hf://o/r@{SHA}", HubRef("o/r", None, SHA)),
        ("hf://o/r/s@refs/pr/3", HubRef("o/r", "s", "refs/pr/3")),
        ("o/r@dev", HubRef("o/r", None, "dev")),
    ],
)  # fmt: skip
def test_parse_valid_references(text, want):
    ref = parse_hub_ref(text)
    assert ref == want
    assert parse_hub_ref(str(ref)) == ref  # str() is the canonical form


@pytest.mark.parametrize(
    "text,match",
    [
        ("hf://", "no repo"),
        ("hf://owner", "no repo"),
        ("hf://owner/", "repo ''"),
        ("hf:/owner/repo", "scheme is 'hf://'"),
        ("hf://owner/repo@", "empty revision"),
        ("hf://owner/repo@a..b", "revision 'a..b'"),
        ("hf://owner/repo@x@y", "revision 'x@y'"),
        ("hf://owner/repo/../x", "subfolder part '..'"),
        ("hf://owner/repo//x", "subfolder part ''"),
        ("hf://owner/repo/x/", "subfolder part ''"),
        ("hf://own er/repo", "owner 'own er'"),
        ("hf://a--b/repo", "owner 'a--b'"),
        ("hf://owner/-repo", "repo '-repo'"),
        ("hf://datasets/owner/repo", "not model repos"),
        ("hf://https://huggingface.co/o/r", "not a URL"),
    ],
)
def test_malformed_references_are_clear_errors(text, match):
    with pytest.raises(SubmissionError, match="malformed Hub reference") as e:
        parse_hub_ref(text)
    assert match in str(e.value) and "hf://OWNER/REPO[/SUBFOLDER][@REVISION]" in str(e.value)
    with pytest.raises(SubmissionError, match="malformed"):
        load_submission(text)


def test_local_paths_and_bare_specs(tmp_path, checkpoint):
    r = resolve_submission(checkpoint)
    assert (r.folder, r.id, r.source) == (checkpoint, "sfl-tiny", None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SubmissionError, match="not a folder"):
        resolve_submission(tmp_path / "file")
    with pytest.raises(SubmissionError, match="no such folder"):
        resolve_submission(str(tmp_path / "missing" / "deeper"))


# ------------------------------------------------------------------------- fabricated cache
def _params_equal(a, b) -> bool:
    from baselines.networks import flatten_params

    fa, fb = flatten_params(a), flatten_params(b)
    return fa.keys() == fb.keys() and all(np.array_equal(fa[k], fb[k]) for k in fa)


def test_main_tag_and_sha_resolve_to_the_commit(hub, checkpoint):
    local = load_submission(checkpoint)
    for rev in ("", "@main", "@v1", f"@{SHA}"):
        s = load_submission(REF + rev)
        asked = rev[1:] or "main"
        assert s.id == f"kx-user/Kinetix-Checkpoints/sfl-tiny@{asked}"
        assert s.source == {
            "repo": "kx-user/Kinetix-Checkpoints",
            "subfolder": "sfl-tiny",
            "revision": asked,
            "commit": SHA,
        }
        assert (s.kind, s.architecture, s.env_size, s.key_names) == (
            "kinetix",
            "mlp-flat@v1",
            "s",
            "3.x",
        )
        assert (
            s.path == hub / "models--kx-user--Kinetix-Checkpoints" / "snapshots" / SHA / "sfl-tiny"
        )
        assert s.sha256 == local.sha256 and _params_equal(s.params, local.params)
        assert s.summary()["source"]["commit"] == SHA
        assert pinned_reference(s.source) == f"{REF}@{SHA}"
    s = load_submission(f"hf://kx-user/Kinetix-Checkpoints/sfl-old@{OLD}")
    assert s.source["commit"] == OLD and s.source["revision"] == OLD
    top = load_submission("hf://kx-user/top")  # files at the repo's top level
    assert top.source["subfolder"] is None and top.id == "kx-user/top@main"
    bare = load_submission("kx-user/top@main")  # the scheme-less OWNER/REPO form
    assert bare.source == top.source


def test_missing_subfolder_revision_and_repo(hub):
    with pytest.raises(SubmissionError) as e:
        load_submission("hf://kx-user/Kinetix-Checkpoints/sfl-paper")
    msg = str(e.value)
    assert "no folder 'sfl-paper'" in msg and f"commit {SHA}" in msg
    assert "found: sfl-copy, sfl-tiny" in msg
    with pytest.raises(SubmissionError, match="no folder 'sfl-old'"):  # exists, at OLD only
        load_submission("hf://kx-user/Kinetix-Checkpoints/sfl-old@main")
    with pytest.raises(SubmissionError) as e:
        load_submission(REF + "@v2")
    msg = str(e.value)
    assert "could not be fetched" in msg and "'v2'" in msg and "offline mode is on" in msg
    assert str(hub) in msg
    with pytest.raises(SubmissionError, match="could not be fetched"):
        load_submission("hf://kx-user/nothing-here/sfl-tiny")


def test_cache_dir_argument_and_offline_switch(tmp_path, checkpoint, monkeypatch):
    """An explicit cache folder; KINETIX_BENCH_OFFLINE (or offline=True) alone keeps every
    lookup in the cache (the socket guard of conftest fails any connection)."""
    cache = tmp_path / "elsewhere"
    fabricate(cache, "o/r", SHA, {"ck": checkpoint}, {"main": SHA})
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("KINETIX_BENCH_OFFLINE", "1")
    s = load_submission("hf://o/r/ck", cache_dir=cache)
    assert s.source["commit"] == SHA
    monkeypatch.delenv("KINETIX_BENCH_OFFLINE")
    s = load_submission("hf://o/r/ck@main", cache_dir=cache, offline=True)
    assert s.source["commit"] == SHA
    with pytest.raises(SubmissionError, match="not in the Hub cache"):
        load_submission("hf://o/r/ck@dev", cache_dir=cache, offline=True)


def test_safety_rules_hold_for_hub_files(hub, checkpoint, tmp_path):
    """A damaged file in the cache is refused like a local one (and nothing else is read)."""
    bad = tmp_path / "bad"
    shutil.copytree(checkpoint, bad)
    (bad / "params.safetensors").write_bytes(b"\x80\x04K\x01." + b"\0" * 64)  # a pickle
    (bad / "train.py").write_text("raise SystemExit('never run')")
    fabricate(hub, "kx-user/evil", SHA, {"ck": bad}, {"main": SHA})
    with pytest.raises(SubmissionError, match="never loaded"):
        load_submission("hf://kx-user/evil/ck")


# ------------------------------------------------------------------------------------- CLI
def test_cli_info_and_dry_run_take_hub_references(hub, capsys):
    assert main(["submission", "info", REF + "@v1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["what"] == "submission-info" and info["source"]["commit"] == SHA
    assert info["assumed_options"] == {} and info["key_names"] == "3.x"
    assert main(["submission", "info", REF]) == 0
    assert f"commit {SHA}" in capsys.readouterr().out
    args = ["submit", "--dry-run", REF, "--benchmark", "handmade-s-v1", "--json"]
    assert main(args) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["ok"] and rec["submission"]["source"]["commit"] == SHA
    assert main(["submission", "info", "hf://kx-user/Kinetix-Checkpoints/nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "no folder 'nope'" in err[0]
    assert main(["submission", "info", "hf://bad//ref"]) == 2
    assert "malformed Hub reference" in capsys.readouterr().err


def test_record_carries_source_and_assumed_options(hub):
    """make_record puts the Hub source and the assumed options in the submission block and
    validate_record accepts them (and rejects a source without a commit sha)."""
    import types

    from harness.scoring.protocols import parse_protocol
    from harness.scoring.records import RecordError, make_record, validate_record
    from kinetix import EnvConfig

    s = load_submission(REF)
    loaded = types.SimpleNamespace(
        benchmark=types.SimpleNamespace(
            id="b-v1", repo="o/levels", configs=("c",), split="test", level_set_hash="0" * 64,
            size="s",
        ),
        level_ids=["c/a", "c/b"], level_hashes=["1" * 64, "2" * 64], revision="v1.0.0",
        commit="3" * 40, origin="hub",
    )  # fmt: skip
    k = 20
    out = {
        "solved": np.tile([[1.0] * 5 + [0.0] * 15], (2, 1)),
        "died": np.zeros((2, k)),
        "return": np.ones((2, k)),
        "length": np.full((2, k), 100),
    }
    env = EnvConfig(size="s", obs_type="flat", action_type="multi_discrete", kinetix_parity=True)
    rec, _ = make_record(submission=s, loaded=loaded, protocol=parse_protocol("zero-shot@v1"),
                         outcomes=out, env_config=env, wall_clock_s=1.0,
                         started_at="2026-01-01T00:00:00Z", bootstrap_reps=100)  # fmt: skip
    block = rec["submission"]
    assert block["source"] == s.source and block["source"]["commit"] == SHA
    assert block["assumed_options"] == {} and block["model_id"] == s.id
    bad = json.loads(json.dumps(rec))
    bad["submission"]["source"]["commit"] = "main"
    with pytest.raises(RecordError, match="submission.source"):
        validate_record(bad)
    del bad["submission"]["source"]
    bad["submission"]["assumed_options"] = ["x"]
    with pytest.raises(RecordError, match="submission.assumed_options"):
        validate_record(bad)


@pytest.mark.slow
def test_eval_records_the_commit_of_a_hub_reference(hub, tmp_path, capsys):
    """``eval hf://...`` end to end on a one-level local benchmark: the record names the
    submission by its reference and holds the resolved commit."""
    from harness.scoring.records import read_record
    from kinetix import save_kinetix_json
    from kinetix.handmade.registry import REGISTRY

    entry = next(e for e in REGISTRY.values() if e.size == "s")
    levels = tmp_path / "levels"
    levels.mkdir()
    save_kinetix_json(entry.build(), levels / f"{entry.name}.json")
    data = tmp_path / "ds"
    args = ["levels", "import-kinetix", str(levels), "--out", str(data), "--size", "s"]
    assert main([*args, "--name", "one", "--random-episodes", "0", "--no-register", "--json"]) == 0
    capsys.readouterr()
    out = tmp_path / "records"
    args = ["eval", REF + "@v1", "--benchmark", str(data), "--out", str(out), "--no-cache"]
    assert main([*args, "--bootstrap-reps", "100", "--offline", "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rec = read_record(res["record"])
    assert res["submission"] == "kx-user/Kinetix-Checkpoints/sfl-tiny@v1"
    assert rec["submission"]["source"] == {
        "repo": "kx-user/Kinetix-Checkpoints",
        "subfolder": "sfl-tiny",
        "revision": "v1",
        "commit": SHA,
    }
    assert rec["submission"]["assumed_options"] == {} and rec["submission"]["kind"] == "kinetix"
