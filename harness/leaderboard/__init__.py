"""The leaderboard, built only from result records, and the submission queue that feeds it (§9).

* :mod:`~harness.leaderboard.record_files`: find and validate record files and their per-level
  Parquet;
* :mod:`~harness.leaderboard.table`: the ranked table with CI bands, written as
  ``leaderboard.parquet`` / ``.csv``;
* :mod:`~harness.leaderboard.compare` (+ :mod:`~harness.leaderboard.paired`): two results on
  one benchmark, protocol and level set: P(A > B), IQM difference, per-level differences;
* :mod:`~harness.leaderboard.push`: the leaderboard folder to a Hub dataset repo, one commit;
* :mod:`~harness.leaderboard.gallery_data`: thumbnails and solve rates of the hand-made levels;
* :mod:`~harness.leaderboard.gallery_gifs`: GIFs of the reference agents on them, within the
  page budget;
* :mod:`~harness.leaderboard.markdown`: the Markdown table and the README block;
* :mod:`~harness.leaderboard.tiers`: results per measured difficulty tier of the hand-made levels;
* :mod:`~harness.leaderboard.page` (+ ``page_assets``, ``plots``, ``gallery``, ``screenshot``):
  the static ``index.html`` and its screenshots in headless Chromium;
* :mod:`~harness.leaderboard.build`: :func:`build_leaderboard`, all of the above in one call;
* :mod:`harness.leaderboard.queue`: the submission queue (requests, the local and Hub backends,
  the worker that scores them and rebuilds the leaderboard).

May import: ``jax2d``, ``kinetix``, ``baselines``, :mod:`harness.levels`,
:mod:`harness.submissions` and :mod:`harness.scoring` (records, statistics, :func:`score`);
never :mod:`harness.commands` or :mod:`harness.cli`.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it (imported on first use, so importing the package
#: stays cheap)
_EXPORTS = {
    "COLUMNS": "harness.leaderboard.table",
    "LeaderboardError": "harness.leaderboard.record_files",
    "RecordFile": "harness.leaderboard.record_files",
    "collect_records": "harness.leaderboard.record_files",
    "build_table": "harness.leaderboard.table",
    "load_per_level": "harness.leaderboard.table",
    "write_table": "harness.leaderboard.table",
    "read_table": "harness.leaderboard.table",
    "resolve_pair": "harness.leaderboard.compare",
    "compare_results": "harness.leaderboard.compare",
    "plan_leaderboard_push": "harness.leaderboard.push",
    "push_leaderboard": "harness.leaderboard.push",
    "hand_made_gallery": "harness.leaderboard.gallery_data",
    "hand_made_gifs": "harness.leaderboard.gallery_gifs",
    "DEFAULT_GIF_BUDGET": "harness.leaderboard.gallery_gifs",
    "markdown_table": "harness.leaderboard.markdown",
    "tier_table": "harness.leaderboard.tiers",
    "update_readme": "harness.leaderboard.markdown",
    "PageError": "harness.leaderboard.page",
    "render_page": "harness.leaderboard.page",
    "build_html": "harness.leaderboard.page",
    "screenshot_page": "harness.leaderboard.screenshot",
    "BuildResult": "harness.leaderboard.build",
    "build_leaderboard": "harness.leaderboard.build",
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
