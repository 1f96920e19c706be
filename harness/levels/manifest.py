"""``benchmark.json``: the manifest of a level dataset folder in Hub layout (DESIGN §6).

Format (``format: "kinetix-bench/levels"``, ``manifest_version: 1``)::

    {
      "format": "kinetix-bench/levels", "manifest_version": 1,
      "name": "kinetix-levels", "schema_version": 1,
      "generator_version": "kinetix-gen-1", "simulator_version": "jax2d ...",
      "kinetix_bench_version": "0.1.0", "platform": "cpu",
      "configs": {
        "handmade-s": {
          "source": "handmade", "env_size": "s",
          "capacities": {"num_polygons": 5, ...},
          "splits": {"test": {"files": ["handmade-s/test-00000-of-00001.parquet"],
                              "num_rows": 12, "level_set_hash": "<sha256 hex>"}}
        }, ...
      },
      "files": {"handmade-s/test-00000-of-00001.parquet": {"sha256": "...", "bytes": 1234,
                                                          "num_rows": 12}},
      "recipe": {...}                       # the recipe that built it (informational)
    }

:func:`verify_dataset` checks a folder against its manifest: every listed file present with its
size and sha256, no Parquet file the manifest does not list, row counts, and (``deep=True``)
each split's level-set hash recomputed from the ``level_hash`` column. Any mismatch is a
:class:`DatasetIntegrityError` (never a warning).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_FORMAT",
    "MANIFEST_VERSION",
    "DatasetError",
    "DatasetIntegrityError",
    "sha256_file",
    "load_manifest",
    "write_manifest",
    "verify_dataset",
    "split_files",
    "dataset_commit_id",
]

MANIFEST_NAME = "benchmark.json"
MANIFEST_FORMAT = "kinetix-bench/levels"
MANIFEST_VERSION = 1


class DatasetError(ValueError):
    """A level dataset cannot be found, read or built as asked (bad recipe, bad folder)."""


class DatasetIntegrityError(DatasetError):
    """A level dataset does not match its manifest (hash, size, row count, level-set hash)."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def load_manifest(root: str | os.PathLike) -> dict:
    """Reads and checks the structure of ``root/benchmark.json``."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(f"{root}: no {MANIFEST_NAME} (not a kinetix-bench level dataset)")
    try:
        m = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetIntegrityError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(m, dict) or m.get("format") != MANIFEST_FORMAT:
        raise DatasetIntegrityError(f"{path}: 'format' must be {MANIFEST_FORMAT!r}")
    if m.get("manifest_version") != MANIFEST_VERSION:
        raise DatasetIntegrityError(
            f"{path}: manifest_version {m.get('manifest_version')!r} is not supported "
            f"(this version reads {MANIFEST_VERSION})"
        )
    for key in ("configs", "files"):
        if not isinstance(m.get(key), dict):
            raise DatasetIntegrityError(f"{path}: {key!r} must be an object")
    for cname, c in m["configs"].items():
        splits = c.get("splits") if isinstance(c, dict) else None
        if not isinstance(splits, dict) or not splits:
            raise DatasetIntegrityError(
                f"{path}: configs.{cname}.splits must be a non-empty object"
            )
        for sname, s in splits.items():
            for key in ("files", "num_rows", "level_set_hash"):
                if key not in s:
                    raise DatasetIntegrityError(
                        f"{path}: configs.{cname}.splits.{sname}.{key} missing"
                    )
            for f in s["files"]:
                if f not in m["files"]:
                    raise DatasetIntegrityError(
                        f"{path}: configs.{cname}.splits.{sname} lists {f!r}, absent from 'files'"
                    )
    return m


def write_manifest(root: str | os.PathLike, manifest: dict) -> Path:
    """Writes ``root/benchmark.json`` atomically (sorted keys, 2-space indent, newline)."""
    from kinetix.atomic_io import atomic_write_text

    path = Path(root) / MANIFEST_NAME
    atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def split_files(root: str | os.PathLike, config: str, split: str) -> list[Path]:
    """The Parquet files of one (config, split), in order, per the manifest."""
    m = load_manifest(root)
    try:
        entry = m["configs"][config]["splits"][split]
    except KeyError:
        have = {c: sorted(v["splits"]) for c, v in m["configs"].items()}
        raise DatasetError(
            f"{root}: no config/split {config}/{split} (the dataset has {have})"
        ) from None
    return [Path(root) / f for f in entry["files"]]


def dataset_commit_id(root: str | os.PathLike) -> str:
    """``bundled:<sha256 of benchmark.json>``: the identity of a local (non-Hub) copy."""
    return "bundled:" + sha256_file(Path(root) / MANIFEST_NAME)


def verify_dataset(
    root: str | os.PathLike, *, configs: list[str] | None = None, deep: bool = True
) -> dict:
    """Checks ``root`` against its manifest; returns the manifest.

    ``configs`` limits the check to those configs (a partial download). ``deep`` also reads
    each split's ``level_hash`` column and recomputes its level-set hash and row count.
    """
    root = Path(root)
    m = load_manifest(root)
    wanted = list(m["configs"]) if configs is None else list(configs)
    for c in wanted:
        if c not in m["configs"]:
            raise DatasetError(f"{root}: no config {c!r} (have {sorted(m['configs'])})")
    listed = set()
    for c in wanted:
        for s in m["configs"][c]["splits"].values():
            listed.update(s["files"])
    for rel in sorted(listed):
        info = m["files"][rel]
        p = root / rel
        if not p.is_file():
            raise DatasetIntegrityError(f"{root}: file {rel} is missing")
        if p.stat().st_size != info["bytes"]:
            raise DatasetIntegrityError(
                f"{root}: file {rel} has {p.stat().st_size} bytes, "
                f"the manifest says {info['bytes']}"
            )
        digest = sha256_file(p)
        if digest != info["sha256"]:
            raise DatasetIntegrityError(
                f"{root}: file {rel} has sha256 {digest}, the manifest says {info['sha256']}"
            )
    for c in wanted:
        for p in sorted((root / c).glob("*.parquet")) if (root / c).is_dir() else []:
            rel = p.relative_to(root).as_posix()
            if rel not in m["files"]:
                raise DatasetIntegrityError(f"{root}: file {rel} is not in the manifest")
    if deep:
        import pyarrow.parquet as pq

        from kinetix.hashing import level_set_hash

        for c in wanted:
            for sname, s in m["configs"][c]["splits"].items():
                hashes = []
                for rel in s["files"]:
                    t = pq.read_table(root / rel, columns=["level_hash"])
                    hashes += t.column("level_hash").to_pylist()
                if len(hashes) != s["num_rows"]:
                    raise DatasetIntegrityError(
                        f"{root}: {c}/{sname} has {len(hashes)} rows, the manifest says "
                        f"{s['num_rows']}"
                    )
                got = level_set_hash(hashes)
                if got != s["level_set_hash"]:
                    raise DatasetIntegrityError(
                        f"{root}: {c}/{sname} level-set hash {got} != manifest "
                        f"{s['level_set_hash']}"
                    )
    return m
