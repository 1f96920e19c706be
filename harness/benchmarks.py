"""The benchmark registry: benchmark ids -> pinned level sets, and loading them onto the device.

A benchmark id (``handmade-s-v1``, ``random-m-test-v1``, ...) names a fixed set of levels: one
or more configs of the level dataset, a split, a release revision and the level-set hash
(sha256 of the sorted level hashes). :func:`load_benchmark` finds the data, checks it and
returns the levels as one stacked batch padded to the benchmark's env size:

1. the Hub copy at the pinned revision (``harness.hub.download_levels``; the Hub cache first);
2. when offline (``offline=True``, ``KINETIX_BENCH_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) or when
   the Hub cannot be reached, the bundled copy in ``datasets/kinetix-levels/`` (it says so);
3. a local dataset folder (``levels build`` / ``levels import-kinetix`` output) given as
   ``PATH`` or ``PATH::BENCHMARK_ID`` (its ``benchmark.json`` lists its benchmarks).

Imported benchmarks (``Benchmark.imported``, e.g. ``kinetix-original-v1``: the 74 levels that
Kinetix ships, which are Kinetix's work and never bundled or uploaded by us) have no Hub or
bundled data: their levels come from the user's own ``levels import-kinetix`` run, found through
the local import registry (:mod:`harness.imports`) by the pinned level-set hash; without one, the
error gives the exact import command. A local folder holding such a level set is scored under the
registry id, so records agree however the data was found.

Checks, always: every file's sha256 against ``benchmark.json``, every row's schema, each row's
``level_hash`` recomputed from its physics columns, and the level-set hash against the registry.
A mismatch is a :class:`~harness.manifest.DatasetIntegrityError`, never a warning.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

# Imported benchmarks (``Benchmark.imported``): finding and checking their local import lives
# in harness.imports; the names stay importable from here.
from harness.imports import BenchmarkNotImportedError
from harness.imports import as_imported as _as_imported
from harness.imports import check_size_groups as _check_groups
from harness.imports import import_hint as import_hint
from harness.imports import locate_import as _find_import
from harness.manifest import (
    DatasetError,
    DatasetIntegrityError,
    dataset_commit_id,
    load_manifest,
    split_files,
    verify_dataset,
)

__all__ = [
    "Benchmark",
    "BENCHMARKS",
    "KINETIX_ORIGINAL",
    "BenchmarkNotImportedError",
    "BUNDLED_LEVELS",
    "BUNDLED_ENV",
    "OFFLINE_ENV",
    "LoadedBenchmark",
    "bundled_levels_dir",
    "get_benchmark",
    "resolve_benchmark",
    "load_benchmark",
    "is_offline",
    "find_level",
]

BUNDLED_ENV = "KINETIX_BENCH_BUNDLED_LEVELS"
OFFLINE_ENV = "KINETIX_BENCH_OFFLINE"
#: The bundled copy (Hub layout) in a checkout.
BUNDLED_LEVELS = Path(__file__).resolve().parent.parent / "datasets" / "kinetix-levels"
RELEASE = "v1.0.0"


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A pinned level set.

    Attributes:
        id: ``{name}-v{major}``; a content change is a new major (a new id).
        configs: dataset configs holding the levels (``handmade-s``, ...).
        split: the split of every config.
        size: env size the levels are padded to (``"s"``, ``"m"``, ``"l"``).
        level_set_hash: sha256 of the sorted hex level hashes joined by newlines.
        num_levels: number of levels.
        revision: the dataset release tag.
        repo: the Hub dataset repo (None: the project default, see ``harness.hub``).
        description: one line.
        imported: no Hub or bundled data; the levels come from ``levels import-kinetix``
            (found by level-set hash in the local import registry, :mod:`harness.imports`).
        obs_types: observation types a submission may use (``kinetix.observations.OBS_TYPES``).
        action_types: action types a submission may use (``kinetix.actions.ACTION_TYPES``).
        leaderboard: scored on the leaderboard. False for the validation splits: they exist
            for checkpoint selection and tuning, and a score on them says nothing held out.
        groups: pinned sub-sets ``((name, level_set_hash, num_levels), ...)``: Kinetix's size
            groups (``s``, ``m``, ``l``, from the level ids) that per-size averages report on.
    """

    id: str
    configs: tuple[str, ...]
    split: str
    size: str
    level_set_hash: str
    num_levels: int
    revision: str = RELEASE
    repo: str | None = None
    description: str = ""
    imported: bool = False
    groups: tuple[tuple[str, str, int], ...] = ()
    obs_types: tuple[str, ...] = ("entity", "flat", "pixels")
    action_types: tuple[str, ...] = ("multi_discrete", "discrete", "continuous")
    leaderboard: bool = True


def _b(id, configs, split, size, h, n, description):
    return Benchmark(
        id,
        tuple(configs),
        split,
        size,
        h,
        n,
        description=description,
        leaderboard=split != "validation",
    )


_HM = ("handmade-s", "handmade-m", "handmade-l")

#: The registry. Hashes are those of the v1.0.0 release (the bundled copy is built from the
#: same recipe, ``datasets/recipes/kinetix-levels.toml``); a test keeps the two in agreement.
BENCHMARKS: dict[str, Benchmark] = {
    b.id: b
    for b in (
        _b(
            "handmade-s-v1",
            _HM[:1],
            "test",
            "s",
            "16851e31d8094ba658feaa345a6d89b051bb47c5a43a0a1cd3f47fd6c1316aa5",
            12,
            "hand-made S levels (held out)",
        ),
        _b(
            "handmade-m-v1",
            _HM[1:2],
            "test",
            "m",
            "45ed234f424099750ec61dbe6e160042d1fb35a9c4110ce724e3340ca9fb0209",
            17,
            "hand-made M levels (held out)",
        ),
        _b(
            "handmade-l-v1",
            _HM[2:],
            "test",
            "l",
            "34c85250b3ea9921f6b8b5b60ca95576589a26ca307ea5cbf2213c4ce097a4cf",
            21,
            "hand-made L levels (held out)",
        ),
        _b(
            "handmade-all-v1",
            _HM,
            "test",
            "l",
            "73bf2bcd1b12d7c6100adba2dbe800e541978d43c5f7eb7155316328541c4161",
            50,
            "every hand-made level, padded to L",
        ),
        _b(
            "random-s-test-v1",
            ["random-s"],
            "test",
            "s",
            "367948b03192266aad20e72984766ba60353d3eca8655f9abe451c049bf47e42",
            1000,
            "procedural S test levels",
        ),
        _b(
            "random-m-test-v1",
            ["random-m"],
            "test",
            "m",
            "aed62e4ae7794aa0b968bdaef2c2fc7d0362051aa95ad6603477201ede0aac91",
            1000,
            "procedural M test levels",
        ),
        _b(
            "random-l-test-v1",
            ["random-l"],
            "test",
            "l",
            "d63082c791a51a0f29ee7c906e1a07b3b47a8b6b2f0fb2724311583069783b03",
            1000,
            "procedural L test levels",
        ),
        _b(
            "random-s-validation-v1",
            ["random-s"],
            "validation",
            "s",
            "0692aa26395d34c70212a0643ab54fc4188f21cc194c7c3ef7ff7b3ddf3dbc5c",
            1000,
            "procedural S validation levels (checkpoint selection; not on the leaderboard)",
        ),
        _b(
            "random-m-validation-v1",
            ["random-m"],
            "validation",
            "m",
            "08dac325d2b6d0d1c881d354ab2c62003f0abb15171a62c4350f5b27e780f1a3",
            1000,
            "procedural M validation levels (checkpoint selection; not on the leaderboard)",
        ),
        _b(
            "random-l-validation-v1",
            ["random-l"],
            "validation",
            "l",
            "8abf6d9578ea536a9132ce02be5f5ebed21c7c3f747aad29eb37866dfa89ed7d",
            1000,
            "procedural L validation levels (checkpoint selection; not on the leaderboard)",
        ),
    )
}

#: The 74 levels that Kinetix ships (kinetix-env 3.0.2, ``kinetix/levels/{s,m,l}``) as imported by
#: ``levels import-kinetix`` (size L, as Kinetix's evaluation env on all of them): the hashes are
#: those of that import, per size folder and overall. Never bundled (the levels are Kinetix's).
KINETIX_ORIGINAL = Benchmark(
    "kinetix-original-v1",
    ("kinetix-l",),
    "test",
    "l",
    "5ab7ff664697b5123fa367e9bffc3d0b46a5d240c5c98fce5be5f3c84f72c825",
    74,
    revision="import",
    repo="local import (kinetix-bench levels import-kinetix)",
    description="the 74 original Kinetix levels, imported from your own Kinetix copy",
    imported=True,
    groups=(
        ("s", "0753476c3da8ef4e6126be187ff69f3a6d77a8080969754db31ce7547334ed6f", 10),
        ("m", "ac13e4d1ef21674a3dc6216259c19c2761f44601d5a07ed3926e0ad7b0cce2be", 24),
        ("l", "b3fc0711deda6191b092332c1a5d9be15e5cf7389a000bd8bb139d5cb710c222", 40),
    ),
)
BENCHMARKS[KINETIX_ORIGINAL.id] = KINETIX_ORIGINAL


@dataclasses.dataclass
class LoadedBenchmark:
    """A benchmark's levels on the device and where they came from.

    Attributes:
        benchmark: the :class:`Benchmark`.
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
    """The bundled dataset folder (``$KINETIX_BENCH_BUNDLED_LEVELS`` overrides)."""
    return Path(os.environ.get(BUNDLED_ENV) or BUNDLED_LEVELS)


def get_benchmark(bench_id: str) -> Benchmark:
    try:
        return BENCHMARKS[bench_id]
    except KeyError:
        raise DatasetError(
            f"unknown benchmark id {bench_id!r}; known: {', '.join(BENCHMARKS)} "
            "(or give a local dataset folder, PATH or PATH::ID)"
        ) from None


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
    from harness.hub import HubError, download_levels, levels_repo_id

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
