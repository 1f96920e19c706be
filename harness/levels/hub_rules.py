"""What a Hub level-dataset repo, revision and push must look like (``DESIGN.md`` §6).

Validation of repo ids, release tags and revisions (:func:`validate_repo_id`,
:func:`validate_tag`, :func:`validate_revision`), the default repo (:func:`levels_repo_id`), the
files of a dataset folder that are published (:func:`dataset_files`), the plan of a push as one
commit plus one tag (:func:`plan_push`) and :class:`HubError`. The entry points
(:mod:`harness.levels.hub`) and the backends (:mod:`harness.levels.hub_backends`) both use these;
this module imports neither.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from harness.levels.manifest import MANIFEST_NAME, DatasetError, verify_dataset

__all__ = [
    "DEFAULT_LEVELS_REPO",
    "LEVELS_REPO_ENV",
    "MAX_FILES_PER_COMMIT",
    "HubError",
    "levels_repo_id",
    "validate_repo_id",
    "validate_tag",
    "validate_revision",
    "allow_patterns_for",
    "dataset_files",
    "plan_push",
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
