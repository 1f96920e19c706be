"""The hand-made level set: every stored witness solves its level, the no-op policy solves none.

One batched, jitted program per size replays the witnesses AND the no-op policy (the batch holds
each level twice), so each size compiles once.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import kinetix.handmade as hm
from kinetix.level import stack_levels
from kinetix.planner import replay_outcomes

# Certified ids are stable: a level may be added, never renamed or silently changed.
MIN_CERTIFIED = {"s": 12, "m": 16, "l": 20}


def test_ids_unique_well_formed_and_tagged():
    ids = [e.id for e in hm.all_levels()]
    assert len(ids) == len(set(ids))
    for e in hm.all_levels():
        assert re.fullmatch(r"handmade-[sml]/[a-z0-9_]+", e.id), e.id
        assert e.id == f"handmade-{e.size}/{e.name}"
        assert e.family in hm.FAMILIES and e.difficulty in hm.DIFFICULTIES
        assert e.description and "\n" not in e.description


def test_witness_store_refers_to_registered_levels():
    store = hm.load_witnesses()
    assert set(store) <= set(hm.REGISTRY)
    for rec in store.values():
        assert rec["method"] in ("cem", "hand")
        assert 1 <= len(rec["actions"]) <= 256


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_witnesses_solve_and_noop_does_not(size):
    certified = hm.certified_levels(size)
    assert len(certified) >= MIN_CERTIFIED[size]
    levels = [lv for _, lv, _ in certified]
    noop = np.zeros((1, 6), np.int8)
    n = len(levels)
    out = replay_outcomes(stack_levels(levels + levels), [a for _, _, a in certified] + [noop] * n)
    ids = [e.id for e, _, _ in certified]
    unsolved = [i for i, s in zip(ids, out["solved"][:n]) if not s]
    assert not unsolved, f"witnesses that no longer solve: {unsolved}"
    noop_solved = [i for i, s in zip(ids, out["solved"][n:]) if s]
    assert not noop_solved, f"levels the no-op policy solves: {noop_solved}"


def test_certified_families_cover_the_set():
    fams = {hm.REGISTRY[i].family for i in hm.load_witnesses()}
    assert fams == set(hm.FAMILIES)


@pytest.mark.parametrize("size", ["m", "l"])
def test_every_family_has_a_certified_level_of_size(size):
    fams = {e.family for e, _, _ in hm.certified_levels(size)}
    assert fams == set(hm.FAMILIES), f"families without a certified {size} level: " + ", ".join(
        sorted(set(hm.FAMILIES) - fams)
    )
