"""Dataset recipes: what ``kinetix-bench levels build`` materialises (TOML files).

A recipe describes one dataset folder (``datasets/recipes/*.toml``)::

    name = "kinetix-levels"           # dataset name (card title)
    version = "1.0.0"                 # the release tag this build is meant for (v1.0.0)
    shard_rows = 50000                # rows per Parquet shard (default 50,000)

    [[configs]]
    name = "handmade-s"               # {source}-{size}
    source = "handmade"               # handmade | random | kinetix
    size = "s"
    random_episodes = 64              # reference outcome: random-policy episodes (0 = skip)
    splits = { test = {} }            # hand-made: every certified level of the size
    # release = "v2"                  # hand-made only: the release's levels (default v1, frozen)

    [[configs]]
    name = "random-m"
    source = "random"
    size = "m"
    filter = "noop"                   # none | noop  (Kinetix's no-op filter, 4 attempts x 64 steps)
    random_episodes = 0
    splits = { validation = { count = 1000, seed = 1001 }, test = { count = 1000, seed = 1002 } }

    [[configs]]                       # Kinetix editor JSON levels (levels import-kinetix)
    name = "kinetix-l"
    source = "kinetix"
    size = "l"
    path = "/path/to/levels"          # *.json below it, sorted by relative path
    splits = { test = {} }

    [[benchmarks]]                    # benchmark ids this dataset defines (level-set hashes
    id = "handmade-all-v1"            # are computed by the build and written to the manifest)
    configs = ["handmade-s", "handmade-m", "handmade-l"]
    split = "test"
    size = "l"                        # env size the levels are padded to (default: the largest)

Every field is checked on load; errors name the field (:class:`RecipeError`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from pathlib import Path

from harness.levels.manifest import DatasetError

__all__ = [
    "RecipeError",
    "SplitRecipe",
    "ConfigRecipe",
    "BenchmarkRecipe",
    "Recipe",
    "load_recipe",
    "parse_recipe",
]

SOURCES = ("handmade", "random", "kinetix")
FILTERS = ("none", "noop")
_SPLIT = re.compile(r"^\w+$")
_CONFIG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class RecipeError(DatasetError):
    """A dataset recipe is malformed (the message names the field)."""


@dataclasses.dataclass(frozen=True)
class SplitRecipe:
    name: str
    count: int | None = None  # random only
    seed: int | None = None  # random only


@dataclasses.dataclass(frozen=True)
class ConfigRecipe:
    name: str
    source: str
    size: str
    splits: tuple[SplitRecipe, ...]
    filter: str = "none"
    random_episodes: int = 64
    path: str | None = None  # kinetix only
    release: str | None = None  # handmade only: the hand-made release (None: v1)

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        if d["release"] is None:  # v1 recipes serialise as they always have
            del d["release"]
        d["splits"] = {
            s.name: {k: v for k, v in dataclasses.asdict(s).items() if k != "name"}
            for s in self.splits
        }
        return d


@dataclasses.dataclass(frozen=True)
class BenchmarkRecipe:
    id: str
    configs: tuple[str, ...]
    split: str
    size: str

    def to_json(self) -> dict:
        return {"configs": list(self.configs), "split": self.split, "size": self.size}


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    version: str
    configs: tuple[ConfigRecipe, ...]
    shard_rows: int = 50_000
    description: str = ""
    source_file: str | None = None
    benchmarks: tuple[BenchmarkRecipe, ...] = ()

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "shard_rows": self.shard_rows,
            "description": self.description,
            "configs": [c.to_json() for c in self.configs],
            "benchmarks": {b.id: b.to_json() for b in self.benchmarks},
        }


def _int(value, field: str, lo: int, hi: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise RecipeError(f"{field}: must be an integer >= {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise RecipeError(f"{field}: must be <= {hi}, got {value!r}")
    return value


def _str(value, field: str, allowed=None, pattern=None) -> str:
    if not isinstance(value, str):
        raise RecipeError(f"{field}: must be a string, got {value!r}")
    if allowed is not None and value not in allowed:
        raise RecipeError(f"{field}: must be one of {', '.join(allowed)}, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise RecipeError(f"{field}: {value!r} does not match {pattern.pattern}")
    return value


def _unknown(d: dict, known: set, where: str):
    extra = set(d) - known
    if extra:
        raise RecipeError(f"{where}: unknown keys {sorted(extra)} (known: {sorted(known)})")


def parse_recipe(data: dict, *, base_dir: str | os.PathLike | None = None) -> Recipe:
    """Checks a parsed recipe (a dict) and returns a :class:`Recipe`."""
    if not isinstance(data, dict):
        raise RecipeError("recipe: expected a table")
    _unknown(
        data, {"name", "version", "configs", "shard_rows", "description", "benchmarks"}, "recipe"
    )
    name = _str(data.get("name"), "name", pattern=_CONFIG)
    version = _str(data.get("version"), "version", pattern=_VERSION)
    shard_rows = _int(data.get("shard_rows", 50_000), "shard_rows", 1)
    configs = data.get("configs")
    if not isinstance(configs, list) or not configs:
        raise RecipeError("configs: must be a non-empty array of tables ([[configs]])")
    out, seen = [], set()
    for i, c in enumerate(configs):
        where = f"configs[{i}]"
        if not isinstance(c, dict):
            raise RecipeError(f"{where}: expected a table")
        _unknown(
            c,
            {"name", "source", "size", "splits", "filter", "random_episodes", "path", "release"},
            where,
        )
        cname = _str(c.get("name"), f"{where}.name", pattern=_CONFIG)
        if cname in seen:
            raise RecipeError(f"{where}.name: duplicate config {cname!r}")
        seen.add(cname)
        source = _str(c.get("source"), f"{where}.source", SOURCES)
        size = _str(c.get("size"), f"{where}.size", ("s", "m", "l"))
        flt = _str(c.get("filter", "none"), f"{where}.filter", FILTERS)
        if flt != "none" and source != "random":
            raise RecipeError(f"{where}.filter: only random configs are filtered")
        episodes = _int(c.get("random_episodes", 64), f"{where}.random_episodes", 0, 4096)
        path = c.get("path")
        if source == "kinetix":
            path = _str(path, f"{where}.path")
            if base_dir is not None and not os.path.isabs(path):
                path = os.path.normpath(os.path.join(base_dir, path))
        elif path is not None:
            raise RecipeError(f"{where}.path: only kinetix configs read a folder")
        release = c.get("release")
        if release is not None:
            from kinetix.handmade.registry import RELEASES

            if source != "handmade":
                raise RecipeError(f"{where}.release: only handmade configs name a release")
            release = _str(release, f"{where}.release", RELEASES)
        splits = c.get("splits")
        if not isinstance(splits, dict) or not splits:
            raise RecipeError(f"{where}.splits: must be a non-empty table of splits")
        srecs = []
        for sname, s in splits.items():
            sw = f"{where}.splits.{sname}"
            _str(sname, sw, pattern=_SPLIT)
            if not isinstance(s, dict):
                raise RecipeError(f"{sw}: expected a table")
            if source == "random":
                _unknown(s, {"count", "seed"}, sw)
                count = _int(s.get("count"), f"{sw}.count", 1, 10_000_000)
                seed = _int(s.get("seed"), f"{sw}.seed", 0, 2**31 - 1)
                srecs.append(SplitRecipe(sname, count, seed))
            else:
                _unknown(s, set(), sw)
                srecs.append(SplitRecipe(sname))
        if source != "random" and len(srecs) != 1:
            raise RecipeError(f"{where}.splits: {source} configs have exactly one split")
        seeds = [s.seed for s in srecs if s.seed is not None]
        if len(seeds) != len(set(seeds)):
            raise RecipeError(
                f"{where}.splits: two splits share a seed (their levels would repeat)"
            )
        out.append(ConfigRecipe(cname, source, size, tuple(srecs), flt, episodes, path, release))
    benches = _parse_benchmarks(data.get("benchmarks", []), out)
    return Recipe(
        name, version, tuple(out), shard_rows, str(data.get("description", "")), None, benches
    )


_BENCH_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*-v\d+$")
_SIZES = ("s", "m", "l")


def _parse_benchmarks(items, configs: list[ConfigRecipe]) -> tuple[BenchmarkRecipe, ...]:
    if not isinstance(items, list):
        raise RecipeError("benchmarks: must be an array of tables ([[benchmarks]])")
    by_name = {c.name: c for c in configs}
    out, seen = [], set()
    for i, b in enumerate(items):
        where = f"benchmarks[{i}]"
        if not isinstance(b, dict):
            raise RecipeError(f"{where}: expected a table")
        _unknown(b, {"id", "configs", "split", "size"}, where)
        bid = _str(b.get("id"), f"{where}.id", pattern=_BENCH_ID)
        if bid in seen:
            raise RecipeError(f"{where}.id: duplicate benchmark id {bid!r}")
        seen.add(bid)
        names = b.get("configs")
        if not isinstance(names, list) or not names:
            raise RecipeError(f"{where}.configs: must be a non-empty list of config names")
        split = _str(b.get("split"), f"{where}.split", pattern=_SPLIT)
        for n in names:
            if n not in by_name:
                raise RecipeError(f"{where}.configs: no config {n!r} in this recipe")
            if split not in {s.name for s in by_name[n].splits}:
                raise RecipeError(f"{where}.split: config {n!r} has no split {split!r}")
        largest = max((by_name[n].size for n in names), key=_SIZES.index)
        size = _str(b.get("size", largest), f"{where}.size", _SIZES)
        if _SIZES.index(size) < _SIZES.index(largest):
            raise RecipeError(f"{where}.size: {size!r} is smaller than its levels ({largest!r})")
        out.append(BenchmarkRecipe(bid, tuple(names), split, size))
    return tuple(out)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Reads and checks a TOML recipe file."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML ({e})") from None
    try:
        r = parse_recipe(data, base_dir=path.parent)
    except RecipeError as e:
        raise RecipeError(f"{path}: {e}") from None
    return dataclasses.replace(r, source_file=path.name)
