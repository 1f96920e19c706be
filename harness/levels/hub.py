"""The Hub seam: publish and fetch level datasets by pinned revision (DESIGN §6).

A level dataset is a folder in Hub layout (see :mod:`harness.levels.manifest`)::

    benchmark.json                                  manifest: per-file sha256, level-set hashes
    README.md                                       dataset card (YAML ``configs:`` header)
    thumbnails/*.png                                contact sheets
    {config}/{split}-{i:05d}-of-{n:05d}.parquet     e.g. random-s/test-00000-of-00001.parquet

Versioning: a release is a semver tag ``vX.Y.Z`` on one explicit commit, and a tag never moves.
The tag is an alias, the commit sha is the identity: :func:`download_levels` returns both and
results record both. Benchmark downloads are pinned (a tag or a full 40-hex commit sha; a branch
such as ``main`` only with ``allow_unpinned=True``) and are verified against ``benchmark.json``
before they are returned.

This module holds the entry points (:func:`download_levels`, :func:`push_levels`). Validation
(repo ids, tags, revisions), push planning and :class:`HubError` are
:mod:`harness.levels.hub_rules`; the hubs themselves are :mod:`harness.levels.hub_backends`
(:class:`HubBackend`, :class:`HfHubBackend` for the Hugging Face Hub, the default, and
:class:`LocalFolderHub`, a local folder in Hub layout for tests and mirrors). Both are
re-exported here, so ``harness.levels.hub`` is the one name to import.

The repo id defaults to :data:`DEFAULT_LEVELS_REPO`, overridden by the environment variable
``KINETIX_BENCH_LEVELS_REPO`` (mirrors, tests) or an explicit argument.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from harness.levels.hub_backends import HfHubBackend, HubBackend, LocalFolderHub
from harness.levels.hub_rules import (
    _SHA_RE,
    DEFAULT_LEVELS_REPO,
    LEVELS_REPO_ENV,
    MAX_FILES_PER_COMMIT,
    HubError,
    allow_patterns_for,
    dataset_files,
    levels_repo_id,
    plan_push,
    validate_repo_id,
    validate_revision,
    validate_tag,
)
from harness.levels.manifest import MANIFEST_NAME, DatasetError, load_manifest, verify_dataset

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
    """A new :class:`HfHubBackend` (Hub cache in ``$HF_HUB_CACHE``)."""
    return HfHubBackend()


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
