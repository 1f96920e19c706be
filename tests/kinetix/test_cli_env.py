"""``kinetix-bench env rollout``."""

from __future__ import annotations

import json
import pathlib

from harness.cli import main

DATA = pathlib.Path(__file__).parent / "data"


def test_rollout_json_lines(capsys):
    level = str(DATA / "tiny_s.json")
    args = ["env", "rollout", level, "--policy", "random", "--seed", "3", "--episodes", "3"]
    assert main([*args, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    for i, r in enumerate(records):
        assert {"level", "policy", "seed", "solved", "died", "length", "return"} <= set(r)
        assert r["level"] == level and r["policy"] == "random" and r["seed"] == 3
        assert r["episode"] == i and r["size"] == "s" and r["setting"] == "default"
        assert r["solver"] in ("parallel", "sequential")
        assert isinstance(r["solved"], bool) and isinstance(r["died"], bool)
        assert 1 <= r["length"] <= 256
    # Same seed, same episodes (and the human-readable form works).
    assert main([*args, "--json"]) == 0
    assert [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()] == records
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "episode 0:" in out and "solve rate" in out


def test_rollout_missing_file(capsys):
    assert main(["env", "rollout", "no/such/level.json", "--json"]) == 2
    assert "level file not found" in capsys.readouterr().err


def test_rollout_malformed_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"env_state": {}, "static_env_params": {}}))
    assert main(["env", "rollout", str(bad)]) == 2
    assert "static_env_params.num_polygons: missing key" in capsys.readouterr().err
