"""Where a submission comes from: a local folder, or a Hub model repo at a pinned commit.

:func:`resolve_submission` turns what the user typed into a local folder:

* a folder path: used as it is (the id is the folder's name);
* ``hf://OWNER/REPO[/SUBFOLDER][@REVISION]``: a folder of a Hugging Face model repo, e.g.
  ``hf://mbeukman/Kinetix-Checkpoints/sfl-paper`` (REVISION defaults to ``main``; a branch, a
  tag or a full 40-hex commit sha);
* ``OWNER/REPO[@REVISION]`` (no scheme): the repo's top folder, when no local path of that name
  exists.

Hub files are fetched through the Hub cache with ``huggingface_hub.snapshot_download``: only the
submission files of that folder (:data:`HUB_FILES`), nothing else of the repo. Offline
(``offline=True``, ``$KINETIX_BENCH_OFFLINE`` or ``$HF_HUB_OFFLINE``) only the cache is read
(``local_files_only``); a branch or tag then resolves through the cache's ``refs/``. The snapshot
folder is named after the commit sha, which becomes the submission's ``source["commit"]``: a
branch or tag is an alias, the commit is the identity recorded in results.

Errors are :class:`~harness.submissions.errors.SubmissionError` naming the reference and the
problem (malformed reference, unknown repo or revision, not cached while offline, missing
subfolder).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from harness.submissions.errors import SubmissionError

__all__ = [
    "HF_SCHEME",
    "HUB_FILES",
    "HubRef",
    "ResolvedSubmission",
    "parse_hub_ref",
    "pinned_reference",
    "resolve_submission",
]

HF_SCHEME = "hf://"
#: The only files fetched from a Hub model repo folder (glob patterns; ``seeds.json`` and
#: ``seeds/*/model.safetensors``: a multi-seed submission, :mod:`harness.submissions.seeds`).
HUB_FILES = (
    "model.safetensors",
    "config.json",
    "README.md",
    "params.safetensors",
    "policy.jax_exported",
    "carry.safetensors",
    "seeds.json",
    "seeds/*/model.safetensors",
)
DEFAULT_REVISION = "main"

_NAME_RE = re.compile(r"^[A-Za-z0-9][\w.-]*$")
_SEGMENT_RE = re.compile(r"^[\w.-]+$")
_REVISION_RE = re.compile(r"^[\w.-]+(/[\w.-]+)*$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_BARE_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")
_MAX_NAME = 96
_FORM = "hf://OWNER/REPO[/SUBFOLDER][@REVISION]"


@dataclasses.dataclass(frozen=True)
class HubRef:
    """A parsed Hub reference.

    Attributes:
        repo: ``OWNER/REPO`` (a model repo).
        subfolder: the folder inside the repo holding the submission files (``None``: the top).
        revision: the branch, tag or commit sha asked for (``main`` when not given).
    """

    repo: str
    subfolder: str | None = None
    revision: str = DEFAULT_REVISION

    @property
    def id(self) -> str:
        """``OWNER/REPO[/SUBFOLDER]@REVISION`` (the submission id of results)."""
        sub = f"/{self.subfolder}" if self.subfolder else ""
        return f"{self.repo}{sub}@{self.revision}"

    def __str__(self) -> str:
        return HF_SCHEME + self.id


@dataclasses.dataclass(frozen=True)
class ResolvedSubmission:
    """A submission folder on disk.

    Attributes:
        folder: the local folder holding the submission files.
        id: the folder name, or :attr:`HubRef.id`.
        source: ``None`` for a local folder; for the Hub ``{"repo", "subfolder", "revision",
            "commit"}`` (``commit``: the 40-hex sha the revision resolved to).
    """

    folder: Path
    id: str
    source: dict | None = None


def _malformed(text: str, why: str) -> SubmissionError:
    return SubmissionError(f"{text!r}: malformed Hub reference ({why}); expected {_FORM}")


def _check_name(text: str, part: str, value: str) -> None:
    if (
        not value
        or len(value) > _MAX_NAME
        or not _NAME_RE.match(value)
        or "--" in value
        or ".." in value
        or value.endswith((".", "-", ".git"))
    ):
        raise _malformed(
            text,
            f"{part} {value!r} is not a valid Hub name (letters, digits, '.', '_', '-'; no "
            f"'--' or '..'; at most {_MAX_NAME} characters)",
        )


def parse_hub_ref(text: str) -> HubRef:
    """Parses ``hf://OWNER/REPO[/SUBFOLDER][@REVISION]`` (or the same without ``hf://``).

    Raises :class:`SubmissionError` naming the part that is wrong.
    """
    if not isinstance(text, str):
        raise SubmissionError(f"{text!r}: a Hub reference must be a string")
    body = text[len(HF_SCHEME) :] if text.startswith(HF_SCHEME) else text
    if text.startswith("hf:") and not text.startswith(HF_SCHEME):
        raise _malformed(text, "the scheme is 'hf://'")
    if "://" in body:
        raise _malformed(text, "give the repo, not a URL")
    path, at, revision = body.partition("@")
    if at and not revision:
        raise _malformed(text, "empty revision after '@'")
    if at and ("@" in revision or not _REVISION_RE.match(revision) or ".." in revision):
        raise _malformed(text, f"revision {revision!r} is not a branch, tag or commit sha")
    parts = path.split("/")
    if len(parts) < 2:
        raise _malformed(text, "no repo: give OWNER/REPO")
    owner, name, sub = parts[0], parts[1], parts[2:]
    if owner in ("datasets", "spaces"):
        raise _malformed(text, f"'{owner}/' repos are not model repos; submissions are models")
    _check_name(text, "owner", owner)
    _check_name(text, "repo", name)
    for seg in sub:
        if not seg or seg in (".", "..") or not _SEGMENT_RE.match(seg):
            raise _malformed(
                text,
                f"subfolder part {seg!r} is not a folder name (letters, digits, '.', '_', '-')",
            )
    return HubRef(f"{owner}/{name}", "/".join(sub) or None, revision or DEFAULT_REVISION)


def pinned_reference(source: dict) -> str:
    """``hf://REPO[/SUBFOLDER]@COMMIT`` from a :attr:`ResolvedSubmission.source`: the reference
    that loads exactly the same files again (a branch may move, a commit does not)."""
    return str(HubRef(source["repo"], source.get("subfolder"), source["commit"]))


def _short(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"


def _download(ref: HubRef, cache_dir, offline: bool) -> Path:
    """The snapshot folder (named after the commit sha) holding ``ref``'s submission files."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    prefix = f"{ref.subfolder}/" if ref.subfolder else ""
    cache = Path(cache_dir) if cache_dir is not None else Path(constants.HF_HUB_CACHE)
    try:
        local = snapshot_download(
            ref.repo,
            repo_type="model",
            revision=ref.revision,
            allow_patterns=[prefix + f for f in HUB_FILES],
            cache_dir=cache_dir,
            local_files_only=offline,
        )
    except RevisionNotFoundError:
        raise SubmissionError(
            f"{ref}: revision {ref.revision!r} not found in the Hub model repo {ref.repo}; it "
            "could not be fetched"
        ) from None
    except RepositoryNotFoundError:
        raise SubmissionError(
            f"{ref}: the Hub model repo {ref.repo} could not be fetched (not found, or not "
            "accessible)"
        ) from None
    except LocalEntryNotFoundError as e:
        why = (
            "offline mode is on (--offline, KINETIX_BENCH_OFFLINE or HF_HUB_OFFLINE)"
            if offline
            else "the Hub cannot be reached"
        )
        raise SubmissionError(
            f"{ref}: could not be fetched: revision {ref.revision!r} of {ref.repo} is not in the "
            f"Hub cache ({cache}) and {why}; download it once online, or point HF_HUB_CACHE at a "
            f"cache that has it ({_short(e)})"
        ) from None
    except Exception as e:  # network, HTTP, incomplete cached snapshot, ...
        raise SubmissionError(
            f"{ref}: the Hub model repo could not be fetched ({_short(e)})"
        ) from None
    return Path(local)


def _resolve_hub(ref: HubRef, cache_dir, offline: bool | None) -> ResolvedSubmission:
    from harness.levels.loading import is_offline

    snapshot = _download(ref, cache_dir, is_offline(offline))
    commit = snapshot.name
    if not _SHA_RE.match(commit):
        raise SubmissionError(
            f"{ref}: unexpected Hub cache folder {snapshot} (expected one named after a 40-hex "
            "commit sha)"
        )
    if ref.revision and _SHA_RE.match(ref.revision) and ref.revision != commit:
        raise SubmissionError(f"{ref}: the Hub cache returned commit {commit}, not {ref.revision}")
    folder = snapshot / ref.subfolder if ref.subfolder else snapshot
    if not folder.is_dir():
        present = sorted(p.name for p in snapshot.iterdir())
        raise SubmissionError(
            f"{ref}: no folder {ref.subfolder!r} with submission files in {ref.repo} at commit "
            f"{commit} (found: {', '.join(present) or 'nothing'})"
        )
    source = {
        "repo": ref.repo,
        "subfolder": ref.subfolder,
        "revision": ref.revision,
        "commit": commit,
    }
    return ResolvedSubmission(folder, ref.id, source)


def resolve_submission(
    spec: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    *,
    offline: bool | None = None,
) -> ResolvedSubmission:
    """The local folder of ``spec`` (see the module docstring); Hub references are downloaded
    (only their submission files) into the Hub cache (``cache_dir``, default ``$HF_HUB_CACHE``).
    ``offline``: ``None`` follows ``$KINETIX_BENCH_OFFLINE`` / ``$HF_HUB_OFFLINE``."""
    text = os.fspath(spec)
    if isinstance(text, bytes):
        text = text.decode()
    if text.startswith("hf:"):
        return _resolve_hub(parse_hub_ref(text), cache_dir, offline)
    path = Path(text)
    if path.is_dir():
        return ResolvedSubmission(path, path.resolve().name)
    if path.exists():
        raise SubmissionError(f"{spec}: not a folder (a submission is a folder of files)")
    if not _BARE_RE.match(text) or text.startswith((".", "/")):
        raise SubmissionError(
            f"{spec}: no such folder (nor a Hub reference {_FORM} or OWNER/REPO[@REVISION])"
        )
    return _resolve_hub(parse_hub_ref(text), cache_dir, offline)
