"""The README's worked example, run verbatim: a small Flax network no registry knows, trained a
few REINFORCE updates, exported, dry-run, scored with ``eval`` and ``evaluate_policy``, and put
on the leaderboard (where the in-process score sits apart, unverified).

The two code blocks between ``<!-- worked-example:start -->`` and ``<!-- worked-example:end -->``
in README.md are executed as they are: the Python block with ``exec`` in a temporary folder, then
each ``kinetix-bench`` line of the bash block through :func:`harness.cli.main`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import harness
from harness.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks():
    text = README.read_text(encoding="utf-8")
    part = text.split("<!-- worked-example:start -->", 1)[1].split("<!-- worked-example:end -->")[0]
    python = re.search(r"```python\n(.*?)```", part, re.S).group(1)
    bash = re.search(r"```bash\n(.*?)```", part, re.S).group(1)
    return python, [line for line in bash.splitlines() if line.startswith("kinetix-bench ")]


@pytest.mark.slow  # about 1 min on 2 cores: training compile plus two full zero-shot runs
def test_the_worked_example_runs_as_written(tmp_path, monkeypatch, capsys):
    import harness.scoring.pipeline as pipeline

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KINETIX_BENCH_HOME", str(tmp_path))  # the block's `export` line
    monkeypatch.setattr(pipeline, "DEFAULT_EVAL_CACHE", tmp_path / "eval-cache")
    python, commands = _blocks()
    assert len(commands) == 3
    exec(compile(python, "README.md (worked example)", "exec"), {"__name__": "worked_example"})
    sub = harness.load_submission("my-tiny-policy")
    assert sub.kind == "jax-exported" and sub.architecture == "jax-exported:custom:tiny-mlp"
    for line in commands:
        assert main(shlex.split(line)[1:]) == 0, (line, capsys.readouterr().err)
    out = capsys.readouterr().out
    assert "OK: my-tiny-policy (jax-exported) is a valid submission for handmade-s-v1" in out
    table = (tmp_path / "leaderboard" / "leaderboard.csv").read_text()
    assert "my-tiny-policy," in table and "my-tiny-policy-local," in table
    readme = (tmp_path / "leaderboard" / "README.md").read_text()
    assert readme.index("_Unverified_") > readme.index("| my-tiny-policy |")
    assert "my-tiny-policy-local" in readme.split("_Unverified_", 1)[1]
