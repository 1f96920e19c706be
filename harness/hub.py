"""The Hub seam: publish and fetch level datasets by pinned revision (DESIGN §6).

A level dataset is a folder in Hub layout (see :mod:`harness.manifest`)::

    benchmark.json                                  manifest: per-file sha256, level-set hashes
    README.md                                       dataset card (YAML ``configs:`` header)
    thumbnails/*.png                                contact sheets
    {config}/{split}-{i:05d}-of-{n:05d}.parquet     e.g. random-s/test-00000-of-00001.parquet

Versioning: a release is a semver tag ``vX.Y.Z`` on one explicit commit, and a tag never moves.
The tag is an alias, the commit sha is the identity: :func:`download_levels` returns both and
results record both. Benchmark downloads are pinned (a tag or a full 40-hex commit sha; a branch
such as ``main`` only with ``allow_unpinned=True``) and are verified against ``benchmark.json``
before they are returned.

Two backends implement :class:`HubBackend`:

* :class:`HfHubBackend`: the Hugging Face Hub through ``huggingface_hub`` (imported lazily).
  Downloads go through the Hub cache (``snapshot_download``; the snapshot folder name is the
  commit sha), so ``offline=True`` works from a warm cache. A push is one commit with every file
  of the folder, then a tag on that commit.
* :class:`LocalFolderHub`: a folder acting as a hub (tests, mirrors)::

      root/{owner}--{name}/commits/{sha}/...files     one immutable folder per commit
      root/{owner}--{name}/refs.json                   {"v1.0.0": "<sha>", ...} (tags)
      root/{owner}--{name}/HEAD                        sha of the latest push ("main")

  with ``sha`` = the first 40 hex digits of the sha256 of the sorted ``"<path> <sha256>"``
  lines of the commit's files (content-addressed).

The repo id defaults to :data:`DEFAULT_LEVELS_REPO`, overridden by the environment variable
``KINETIX_BENCH_LEVELS_REPO`` (mirrors, tests) or an explicit argument.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.manifest import (
    MANIFEST_NAME,
    DatasetError,
    load_manifest,
    sha256_file,
    verify_dataset,
)

__all__ = [
    "DEFAULT_LEVELS_REPO",
    "LEVELS_REPO_ENV",
    "MAX_FILES_PER_COMMIT",
    "HubError",
    "HubBackend",
    "HfHubBackend",
    "LocalFolderHub",
    "DownloadedDataset",
    "levels_repo_id",
    "validate_repo_id",
    "validate_tag",
    "validate_revision",
    "allow_patterns_for",
    "dataset_files",
    "plan_push",
    "push_levels",
    "download_levels",
]

DEFAULT_LEVELS_REPO = "kinetix-bench/levels"
LEVELS_REPO_ENV = "KINETIX_BENCH_LEVELS_REPO"

#: The Hub recommends fewer than 100 files per commit. A release must be ONE commit (the tag then
#: points at a complete dataset and no partial state is ever visible on the branch), so a folder
#: with more files is refused rather than split: merge shards or thumbnails (one contact sheet
#: per config) instead.
MAX_FILES_PER_COMMIT = 99

_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_RE = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
_TAG_RE = re.compile(r"^v\d+\.\d+\.\d+$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_BRANCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_SKIP_SUFFIXES = (".tmp", ".part", ".lock", ".incomplete", "~")


class HubError(DatasetError):
    """A Hub operation cannot be done as asked (bad repo id or tag, unknown revision, offline
    without a cached copy, a tag that already exists, a folder too large for one commit)."""


# ----------------------------------------------------------------------------- validation
def validate_repo_id(repo: str, field: str = "repo") -> str:
    """Returns ``repo`` if it is ``owner/name`` (letters, digits, ``._-``), else HubError."""
    if (
        not isinstance(repo, str)
        or not _REPO_RE.match(repo)
        or "--" in repo
        or ".." in repo
        or repo.endswith(".git")
    ):
        raise HubError(
            f"{field}: {repo!r} is not a valid Hub repo id; expected 'owner/name' "
            "(letters, digits, '.', '_', '-'; no '--' or '..'), e.g. "
            f"{DEFAULT_LEVELS_REPO!r}"
        )
    return repo


def validate_tag(tag: str, field: str = "tag") -> str:
    """Returns ``tag`` if it is a release tag ``vMAJOR.MINOR.PATCH``, else HubError."""
    if not isinstance(tag, str) or not _TAG_RE.match(tag):
        raise HubError(
            f"{field}: {tag!r} is not a release tag; expected semver 'vMAJOR.MINOR.PATCH', "
            "e.g. 'v1.0.0'"
        )
    return tag


def validate_revision(revision: str | None, *, allow_unpinned: bool = False) -> str:
    """A pinned revision (tag ``vX.Y.Z`` or full 40-hex commit sha), or with ``allow_unpinned``
    any branch-like name (``main``). Anything else is a HubError naming ``revision``."""
    if revision is None or revision == "":
        raise HubError(
            "revision: required; give a release tag (vX.Y.Z) or a full 40-hex commit sha"
        )
    if not isinstance(revision, str):
        raise HubError(f"revision: expected a string, got {type(revision).__name__}")
    if _TAG_RE.match(revision) or _SHA_RE.match(revision):
        return revision
    if allow_unpinned and _BRANCH_RE.match(revision) and ".." not in revision:
        return revision
    if allow_unpinned:
        raise HubError(f"revision: {revision!r} is not a valid revision name")
    raise HubError(
        f"revision: {revision!r} is not pinned; benchmarks need a release tag (vX.Y.Z) or a "
        "full 40-hex commit sha (allow a branch such as 'main' explicitly with "
        "allow_unpinned / --allow-unpinned)"
    )


def levels_repo_id(repo: str | None = None) -> str:
    """The level dataset repo: ``repo`` if given, else ``$KINETIX_BENCH_LEVELS_REPO``, else
    :data:`DEFAULT_LEVELS_REPO`; validated (the error names where the bad value came from)."""
    if repo:
        return validate_repo_id(repo, "repo")
    env = os.environ.get(LEVELS_REPO_ENV)
    if env:
        return validate_repo_id(env, LEVELS_REPO_ENV)
    return DEFAULT_LEVELS_REPO


def allow_patterns_for(configs: Sequence[str] | None) -> list[str] | None:
    """``snapshot_download`` patterns: the configs' folders plus card, manifest and thumbnails
    (``None``, i.e. everything, when ``configs`` is None)."""
    if configs is None:
        return None
    return [f"{c}/*" for c in configs] + ["README.md", MANIFEST_NAME, "thumbnails/*"]


# ----------------------------------------------------------------------------- push planning
def _skipped(rel: str) -> bool:
    parts = rel.split("/")
    return (
        any(p.startswith(".") or p == "__pycache__" for p in parts)
        or parts[-1].endswith(_SKIP_SUFFIXES)
        or parts[-1].startswith("~")
    )


def dataset_files(folder: str | os.PathLike) -> list[str]:
    """The files a push uploads: every file under ``folder`` as a sorted POSIX relative path,
    skipping hidden entries (``.*``, e.g. ``.cache``), ``__pycache__`` and temporary files
    (``*.tmp``, ``*.part``, ``*.lock``, ``*.incomplete``, ``*~``)."""
    root = Path(folder)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = [d for d in dirnames if not _skipped(d)]
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not _skipped(rel) and (Path(dirpath) / name).is_file():
                out.append(rel)
    return sorted(out)


def plan_push(folder: str | os.PathLike, repo: str, tag: str, message: str | None = None) -> dict:
    """Validates ``repo`` and ``tag``, verifies ``folder`` against its manifest (deep) and
    returns the plan, without touching any hub::

        {"repo", "tag", "message", "folder", "files": [rel, ...], "bytes": int,
         "configs": [...], "operations": [{"op": "create_repo", ...},
                                          {"op": "create_commit", "add": [...], ...},
                                          {"op": "create_tag", "tag", "revision": "<new commit>"}]}

    Raises HubError (bad id/tag, no files, too many files) or DatasetIntegrityError.
    """
    validate_repo_id(repo, "repo")
    validate_tag(tag, "tag")
    folder = Path(folder)
    if not folder.is_dir():
        raise HubError(f"folder: {folder} is not a directory")
    manifest = verify_dataset(folder, deep=True)  # never push a broken dataset
    files = dataset_files(folder)
    unlisted = [f for f in files if f.endswith(".parquet") and f not in manifest["files"]]
    if unlisted:
        raise HubError(
            f"{folder}: Parquet files not in {MANIFEST_NAME}: {', '.join(unlisted[:5])}"
            f"{' ...' if len(unlisted) > 5 else ''} (rebuild the manifest or remove them)"
        )
    if len(files) > MAX_FILES_PER_COMMIT:
        raise HubError(
            f"{folder}: {len(files)} files, but a release is one commit and the Hub takes fewer "
            f"than 100 files per commit (max {MAX_FILES_PER_COMMIT}); merge shards or "
            "thumbnails into fewer files"
        )
    message = message or f"kinetix-bench levels {tag}"
    return {
        "repo": repo,
        "tag": tag,
        "message": message,
        "folder": str(folder),
        "files": files,
        "bytes": sum((folder / f).stat().st_size for f in files),
        "configs": sorted(manifest["configs"]),
        "operations": [
            {"op": "create_repo", "repo": repo, "repo_type": "dataset", "exist_ok": True},
            {"op": "check_tag_absent", "tag": tag},
            {"op": "create_commit", "revision": "main", "message": message, "add": files},
            {"op": "create_tag", "tag": tag, "revision": "<sha of the new commit>"},
        ],
    }


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
        _write_atomic(rdir / "refs.json", json.dumps(tags, indent=2, sort_keys=True) + "\n")
        _write_atomic(rdir / "HEAD", sha + "\n")
        return {
            "repo": repo,
            "tag": tag,
            "commit_sha": sha,
            "files": plan["files"],
            "deleted": [],
            "bytes": plan["bytes"],
        }


# ----------------------------------------------------------------------------- entry points
@dataclasses.dataclass(frozen=True)
class DownloadedDataset:
    """A verified local copy: ``path`` (read it, do not write: it may be the Hub cache),
    ``repo``, the ``revision`` asked for and the ``commit_sha`` it resolved to."""

    path: Path
    repo: str
    revision: str
    commit_sha: str

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "repo": self.repo,
            "revision": self.revision,
            "commit_sha": self.commit_sha,
        }


def download_levels(
    repo: str | None = None,
    revision: str | None = None,
    configs: Sequence[str] | None = None,
    *,
    backend: HubBackend | None = None,
    offline: bool = False,
    allow_unpinned: bool = False,
) -> DownloadedDataset:
    """Fetches (or finds in the cache) a level dataset at a pinned ``revision`` and verifies it.

    ``repo``: see :func:`levels_repo_id`. ``revision``: a release tag ``vX.Y.Z`` or a 40-hex
    commit sha (a branch only with ``allow_unpinned``). ``configs``: only these configs' files
    (plus card, manifest and thumbnails); None: all. ``backend``: default
    :class:`HfHubBackend` (Hub cache in ``$HF_HUB_CACHE``). ``offline``: never contact the
    hub (the copy must be cached). The copy is checked with
    ``verify_dataset(path, configs=configs)`` (sha256 of every file and level-set hashes);
    raises HubError or DatasetIntegrityError.
    """
    repo = levels_repo_id(repo)
    revision = validate_revision(revision, allow_unpinned=allow_unpinned)
    if configs is not None:
        configs = list(configs)
        if not configs:
            raise HubError("configs: empty list (give None for every config)")
    backend = backend if backend is not None else HfHubBackend()
    path, sha = backend.download(repo, revision, allow_patterns_for(configs), offline=offline)
    path = Path(path)
    if _SHA_RE.match(revision) and sha != revision:
        raise HubError(f"{repo}: asked for commit {revision}, the hub returned {sha}")
    if offline and configs is not None:
        _check_cached(path, repo, revision, configs)
    verify_dataset(path, configs=configs, deep=True)
    return DownloadedDataset(path=path, repo=repo, revision=revision, commit_sha=sha)


def push_levels(
    folder: str | os.PathLike,
    repo: str,
    tag: str,
    message: str | None = None,
    *,
    backend: HubBackend | None = None,
    dry_run: bool = False,
) -> dict:
    """Publishes a verified level dataset folder as release ``tag`` of ``repo``.

    ``dry_run``: returns :func:`plan_push`'s plan (with ``"dry_run": True``) and touches no
    hub. Otherwise returns the backend's result (``commit_sha``, ``tag``, ``files``, ...).
    """
    plan = plan_push(folder, repo, tag, message)
    if dry_run:
        return {**plan, "dry_run": True}
    backend = backend if backend is not None else HfHubBackend()
    result = backend.push(folder, repo, tag, plan["message"])
    return {**result, "dry_run": False}


# ----------------------------------------------------------------------------- helpers
def _not_cached(repo: str, revision: str, cache: Path) -> str:
    return (
        f"revision {revision} of {repo} is not in the local Hub cache ({cache}) and --offline "
        "is set (download it once online, or point --cache-dir / HF_HUB_CACHE at a cache "
        "that has it)"
    )


def _check_cached(path: Path, repo: str, revision: str, configs: Sequence[str]) -> None:
    """Offline partial copies: a config whose files were never downloaded is 'not cached',
    not 'corrupt'."""
    try:
        m = load_manifest(path)
    except DatasetError:
        raise HubError(
            f"{repo}@{revision}: the cached snapshot {path} has no {MANIFEST_NAME}; "
            "download it once online"
        ) from None
    for c in configs:
        if c not in m["configs"]:
            continue  # verify_dataset names the available configs
        files = [f for s in m["configs"][c]["splits"].values() for f in s["files"]]
        if files and not any((path / f).exists() for f in files):
            raise HubError(
                f"config {c} of {repo}@{revision} is not in the local Hub cache ({path}) and "
                "--offline is set"
            )


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(e).__name__
