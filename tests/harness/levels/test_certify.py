"""``kinetix-bench levels certify``: a witness is searched, replayed, measured for robustness
and stored atomically in the given store; a level with a valid witness is skipped."""

from __future__ import annotations

import json

import pytest

from harness import cli
from kinetix.handmade import load_witnesses

LEVEL = "handmade-s/lift_to_shelf"
SMALL = ["--population", "32", "--iterations", "6", "--repeat", "16", "--edits", "4"]


def _lines(capsys) -> list[dict]:
    return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]


def test_certify_stores_a_robustness_checked_witness(tmp_path, capsys):
    store = tmp_path / "w.json"
    args = ["levels", "certify", "--level", LEVEL, "--store", str(store), *SMALL, "--json"]
    assert cli.main(args) == 0
    got, summary = _lines(capsys)
    assert got["level"] == LEVEL and got["status"] in ("certified", "fragile")
    assert 0.0 <= got["robustness"] <= 1.0 and summary["unsolved"] == []
    rec = load_witnesses(store)[LEVEL]
    assert rec["robustness"] == got["robustness"] and len(rec["actions"]) == rec["length"]
    assert cli.main(args) == 0  # the stored witness is still valid: nothing to search
    assert _lines(capsys)[0]["status"] == "has_witness"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--min-robustness", "1.5"], "--min-robustness must be in 0..1"),
        (["--repeat", "0"], "--repeat values must be in 1..256"),
        (["--repeat", "a"], "--repeat must be comma-separated ints"),
    ],
)
def test_certify_refuses_bad_flags(tmp_path, capsys, flags, message):
    store = tmp_path / "w.json"
    assert cli.main(["levels", "certify", "--level", LEVEL, "--store", str(store), *flags]) == 2
    assert message in capsys.readouterr().err and not store.exists()


def test_certify_reports_levels_the_budget_left_unsearched(tmp_path, capsys):
    store = tmp_path / "w.json"
    args = ["levels", "certify", "--level", LEVEL, "--store", str(store), "--budget", "-1"]
    assert cli.main([*args, *SMALL, "--json"]) == 0
    got, summary = _lines(capsys)
    assert got["status"] == "not_searched" and summary["unsolved"] == [LEVEL]
    assert not store.exists()
