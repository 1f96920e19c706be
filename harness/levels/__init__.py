"""Level datasets: the benchmark registry, loading, building and the Hub (``DESIGN.md`` §6).

Owns everything between a benchmark id and a checked batch of levels:

* :mod:`~harness.levels.registry`: benchmark ids -> pinned level sets (:class:`Benchmark`,
  :data:`BENCHMARKS`, :func:`get_benchmark`) and Kinetix's size groups of level ids;
* :mod:`~harness.levels.loading`: :func:`load_benchmark` (Hub cache, Hub, the bundled copy or a
  local folder; every file and level hash checked) and :func:`find_level`;
* :mod:`~harness.levels.home`: where shipped data (the bundled copy, the committed submissions)
  and the project home (leaderboard and records defaults) are, in a checkout or a wheel install;
* :mod:`~harness.levels.imports`: the local registry of imported level sets
  (``levels import-kinetix``) and what imported benchmarks need from it;
* :mod:`~harness.levels.manifest`: ``benchmark.json`` (per-file sha256, level-set hashes) and
  :func:`verify_dataset`;
* :mod:`~harness.levels.recipes`, :mod:`~harness.levels.build`, :mod:`~harness.levels.card`: a
  dataset recipe (TOML), its materialisation (Parquet shards, thumbnails, manifest) and the
  dataset card;
* :mod:`~harness.levels.hub_rules` (repo ids, revisions, push plans, :class:`HubError`),
  :mod:`~harness.levels.hub_backends` (the Hugging Face Hub, a local folder hub) and
  :mod:`~harness.levels.hub` (:func:`download_levels`, :func:`push_levels`).

May import: ``jax2d``, ``kinetix`` and ``baselines``; no other ``harness`` subpackage (this is the
lowest one; ``tests/test_import_graph.py`` checks it). Inside: home, registry and manifest
first, then imports, then loading; hub_rules, then hub_backends, then hub.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it (imported on first use, so importing the package
#: stays cheap)
_EXPORTS = {
    "RELEASE": "harness.levels.registry",
    "Benchmark": "harness.levels.registry",
    "BENCHMARKS": "harness.levels.registry",
    "KINETIX_ORIGINAL": "harness.levels.registry",
    "KINETIX_SIZE_GROUPS": "harness.levels.registry",
    "get_benchmark": "harness.levels.registry",
    "kinetix_size_group": "harness.levels.registry",
    "MANIFEST_NAME": "harness.levels.manifest",
    "MANIFEST_FORMAT": "harness.levels.manifest",
    "MANIFEST_VERSION": "harness.levels.manifest",
    "DatasetError": "harness.levels.manifest",
    "DatasetIntegrityError": "harness.levels.manifest",
    "sha256_file": "harness.levels.manifest",
    "load_manifest": "harness.levels.manifest",
    "write_manifest": "harness.levels.manifest",
    "verify_dataset": "harness.levels.manifest",
    "split_files": "harness.levels.manifest",
    "dataset_commit_id": "harness.levels.manifest",
    "IMPORTS_ENV": "harness.levels.imports",
    "imports_path": "harness.levels.imports",
    "read_imports": "harness.levels.imports",
    "record_import": "harness.levels.imports",
    "find_import": "harness.levels.imports",
    "BenchmarkNotImportedError": "harness.levels.imports",
    "import_hint": "harness.levels.imports",
    "as_imported": "harness.levels.imports",
    "locate_import": "harness.levels.imports",
    "check_size_groups": "harness.levels.imports",
    "BUNDLED_LEVELS": "harness.levels.loading",
    "BUNDLED_ENV": "harness.levels.loading",
    "OFFLINE_ENV": "harness.levels.loading",
    "LoadedBenchmark": "harness.levels.loading",
    "bundled_levels_dir": "harness.levels.loading",
    "resolve_benchmark": "harness.levels.loading",
    "load_benchmark": "harness.levels.loading",
    "is_offline": "harness.levels.loading",
    "find_level": "harness.levels.loading",
    "HOME_ENV": "harness.levels.home",
    "shipped_path": "harness.levels.home",
    "project_home": "harness.levels.home",
    "default_leaderboard_dir": "harness.levels.home",
    "default_records_dir": "harness.levels.home",
    "DEFAULT_LEVELS_REPO": "harness.levels.hub_rules",
    "LEVELS_REPO_ENV": "harness.levels.hub_rules",
    "MAX_FILES_PER_COMMIT": "harness.levels.hub_rules",
    "HubError": "harness.levels.hub_rules",
    "levels_repo_id": "harness.levels.hub_rules",
    "validate_repo_id": "harness.levels.hub_rules",
    "validate_tag": "harness.levels.hub_rules",
    "validate_revision": "harness.levels.hub_rules",
    "allow_patterns_for": "harness.levels.hub_rules",
    "dataset_files": "harness.levels.hub_rules",
    "plan_push": "harness.levels.hub_rules",
    "HubBackend": "harness.levels.hub_backends",
    "HfHubBackend": "harness.levels.hub_backends",
    "LocalFolderHub": "harness.levels.hub_backends",
    "DownloadedDataset": "harness.levels.hub",
    "push_levels": "harness.levels.hub",
    "download_levels": "harness.levels.hub",
    "RecipeError": "harness.levels.recipes",
    "SplitRecipe": "harness.levels.recipes",
    "ConfigRecipe": "harness.levels.recipes",
    "BenchmarkRecipe": "harness.levels.recipes",
    "Recipe": "harness.levels.recipes",
    "load_recipe": "harness.levels.recipes",
    "parse_recipe": "harness.levels.recipes",
    "SplitData": "harness.levels.build",
    "build_dataset": "harness.levels.build",
    "config_levels": "harness.levels.build",
    "simulator_version": "harness.levels.build",
    "card_text": "harness.levels.card",
    "write_card": "harness.levels.card",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
