"""The leaderboard, built only from result records (DESIGN §9).

* :mod:`~harness.leaderboard.table`: collect and validate records, build the ranked table with
  CI bands, write ``leaderboard.parquet`` / ``.csv`` and the Markdown block of ``README.md``;
* :mod:`~harness.leaderboard.compare` (+ :mod:`~harness.leaderboard.paired`): two results on
  one benchmark, protocol and dataset commit: P(A > B), IQM difference, per-level differences;
* :mod:`~harness.leaderboard.push`: the leaderboard folder to a Hub dataset repo, one commit;
* :mod:`~harness.leaderboard.gallery_data`: thumbnails and solve rates of the hand-made levels;
* :mod:`~harness.leaderboard.markdown`: the Markdown table and the README block;
* :mod:`~harness.leaderboard.page` (+ ``page_assets``, ``plots``, ``gallery``, ``screenshot``):
  the static ``index.html`` and its screenshots in headless Chromium;
* :mod:`~harness.leaderboard.build`: :func:`build_leaderboard`, all of the above in one call.
"""

from harness.leaderboard.build import BuildResult, build_leaderboard
from harness.leaderboard.compare import compare_results, resolve_pair
from harness.leaderboard.gallery_data import hand_made_gallery
from harness.leaderboard.markdown import markdown_table, update_readme
from harness.leaderboard.page import PageError, build_html, render_page
from harness.leaderboard.push import plan_leaderboard_push, push_leaderboard
from harness.leaderboard.screenshot import screenshot_page
from harness.leaderboard.table import (
    COLUMNS,
    LeaderboardError,
    RecordFile,
    build_table,
    collect_records,
    load_per_level,
    read_table,
    write_table,
)

__all__ = [
    "BuildResult",
    "PageError",
    "build_html",
    "build_leaderboard",
    "render_page",
    "screenshot_page",
    "COLUMNS",
    "LeaderboardError",
    "RecordFile",
    "build_table",
    "collect_records",
    "compare_results",
    "hand_made_gallery",
    "load_per_level",
    "markdown_table",
    "plan_leaderboard_push",
    "push_leaderboard",
    "read_table",
    "resolve_pair",
    "update_readme",
    "write_table",
]
