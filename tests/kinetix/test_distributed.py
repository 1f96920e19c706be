"""kinetix.distributed in one process: flag validation, index blocks, the one-process no-ops.

The multi-process behaviour (2 processes x 2 CPU devices) is tested end to end through the CLI
in ``tests/harness/test_distributed_cli.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from kinetix.distributed import (
    DistributedConfig,
    DistributedError,
    broadcast,
    broadcast_json,
    gather,
    gather_rows,
    initialize,
    primary_result,
    process_block,
)


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"mode": "cluster"}, "--distributed"),
        ({"mode": "explicit", "num_processes": 2, "process_id": 0}, "--coordinator"),
        ({"mode": "explicit", "coordinator": "h:1", "process_id": 0}, "--num-processes"),
        ({"mode": "explicit", "coordinator": "h:1", "num_processes": 2}, "--process-id"),
        ({"mode": "off", "num_processes": 2}, "--num-processes"),
        ({"mode": "auto", "coordinator": "no-port"}, "--coordinator"),
        ({"mode": "auto", "coordinator": "h:70000"}, "--coordinator"),
        ({"mode": "auto", "num_processes": 0}, "--num-processes"),
        ({"mode": "auto", "num_processes": 2, "process_id": 2}, "--process-id"),
        ({"mode": "auto", "timeout_s": 0}, "--distributed-timeout"),
    ],
)
def test_bad_settings_name_the_flag(kwargs, flag):
    with pytest.raises(DistributedError, match=flag):
        DistributedConfig(**kwargs).validate()


def test_good_settings_and_off_is_a_no_op():
    cfg = DistributedConfig("explicit", "[::1]:1234", 4, 3).validate()
    assert cfg.enabled
    assert DistributedConfig("auto", "node01:12345").validate().enabled
    assert initialize(DistributedConfig()) is False  # one process: nothing to join


def test_process_blocks_cover_the_range_in_order():
    for n in (0, 1, 5, 8):
        for count in (1, 2, 3):
            blocks = [process_block(n, p, count) for p in range(count)]
            assert [i for b in blocks for i in b] == list(range(n))
    assert process_block(5, 0, 2) == range(0, 3) and process_block(5, 1, 2) == range(3, 5)
    assert process_block(1, 1, 2) == range(1, 1)


def test_process_blocks_of_whole_units():
    # 1000 rows in chunks of 256 (4 chunks): blocks of ceil(4 / N) chunks
    assert [process_block(1000, p, 2, unit=256) for p in (0, 1)] == [range(512), range(512, 1000)]
    assert [process_block(1000, p, 4, unit=256) for p in range(4)][2:] == [
        range(512, 768),
        range(768, 1000),
    ]
    assert process_block(1000, 2, 3, unit=256) == range(1000, 1000)
    for n in (0, 1, 4, 7, 12):
        for count in (1, 2, 3, 5):
            for unit in (1, 2, 5):
                blocks = [process_block(n, p, count, unit=unit) for p in range(count)]
                assert [i for b in blocks for i in b] == list(range(n))
                assert all(b.start % unit == 0 for b in blocks if len(b))
    with pytest.raises(ValueError, match="unit"):
        process_block(4, 0, 2, unit=0)


def test_one_process_helpers_are_identities():
    tree = {"a": np.arange(3), "b": np.ones((2, 2), bool)}
    for got in (broadcast(tree), gather(tree), gather_rows(tree, 3)):
        np.testing.assert_array_equal(got["a"], tree["a"])
    assert broadcast_json({"x": [1, "y"]}) == {"x": [1, "y"]}
    assert primary_result(lambda: 7) == 7
    with pytest.raises(DistributedError, match="boom"):
        primary_result(lambda: (_ for _ in ()).throw(DistributedError("boom")))
