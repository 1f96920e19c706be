"""``kinetix-bench leaderboard {build,show,compare,push}`` and the Hub push (mocked HfApi)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest
from test_leaderboard_table import make_result

from harness.cli import main
from harness.leaderboard.markdown import MARKER_START
from harness.leaderboard.push import plan_leaderboard_push, push_leaderboard
from harness.leaderboard.table import read_table
from harness.levels.hub import HubError

CHECKOUT = Path(__file__).resolve().parents[3]

REPO = "someone/kinetix-leaderboard"


@pytest.fixture
def lb(tmp_path):
    """A leaderboard folder with three zero-shot results on one benchmark."""
    root = tmp_path / "lb"
    make_result(root / "records", "alpha", [1.0, 0.5, 0.5, 0.0])
    make_result(root / "records", "beta", [0.5, 0.5, 0.0, 0.0])
    make_result(root / "records", "gamma|x", [0.0, 0.0, 0.0, 0.0])
    return root


def run(capsys, *argv):
    code = main(["leaderboard", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def lines(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ------------------------------------------------------------------------------- build
def test_build_writes_the_files(lb, capsys):
    (lb / "README.md").write_text("# My board\n\nintro\n")
    code, out, _ = run(capsys, "build", "--root", str(lb), "--no-page", "--json")
    assert code == 0
    (res,) = lines(out)
    assert res["what"] == "leaderboard-build" and res["rows"] == 3 and res["groups"] == 1
    assert res["records"] == 3 and res["skipped"] == [] and res["notes"] == []
    table = read_table(lb / "leaderboard.parquet")
    assert list(table.submission_id) == ["alpha", "beta", "gamma|x"]
    readme = (lb / "README.md").read_text()
    assert readme.startswith("# My board\n\nintro\n") and MARKER_START in readme
    assert "gamma\\|x" in readme
    assert not (lb / "index.html").exists()


def test_build_with_page_writes_index_html(lb, capsys):
    code, out, _ = run(capsys, "build", "--root", str(lb), "--no-gallery")
    assert code == 0 and "index.html" in out
    html = (lb / "index.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "alpha" in html and "gamma|x" in html and "handmade-s-v1" in html


def test_build_with_extra_folder_and_duplicate(lb, tmp_path, capsys):
    make_result(tmp_path / "more", "alpha", [1.0, 1.0, 1.0, 0.5], created="2026-06-01T00:00:00Z")
    make_result(tmp_path / "more", "delta", [0.5, 0.5, 0.5, 0.5])
    code, out, err = run(
        capsys, "build", "--root", str(lb), "--records", str(tmp_path / "more"), "--no-page"
    )
    assert code == 0 and "4 results" in out
    assert "note:" in err and "kept the newest" in err
    table = read_table(lb / "leaderboard.parquet")
    assert table.set_index("submission_id").loc["alpha", "mean"] == 0.875
    assert table.set_index("submission_id").loc["delta", "record_path"].startswith("../more/")


def test_build_invalid_record_exit_codes(lb, capsys):
    bad = lb / "records" / "beta" / "handmade-s-v1__zero-shot_v1.json"
    rec = json.loads(bad.read_text())
    rec["metrics"]["solve_rate"]["iqm"] = 2.0
    bad.write_text(json.dumps(rec))
    code, out, err = run(capsys, "build", "--root", str(lb), "--no-page")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and str(bad) in err and "Traceback" not in err
    code, out, err = run(
        capsys, "build", "--root", str(lb), "--no-page", "--skip-invalid", "--json"
    )
    assert code == 0 and lines(out)[0]["rows"] == 2
    assert "warning: skipped an invalid record" in err and str(bad) in err


def test_build_without_records_is_an_error(tmp_path, capsys):
    code, _, err = run(capsys, "build", "--root", str(tmp_path), "--no-page")
    assert code == 2 and "records" in err


def test_missing_subcommand(capsys):
    assert run(capsys)[0] == 2


# ------------------------------------------------------------------------------- show
def test_show_text_and_json(lb, capsys):
    code, out, _ = run(capsys, "show", "--root", str(lb))  # no parquet yet: built in memory
    assert code == 0
    text = out.splitlines()
    assert text[0].startswith("handmade-s-v1  zero-shot@v1")
    assert "IQM [95% CI]" in text[1] and "alpha" in text[2] and "gamma|x" in text[4]
    assert len({line.index("IQM") for line in text[1:2]}) == 1
    assert run(capsys, "build", "--root", str(lb), "--no-page")[0] == 0
    code, out, _ = run(capsys, "show", "--root", str(lb), "--json", "--benchmark", "handmade-s-v1")
    rows = lines(out)
    assert code == 0 and [r["submission_id"] for r in rows] == ["alpha", "beta", "gamma|x"]
    assert rows[0]["what"] == "leaderboard-row" and rows[0]["gain_iqm"] is None
    code, out, err = run(capsys, "show", "--root", str(lb), "--benchmark", "nope-v1")
    assert code == 2 and "handmade-s-v1 zero-shot@v1" in err


# ------------------------------------------------------------------------------- compare
def test_compare_cli(lb, capsys):
    code, out, _ = run(
        capsys, "compare", "alpha", "beta", "--benchmark", "handmade-s-v1", "--root", str(lb),
        "--reps", "200", "--json",
    )  # fmt: skip
    assert code == 0
    (res,) = lines(out)
    assert res["what"] == "leaderboard-compare"
    assert res["a"]["submission_id"] == "alpha" and res["b"]["submission_id"] == "beta"
    assert res["mean_difference"]["value"] == pytest.approx(0.25)
    assert [x["diff"] for x in res["per_level"]] == [0.5, 0.5, 0.0, 0.0]
    code, out, _ = run(
        capsys, "compare", "alpha", "beta", "--benchmark", "handmade-s-v1", "--root", str(lb),
        "--reps", "200",
    )  # fmt: skip
    assert code == 0 and "P(A > B)" in out and "IQM(A) - IQM(B)" in out and "level_00" in out


def test_compare_cli_errors(lb, tmp_path, capsys):
    other, _ = make_result(tmp_path / "o", "beta", [0.5, 0.5, 0.5, 0.5], bench="handmade-m-v1")
    a = lb / "records" / "alpha" / "handmade-s-v1__zero-shot_v1.json"
    code, out, err = run(capsys, "compare", str(a), str(other), "--reps", "50")
    assert code == 2 and out == "" and "different benchmarks" in err
    code, _, err = run(capsys, "compare", "alpha", "zeta", "--benchmark", "handmade-s-v1",
                       "--root", str(lb))  # fmt: skip
    assert code == 2 and "zeta" in err


# ------------------------------------------------------------------------------- push
def fake_api(head="a" * 40, branches=("main",)):
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import GitRefInfo, GitRefs

    api = create_autospec(HfApi, instance=True)
    api.list_repo_refs.return_value = GitRefs(
        branches=[GitRefInfo(name=b, ref=f"refs/heads/{b}", target_commit=head) for b in branches],
        converts=[],
        tags=[],
    )
    api.create_commit.return_value = SimpleNamespace(oid="f" * 40, commit_url="https://x/commit")
    return api


@pytest.fixture
def built(lb, capsys):
    assert run(capsys, "build", "--root", str(lb), "--no-page")[0] == 0
    (lb / "index.html").write_text("<html></html>")
    return lb


def test_push_one_commit_with_parent(built):
    from huggingface_hub import CommitOperationAdd

    api = fake_api()
    res = push_leaderboard(built, REPO, api=api)
    api.create_repo.assert_called_once_with(REPO, repo_type="dataset", exist_ok=True)
    api.create_commit.assert_called_once()
    args, kwargs = api.create_commit.call_args
    assert args[0] == REPO
    assert kwargs["parent_commit"] == "a" * 40 and kwargs["revision"] == "main"
    assert kwargs["repo_type"] == "dataset"
    ops = args[1]
    assert all(isinstance(op, CommitOperationAdd) for op in ops)
    paths = [op.path_in_repo for op in ops]
    assert {"leaderboard.parquet", "leaderboard.csv", "README.md", "index.html"} <= set(paths)
    assert "records/alpha/handmade-s-v1__zero-shot_v1.json" in paths
    assert "records/alpha/handmade-s-v1__zero-shot_v1.parquet" in paths
    assert len(paths) == 3 * 2 + 4
    order = [
        c[0] for c in api.mock_calls if c[0] in ("create_repo", "list_repo_refs", "create_commit")
    ]
    assert order == ["create_repo", "list_repo_refs", "create_commit"]
    assert res["commit_sha"] == "f" * 40 and res["parent_commit"] == "a" * 40 and not res["dry_run"]


def test_push_includes_the_gifs_the_page_links(built):
    from harness.leaderboard.push import plan_leaderboard_push

    gif = built / "gifs" / "noop" / "tilt_plate.gif"
    gif.parent.mkdir(parents=True)
    gif.write_bytes(b"GIF89a")
    assert "gifs/noop/tilt_plate.gif" in plan_leaderboard_push(built)["files"]


def test_push_new_branch_and_token(built, monkeypatch):
    api = fake_api(branches=("main",))
    refs_after = fake_api(head="b" * 40, branches=("main", "staging")).list_repo_refs.return_value
    api.list_repo_refs.side_effect = [api.list_repo_refs.return_value, refs_after]
    push_leaderboard(built, REPO, api=api, revision="staging")
    api.create_branch.assert_called_once_with(
        REPO, branch="staging", repo_type="dataset", exist_ok=True
    )
    assert api.create_commit.call_args.kwargs["parent_commit"] == "b" * 40
    assert api.create_commit.call_args.kwargs["revision"] == "staging"

    import huggingface_hub

    made, tokens = fake_api(), []
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda token=None: tokens.append(token) or made)
    push_leaderboard(built, REPO, token="hf_secret")
    assert tokens == ["hf_secret"] and made.create_commit.called


def test_push_concurrent_update_is_refused(built):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    api = fake_api()
    response = httpx2.Response(412, request=httpx2.Request("POST", "https://huggingface.co/api"))
    api.create_commit.side_effect = HfHubHTTPError("A commit has happened since", response=response)
    with pytest.raises(HubError, match="branch moved since a{40}"):
        push_leaderboard(built, REPO, api=api)


def test_push_refuses_stale_or_missing_files(built, lb):
    make_result(lb / "records", "delta", [1.0, 1.0, 1.0, 1.0])
    api = fake_api()
    with pytest.raises(Exception, match="leaderboard build"):
        push_leaderboard(built, REPO, api=api)
    assert not api.create_commit.called
    (lb / "leaderboard.csv").unlink()
    with pytest.raises(Exception, match="missing leaderboard.csv"):
        plan_leaderboard_push(lb)
    with pytest.raises(HubError, match="not a valid Hub repo id"):
        push_leaderboard(built, "no-slash", api=api)


def test_push_cli_dry_run(built, capsys):
    code, out, _ = run(capsys, "push", "--root", str(built), "--repo", REPO, "--dry-run", "--json")
    assert code == 0
    (res,) = lines(out)
    assert res["what"] == "leaderboard-push" and res["dry_run"] and res["missing"] == []
    assert "records/beta/handmade-s-v1__zero-shot_v1.parquet" in res["files"]
    (built / "index.html").unlink()
    code, out, err = run(capsys, "push", "--root", str(built), "--repo", REPO, "--dry-run")
    assert code == 0 and "would upload 9 files" in out and "index.html not found" in err
    code, _, err = run(capsys, "push", "--root", str(built), "--repo", "bad repo", "--dry-run")
    assert code == 2 and err.startswith("error: repo")


def test_push_needs_a_branch(built):
    with pytest.raises(HubError, match="needs a branch"):
        push_leaderboard(built, REPO, api=fake_api(), revision="v1.0.0")


# ----------------------------------------------------------------------------- refresh
@pytest.mark.slow
def test_refresh_scores_the_submissions_and_builds(tmp_path, capsys):
    """The README's main job on a small scale: noop on handmade-s-v1 from the bundled data."""
    import shutil

    subs = tmp_path / "submissions"
    shutil.copytree(CHECKOUT / "submissions" / "noop", subs / "noop")
    root = tmp_path / "lb"
    argv = ["refresh", "--root", str(root), "--submissions", str(subs)]
    code, out, err = run(capsys, *argv, "--benchmark", "handmade-s-v1", "--no-page", "--json")
    assert code == 0, err
    scored, built = lines(out)
    assert scored["submission"] == "noop" and scored["benchmark"] == "handmade-s-v1"
    assert scored["iqm"] == 0.0 and Path(scored["record"]).is_file()
    assert built["what"] == "leaderboard-build" and built["rows"] == 1
    table = read_table(root / "leaderboard.parquet")
    assert list(table.submission_id) == ["noop"] and list(table.benchmark_id) == ["handmade-s-v1"]


def test_refresh_errors(tmp_path, capsys):
    code, _, err = run(capsys, "refresh", "--submissions", str(tmp_path / "nope"))
    assert code == 2 and "no such folder" in err
    code, _, err = run(capsys, "refresh", "--submissions", str(tmp_path))
    assert code == 2 and "no submission folder" in err
