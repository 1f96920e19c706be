"""Loading a benchmark's levels onto the device, checked against the registry.

A benchmark id names a pinned level set (:mod:`harness.levels.registry`). :func:`load_benchmark`
finds the data, checks it and returns the levels as one stacked batch padded to the benchmark's
env size:

1. the Hub copy at the pinned revision (``harness.levels.hub.download_levels``; the Hub cache
first); 2. when offline (``offline=True``, ``KINETIX_BENCH_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) or
when
   the Hub cannot be reached, the bundled copy in ``datasets/kinetix-levels/`` (it says so);
3. a local dataset folder (``levels build`` / ``levels import-kinetix`` output) given as
   ``PATH`` or ``PATH::BENCHMARK_ID`` (its ``benchmark.json`` lists its benchmarks).

Imported benchmarks (``Benchmark.imported``, e.g. ``kinetix-original-v1``: the 74 levels that
Kinetix ships, which are Kinetix's work and never bundled or uploaded by us) have no Hub or
bundled data: their levels come from the user's own ``levels import-kinetix`` run, found through
the local import registry (:mod:`harness.levels.imports`) by the pinned level-set hash; without
one, the error gives the exact import command. A local folder holding such a level set is scored
under the registry id, so records agree however the data was found.

Checks, always: every file's sha256 against ``benchmark.json``, every row's schema, each row's
``level_hash`` recomputed from its physics columns, and the level-set hash against the registry.
A mismatch is a :class:`~harness.levels.manifest.DatasetIntegrityError`, never a warning.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

# Imported benchmarks (``Benchmark.imported``): finding and checking their local import lives
# in harness.levels.imports; the names stay importable from here.
from harness.levels.imports import BenchmarkNotImportedError
from harness.levels.imports import as_imported as _as_imported
from harness.levels.imports import check_size_groups as _check_groups
from harness.levels.imports import import_hint as import_hint
from harness.levels.imports import locate_import as _find_import
from harness.levels.manifest import (
    DatasetError,
    DatasetIntegrityError,
    dataset_commit_id,
    load_manifest,
    split_files,
    verify_dataset,
)
from harness.levels.registry import BENCHMARKS, Benchmark, get_benchmark

__all__ = [
    "BenchmarkNotImportedError",
    "BUNDLED_LEVELS",
    "BUNDLED_ENV",
    "OFFLINE_ENV",
    "LoadedBenchmark",
    "bundled_levels_dir",
    "resolve_benchmark",
    "load_benchmark",
    "is_offline",
    "find_level",
]

BUNDLED_ENV = "KINETIX_BENCH_BUNDLED_LEVELS"
OFFLINE_ENV = "KINETIX_BENCH_OFFLINE"
#: The bundled copy (Hub layout) in a checkout (a wheel ships it as data files: see
#: :func:`bundled_levels_dir`).
BUNDLED_LEVELS = Path(__file__).resolve().parents[2] / "datasets" / "kinetix-levels"


@dataclasses.dataclass
class LoadedBenchmark:
    """A benchmark's levels on the device and where they came from.

    Attributes:
        benchmark: the :class:`~harness.levels.registry.Benchmark`.
        levels: stacked :class:`kinetix.Level` batch (leading axis = level), padded to
            ``benchmark.size``.
        level_ids: (N,) stable level names, in batch order.
        level_hashes: (N,) hex level hashes, in batch order.
        table: the metadata columns (pyarrow table without physics columns).
        origin: ``"hub"``, ``"bundled"``, ``"local"`` or ``"import"`` (an imported benchmark).
        path: the dataset folder read.
        revision: the release tag (or the folder for local data).
        commit: the Hub commit sha, ``bundled:<sha256 of benchmark.json>``, or for an
            imported benchmark ``levels:<level-set hash>``.
    """

    benchmark: Benchmark
    levels: object
    level_ids: list[str]
    level_hashes: list[str]
    table: object
    origin: str
    path: Path
    revision: str
    commit: str


def is_offline(offline: bool | None = None) -> bool:
    if offline is not None:
        return bool(offline)
    flags = (os.environ.get(OFFLINE_ENV, ""), os.environ.get("HF_HUB_OFFLINE", ""))
    return any(f.strip().lower() in ("1", "true", "yes", "on") for f in flags)


def bundled_levels_dir() -> Path:
    """The bundled dataset folder: ``$KINETIX_BENCH_BUNDLED_LEVELS``, else the checkout's
    ``datasets/kinetix-levels``, else a wheel install's copy of it
    (:func:`harness.levels.home.shipped_path`); never relative to the current directory."""
    from harness.levels.home import shipped_path

    env = os.environ.get(BUNDLED_ENV)
    return Path(env) if env else shipped_path("datasets/kinetix-levels")


def _local_benchmark(spec: str) -> tuple[Benchmark, Path]:
    path, _, bid = spec.partition("::")
    root = Path(path)
    m = load_manifest(root)
    benches = m.get("benchmarks") or {}
    if not benches:
        raise DatasetError(f"{root}: its benchmark.json defines no benchmarks")
    if not bid:
        if len(benches) != 1:
            raise DatasetError(
                f"{root} defines several benchmarks ({', '.join(benches)}): give PATH::ID"
            )
        bid = next(iter(benches))
    if bid not in benches:
        raise DatasetError(f"{root}: no benchmark {bid!r} (it has {', '.join(benches)})")
    e = benches[bid]
    for reg in BENCHMARKS.values():  # an imported registry level set: score it under its id
        if reg.imported and reg.level_set_hash == e["level_set_hash"]:
            return _as_imported(reg, e, root)
    bench = Benchmark(
        bid,
        tuple(e["configs"]),
        e["split"],
        e["size"],
        e["level_set_hash"],
        e["num_levels"],
        revision=f"local:{root}",
        description=f"local dataset {root}",
    )
    return bench, root


def resolve_benchmark(spec: str) -> tuple[Benchmark, Path | None]:
    """A registry id -> ``(Benchmark, None)``; a local folder (``PATH[::ID]``) -> its path."""
    if spec in BENCHMARKS:
        return BENCHMARKS[spec], None
    path = spec.partition("::")[0]
    if os.sep in spec or "::" in spec or Path(path).is_dir():
        return _local_benchmark(spec)
    return get_benchmark(spec), None


def _find_data(bench: Benchmark, offline: bool, backend, log) -> tuple[Path, str, str]:
    """(folder, origin, commit) holding the benchmark's configs, verified."""
    from harness.levels.hub import HubError, download_levels, levels_repo_id

    repo = levels_repo_id(bench.repo)
    reason = None
    try:
        got = download_levels(
            repo, bench.revision, list(bench.configs), backend=backend, offline=True
        )
        return got.path, "hub", got.commit_sha
    except HubError as e:
        reason = str(e)
    if not offline:
        try:
            got = download_levels(repo, bench.revision, list(bench.configs), backend=backend)
            return got.path, "hub", got.commit_sha
        except DatasetIntegrityError:
            raise
        except Exception as e:  # network down, repo missing, auth: fall back to the bundled copy
            reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    root = bundled_levels_dir()
    log(
        f"{bench.id}: using the bundled copy {root} "
        f"({'offline' if offline else 'the Hub is not reachable'}: {reason})"
    )
    m = load_manifest(root)
    if f"v{m.get('version')}" != bench.revision:
        raise DatasetIntegrityError(
            f"{root}: the bundled copy is release v{m.get('version')}, {bench.id} needs "
            f"{bench.revision}"
        )
    verify_dataset(root, configs=list(bench.configs), deep=False)
    return root, "bundled", dataset_commit_id(root)


def load_benchmark(
    spec: str,
    *,
    offline: bool | None = None,
    backend=None,
    device: bool = True,
    log: Callable[[str], None] | None = None,
) -> LoadedBenchmark:
    """Loads a benchmark's levels (see the module doc); raises on any integrity mismatch."""
    import jax
    import numpy as np

    from kinetix.hashing import level_hashes, level_set_hash
    from kinetix.level_files import read_level_parquet

    log = log or (lambda s: None)
    bench, local = resolve_benchmark(spec)
    if local is None and bench.imported:
        bench, local = _find_import(bench)
    if local is not None and bench.imported:
        # the identity of imported data is its level set (files differ with the import folder)
        verify_dataset(local, configs=list(bench.configs), deep=False)
        path, origin, revision = local, "import", bench.revision
        commit = f"levels:{bench.level_set_hash}"
    elif local is not None:
        verify_dataset(local, configs=list(bench.configs), deep=False)
        path, origin, commit, revision = local, "local", dataset_commit_id(local), str(local)
    else:
        path, origin, commit = _find_data(bench, is_offline(offline), backend, log)
        revision = bench.revision
    parts, tables = [], []
    for c in bench.configs:
        levels, table = read_level_parquet(
            split_files(path, c, bench.split), size=bench.size, device=False
        )
        parts.append(jax.tree.map(np.asarray, levels))
        tables.append(table)
    levels = jax.tree.map(lambda *xs: np.concatenate(xs), *parts)
    ids = [i for t in tables for i in t.column("level_id").to_pylist()]
    stored = [h for t in tables for h in t.column("level_hash").to_pylist()]
    computed = level_hashes(levels)
    for i, (a, b) in enumerate(zip(stored, computed, strict=True)):
        if a != b:
            raise DatasetIntegrityError(
                f"{bench.id}: level {ids[i]} has level_hash {a} but its content hashes to {b}"
            )
    got = level_set_hash(computed)
    if got != bench.level_set_hash:
        raise DatasetIntegrityError(
            f"{bench.id}: level-set hash {got} does not match the registry's "
            f"{bench.level_set_hash or '(none recorded)'} (data at {path})"
        )
    if bench.groups:
        _check_groups(bench, ids, computed, path)
    import pyarrow as pa

    keep = [n for n in tables[0].schema.names if not _is_physics(n)]
    meta = pa.concat_tables([t.select(keep) for t in tables], promote_options="default")
    if device:
        levels = jax.device_put(levels)
    return LoadedBenchmark(bench, levels, ids, computed, meta, origin, Path(path), revision, commit)


def _is_physics(name: str) -> bool:
    from kinetix.level_table import HANDMADE_COLUMNS, META_COLUMNS

    return name not in META_COLUMNS and name not in HANDMADE_COLUMNS


def find_level(level_id: str, dataset: str | os.PathLike | None = None):
    """One level by its dataset id (``handmade-s/lift_to_shelf``, ``random-m/test/0000012``).

    Looks in ``dataset`` (a dataset folder; default: the bundled copy) in the config named by
    the id's first part, every split. Returns ``(level, row)``: a single :class:`kinetix.Level`
    (numpy leaves) and the row's metadata as a dict. Raises :class:`DatasetError` when absent.
    """
    import jax
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from kinetix.level_files import read_level_parquet

    root = Path(dataset) if dataset is not None else bundled_levels_dir()
    m = load_manifest(root)
    config = level_id.split("/", 1)[0]
    if config not in m["configs"]:
        raise DatasetError(
            f"level {level_id!r}: {root} has no config {config!r} "
            f"(configs: {', '.join(m['configs'])})"
        )
    for split, entry in m["configs"][config]["splits"].items():
        for rel in entry["files"]:
            ids = pq.read_table(root / rel, columns=["level_id"])["level_id"]
            hit = pc.index(ids, level_id).as_py()
            if hit < 0:
                continue
            verify_dataset(root, configs=[config], deep=False)
            levels, table = read_level_parquet(root / rel, device=False)
            level = jax.tree.map(lambda x, i=hit: x[i], levels)
            row = {
                k: v for k, v in table.slice(hit, 1).to_pylist()[0].items() if not _is_physics(k)
            }
            row["split"] = split
            return level, row
    raise DatasetError(f"level {level_id!r} is not in {root} (config {config})")
