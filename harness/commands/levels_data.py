"""``kinetix-bench levels build|list|info|verify|import-kinetix``: level datasets on disk.

* ``levels build RECIPE --out DIR [--force] [--json]``: materialises a recipe
  (``datasets/recipes/*.toml``) into a dataset folder in Hub layout, atomically
  (:mod:`harness.levels.build`); with ``--coordinator/--num-processes/--process-id`` or
  ``--distributed auto`` as N processes that share the levels by index (process 0 writes).
  JSON: the manifest summary ``{"what": "levels-build", "out",
  "configs": {config: {split: {"num_rows", "level_set_hash", "noop_solve_rate"}}},
  "benchmarks": {...}, "seconds"}``.
* ``levels list [--json]``: the benchmark registry (ids, configs, split, size, level count,
  level-set hash) and whether the bundled copy holds each.
* ``levels info ID|DIR [--json]``: one benchmark id (registry entry) or a dataset folder
  (its manifest: versions, configs, splits, row counts, benchmarks).
* ``levels verify DIR [--shallow] [--json]``: checks every file's size and sha256, row counts
  and level-set hashes against ``benchmark.json``, then (unless ``--shallow``) reads every
  table, validates every row and recomputes every level hash. Exit 0 only when all holds.
* ``levels import-kinetix DIR --out DIR2 [--size l] [--name NAME] [--random-episodes N]``:
  Kinetix editor JSON levels (``DIR/**/*.json``) -> a dataset with config ``kinetix-{size}``,
  split ``test``, and its own benchmark id ``{NAME}-v1`` (use it as ``DIR2`` or
  ``DIR2::{NAME}-v1`` wherever a benchmark id is accepted). The folder is recorded in the local
  import registry (:mod:`harness.levels.imports`) by level-set hash; when that hash is a registered
  imported benchmark's (``kinetix-original-v1``: Kinetix's own ``kinetix/levels`` folder), the
  dataset takes that id (unless ``--name`` says otherwise), the command prints it, and the id
  then works everywhere.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from harness.commands import (
    CommandError,
    add_distributed_flags,
    add_json_flag,
    run_distributed,
)


def add_subcommands(sub) -> None:
    """Adds build, list, info, verify and import-kinetix to the ``levels`` sub-parsers."""
    _add_build(sub)
    _add_list(sub)
    _add_info(sub)
    _add_verify(sub)
    _add_import(sub)


def _log(args):
    return lambda s: print(s, file=sys.stderr, flush=True)


def _summary(manifest: dict) -> dict:
    return {
        c: {
            s: {k: e[k] for k in ("num_rows", "level_set_hash", "noop_solve_rate") if k in e}
            for s, e in v["splits"].items()
        }
        for c, v in manifest["configs"].items()
    }


# ------------------------------------------------------------------------------------ build
def _add_build(sub) -> None:
    p = sub.add_parser(
        "build",
        help="materialise a recipe into a level dataset folder (Hub layout)",
        description="Builds the level dataset described by RECIPE (a TOML file, see "
        "datasets/recipes/) into DIR: Parquet shards per config and split, the dataset card "
        "README.md, thumbnails and benchmark.json. Atomic: an interrupted build leaves "
        "nothing at DIR. Same recipe, same bytes (on the CPU).",
    )
    p.add_argument("recipe", metavar="RECIPE", help="recipe file (TOML)")
    p.add_argument("--out", required=True, metavar="DIR", help="output dataset folder")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    add_json_flag(p)
    add_distributed_flags(p)
    p.set_defaults(func=lambda args: run_distributed(args, run_build))


def _build(recipe, out: str, args, after=None) -> int:
    """Builds and prints the summary; ``after()`` (run once built) may add fields to the JSON
    record and returns ``(fields, text lines)``."""
    from harness.levels.build import build_dataset

    t0 = time.perf_counter()
    m = build_dataset(recipe, out, force=args.force, progress=not args.json, log=_log(args))
    secs = time.perf_counter() - t0
    record = {
        "what": "levels-build",
        "out": str(out),
        "name": m["name"],
        "version": m["version"],
        "configs": _summary(m),
        "benchmarks": m.get("benchmarks", {}),
        "seconds": round(secs, 1),
    }
    fields, lines = after() if after is not None else ({}, [])
    record.update(fields)
    if args.json:
        print(json.dumps(record))
    else:
        n = sum(s["num_rows"] for c in record["configs"].values() for s in c.values())
        print(f"built {out}: {n} levels in {len(record['configs'])} configs, {secs:.0f} s")
        for bid, b in record["benchmarks"].items():
            print(f"  {bid:24s} {b['num_levels']:6d} levels  {b['level_set_hash'][:16]}")
        for line in lines:
            print(line)
    return 0


def run_build(args) -> int:
    from harness.levels.recipes import load_recipe

    return _build(load_recipe(args.recipe), args.out, args)


# ------------------------------------------------------------------------------------- list
def _add_list(sub) -> None:
    p = sub.add_parser(
        "list",
        help="list the benchmark ids of the registry",
        description="Lists the registered benchmarks: id, configs, split, env size, number of "
        "levels, level-set hash, and whether the bundled copy holds them.",
    )
    add_json_flag(p)
    p.set_defaults(func=run_list)


def _bundled_manifest():
    from harness.levels.loading import bundled_levels_dir
    from harness.levels.manifest import DatasetError, load_manifest

    try:
        return load_manifest(bundled_levels_dir())
    except DatasetError:
        return None


def run_list(args) -> int:
    from harness.levels.imports import find_import
    from harness.levels.registry import BENCHMARKS

    bundled = (_bundled_manifest() or {}).get("benchmarks", {})
    for b in BENCHMARKS.values():
        has = b.id in bundled and bundled[b.id]["level_set_hash"] == b.level_set_hash
        imported = find_import(b.level_set_hash) if b.imported else None
        where = "bundled" if has else "hub only"
        if b.imported:
            where = "imported" if imported else "not imported"
        record = {
            "id": b.id,
            "configs": list(b.configs),
            "split": b.split,
            "size": b.size,
            "num_levels": b.num_levels,
            "level_set_hash": b.level_set_hash,
            "revision": b.revision,
            "bundled": has,
            "description": b.description,
        }
        if b.imported:
            record["imported"] = imported["path"] if imported else None
        if args.json:
            print(json.dumps(record))
        else:
            print(
                f"{b.id:24s} {','.join(b.configs):34s} {b.split:10s} {b.size.upper()} "
                f"{b.num_levels:6d}  {b.level_set_hash[:12]}  "
                f"{where}  {b.description}"
            )
    return 0


# ------------------------------------------------------------------------------------- info
def _add_info(sub) -> None:
    p = sub.add_parser(
        "info",
        help="describe a benchmark id or a dataset folder",
        description="With a benchmark id: its registry entry. With a dataset folder: its "
        "manifest (versions, configs, splits, row counts, level-set hashes, benchmarks).",
    )
    p.add_argument("target", metavar="ID|DIR", help="a benchmark id or a dataset folder")
    add_json_flag(p)
    p.set_defaults(func=run_info)


def run_info(args) -> int:
    import dataclasses

    from harness.levels.manifest import load_manifest
    from harness.levels.registry import BENCHMARKS

    if args.target in BENCHMARKS:
        record = {"what": "benchmark", **dataclasses.asdict(BENCHMARKS[args.target])}
        if args.json:
            print(json.dumps(record))
        else:
            for k, v in record.items():
                print(f"{k:16s} {v}")
        return 0
    if not Path(args.target).is_dir():
        raise CommandError(
            f"{args.target!r} is neither a benchmark id (see `kinetix-bench levels list`) nor "
            "a dataset folder"
        )
    m = load_manifest(args.target)
    record = {
        "what": "dataset",
        "path": args.target,
        **{
            k: m.get(k)
            for k in (
                "name",
                "version",
                "schema_version",
                "generator_version",
                "simulator_version",
                "kinetix_bench_version",
                "platform",
            )
        },
        "configs": _summary(m),
        "benchmarks": m.get("benchmarks", {}),
    }
    if args.json:
        print(json.dumps(record))
        return 0
    for k in ("path", "name", "version", "schema_version", "generator_version"):
        print(f"{k:18s} {record[k]}")
    print(f"{'simulator':18s} {record['simulator_version']} on {record['platform']}")
    for c, splits in record["configs"].items():
        for s, e in splits.items():
            print(
                f"  {c:12s} {s:10s} {e['num_rows']:7d} levels  no-op solves "
                f"{e.get('noop_solve_rate', float('nan')):.1%}  {e['level_set_hash'][:16]}"
            )
    for bid, b in record["benchmarks"].items():
        print(f"  benchmark {bid}: {'+'.join(b['configs'])}/{b['split']} ({b['num_levels']})")
    return 0


# ----------------------------------------------------------------------------------- verify
def _add_verify(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="check a dataset folder against its benchmark.json",
        description="Checks every file's size and sha256, row counts and level-set hashes "
        "against benchmark.json; then (unless --shallow) validates every row of every table "
        "and recomputes every level hash from its physics columns.",
    )
    p.add_argument("dir", metavar="DIR", help="the dataset folder to verify")
    p.add_argument("--shallow", action="store_true", help="files and hashes only")
    add_json_flag(p)
    p.set_defaults(func=run_verify)


def run_verify(args) -> int:
    from harness.levels.manifest import DatasetIntegrityError, split_files, verify_dataset

    m = verify_dataset(args.dir, deep=True)
    checked = 0
    if not args.shallow:
        from kinetix.hashing import level_hashes
        from kinetix.level_files import read_level_parquet

        for c, v in m["configs"].items():
            for s in v["splits"]:
                files = split_files(args.dir, c, s)
                levels, table = read_level_parquet(files, device=False)
                stored = table.column("level_hash").to_pylist()
                ids = table.column("level_id").to_pylist()
                for lid, a, b in zip(ids, stored, level_hashes(levels), strict=True):
                    if a != b:
                        raise DatasetIntegrityError(
                            f"{args.dir}: {c}/{s}: level {lid} has level_hash {a} but its "
                            f"content hashes to {b}"
                        )
                checked += len(ids)
    record = {"what": "levels-verify", "dir": args.dir, "ok": True, "rows_checked": checked}
    record["files"] = len(m["files"])
    if args.json:
        print(json.dumps(record))
    else:
        extra = f", {checked} rows validated and re-hashed" if checked else ""
        print(f"{args.dir}: OK ({record['files']} files match benchmark.json{extra})")
    return 0


# ------------------------------------------------------------------------------ import-kinetix
def _add_import(sub) -> None:
    p = sub.add_parser(
        "import-kinetix",
        help="turn a folder of Kinetix JSON levels into a local dataset with a benchmark id",
        description="Reads every *.json Kinetix editor level under DIR (sorted by path), "
        "pads them to --size and builds a dataset folder DIR2 (config kinetix-SIZE, split "
        "test) defining the benchmark NAME-v1. Use DIR2 (or DIR2::NAME-v1) wherever a "
        "benchmark id is accepted.",
    )
    p.add_argument("dir", metavar="DIR", help="folder of Kinetix level JSON files")
    p.add_argument("--out", required=True, metavar="DIR2", help="output dataset folder")
    p.add_argument("--size", choices=("s", "m", "l"), default="l", help="env size (default l)")
    p.add_argument("--name", default=None, help="benchmark name (default: kinetix-<DIR name>)")
    p.add_argument(
        "--random-episodes",
        type=int,
        default=64,
        help="random-policy episodes per level for random_solve_rate (0: skip; default 64)",
    )
    p.add_argument("--force", action="store_true", help="replace DIR2 if it exists")
    p.add_argument(
        "--no-register",
        action="store_true",
        help="do not record DIR2 in the local import registry (~/.cache/kinetix-bench/"
        "imports.json, or $KINETIX_BENCH_IMPORTS)",
    )
    add_json_flag(p)
    p.set_defaults(func=run_import)


def _registered_match(src: Path, size: str):
    """The imported registry benchmark whose level set the folder's levels are, or None."""
    from harness.levels.build import config_levels
    from harness.levels.recipes import parse_recipe
    from harness.levels.registry import BENCHMARKS
    from kinetix.hashing import level_hashes, level_set_hash

    wanted = [b for b in BENCHMARKS.values() if b.imported]
    if not wanted:
        return None
    n = sum(1 for _ in src.rglob("*.json"))
    if n not in {b.num_levels for b in wanted}:
        return None
    recipe = parse_recipe(
        {
            "name": "probe",
            "version": "1.0.0",
            "configs": [{"name": f"kinetix-{size}", "source": "kinetix", "size": size,
                         "path": str(src.resolve()), "splits": {"test": {}}}],
        }
    )  # fmt: skip
    cfg = recipe.configs[0]
    h = level_set_hash(level_hashes(config_levels(cfg, cfg.splits[0]).levels))
    return next((b for b in wanted if b.level_set_hash == h), None)


def run_import(args) -> int:
    from harness.levels.recipes import parse_recipe

    src = Path(args.dir)
    if not src.is_dir():
        raise CommandError(f"{args.dir}: not a folder")
    match = _registered_match(src, args.size)
    default = match.id.rsplit("-v", 1)[0] if match is not None else None
    default = default or "kinetix-" + re.sub(r"[^a-z0-9_-]+", "-", src.resolve().name.lower())
    name = (args.name or default).strip("-") or "kinetix-levels"
    config = f"kinetix-{args.size}"
    recipe = parse_recipe(
        {
            "name": name,
            "version": "1.0.0",
            "configs": [
                {
                    "name": config,
                    "source": "kinetix",
                    "size": args.size,
                    "path": str(src.resolve()),
                    "random_episodes": args.random_episodes,
                    "splits": {"test": {}},
                }
            ],
            "benchmarks": [{"id": f"{name}-v1", "configs": [config], "split": "test"}],
        }
    )

    def register():
        fields = {"registered_id": match.id if match is not None else None}
        if args.no_register:
            return {**fields, "import_registry": None}, []
        from harness.levels.imports import imports_path, record_import

        record_import(args.out, source=src)
        fields["import_registry"] = str(imports_path())
        if match is None:
            return fields, [f"recorded in the import registry {imports_path()}"]
        return fields, [
            f"registered {match.id} ({match.description}; level-set hash "
            f"{match.level_set_hash[:16]}): use --benchmark {match.id} "
            f"(recorded in {imports_path()})"
        ]

    return _build(recipe, args.out, args, after=register)
