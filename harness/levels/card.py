"""The dataset card (``README.md``) of a level dataset folder.

The YAML header declares one config per ``{source}-{size}`` with its splits' Parquet files, so
``datasets.load_dataset(folder_or_repo, "handmade-s")`` works on a local copy and on the Hub
alike. The body says what the levels are, how to load them, the columns and the
reference outcomes, and shows the thumbnails. Built as text (``DatasetCardData.to_yaml`` needs
no Jinja2).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["card_text", "write_card"]

_TABLE_HEADER = (
    "| config | split | source | env size | levels | no-op solves | random policy solves "
    "| level-set hash |\n|---|---|---|---|---|---|---|---|"
)

_SOURCE_TEXT = {
    "handmade": "original hand-made levels (held out for evaluation: never train on them); "
    "each has a witness (`witness_actions`), an action sequence that solves it",
    "random": "procedural levels from the Kinetix-style generator",
    "kinetix": "levels imported from Kinetix editor JSON files",
}


_SPLIT_ORDER = {"train": 0, "validation": 1, "test": 2}


def _canonical(manifest: dict) -> dict:
    """Configs sorted by name, splits train/validation/test then by name: the card must not
    depend on dict order (the manifest is written with sorted keys)."""
    configs = {}
    for name in sorted(manifest["configs"]):
        c = dict(manifest["configs"][name])
        order = sorted(c["splits"], key=lambda s: (_SPLIT_ORDER.get(s, 3), s))
        c["splits"] = {s: c["splits"][s] for s in order}
        configs[name] = c
    return {**manifest, "configs": configs}


def _yaml_header(manifest: dict) -> str:
    from huggingface_hub import DatasetCardData

    configs = []
    for name, c in manifest["configs"].items():
        configs.append(
            {
                "config_name": name,
                "data_files": [{"split": s, "path": f"{name}/{s}-*.parquet"} for s in c["splits"]],
            }
        )
    n = sum(s["num_rows"] for c in manifest["configs"].values() for s in c["splits"].values())
    size_cat = "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K"
    if n >= 100_000:
        size_cat = "100K<n<1M" if n < 1_000_000 else "1M<n<10M"
    data = DatasetCardData(
        license="apache-2.0",
        pretty_name=f"kinetix-bench levels ({manifest['name']})",
        task_categories=["reinforcement-learning"],
        tags=["kinetix", "physics", "2d", "jax", "procedural-generation", "benchmark"],
        size_categories=[size_cat],
        configs=configs,
    )
    return data.to_yaml()


def _rate(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def measured_table(rows: list[dict]) -> str:
    """The per-level Markdown table of hand-made levels' measured difficulty.

    ``rows``: one dict per level with the table's metadata columns (``level_id``, ``tags``,
    ``tier``, ``constant_solves``, ``random_solve_rate``, ``scratch_solve_rate_1e5``,
    ``scratch_solve_rate_1e6``, ``witness_actions``, ``witness_cem_iterations``,
    ``witness_robustness``); missing figures print as ``-``."""
    out = [
        "| level | family | tier | constant actions solving (of 324) | random policy "
        "| scratch PPO 1e5 | scratch PPO 1e6 | witness steps | CEM iterations "
        "| witness robustness |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tags = r.get("tags") or ["-"]
        w = r.get("witness_actions")
        cells = [
            f"`{r['level_id']}`",
            tags[0],
            r.get("tier") or "-",
            "-" if r.get("constant_solves") is None else str(r["constant_solves"]),
            _rate(r.get("random_solve_rate")),
            _rate(r.get("scratch_solve_rate_1e5")),
            _rate(r.get("scratch_solve_rate_1e6")),
            "-" if w is None else str(len(w)),
            "-" if r.get("witness_cem_iterations") is None else str(r["witness_cem_iterations"]),
            _rate(r.get("witness_robustness")),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _measured_section(levels: dict[str, list[dict]] | None) -> str:
    if not levels:
        return ""
    parts = [
        "## Measured difficulty of the hand-made levels\n\n"
        "Measured by `kinetix-bench levels calibrate` under this dataset's simulator: how many "
        "of the 324 constant MultiDiscrete actions solve the level (one deterministic episode "
        "each), the random policy's solve rate (64 episodes), from-scratch PPO's solve rate "
        "(the fine-tuning protocol's PPO, entity transformer, mean of 3 training seeds) at 1e5 "
        "and 1e6 env steps, and the tier it gives: `easy` (scratch PPO >= 0.8 at 1e5), "
        "`medium` (below, but >= 0.5 at 1e6), `hard` (below 0.5 at 1e6, yet solved by the "
        "stored witness). Witness robustness: the fraction of 16 one-step edits of the witness "
        "that still solve. `-`: not measured."
    ]
    for name, rows in levels.items():
        parts.append(f"**{name}**\n\n{measured_table(rows)}")
    return "\n\n".join(parts) + "\n"


def card_text(manifest: dict, recipe=None, levels: dict[str, list[dict]] | None = None) -> str:
    """The full card (YAML header + Markdown body) for ``manifest``; ``levels`` maps hand-made
    config names to their per-level rows (:func:`measured_table`), shown when given."""
    manifest = _canonical(manifest)
    rows = []
    for name, c in manifest["configs"].items():
        for s, e in c["splits"].items():
            rnd = e.get("mean_random_solve_rate")
            rnd = f"{rnd:.1%}" if rnd is not None else "not computed"
            rows.append(
                f"| `{name}` | `{s}` | {c['source']} | {c['env_size'].upper()} | "
                f"{e['num_rows']:,} | {e['noop_solve_rate']:.1%} | {rnd} | "
                f"`{e['level_set_hash'][:16]}…` |"
            )
    sources = sorted({c["source"] for c in manifest["configs"].values()})
    first = next(iter(manifest["configs"]))
    first_split = next(iter(manifest["configs"][first]["splits"]))
    thumbs = "\n".join(
        f"**{name}**\n\n![{name}]({c['thumbnail']})\n"
        for name, c in manifest["configs"].items()
        if c.get("thumbnail")
    )
    body = f"""
# kinetix-bench levels: {manifest["name"]} v{manifest["version"]}

Levels of the kinetix-bench benchmark for general physical-control agents: 2D rigid-body tasks
in the spirit of Kinetix (arXiv 2410.23208). In every level the agent drives motors and
thrusters to make a **green** shape touch a **blue** one without any green shape touching a
**red** one, within 256 agent steps.

Sources in this dataset: {"; ".join(f"`{s}`: {_SOURCE_TEXT[s]}" for s in sources)}.

## Configs and splits

{_TABLE_HEADER}
{chr(10).join(rows)}

Env sizes (polygons incl. 4 arena walls / circles / joints / thrusters): S 5/2/1/1,
M 6/3/2/2, L 12/4/6/2.

## Use

```python
# the benchmark's own loader (verifies sha256 and level-set hashes, loads onto the device)
import glob
from kinetix.level_files import read_level_parquet

levels, table = read_level_parquet(sorted(glob.glob("{first}/{first_split}-*.parquet")))

# or with datasets, like any Hub dataset
import datasets

ds = datasets.load_dataset("<this repo or folder>", "{first}")
```

`kinetix-bench levels download`, `levels verify` and `levels info` fetch and check a pinned
revision; the harness resolves benchmark ids (`handmade-s-v1`, `random-m-test-v1`, ...) to a
config, split, revision and level-set hash.

## Columns

- `level_id` (stable name), `level_hash` (sha256 of the canonical physics content),
  `source`, `env_size`, `schema_version` ({manifest["schema_version"]}), `generator_version`,
  `generator_seed`, `generator_index` (procedural: level `i` of stream `seed`, key
  `fold_in(PRNGKey(seed), i)`);
- reference outcomes: `noop_solved`, `noop_return` (one 256-step no-op episode),
  `random_solve_rate` (64 first episodes of the uniform random policy, keys from the level
  hash; null when not computed);
- hand-made levels: `description`, `tags` (family, difficulty), `witness_actions`
  (MultiDiscrete rows of 6 int8: 4 motors in {{0, 1, 2}}, 2 thrusters in {{0, 1}}); from schema
  2 also their measured difficulty (null where not measured): `constant_solves` (of the 324
  constant actions), `best_constant_action`, `scratch_solve_rate_1e5`, `scratch_solve_rate_1e6`,
  `tier`, `witness_cem_iterations`, `witness_robustness` (see below);
- physics: one fixed-size-list column per attribute of the level pytree
  (`polygon_position` [P, 2], `polygon_vertices` [P, 4, 2], `circle_radius` [C],
  `joint_*` [J], `thruster_*` [T], `polygon_roles`, `motor_bindings`, `gravity` [2], ...),
  float32 / int32 / bool; no struct columns, no extension types.

## Provenance

- generator `{manifest["generator_version"]}`, simulator `{manifest["simulator_version"]}`,
  kinetix-bench {manifest["kinetix_bench_version"]}, built on `{manifest["platform"]}`
  from the recipe `{(recipe.source_file if recipe else None) or "(inline)"}`;
- `benchmark.json` lists every file's sha256, row counts and each split's level-set hash
  (sha256 of the sorted level hashes joined by newlines).

Releases are semver tags on explicit commits; a tag never moves; any content change is a new
major version and new benchmark ids (`-v2`).

{_measured_section(levels)}
## Thumbnails

{thumbs}
"""
    return f"---\n{_yaml_header(manifest)}\n---\n{body}"


def write_card(
    root: str | Path, manifest: dict, recipe=None, levels: dict[str, list[dict]] | None = None
) -> Path:
    """Writes ``root/README.md`` (atomically); ``levels`` as in :func:`card_text`."""
    from kinetix.atomic_io import atomic_write

    path = Path(root) / "README.md"
    text = card_text(manifest, recipe, levels)
    atomic_write(path, lambda f: f.write(text.encode()))
    return path
