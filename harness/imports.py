"""The local import registry: where ``levels import-kinetix`` put the datasets it built.

Some registered benchmarks ship no data (``kinetix-original-v1``: the 74 original Kinetix levels
are Kinetix's work, so neither the repository nor our Hub repo carries them); a user imports
them from their own copy of Kinetix with ``kinetix-bench levels import-kinetix``, which records
the dataset folder here, keyed by level-set hash. :func:`harness.benchmarks.load_benchmark`
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
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from harness.manifest import DatasetError, load_manifest

__all__ = ["IMPORTS_ENV", "imports_path", "read_imports", "record_import", "find_import"]

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
    from kinetix.render_io import atomic_write

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
