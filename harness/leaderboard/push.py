"""Publish the leaderboard folder to a Hub dataset repo in one commit.

What goes up (paths in the repo mirror the leaderboard folder): every file under ``records/``
(record JSON + per-level Parquet), ``leaderboard.parquet``, ``leaderboard.csv``, ``README.md``
(the dataset card; its YAML declares the ``leaderboard`` and ``per_level`` configs) and
``index.html`` when it exists. Before anything is sent, the table is rebuilt in memory from
``records/`` and must equal ``leaderboard.parquet`` (else: run ``leaderboard build`` first).

The push follows :meth:`harness.levels.hub.HfHubBackend.push`: ``create_repo(exist_ok=True)``, then
ONE ``create_commit`` of :class:`~huggingface_hub.CommitOperationAdd` operations with
``parent_commit`` = the branch's current head, so a concurrent push makes this one fail instead
of silently overwriting it. Files in the repo that the folder lacks are left in place (records
are only added or replaced). Hub failures are :class:`harness.levels.hub.HubError`; the token, when
given, goes to ``HfApi(token=...)`` as in :mod:`harness.levels.hub`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness.leaderboard.record_files import LeaderboardError

__all__ = ["plan_leaderboard_push", "push_leaderboard", "REQUIRED_FILES"]

REQUIRED_FILES = ("leaderboard.parquet", "leaderboard.csv", "README.md")
OPTIONAL_FILES = ("index.html",)
#: Far above today's needs; a larger leaderboard should be pushed in parts (upload_large_folder).
MAX_FILES = 2000
_SKIP_SUFFIXES = (".tmp", ".part", ".lock", "~")


def _record_files(root: Path, folder: str = "records") -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root / folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if f.startswith(".") or f.endswith(_SKIP_SUFFIXES):
                continue
            out.append((Path(dirpath) / f).relative_to(root).as_posix())
    return out


def plan_leaderboard_push(root: str | os.PathLike, *, check: bool = True) -> dict:
    """``{"root", "files": [relative POSIX paths], "bytes", "missing": [optional files absent]}``.

    A missing required file, a missing ``records/`` folder, or (with ``check``) a
    ``leaderboard.parquet`` that differs from the table rebuilt from ``records/`` is a
    :class:`LeaderboardError`."""
    import pandas as pd

    from harness.leaderboard.table import build_table, collect_records, read_table

    root = Path(root)
    if not (root / "records").is_dir():
        raise LeaderboardError(f"{root}: no records/ folder (is this the leaderboard folder?)")
    absent = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    if absent:
        raise LeaderboardError(
            f"{root}: missing {', '.join(absent)}; run `kinetix-bench leaderboard build` first"
        )
    if check:
        stored = read_table(root / "leaderboard.parquet")
        fresh = build_table(collect_records([root / "records"]), root=root)
        fresh.attrs = {}
        stored.attrs = {}
        try:
            pd.testing.assert_frame_equal(stored, fresh, check_exact=True)
        except AssertionError:
            raise LeaderboardError(
                f"{root / 'leaderboard.parquet'} differs from the table built from "
                f"{root / 'records'} alone (out of date, or built with extra --records "
                "folders); run `kinetix-bench leaderboard build` first"
            ) from None
    # the GIFs the page links (leaderboard build --gifs), so its links work on the Hub too
    files = _record_files(root) + _record_files(root, "gifs") + list(REQUIRED_FILES)
    missing = [f for f in OPTIONAL_FILES if not (root / f).is_file()]
    files += [f for f in OPTIONAL_FILES if f not in missing]
    if len(files) > MAX_FILES:
        raise LeaderboardError(f"{root}: {len(files)} files is more than {MAX_FILES} per commit")
    total = sum((root / f).stat().st_size for f in files)
    return {"root": str(root), "files": files, "bytes": total, "missing": missing}


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:300] + "..." if len(text) > 300 else text


def _branch_head(api, repo_id: str, branch: str):
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    return next((b.target_commit for b in refs.branches if b.name == branch), None)


def push_leaderboard(
    root: str | os.PathLike,
    repo_id: str,
    *,
    api=None,
    revision: str | None = None,
    token: str | None = None,
    message: str | None = None,
    dry_run: bool = False,
    check: bool = True,
) -> dict:
    """Uploads the leaderboard folder ``root`` to the dataset repo ``repo_id`` on branch
    ``revision`` (default ``main``; created from main if absent) in one commit (module doc).

    ``api``: an ``HfApi``-like object (tests pass a fake); default ``HfApi(token=token)``.
    ``dry_run``: the plan only, no Hub call. Returns the plan plus ``repo``, ``revision``,
    ``parent_commit``, ``commit_sha``, ``commit_url`` and ``dry_run``."""
    from harness.levels.hub_rules import HubError, validate_repo_id, validate_revision

    validate_repo_id(repo_id)
    branch = validate_revision(revision or "main", allow_unpinned=True)
    if re.fullmatch(r"[0-9a-f]{40}|v\d+\.\d+\.\d+", branch):
        raise HubError(f"revision: {branch!r} is a commit sha or a tag; a push needs a branch")
    plan = plan_leaderboard_push(root, check=check)
    message = message or f"Update the leaderboard ({len(plan['files'])} files)"
    base = {**plan, "repo": repo_id, "revision": branch, "message": message}
    if dry_run:
        return {**base, "dry_run": True}

    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    root = Path(root)
    parent = None
    try:
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        parent = _branch_head(api, repo_id, branch)
        if parent is None and branch != "main":
            api.create_branch(repo_id, branch=branch, repo_type="dataset", exist_ok=True)
            parent = _branch_head(api, repo_id, branch)
        operations = [
            CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(root / rel))
            for rel in plan["files"]
        ]
        info = api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            repo_type="dataset",
            revision=branch,
            parent_commit=parent,
        )
    except HfHubHTTPError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status in (409, 412):
            raise HubError(
                f"push of {root} to {repo_id}@{branch} refused: the branch moved since "
                f"{parent} (a concurrent push?); rebuild the leaderboard from the latest "
                f"records and push again ({_short(e)})"
            ) from e
        raise HubError(f"push of {root} to {repo_id}@{branch} failed: {_short(e)}") from e
    except OfflineModeIsEnabled as e:
        raise HubError(
            f"push of {root} to {repo_id} needs the network, but HF_HUB_OFFLINE is set"
        ) from e
    return {
        **base,
        "parent_commit": parent,
        "commit_sha": getattr(info, "oid", None),
        "commit_url": getattr(info, "commit_url", None),
        "dry_run": False,
    }
