"""``kinetix-bench levels build``: a recipe -> a level dataset folder in Hub layout.

The folder (DESIGN §6)::

    README.md                                   dataset card, YAML ``configs:`` header
    benchmark.json                              manifest (harness.levels.manifest)
    {config}/{split}-{i:05d}-of-{n:05d}.parquet level tables (kinetix.level_table), zstd
    thumbnails/{config}.png                     one contact sheet per config

Determinism: the same recipe gives the same bytes on the same platform and library versions
(rows in index order, fixed Parquet settings, no timestamps). Procedural levels are drawn on the
CPU (GPU float arithmetic differs); the manifest records the platform.

Atomicity: everything is written into a temporary sibling folder, verified, then renamed into
place. An interrupted or failed build leaves no partial dataset at ``out`` (an existing dataset
there is only replaced with ``force``, after the new one is complete).

Several processes (:mod:`kinetix.distributed`): the build runs in two phases. First every
process computes its contiguous block of each split's level indices (procedural levels and the
reference outcomes; hand-made and imported levels are loaded by all) and the blocks are
gathered, in index order, on every process; nothing is written yet. The outcome blocks are made
of whole chunks of the outcome program, so each level's float32 figures come from the same
batch shape as in one process. Then process 0 alone writes the folder as above, so the
dataset's bytes are those of a one-process build, and a process lost during the first phase
leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.levels.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    DatasetError,
    sha256_file,
    verify_dataset,
    write_manifest,
)
from harness.levels.recipes import ConfigRecipe, Recipe, SplitRecipe

__all__ = ["SplitData", "build_dataset", "config_levels", "simulator_version"]

THUMBNAILS = 24  # levels per config contact sheet


@dataclasses.dataclass
class SplitData:
    """One split's levels (stacked numpy batch) and metadata columns."""

    levels: object
    meta: dict[str, list]
    handmade: bool = False


def simulator_version() -> str:
    import jax2d

    return f"jax2d {jax2d.__version__} (kinetix-bench engine; setting default, solver parallel)"


def _handmade_split(cfg: ConfigRecipe) -> SplitData:
    import kinetix.handmade as hm
    from kinetix.level import stack_levels

    release = cfg.release or "v1"
    certified = hm.certified_levels(cfg.size, release=release)
    if not certified:
        raise DatasetError(
            f"config {cfg.name}: no certified hand-made {release} levels of size {cfg.size}"
        )
    entries = [e for e, _, _ in certified]
    levels = stack_levels([lv for _, lv, _ in certified], size=cfg.size)
    meta = {
        "level_id": [e.id for e in entries],
        "source": ["handmade"] * len(entries),
        "description": [e.description for e in entries],
        "tags": [list(e.tags) for e in entries],
        "witness_actions": [np.asarray(a, np.int8) for _, _, a in certified],
        **_measured_meta(cfg, [e.id for e in entries], required=release != "v1"),
    }
    return SplitData(levels, meta, handmade=True)


#: Measured columns (schema 2) -> the measurement row's field of the same meaning.
_MEASURED_FIELDS = (
    "constant_solves",
    "best_constant_action",
    "scratch_solve_rate_1e5",
    "scratch_solve_rate_1e6",
    "tier",
)


def _measured_meta(cfg: ConfigRecipe, ids: list[str], *, required: bool) -> dict[str, list]:
    """The schema-2 measured columns of hand-made levels ``ids``, from the committed
    measurements (``kinetix/handmade/measurements.json``, current for the level's hash and this
    simulator) and witness store. Unmeasured levels get nulls, unless ``required`` (releases
    after v1, whose rules are checked on these figures): then a :class:`DatasetError` names them.
    """
    import kinetix.handmade as hm
    from kinetix.handmade.measurements import current_measurements

    sim = simulator_version()
    rows = {k: r for k, r in current_measurements().items() if r.get("simulator") == sim}
    missing = [i for i in ids if i not in rows or rows[i].get("constant_solves") is None]
    if required and missing:
        raise DatasetError(
            f"config {cfg.name}: {len(missing)} level(s) without a current measurement under "
            f"{sim}: {', '.join(missing)} (run `kinetix-bench levels calibrate --level ID`)"
        )
    witnesses = hm.load_witnesses()
    meta = {k: [rows.get(i, {}).get(k) for i in ids] for k in _MEASURED_FIELDS}
    meta["witness_cem_iterations"] = [
        (witnesses.get(i) or {}).get("planner", {}).get("iterations")
        if (witnesses.get(i) or {}).get("method") == "cem"
        else None
        for i in ids
    ]
    meta["witness_robustness"] = [(witnesses.get(i) or {}).get("robustness") for i in ids]
    return meta


def _kinetix_split(cfg: ConfigRecipe) -> SplitData:
    from kinetix.kinetix_json import load_kinetix_json
    from kinetix.level import stack_levels

    root = Path(cfg.path)
    if not root.is_dir():
        raise DatasetError(f"config {cfg.name}: path {root} is not a folder")
    files = sorted(root.rglob("*.json"), key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise DatasetError(f"config {cfg.name}: no *.json level files under {root}")
    levels = [load_kinetix_json(f, size=cfg.size) for f in files]
    ids = [f"{cfg.name}/" + f.relative_to(root).with_suffix("").as_posix() for f in files]
    meta = {"level_id": ids, "source": ["kinetix"] * len(files)}
    return SplitData(stack_levels(levels, size=cfg.size), meta)


def _random_levels(cfg: ConfigRecipe, split: SplitRecipe, idx, progress):
    """Levels ``idx`` of the split's procedural stream (stacked numpy batch)."""
    from kinetix.batch_generation import generate_levels
    from kinetix.generator import NoopFilter

    flt = NoopFilter() if cfg.filter == "noop" else None
    return generate_levels(split.seed, idx, cfg.size, noop_filter=flt, progress=progress)


def _random_split(cfg: ConfigRecipe, split: SplitRecipe, progress, draw=True) -> SplitData:
    """The split's levels and metadata (``draw=False``: metadata only, ``levels`` None)."""
    from kinetix.generator import GENERATOR_VERSION

    idx = np.arange(split.count)
    levels = _random_levels(cfg, split, idx, progress) if draw else None
    n = split.count
    meta = {
        "level_id": [f"{cfg.name}/{split.name}/{i:07d}" for i in idx],
        "source": ["random"] * n,
        "generator_version": [GENERATOR_VERSION] * n,
        "generator_seed": [split.seed] * n,
        "generator_index": idx.tolist(),
    }
    return SplitData(levels, meta)


def config_levels(cfg: ConfigRecipe, split: SplitRecipe, progress=None) -> SplitData:
    """The levels and metadata of one (config, split) of a recipe (no outcomes yet)."""
    if cfg.source == "handmade":
        return _handmade_split(cfg)
    if cfg.source == "kinetix":
        return _kinetix_split(cfg)
    return _random_split(cfg, split, progress)


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="lvl", disable=not enabled, leave=False)


@dataclasses.dataclass
class _Computed:
    """One split after the first phase: its levels, hashes, metadata columns and entry."""

    data: SplitData
    hashes: list[str]
    meta: dict[str, list]
    entry: dict


def _by_block(fn, n: int, *, unit: int = 1, empty=None):
    """``fn(indices)`` (a pytree of arrays with a leading row axis) over this process's block of
    ``range(n)`` (whole units of ``unit`` rows), gathered into all n rows on every process (one
    process: ``fn(range(n))``). An empty block returns ``empty()`` when given, else ``fn`` of
    one row cut to none (the right shapes and dtypes)."""
    from kinetix.distributed import gather_rows, process_block

    block = process_block(n, unit=unit)
    if not len(block) and empty is not None:
        return gather_rows(empty(), n, unit=unit)
    rows = np.arange(block.start, block.stop) if len(block) else np.array([n - 1])
    res = fn(rows)
    if not len(block):  # an empty block still sends rows of the right shape (none)
        import jax

        res = jax.tree.map(lambda x: np.asarray(x)[:0], res)
    return gather_rows(res, n, unit=unit)


def _outcomes(levels, hashes: list[str], random_episodes: int, progress) -> dict:
    """The reference outcomes of all n levels, computed by process blocks of whole chunks.

    The outcome program's float32 results depend on its batch shape (XLA:CPU), so every
    process runs the chunks a one-process build runs: ``chunk = min(CHUNK, n)`` levels from
    multiples of ``chunk``, the last one padded with level n - 1 (as
    :func:`kinetix.outcomes.reference_outcomes` pads), whatever the number of processes."""
    import jax

    from kinetix.outcomes import CHUNK, reference_outcomes

    n = len(hashes)
    chunk = max(1, min(CHUNK, n))

    def block(idx):
        padded = np.minimum(np.arange(idx[0], idx[0] + -(-len(idx) // chunk) * chunk), n - 1)
        part = jax.tree.map(lambda x: np.asarray(x)[padded], levels)
        left = [len(idx)]

        def step(k):  # padding rows are not progress
            k = min(k, left[0])
            left[0] -= k
            if progress is not None and k:
                progress(k)

        out = reference_outcomes(
            part,
            [hashes[i] for i in padded],
            random_episodes=random_episodes,
            chunk=chunk,
            progress=step,
        )
        return {k: v[: len(idx)] for k, v in out.items()}

    def empty():
        return {
            "noop_solved": np.zeros(0, bool),
            "noop_return": np.zeros(0, np.float32),
            "random_solve_rate": np.zeros(0, np.float32),
        }

    return _by_block(block, n, unit=chunk, empty=empty)


def _compute_split(cfg: ConfigRecipe, split: SplitRecipe, show: bool, log) -> _Computed:
    """Phase 1: levels, hashes and reference outcomes of one (config, split); no writes."""
    from kinetix.hashing import level_hashes

    where = f"{cfg.name}/{split.name}"
    count = split.count or 0
    with _progress(count, f"{where}: generate", show and count > 0) as bar:
        if cfg.source == "random":  # drawn by level index, each process its block
            data = _random_split(cfg, split, None, draw=False)
            data = dataclasses.replace(
                data,
                levels=_by_block(lambda idx: _random_levels(cfg, split, idx, bar.update), count),
            )
        else:
            data = config_levels(cfg, split, progress=bar.update)
    n = int(np.shape(data.levels.polygon_roles)[0])
    hashes = level_hashes(data.levels)
    if len(set(hashes)) != n:
        dup = n - len(set(hashes))
        log(f"warning: {where} holds {dup} duplicate level(s) (same hash)")
    with _progress(n, f"{where}: outcomes", show) as bar:
        out = _outcomes(data.levels, hashes, cfg.random_episodes, bar.update)
    meta = dict(data.meta)
    meta["level_hash"] = hashes
    meta["noop_solved"] = out["noop_solved"].tolist()
    meta["noop_return"] = out["noop_return"].tolist()
    rate = out["random_solve_rate"]
    meta["random_solve_rate"] = [None if np.isnan(r) else float(r) for r in rate]
    from kinetix.hashing import level_set_hash

    entry = {
        "files": [],
        "num_rows": n,
        "level_set_hash": level_set_hash(hashes),
        "noop_solve_rate": float(np.mean(out["noop_solved"])),
    }
    if split.seed is not None:
        entry["seed"] = split.seed
    if not np.all(np.isnan(rate)):
        entry["mean_random_solve_rate"] = float(np.nanmean(rate))
    return _Computed(data, hashes, meta, entry)


def _write_split(
    root: Path, cfg: ConfigRecipe, split: SplitRecipe, recipe: Recipe, done: _Computed, log
) -> tuple[dict, dict]:
    """Phase 2 (process 0): the split's Parquet shards; returns its manifest entry and the
    files' entries."""
    from kinetix.level_files import write_level_parquet
    from kinetix.level_table import levels_to_table

    where = f"{cfg.name}/{split.name}"
    n = done.entry["num_rows"]
    table = levels_to_table(done.data.levels, done.meta, handmade=done.data.handmade)
    (root / cfg.name).mkdir(parents=True, exist_ok=True)
    nshards = max(1, -(-n // recipe.shard_rows))
    files, file_info = [], {}
    for i in range(nshards):
        rel = f"{cfg.name}/{split.name}-{i:05d}-of-{nshards:05d}.parquet"
        part = table.slice(i * recipe.shard_rows, recipe.shard_rows)
        write_level_parquet(part, root / rel)
        files.append(rel)
        file_info[rel] = {
            "sha256": sha256_file(root / rel),
            "bytes": (root / rel).stat().st_size,
            "num_rows": part.num_rows,
        }
    entry = {**done.entry, "files": files}
    log(f"{where}: {n} levels, {nshards} shard(s), no-op solves {entry['noop_solve_rate']:.1%}")
    return entry, file_info


def _thumbnails(root: Path, cfg: ConfigRecipe, data: SplitData) -> str:
    from kinetix.level import unstack_levels
    from kinetix.render_io import contact_sheet, save_png, thumbnail

    levels = unstack_levels(data.levels)[:THUMBNAILS]
    ids = data.meta["level_id"][: len(levels)]
    images = [np.asarray(thumbnail(lv, size=128)) for lv in levels]
    captions = [i.split("/", 1)[-1] for i in ids]
    (root / "thumbnails").mkdir(exist_ok=True)
    rel = f"thumbnails/{cfg.name}.png"
    save_png(root / rel, contact_sheet(images, captions, columns=6))
    return rel


def build_dataset(
    recipe: Recipe,
    out: str | os.PathLike,
    *,
    force: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = lambda s: None,
) -> dict:
    """Builds ``recipe`` into the folder ``out`` atomically; returns the manifest.

    As one of several processes: every process computes its share, process 0 writes; the
    others return the same manifest without its ``files`` entries (they write nothing)."""
    import jax

    from kinetix.distributed import barrier, broadcast, is_primary, process_count

    primary = is_primary()
    out = Path(out)
    taken = primary and out.exists() and not force and (not out.is_dir() or any(out.iterdir()))
    if process_count() > 1:  # process 0's disk decides
        taken = bool(broadcast(np.bool_(taken)))
    if taken:
        raise DatasetError(f"{out} exists and is not empty (use --force to replace it)")
    # phase 1 (every process): levels and outcomes, gathered; nothing written
    computed = {
        (cfg.name, split.name): _compute_split(cfg, split, progress, log)
        for cfg in recipe.configs
        for split in cfg.splits
    }
    manifest = _manifest(recipe, computed, jax.default_backend())
    if primary:  # phase 2: process 0 writes
        manifest = _write_dataset(recipe, computed, manifest, out, log)
    barrier("levels build: dataset written")
    return manifest


def _manifest(recipe: Recipe, computed: dict, platform: str) -> dict:
    """The manifest of the computed splits (file entries empty until they are written)."""
    from kinetix.generator import GENERATOR_VERSION
    from kinetix.hashing import level_set_hash
    from kinetix.level_table import SCHEMA_VERSION
    from kinetix.sizes import env_size

    configs = {}
    for cfg in recipe.configs:
        configs[cfg.name] = {
            "source": cfg.source,
            "env_size": cfg.size,
            "capacities": dataclasses.asdict(env_size(cfg.size)),
            "filter": cfg.filter,
            "random_episodes": cfg.random_episodes,
            "splits": {s.name: dict(computed[(cfg.name, s.name)].entry) for s in cfg.splits},
            "thumbnail": f"thumbnails/{cfg.name}.png",
        }
    benchmarks = {}
    for bench in recipe.benchmarks:  # rows in file order = the computed order
        hashes = [h for c in bench.configs for h in computed[(c, bench.split)].hashes]
        benchmarks[bench.id] = {
            **bench.to_json(),
            "num_levels": len(hashes),
            "level_set_hash": level_set_hash(hashes),
        }
    return {
        "format": MANIFEST_FORMAT,
        "manifest_version": MANIFEST_VERSION,
        "name": recipe.name,
        "version": recipe.version,
        "schema_version": SCHEMA_VERSION,
        "generator_version": GENERATOR_VERSION,
        "simulator_version": simulator_version(),
        "kinetix_bench_version": _package_version(),
        "platform": platform,
        "configs": configs,
        "files": {},
        "benchmarks": benchmarks,
        "recipe": recipe.to_json(),
    }


def _write_dataset(recipe: Recipe, computed: dict, manifest: dict, out: Path, log) -> dict:
    """Phase 2: the folder written into a temporary sibling, verified, renamed to ``out``."""
    from harness.levels.card import write_card

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        for cfg in recipe.configs:
            for split in cfg.splits:
                done = computed[(cfg.name, split.name)]
                entry, info = _write_split(tmp, cfg, split, recipe, done, log)
                manifest["configs"][cfg.name]["splits"][split.name] = entry
                manifest["files"].update(info)
            first = computed[(cfg.name, cfg.splits[0].name)].data
            manifest["configs"][cfg.name]["thumbnail"] = _thumbnails(tmp, cfg, first)
        write_manifest(tmp, manifest)
        write_card(tmp, manifest, recipe, _card_levels(recipe, computed))
        verify_dataset(tmp)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _card_levels(recipe: Recipe, computed: dict) -> dict[str, list[dict]]:
    """Per-level rows of the hand-made configs (first split), for the card's measured table."""
    out = {}
    for cfg in recipe.configs:
        done = computed[(cfg.name, cfg.splits[0].name)]
        if done.data.handmade:
            n = done.entry["num_rows"]
            out[cfg.name] = [{k: v[i] for k, v in done.meta.items()} for i in range(n)]
    return out


def _replace_dir(new: Path, out: Path) -> None:
    """Moves ``new`` to ``out``; an existing ``out`` is moved aside first and removed after."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(new, out)
    os.chmod(out, 0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _package_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("kinetix-bench")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
