"""Multi-seed submissions: several training seeds of one method in one folder.

A method's result depends on its training seed; a submission may therefore hold one checkpoint
per training seed, and is then scored on every seed (the same attempt keys for each) with
confidence intervals over seeds and levels (:mod:`harness.scoring.seeds`). The folder is our
format (``config.json`` and ``README.md`` shared by all seeds) with ``seeds.json`` in place of
``model.safetensors``::

    my-method/
      config.json                   architecture, options, obs / action types, env size
      README.md                     the model card (training compute of every seed)
      seeds.json                    the manifest below
      seeds/0/model.safetensors     one weights file per seed, each checked like a
      seeds/1/model.safetensors     single-seed submission's model.safetensors
      seeds/2/model.safetensors

``seeds.json`` (format :data:`SEEDS_FORMAT`)::

    {"format": "kinetix-bench-seeds/1",
     "seeds": [{"seed": 0, "file": "seeds/0/model.safetensors", "sha256": "<64 hex>"}, ...]}

Rules, each refusal a :class:`SubmissionError` naming the field (``seeds[1].sha256``):

* ``format`` is :data:`SEEDS_FORMAT`; ``seeds`` lists :data:`MIN_SEEDS` to :data:`MAX_SEEDS`
  entries (one seed is a plain ``model.safetensors``); no other keys. An entry has ``seed`` (an
  integer >= 0, distinct), ``file`` (exactly ``seeds/<seed>/model.safetensors``: no other path
  is ever opened), ``sha256`` (64 lower-case hex digits; the file's bytes must hash to it) and
  optionally ``source`` (a string: where the seed came from, e.g. its run folder);
* ``seeds/`` holds a folder for each listed seed and nothing else (a seed trained but left out
  of the manifest is an error, not silently ignored); each weights file is a file (as for a
  single-seed submission, a symlink is followed: the Hub cache's snapshots are symlinks to its
  blobs);
* the architecture has parameters; the folder has no top-level ``model.safetensors`` and is not
  a Kinetix checkpoint or an exported program (multi-seed submissions are of our format only:
  a Kinetix checkpoint folder holds one ``params.safetensors``, and an exported program bakes
  its parameters' shapes but not their number; export each seed and combine our format's
  folders instead).

The submission's identity (``Submission.sha256``, and so the record's ``checkpoint_sha256`` and
``result_id``) is the sha256 of ``seeds.json``, which names every seed's sha256.
:func:`harness.submissions.seeds_combine.combine_seeds` (``kinetix-bench submission
combine-seeds``) writes such a folder from single-seed submission folders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from harness.submissions.config import ParsedConfig
from harness.submissions.errors import SubmissionError
from harness.submissions.files import (
    MAX_TEXT_BYTES,
    MODEL_FILE,
    check_size,
    read_json,
    sha256_file,
)
from harness.submissions.submission import SeedCheckpoint
from harness.submissions.weights import load_checked_weights

__all__ = [
    "SEEDS_FILE",
    "SEEDS_DIR",
    "SEEDS_FORMAT",
    "MIN_SEEDS",
    "MAX_SEEDS",
    "seed_file",
    "is_multi_seed_folder",
    "parse_seeds_manifest",
    "load_seeds",
    "seeds_manifest",
]

SEEDS_FILE = "seeds.json"
SEEDS_DIR = "seeds"
SEEDS_FORMAT = "kinetix-bench-seeds/1"
#: A multi-seed submission lists at least this many seeds (one seed: a plain model.safetensors).
MIN_SEEDS = 2
#: At most this many seeds (each is loaded and evaluated).
MAX_SEEDS = 64

_SHA = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_REQUIRED = ("seed", "file", "sha256")
_ENTRY_OPTIONAL = ("source",)


def seed_file(seed: int) -> str:
    """``seeds/<seed>/model.safetensors``: the one path a seed's weights may have."""
    return f"{SEEDS_DIR}/{int(seed)}/{MODEL_FILE}"


def is_multi_seed_folder(folder: Path) -> bool:
    """The folder has a ``seeds.json`` (it is then loaded as a multi-seed submission)."""
    return (Path(folder) / SEEDS_FILE).exists()


def _err(path: Path, field: str, problem: str) -> SubmissionError:
    return SubmissionError(f"{path}: field {field!r} {problem}")


def parse_seeds_manifest(raw: dict, path: Path) -> list[dict]:
    """The checked entries of a parsed ``seeds.json`` at ``path``: ``[{"seed", "file",
    "sha256", "source"?}, ...]`` in the manifest's order (module docstring for the rules)."""
    unknown = sorted(set(raw) - {"format", "seeds"})
    if unknown:
        raise _err(path, unknown[0], "is not a seeds.json key (known: format, seeds)")
    if "format" not in raw:
        raise _err(path, "format", f"is missing (expected {SEEDS_FORMAT!r})")
    if raw["format"] != SEEDS_FORMAT:
        raise _err(path, "format", f"must be {SEEDS_FORMAT!r}, got {raw['format']!r}")
    seeds = raw.get("seeds")
    if not isinstance(seeds, list):
        raise _err(path, "seeds", f"must be a list of seed entries, got {seeds!r}")
    if not MIN_SEEDS <= len(seeds) <= MAX_SEEDS:
        raise _err(
            path,
            "seeds",
            f"lists {len(seeds)} seed(s); a multi-seed submission lists {MIN_SEEDS} to "
            f"{MAX_SEEDS} (a single seed is a plain {MODEL_FILE}, without seeds.json)",
        )
    out, seen = [], set()
    for i, e in enumerate(seeds):
        where = f"seeds[{i}]"
        if not isinstance(e, dict):
            raise _err(path, where, f"must be an object, got {e!r}")
        for k in sorted(set(e) - set(_ENTRY_REQUIRED) - set(_ENTRY_OPTIONAL)):
            raise _err(path, f"{where}.{k}", "is not a seed entry key (known: seed, file, "
                       "sha256, source)")  # fmt: skip
        for k in _ENTRY_REQUIRED:
            if k not in e:
                raise _err(path, f"{where}.{k}", "is missing")
        seed = e["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise _err(path, f"{where}.seed", f"must be an integer >= 0, got {seed!r}")
        if seed in seen:
            raise _err(path, f"{where}.seed", f"repeats seed {seed} (seeds are distinct)")
        seen.add(seed)
        if e["file"] != seed_file(seed):
            raise _err(
                path, f"{where}.file", f"must be {seed_file(seed)!r} (seed {seed}), got "
                f"{e['file']!r}"
            )  # fmt: skip
        if not isinstance(e["sha256"], str) or not _SHA.match(e["sha256"]):
            raise _err(path, f"{where}.sha256", f"must be a sha256 hex digest, got {e['sha256']!r}")
        if "source" in e and not isinstance(e["source"], str):
            raise _err(path, f"{where}.source", f"must be a string, got {e['source']!r}")
        out.append(dict(e))
    return out


def load_seeds(
    folder: Path, parsed: ParsedConfig, max_bytes: int
) -> tuple[tuple[SeedCheckpoint, ...], str, dict[str, int]]:
    """Every seed of the multi-seed folder, checked (``config.json`` already parsed as
    ``parsed``): ``(seeds, sha256 of seeds.json, {file: bytes})``. ``max_bytes`` caps each
    weights file."""
    path = folder / SEEDS_FILE
    if not path.is_file():
        raise SubmissionError(f"{path}: not a regular file")
    files = {SEEDS_FILE: check_size(path, MAX_TEXT_BYTES, "seeds.json")}
    entries = parse_seeds_manifest(read_json(path), path)
    listed = {str(e["seed"]) for e in entries}
    seeds_dir = folder / SEEDS_DIR
    present = (
        {p.name for p in seeds_dir.iterdir() if not p.name.startswith(".")}
        if seeds_dir.is_dir()
        else set()
    )
    extra = sorted(present - listed)
    if extra:
        raise SubmissionError(
            f"{seeds_dir / extra[0]}: not listed in {SEEDS_FILE} (list every seed of "
            f"{SEEDS_DIR}/ there, or remove it)"
        )
    out = []
    for i, e in enumerate(entries):
        weights = folder / e["file"]
        if not weights.is_file():
            raise _err(path, f"seeds[{i}].file", f"names {e['file']}, which is not a file")
        files[e["file"]] = check_size(weights, max_bytes, "weights file")
        sha = sha256_file(weights)
        if sha != e["sha256"]:
            raise _err(
                path, f"seeds[{i}].sha256", f"is {e['sha256'][:12]}... but {e['file']} has "
                f"sha256 {sha[:12]}... (the file changed, or the manifest is stale)"
            )  # fmt: skip
        out.append(SeedCheckpoint(e["seed"], e["file"], sha, load_checked_weights(weights, parsed)))
    return tuple(out), sha256_file(path), files


def seeds_manifest(seeds: Sequence[tuple[int, str, str | None]]) -> dict:
    """The ``seeds.json`` object for ``[(seed, sha256, source or None), ...]``."""
    entries = []
    for seed, sha, source in seeds:
        e = {"seed": int(seed), "file": seed_file(seed), "sha256": sha}
        if source:
            e["source"] = source
        entries.append(e)
    return {"format": SEEDS_FORMAT, "seeds": entries}
