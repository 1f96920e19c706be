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

This module holds the entry points (:func:`download_levels`, :func:`push_levels`), validation
(repo ids, tags, revisions), push planning and :class:`HubError`. The hubs themselves live in
:mod:`harness.hub_backends` (:class:`HubBackend`, :class:`HfHubBackend` for the Hugging Face
Hub, the default, and :class:`LocalFolderHub`, a local folder in Hub layout for tests and
mirrors); they are re-exported here, loaded on first use (``hub_backends`` imports this module,
so importing it back eagerly would be a cycle).

The repo id defaults to :data:`DEFAULT_LEVELS_REPO`, overridden by the environment variable
``KINETIX_BENCH_LEVELS_REPO`` (mirrors, tests) or an explicit argument.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.manifest import (
    MANIFEST_NAME,
    DatasetError,
    load_manifest,
    verify_dataset,
)

if TYPE_CHECKING:
    from harness.hub_backends import HfHubBackend, HubBackend, LocalFolderHub

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
_BACKEND_NAMES = ("HubBackend", "HfHubBackend", "LocalFolderHub")


def __getattr__(name: str):
    """Re-exports the backends of :mod:`harness.hub_backends` (imported on first access)."""
    if name in _BACKEND_NAMES:
        from harness import hub_backends

        value = getattr(hub_backends, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_BACKEND_NAMES))


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
    backend = backend if backend is not None else _default_backend()
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
    backend = backend if backend is not None else _default_backend()
    result = backend.push(folder, repo, tag, plan["message"])
    return {**result, "dry_run": False}


# ----------------------------------------------------------------------------- helpers
def _default_backend() -> HubBackend:
    """A new :class:`HfHubBackend` (Hub cache in ``$HF_HUB_CACHE``), imported lazily."""
    from harness import hub_backends

    return hub_backends.HfHubBackend()


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
