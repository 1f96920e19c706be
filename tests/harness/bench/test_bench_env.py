"""``kinetix-bench bench env`` and its hand-made benchmark levels."""

from __future__ import annotations

import json

import pytest

import kinetix as kx
from harness.bench.env import bench_level
from harness.cli import main


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_bench_levels_are_valid_and_use_the_size(size):
    lv = bench_level(size)
    kx.validate_level(lv)
    assert lv.size == kx.env_size(size)
    assert bool(lv.scene.joint.active.any()) and bool(lv.scene.thruster.active.any())


@pytest.mark.slow
def test_bench_env_json(capsys):
    args = ["bench", "env", "--size", "s", "--batch", "2", "--steps", "2", "--min-reps", "1",
            "--min-time", "0", "--max-reps", "1", "--json"]  # fmt: skip
    assert main(args) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    rec = json.loads(line)
    assert rec["what"] == "env" and rec["size"] == "s" and rec["batch"] == 2
    assert rec["obs"] == "entity" and rec["finite"] is True
    assert rec["steps_per_s"] > 0 and rec["compile_s"] > 0
