"""The local import registry: where ``levels import-kinetix`` put the datasets it built.

Some registered benchmarks ship no data (``kinetix-original-v1``: the 74 original Kinetix levels
are Kinetix's work, so neither the repository nor our Hub repo carries them); a user imports
them from their own copy of Kinetix with ``kinetix-bench levels import-kinetix``, which records
the dataset folder here, keyed by level-set hash. :func:`harness.levels.loading.load_benchmark`
then finds the folder by the registry entry's pinned hash, so two users who imported the same
files get the same benchmark id, wherever they put the folder.

The registry is one JSON file, ``$KINETIX_BENCH_IMPORTS`` or
``~/.cache/kinetix-bench/imports.json``::

    {"schema": 1,
     "imports": {"<level-set hash>": [{"path": "/abs/dir", "benchmark_id": "kinetix-original-v1",
                                       "configs": ["kinetix-l"], "split": "test", "size": "l",
                                       "num_levels": 74, "source": "/abs/kinetix/levels",
                                       "imported_at": "2025-01-01T00:00:00Z"}, ...]}}

Newest entry first; a folder appears once per hash; entries whose folder is gone are dropped on
the next write. Writes are atomic (temp file + ``os.replace``).

It also holds what :mod:`harness.levels.loading` needs for imported benchmarks
(``Benchmark.imported``): :func:`locate_import` (the registry entry's folder, or a
:class:`BenchmarkNotImportedError` whose message, :func:`import_hint`, gives the import
command), :func:`as_imported` (a folder's level set scored under the registry id) and
:func:`check_size_groups` (the pinned Kinetix size groups). This module never imports
:mod:`harness.levels.loading`; the dependency goes the other way (both use the registry,
:mod:`harness.levels.registry`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from harness.levels.manifest import DatasetError, DatasetIntegrityError, load_manifest
from harness.levels.registry import Benchmark, kinetix_size_group

__all__ = [
    "IMPORTS_ENV",
    "imports_path",
    "read_imports",
    "record_import",
    "find_import",
    "BenchmarkNotImportedError",
    "import_hint",
    "as_imported",
    "locate_import",
    "check_size_groups",
]

IMPORTS_ENV = "KINETIX_BENCH_IMPORTS"
SCHEMA = 1


def imports_path() -> Path:
    """The registry file (``$KINETIX_BENCH_IMPORTS`` overrides the default under ~/.cache)."""
    env = os.environ.get(IMPORTS_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "kinetix-bench" / "imports.json"


def read_imports(path: str | os.PathLike | None = None) -> dict[str, list[dict]]:
    """``{level-set hash: [entry, ...]}`` (empty when the file does not exist)."""
    p = Path(path) if path is not None else imports_path()
    if not p.is_file():
        return {}
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(
            f"{p}: the import registry cannot be read ({e}); delete it and import again"
        ) from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise DatasetError(f"{p}: field 'schema' must be {SCHEMA}; delete the file and re-import")
    imports = raw.get("imports")
    if not isinstance(imports, dict) or not all(
        isinstance(v, list) and all(isinstance(e, dict) and "path" in e for e in v)
        for v in imports.values()
    ):
        raise DatasetError(
            f"{p}: field 'imports' must map level-set hashes to lists of entries with a 'path'"
        )
    return imports


def _write(p: Path, imports: dict) -> None:
    from kinetix.atomic_io import atomic_write

    p.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"schema": SCHEMA, "imports": imports}, indent=1, sort_keys=True) + "\n"
    atomic_write(p, lambda f: f.write(text.encode()))


def record_import(
    dataset: str | os.PathLike, source: str | os.PathLike | None = None
) -> list[dict]:
    """Records every benchmark of the dataset folder ``dataset`` (its ``benchmark.json``).

    Returns the entries written, one per benchmark. Entries of folders that no longer exist are
    dropped; an older entry of the same folder and hash is replaced.
    """
    root = Path(dataset).resolve()
    manifest = load_manifest(root)
    p = imports_path()
    imports = read_imports(p)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    written = []
    for bid, b in (manifest.get("benchmarks") or {}).items():
        entry = {
            "path": str(root),
            "benchmark_id": bid,
            "configs": list(b["configs"]),
            "split": b["split"],
            "size": b["size"],
            "num_levels": int(b["num_levels"]),
            "source": str(Path(source).resolve()) if source is not None else None,
            "imported_at": now,
        }
        h = b["level_set_hash"]
        others = [e for e in imports.get(h, []) if e["path"] != str(root)]
        imports[h] = [entry, *others]
        written.append(entry)
    imports = {
        h: kept for h, v in imports.items() if (kept := [e for e in v if Path(e["path"]).is_dir()])
    }
    _write(p, imports)
    return written


def find_import(level_set_hash: str) -> dict | None:
    """The newest recorded import of that level set whose folder still holds it, or None.

    A folder counts when its ``benchmark.json`` still defines a benchmark with that level-set
    hash (the data itself is verified later, when it is loaded).
    """
    for entry in read_imports().get(level_set_hash, []):
        root = Path(entry["path"])
        try:
            benches = load_manifest(root).get("benchmarks") or {}
        except DatasetError:
            continue
        for bid, b in benches.items():
            if b.get("level_set_hash") == level_set_hash:
                return {**entry, "benchmark_id": bid, "configs": list(b["configs"]),
                        "split": b["split"], "size": b["size"]}  # fmt: skip
    return None


# -- imported benchmarks (used by harness.levels.loading) ---------------------------------------


class BenchmarkNotImportedError(DatasetError):
    """An imported benchmark (``Benchmark.imported``) whose levels this machine has not imported."""


def import_hint(bench: Benchmark) -> str:
    """Why an imported benchmark has no data here, and the command that provides it."""
    return (
        f"{bench.id} is not imported on this machine: its levels ({bench.description}) are "
        "Kinetix's work, so kinetix-bench never ships or uploads them. Import them once from the "
        "kinetix/levels folder of a Kinetix checkout or of a kinetix-env installation (in its "
        'own environment; there `python -c "import kinetix, os; '
        'print(os.path.dirname(kinetix.__file__))"` shows where): `kinetix-bench levels '
        "import-kinetix PATH/TO/kinetix/levels --out ~/kinetix-original` (or pass "
        "--benchmark DIR with an imported folder)"
    )


def as_imported(reg: Benchmark, entry: dict, root: Path) -> tuple[Benchmark, Path]:
    """``reg`` with the configs and split of ``entry`` (a ``benchmark.json`` benchmark or a
    registry entry) found in ``root``; raises :class:`DatasetError` when its size differs."""
    if entry["size"] != reg.size:
        raise DatasetError(
            f"{root}: holds {reg.id}'s levels at size {entry['size']!r}, but {reg.id} runs at "
            f"size {reg.size!r}: import them again with --size {reg.size}"
        )
    return dataclasses.replace(reg, configs=tuple(entry["configs"]), split=entry["split"]), root


def locate_import(bench: Benchmark) -> tuple[Benchmark, Path]:
    """The local import of an imported benchmark (:func:`find_import`), or a clear error."""
    entry = find_import(bench.level_set_hash)
    if entry is None:
        raise BenchmarkNotImportedError(import_hint(bench))
    return as_imported(bench, entry, Path(entry["path"]))


def check_size_groups(bench: Benchmark, ids: list[str], hashes: list[str], path) -> None:
    """The level ids must give the pinned groups (Kinetix's size folders) exactly.

    ``ids``/``hashes``: (N,) level ids and hex level hashes in batch order; ``bench.groups``:
    ``((name, level_set_hash, num_levels), ...)``. Raises :class:`DatasetIntegrityError`.
    """
    from kinetix.hashing import level_set_hash

    for name, h, n in bench.groups:
        got = [x for i, x in zip(ids, hashes, strict=True) if kinetix_size_group(i) == name]
        if len(got) != n or level_set_hash(got) != h:
            raise DatasetIntegrityError(
                f"{bench.id}: the level ids in {path} do not give Kinetix's size group "
                f"{name!r} ({len(got)} levels, {n} expected): import Kinetix's levels folder "
                "itself (the one holding s/, m/ and l/)"
            )
