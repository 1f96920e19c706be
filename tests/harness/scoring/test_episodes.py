"""Episodes of any submission on any level (:mod:`harness.scoring.episodes`): ``render`` and
``env rollout`` with ``--submission``."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from harness.cli import main
from harness.levels.loading import find_level
from harness.scoring.episodes import submission_episode_scenes, submission_episodes
from harness.scoring.pipeline import resolve_submission
from harness.submissions.loading import load_submission

LEVEL = "handmade-s/tilt_plate"


@pytest.fixture(scope="module")
def level():
    return find_level(LEVEL, None)[0]


def test_render_gif_of_a_submission_on_a_dataset_level(tmp_path, capsys):
    out = tmp_path / "random.gif"
    argv = ["render", LEVEL, "--submission", "random", "--out", str(out), "--steps", "6",
            "--downscale", "10", "--json"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    rep = json.loads(capsys.readouterr().out)
    assert rep["submission"] == "random" and rep["policy"] is None
    with Image.open(out) as im:
        assert im.n_frames == rep["frames"] == rep["steps"] + 1 <= 7 and im.size == (50, 50)


def test_env_rollout_of_a_submission(capsys):
    argv = ["env", "rollout", LEVEL, "--submission", "noop", "--episodes", "2", "--json"]
    assert main(argv) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["episode"] for r in rows] == [0, 1]
    assert all(r["submission"] == "noop" and r["policy"] is None for r in rows)
    # the no-op policy is deterministic: both attempts are the same episode
    assert rows[0]["length"] == rows[1]["length"] and rows[0]["return"] == rows[1]["return"]
    with pytest.raises(SystemExit):  # --policy stays limited to the parameter-free ones
        main(["env", "rollout", LEVEL, "--policy", "general-random-s-cpu"])


@pytest.mark.slow  # two compiles of a network rollout (about 45 s on 2 cores)
def test_a_trained_network_gif_shows_its_rollout_episode(level):
    sub = load_submission(resolve_submission("general-random-s-cpu"))
    outcomes, config = submission_episodes(sub, level, episodes=2, seed=0)
    scenes, run, summary = submission_episode_scenes(sub, level, seed=0)
    assert config.size.name == "s" and run.size == config.size
    assert summary["steps"] == int(outcomes["length"][0])
    assert summary["solved"] == bool(outcomes["solved"][0])
    assert summary["return"] == pytest.approx(float(outcomes["return"][0]), abs=1e-5)
    assert scenes.polygon.position.shape[0] == summary["steps"] + 1
