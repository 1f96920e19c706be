"""``kinetix-zero-shot@v1``: parsing, its record block, Kinetix's per-size averages, and the eval
command end to end (random policy on a three-level S dataset laid out like Kinetix's folders)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kinetix.handmade as hm
from harness.cli import main
from harness.scoring.protocols import (
    KinetixZeroShot,
    ProtocolError,
    ZeroShot,
    attempt_keys,
    kinetix_averages,
    kinetix_size_group,
    parse_protocol,
)
from kinetix import save_kinetix_json


def test_parse_and_identity():
    p = parse_protocol("kinetix-zero-shot@v1")
    assert isinstance(p, KinetixZeroShot) and isinstance(p, ZeroShot)
    assert p.id == "kinetix-zero-shot@v1" and p.name == "kinetix-zero-shot"
    assert (p.attempts, p.max_steps, p.action_mode) == (20, 256, "sample")
    assert p.physics_setting == "jax2d-compat" and ZeroShot.physics_setting is None
    assert p != ZeroShot() and parse_protocol("zero-shot@v1") == ZeroShot()
    with pytest.raises(ProtocolError, match="version 1 only"):
        parse_protocol("kinetix-zero-shot@v2")
    with pytest.raises(ProtocolError, match="kinetix-zero-shot@v1"):
        parse_protocol("kinetix@v1")


def test_record_block_says_protocol_and_physics_and_zero_shot_is_unchanged():
    d = KinetixZeroShot().to_json()
    assert d["protocol_id"] == "kinetix-zero-shot" and d["protocol_version"] == 1
    assert d["physics_setting"] == "jax2d-compat" and d["episodes_per_level"] == 20
    assert "mean over every level" in d["aggregation"]
    # zero-shot@v1's block is released: its keys (and so its result ids) must not move
    assert ZeroShot().to_json() == {
        "protocol_id": "zero-shot", "protocol_version": 1, "episodes_per_level": 20,
        "max_steps": 256, "seed": 0, "action_mode": "sample", "finetune": None,
    }  # fmt: skip
    assert ZeroShot().extra_metrics(["a"], {}) == {}


def test_same_attempt_keys_as_zero_shot():
    hashes = ["0123abcd" + "0" * 56, "ffffffff" + "1" * 56]
    a = np.asarray(attempt_keys(hashes, ZeroShot()))
    b = np.asarray(attempt_keys(hashes, KinetixZeroShot()))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "level_id,group",
    [("kinetix-l/s/h0_weak_thrust", "s"), ("kinetix-l/m/arm_up", "m"), ("kinetix-l/l/pr", "l"),
     ("handmade-m/arm_reach", "m"), ("random-l/test/0000001", "l"), ("kinetix-l/my_level", None),
     ("kinetix-s/x/s", None), ("mine/s", None)],
)  # fmt: skip
def test_size_group_of_a_level_id(level_id, group):
    assert kinetix_size_group(level_id) == group


def test_all_is_the_mean_over_levels_not_over_sizes():
    """Kinetix's 'all': sfl-paper's 0.22 = (10 x 0.42 + 24 x 0.32 + 40 x 0.11) / 74."""
    ids = ["k/s/a", "k/l/b", "k/l/c", "k/l/d", "k/x"]
    solved = np.array([[1] * 20, [0] * 20, [0] * 20, [1] * 10 + [0] * 10, [1] * 20], bool)
    ret = np.arange(5, dtype=np.float32)[:, None].repeat(20, 1)
    got = kinetix_averages(ids, {"solved": solved, "return": ret})
    assert list(got) == ["s", "l", "all"]  # no M level, no group for k/x
    assert got["s"] == {"n_levels": 1, "solve_rate": 1.0, "return": 0.0}
    assert got["l"]["n_levels"] == 3 and got["l"]["solve_rate"] == pytest.approx(0.5 / 3)
    assert got["l"]["return"] == pytest.approx(2.0)
    assert got["all"]["solve_rate"] == pytest.approx(2.5 / 5)  # not (1 + 1/6) / 2
    with pytest.raises(ValueError, match="2 level ids"):
        kinetix_averages(ids[:2], {"solved": solved, "return": ret})
    assert KinetixZeroShot().extra_metrics(ids, {"solved": solved, "return": ret}) == {
        "by_size": got
    }


@pytest.fixture(scope="module")
def sized_dataset(tmp_path_factory):
    """Three hand-made S levels exported to Kinetix JSON under s/ (Kinetix's folder layout)."""
    src = tmp_path_factory.mktemp("kx") / "levels"
    (src / "s").mkdir(parents=True)
    for entry, level, _ in hm.certified_levels("s", release="v1")[:3]:
        save_kinetix_json(level, src / "s" / f"{entry.name}.json")
    out = tmp_path_factory.mktemp("ds") / "sized"
    args = ["levels", "import-kinetix", str(src), "--out", str(out), "--size", "s"]
    assert main([*args, "--random-episodes", "0", "--no-register", "--json"]) == 0
    return out


@pytest.mark.slow
def test_eval_cli_kinetix_protocol(sized_dataset, tmp_path, capsys):
    from harness.scoring.records import read_record

    capsys.readouterr()
    out = tmp_path / "records"
    args = ["eval", "random", "--benchmark", str(sized_dataset), "--out", str(out)]
    args += ["--cache-dir", str(tmp_path / "cache")]
    args += ["--bootstrap-reps", "100", "--protocol", "kinetix-zero-shot@v1"]
    assert main([*args, "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rec = read_record(res["record"])
    assert res["record"].endswith("__kinetix-zero-shot_v1.json")
    proto = rec["protocol"]
    assert proto["protocol_id"] == "kinetix-zero-shot"
    assert proto["physics_setting"] == "jax2d-compat"
    assert proto["env_params"]["physics_setting"] == "jax2d-compat"
    assert proto["env_params"]["solver"] == "sequential"
    by = rec["metrics"]["by_size"]
    assert res["by_size"] == by and set(by) == {"s", "all"} and by["s"]["n_levels"] == 3
    assert by["all"]["solve_rate"] == pytest.approx(rec["metrics"]["solve_rate"]["mean"])
    # the text summary prints Kinetix's averages (the second run reads the chunk cache)
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Kinetix mean solve rate (jax2d-compat)" in text
    assert "S    " in text and "ALL  " in text and "over 3 levels" in text
