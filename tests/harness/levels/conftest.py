"""Shared by the level-dataset tests: a tiny recipe (hand-made S with 2 random-policy episodes;
random S, no-op filtered, splits validation 12 / test 8, 5 rows per shard)."""

from __future__ import annotations

from pathlib import Path

import pytest

RECIPE = """
name = "tiny-levels"
version = "1.2.3"
description = "test recipe"
shard_rows = 5

[[configs]]
name = "handmade-s"
source = "handmade"
size = "s"
random_episodes = 2
splits = { test = {} }

[[configs]]
name = "random-s"
source = "random"
size = "s"
filter = "noop"
random_episodes = 0
splits = { validation = { count = 12, seed = 1 }, test = { count = 8, seed = 2 } }
"""


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "tiny.toml"
    path.write_text(RECIPE)
    return path
