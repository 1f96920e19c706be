"""Hub backends: where :mod:`harness.levels.hub` actually reads and writes level datasets.

A backend is any object with the four methods of :class:`HubBackend` (``resolve`` a revision to
a commit sha, ``download`` a revision into a local folder, ``push`` a folder as one tagged
commit, list ``tags``). The entry points :func:`harness.levels.hub.download_levels` and
:func:`harness.levels.hub.push_levels` take one as ``backend=`` and do the validation, planning and
verification around it; a backend only moves files and refs. Two implementations:

* :class:`HfHubBackend`: the Hugging Face Hub through ``huggingface_hub`` (imported lazily).
  Downloads go through the Hub cache (``snapshot_download``; the snapshot folder name is the
  commit sha), so ``offline=True`` works from a warm cache. A push is one commit with every file
  of the folder, then a tag on that commit.
* :class:`LocalFolderHub`: a plain local folder in Hub layout that stands in for the Hub in
  tests (no network, no Hub cache) and serves as a mirror (``levels push/download
  --local-hub``)::

      root/{owner}--{name}/commits/{sha}/...files     one immutable folder per commit
      root/{owner}--{name}/refs.json                   {"v1.0.0": "<sha>", ...} (tags)
      root/{owner}--{name}/HEAD                        sha of the latest push ("main")

  with ``sha`` = the first 40 hex digits of the sha256 of the sorted ``"<path> <sha256>"``
  lines of the commit's files (content-addressed).

Both refuse to move an existing tag and raise :class:`harness.levels.hub_rules.HubError` on
failure. This module imports :mod:`harness.levels.hub_rules` (errors, validators, push planning);
:mod:`harness.levels.hub` imports it and re-exports the classes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.levels.hub_rules import (
    _SHA_RE,
    MAX_FILES_PER_COMMIT,
    HubError,
    _skipped,
    plan_push,
    validate_repo_id,
)
from harness.levels.manifest import sha256_file
from kinetix.atomic_io import atomic_write_text

__all__ = ["HubBackend", "HfHubBackend", "LocalFolderHub"]


# ----------------------------------------------------------------------------- backends
@runtime_checkable
class HubBackend(Protocol):
    """What the harness needs from a hub. ``repo`` is ``owner/name`` (a dataset repo)."""

    def resolve(self, repo: str, revision: str) -> str:
        """The 40-hex commit sha ``revision`` (tag, sha or branch) points to."""
        ...

    def download(
        self, repo: str, revision: str, allow_patterns: list[str] | None, *, offline: bool
    ) -> tuple[Path, str]:
        """A local folder with the repo's files at ``revision`` (those matching
        ``allow_patterns``; None: all) and the commit sha."""
        ...

    def push(self, folder: str | os.PathLike, repo: str, tag: str, message: str) -> dict:
        """Publishes ``folder`` as one commit tagged ``tag``; refuses an existing tag.
        Returns at least ``{"commit_sha", "tag", "repo", "files"}``."""
        ...

    def tags(self, repo: str) -> dict[str, str]:
        """``{tag: commit sha}``."""
        ...


class HfHubBackend:
    """The Hugging Face Hub. ``api``: an ``HfApi`` (tests pass ``create_autospec(HfApi)``);
    ``cache_dir``: the Hub cache (default ``$HF_HUB_CACHE``); ``token``: passed through."""

    def __init__(self, api=None, cache_dir: str | os.PathLike | None = None, token=None):
        self._api = api
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.token = token

    @property
    def api(self):
        if self._api is None:
            from huggingface_hub import HfApi

            self._api = HfApi(token=self.token)
        return self._api

    def _cache_root(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)

    def _storage(self, repo: str) -> Path:
        return self._cache_root() / ("datasets--" + repo.replace("/", "--"))

    def resolve(self, repo: str, revision: str, *, offline: bool = False) -> str:
        if offline:
            storage = self._storage(repo)
            if _SHA_RE.match(revision) and (storage / "snapshots" / revision).is_dir():
                return revision
            ref = storage / "refs" / revision
            if ref.is_file():
                return ref.read_text().strip()
            raise HubError(_not_cached(repo, revision, self._cache_root()))
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        try:
            info = self.api.repo_info(repo, repo_type="dataset", revision=revision)
        except (HfHubHTTPError, OfflineModeIsEnabled) as e:
            raise HubError(f"cannot resolve revision {revision} of {repo}: {_short(e)}") from e
        return info.sha

    def download(
        self,
        repo: str,
        revision: str,
        allow_patterns: list[str] | None = None,
        *,
        offline: bool = False,
    ) -> tuple[Path, str]:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            HfHubHTTPError,
            IncompleteSnapshotError,
            LocalEntryNotFoundError,
            OfflineModeIsEnabled,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        try:
            path = snapshot_download(
                repo,
                repo_type="dataset",
                revision=revision,
                allow_patterns=allow_patterns,
                cache_dir=self.cache_dir,
                local_files_only=offline,
                token=self.token,
            )
        except IncompleteSnapshotError as e:
            raise HubError(
                f"the cached copy of {repo}@{revision} is incomplete and the Hub cannot be "
                f"reached: {_short(e)}"
            ) from e
        except LocalEntryNotFoundError as e:
            if offline:
                raise HubError(_not_cached(repo, revision, self._cache_root())) from e
            raise HubError(
                f"revision {revision} of {repo} is not in the local Hub cache "
                f"({self._cache_root()}) and the Hub cannot be reached (HF_HUB_OFFLINE set, or "
                f"no network): {_short(e)}"
            ) from e
        except RevisionNotFoundError as e:
            raise HubError(f"revision {revision} not found in dataset repo {repo}") from e
        except RepositoryNotFoundError as e:
            raise HubError(f"dataset repo {repo} not found (or not accessible)") from e
        except (HfHubHTTPError, OfflineModeIsEnabled) as e:
            raise HubError(f"download of {repo}@{revision} failed: {_short(e)}") from e
        path = Path(path)
        sha = path.name  # the snapshot folder is named after the commit sha
        if not _SHA_RE.match(sha):
            raise HubError(f"unexpected snapshot folder {path} (expected a 40-hex commit sha)")
        return path, sha

    def tags(self, repo: str) -> dict[str, str]:
        refs = self._refs(repo)
        return {t.name: t.target_commit for t in refs.tags}

    def _refs(self, repo: str):
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        try:
            return self.api.list_repo_refs(repo, repo_type="dataset")
        except (HfHubHTTPError, OfflineModeIsEnabled) as e:
            raise HubError(f"cannot list the refs of {repo}: {_short(e)}") from e

    def push(
        self, folder: str | os.PathLike, repo: str, tag: str, message: str | None = None
    ) -> dict:
        """``create_repo`` (exist_ok), refuse an existing tag, ONE ``create_commit`` on
        ``main`` (adds every file of the folder, deletes repo files the folder no longer has,
        ``parent_commit`` = main's head for optimistic concurrency), then ``create_tag`` on the
        new commit's sha."""
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        plan = plan_push(folder, repo, tag, message)
        folder = Path(folder)
        api = self.api
        try:
            api.create_repo(repo, repo_type="dataset", exist_ok=True)
            refs = self._refs(repo)
            existing = {t.name: t.target_commit for t in refs.tags}
            if tag in existing:
                raise HubError(
                    f"tag: {tag} already exists in {repo} (commit {existing[tag]}); release "
                    "tags never move: publish a new version"
                )
            parent = next((b.target_commit for b in refs.branches if b.name == "main"), None)
            remote = (
                list(api.list_repo_files(repo, repo_type="dataset", revision=parent))
                if parent
                else []
            )
            keep = set(plan["files"])
            stale = sorted(p for p in remote if p not in keep and not _skipped(p))
            operations = [
                CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(folder / rel))
                for rel in plan["files"]
            ] + [CommitOperationDelete(path_in_repo=rel) for rel in stale]
            if len(operations) > MAX_FILES_PER_COMMIT:
                raise HubError(
                    f"{repo}: the release commit would touch {len(operations)} files "
                    f"({len(stale)} deletions of files absent from {folder}); the Hub takes "
                    f"fewer than 100 files per commit"
                )
            info = api.create_commit(
                repo,
                operations,
                commit_message=plan["message"],
                repo_type="dataset",
                revision="main",
                parent_commit=parent,
            )
        except (HfHubHTTPError, OfflineModeIsEnabled) as e:
            raise HubError(f"push of {folder} to {repo} ({tag}) failed: {_short(e)}") from e
        sha = info.oid
        try:
            api.create_tag(
                repo, tag=tag, tag_message=plan["message"], revision=sha, repo_type="dataset"
            )
        except (HfHubHTTPError, OfflineModeIsEnabled) as e:
            raise HubError(
                f"{repo}: commit {sha} was pushed but tagging it {tag} failed (was the tag "
                f"created meanwhile?): {_short(e)}; list the repo's tags, then tag that "
                "commit with a new version"
            ) from e
        return {
            "repo": repo,
            "tag": tag,
            "commit_sha": sha,
            "commit_url": getattr(info, "commit_url", None),
            "files": plan["files"],
            "deleted": stale,
            "bytes": plan["bytes"],
        }


class LocalFolderHub:
    """A folder acting as a hub (tests, mirrors). Layout in the module docstring. Commits are
    content-addressed and immutable; tags never move; ``main`` is the latest push.
    ``download`` returns the commit folder itself (all files; ``allow_patterns`` and
    ``offline`` change nothing for a local folder)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _repo_dir(self, repo: str) -> Path:
        validate_repo_id(repo, "repo")
        return self.root / repo.replace("/", "--")

    def tags(self, repo: str) -> dict[str, str]:
        path = self._repo_dir(repo) / "refs.json"
        if not path.is_file():
            return {}
        return dict(json.loads(path.read_text()))

    def resolve(self, repo: str, revision: str, *, offline: bool = False) -> str:
        rdir = self._repo_dir(repo)
        if _SHA_RE.match(revision) and (rdir / "commits" / revision).is_dir():
            return revision
        tags = self.tags(repo)
        if revision in tags:
            return tags[revision]
        if revision == "main" and (rdir / "HEAD").is_file():
            return (rdir / "HEAD").read_text().strip()
        if not rdir.is_dir():
            raise HubError(f"dataset repo {repo} not found in the local hub {self.root}")
        raise HubError(
            f"revision {revision} not found in {repo} (local hub {self.root}; tags: "
            f"{sorted(tags) or 'none'})"
        )

    def download(
        self,
        repo: str,
        revision: str,
        allow_patterns: list[str] | None = None,
        *,
        offline: bool = False,
    ) -> tuple[Path, str]:
        sha = self.resolve(repo, revision)
        path = self._repo_dir(repo) / "commits" / sha
        if not path.is_dir():
            raise HubError(f"{repo}: ref {revision} points to {sha}, which has no commit folder")
        return path, sha

    @staticmethod
    def commit_sha(folder: str | os.PathLike, files: Sequence[str]) -> str:
        lines = "".join(f"{rel} {sha256_file(Path(folder) / rel)}\n" for rel in sorted(files))
        return hashlib.sha256(lines.encode()).hexdigest()[:40]

    def push(
        self, folder: str | os.PathLike, repo: str, tag: str, message: str | None = None
    ) -> dict:
        plan = plan_push(folder, repo, tag, message)
        rdir = self._repo_dir(repo)
        tags = self.tags(repo)
        if tag in tags:
            raise HubError(
                f"tag: {tag} already exists in {repo} (commit {tags[tag]}); release tags never "
                "move: publish a new version"
            )
        sha = self.commit_sha(folder, plan["files"])
        commit = rdir / "commits" / sha
        if not commit.is_dir():  # same content, same commit: reuse it
            (rdir / "commits").mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=rdir / "commits"))
            try:
                for rel in plan["files"]:
                    dst = tmp / rel
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(Path(folder) / rel, dst)
                (tmp / ".message").write_text(plan["message"] + "\n")
                os.replace(tmp, commit)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        tags[tag] = sha
        atomic_write_text(rdir / "refs.json", json.dumps(tags, indent=2, sort_keys=True) + "\n")
        atomic_write_text(rdir / "HEAD", sha + "\n")
        return {
            "repo": repo,
            "tag": tag,
            "commit_sha": sha,
            "files": plan["files"],
            "deleted": [],
            "bytes": plan["bytes"],
        }


# ----------------------------------------------------------------------------- helpers
def _not_cached(repo: str, revision: str, cache: Path) -> str:
    return (
        f"revision {revision} of {repo} is not in the local Hub cache ({cache}) and --offline "
        "is set (download it once online, or point --cache-dir / HF_HUB_CACHE at a cache "
        "that has it)"
    )


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(e).__name__
