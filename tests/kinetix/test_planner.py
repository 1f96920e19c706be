"""kinetix.planner: witness checks, one-step edits, robustness and the CEM search, on the
hand-made S level ``lift_to_shelf`` (a weak upward thruster held on solves it)."""

from __future__ import annotations

import numpy as np
import pytest

import kinetix.handmade as hm
from kinetix.level import stack_levels
from kinetix.planner import (
    CEMConfig,
    WitnessError,
    cem_search,
    check_witness,
    replay_outcomes,
    used_subactions,
    witness_edits,
    witness_robustness,
)

LEVEL = "handmade-s/lift_to_shelf"


@pytest.fixture(scope="module")
def certified():
    (entry, level, actions), *_ = [c for c in hm.certified_levels("s") if c[0].id == LEVEL]
    return level, actions


@pytest.mark.parametrize(
    "actions, match",
    [
        (np.zeros((3, 5), np.int8), r"shape \(T, 6\)"),
        (np.zeros((0, 6), np.int8), "length must be 1..256"),
        (np.zeros((3, 6), np.float32), "must be integer MultiDiscrete"),
        (np.array([[0, 0, 0, 3, 0, 0]]), r"witness\[0\]\[3\]: sub-action 3 must be in 0..2"),
        (np.array([[0, 0, 0, 0, 2, 0]]), r"witness\[0\]\[4\]: sub-action 4 must be in 0..1"),
    ],
)
def test_check_witness_names_the_problem(actions, match):
    with pytest.raises(WitnessError, match=match):
        check_witness(actions)


def test_edits_change_one_used_subaction_each(certified):
    level, actions = certified
    used = used_subactions(level)
    edits = witness_edits(level, actions, edits=32, seed=3, length=10)
    assert edits.shape == (32, *actions.shape) and edits.dtype == np.int8
    for e in edits:
        diff = np.argwhere(e != actions)
        assert len(diff) == 1
        t, k = diff[0]
        assert t < 10 and used[k]
        check_witness(e)
    np.testing.assert_array_equal(edits, witness_edits(level, actions, edits=32, seed=3, length=10))


def test_robustness(certified):
    level, actions = certified
    r = witness_robustness(level, actions, edits=8)
    assert 0.0 <= r <= 1.0 and r == witness_robustness(level, actions, edits=8)
    assert witness_robustness(level, np.zeros((1, 6), np.int8), edits=4) == 0.0  # no-op fails


def test_cem_finds_a_replayable_witness(certified):
    level, _ = certified
    cfg = CEMConfig(population=32, iterations=6, repeat=16, seed=0)
    res = cem_search(level, cfg)
    assert res["solved"], res
    w = check_witness(res["witness"])
    assert w.shape[0] == res["length"]
    assert bool(replay_outcomes(stack_levels([level]), [w])["solved"][0])
    again = cem_search(level, cfg)
    np.testing.assert_array_equal(again["witness"], res["witness"])  # deterministic
