"""kinetix.level_table and kinetix.level_files: levels <-> Arrow rows <-> Parquet, losslessly.

* Round trips (table and Parquet on disk) keep every stored leaf, the level hashes and the
  rollouts bit for bit; hand-made tables keep witnesses that still solve their levels.
* Writes are deterministic (same table -> same bytes); reads pad to a larger size on request.
* ``validate_table`` rejects bad tables with errors naming the row and the column.
"""

from __future__ import annotations

import re

import jax
import numpy as np
import pyarrow as pa
import pytest

import kinetix as kx
from kinetix.level_files import read_level_parquet, read_level_table, write_level_parquet
from kinetix.level_table import (
    MEASURED_COLUMNS,
    SCHEMA_VERSION,
    LevelTableError,
    levels_to_table,
    physics_columns,
    size_of_schema,
    table_schema,
    table_to_levels,
    table_to_numpy_levels,
    validate_table,
)

N = 3  # levels per sampled batch


def _meta(batch, prefix="t", hashes=None) -> dict[str, list]:
    hashes = kx.level_hashes(batch) if hashes is None else hashes
    n = len(hashes)
    return {
        "level_id": [f"{prefix}/{i}" for i in range(n)],
        "level_hash": hashes,
        "source": ["random"] * n,
        "generator_seed": [0] * n,
        "generator_index": list(range(n)),
    }


def _host(batch):
    return jax.tree.map(np.asarray, batch)


def _assert_same_levels(a, b):
    la = jax.tree_util.tree_flatten_with_path(_host(a))[0]
    lb = jax.tree_util.tree_flatten_with_path(_host(b))[0]
    assert [k for k, _ in la] == [k for k, _ in lb]
    for (kp, x), (_, y) in zip(la, lb, strict=True):
        assert x.dtype == y.dtype, jax.tree_util.keystr(kp)
        assert x.shape == y.shape, jax.tree_util.keystr(kp)
        np.testing.assert_array_equal(x, y, err_msg=jax.tree_util.keystr(kp))


@pytest.fixture(scope="module")
def sampled():
    """``{size: batch}``: N procedural levels of each size (start states, numpy)."""
    return {s: _host(kx.sample_levels(jax.random.PRNGKey(7), N, s)) for s in "sml"}


@pytest.fixture(scope="module")
def table_s(sampled):
    return levels_to_table(sampled["s"], _meta(sampled["s"]))


@pytest.fixture(scope="module")
def handmade_s():
    """(levels, table): the first two certified hand-made S levels with their witnesses."""
    from kinetix.handmade import certified_levels

    certified = certified_levels("s", release="v1")[:2]
    assert len(certified) == 2
    levels = _host(kx.stack_levels([lv for _, lv, _ in certified], size="s"))
    meta = _meta(levels, "handmade-s")
    meta["source"] = ["handmade"] * 2
    meta["generator_seed"] = [None] * 2
    meta["generator_index"] = [None] * 2
    meta["description"] = [e.description for e, _, _ in certified]
    meta["tags"] = [list(e.tags) for e, _, _ in certified]
    meta["witness_actions"] = [np.asarray(a, np.int8) for _, _, a in certified]
    return levels, levels_to_table(levels, meta, handmade=True), certified


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_table_round_trip(sampled, size):
    batch = sampled[size]
    table = levels_to_table(batch, _meta(batch))
    assert table.num_rows == N
    assert table.schema.equals(table_schema(size), check_metadata=True)
    assert size_of_schema(table.schema) == kx.env_size(size)
    assert validate_table(table) == kx.env_size(size)
    assert table.column("schema_version").to_pylist() == [SCHEMA_VERSION] * N
    assert table.column("env_size").to_pylist() == [size] * N
    # unset nullable columns are null
    assert table.column("noop_solved").null_count == N
    back = table_to_levels(table)
    assert isinstance(back.polygon_roles, jax.Array)
    _assert_same_levels(batch, back)
    assert kx.level_hashes(back) == kx.level_hashes(batch)
    assert table.column("level_hash").to_pylist() == kx.level_hashes(back)
    _assert_same_levels(batch, table_to_numpy_levels(table, size))


def test_physics_columns_cover_the_level():
    """Every leaf is stored except the contact cache and the joints' accumulated impulses."""
    stored = {leaf.path for leaf in physics_columns("m")}
    proto = kx.empty_level("m")
    paths = {
        ".".join(k.name for k in kp) for kp, _ in jax.tree_util.tree_flatten_with_path(proto)[0]
    }
    missing = sorted(paths - stored)
    assert missing and all(
        p.startswith("scene.contacts.") or p.startswith("scene.joint.accumulated") for p in missing
    ), missing
    names = [leaf.column for leaf in physics_columns("m")]
    assert len(names) == len(set(names))
    assert "polygon_position" in names and "joint_a_index" in names and "gravity" in names


def test_table_to_numpy_levels_refuses_another_size(table_s):
    with pytest.raises(LevelTableError, match="size"):
        table_to_numpy_levels(table_s, "l")


def test_parquet_round_trip_same_hashes_and_rollouts(sampled, table_s, tmp_path):
    from kinetix.planner import replay_outcomes

    path = tmp_path / "levels.parquet"
    write_level_parquet(table_s, path)
    assert [p.name for p in tmp_path.iterdir()] == ["levels.parquet"]  # no temp file left
    levels, table = read_level_parquet(path)
    assert isinstance(levels.polygon_roles, jax.Array)
    assert table.equals(table_s)
    _assert_same_levels(sampled["s"], levels)
    assert kx.level_hashes(levels) == table.column("level_hash").to_pylist()
    assert kx.level_hashes(levels) == kx.level_hashes(sampled["s"])
    host, _ = read_level_parquet([str(path)], device=False)
    assert isinstance(host.polygon_roles, np.ndarray)
    # identical rollouts of a fixed (random but valid) MultiDiscrete action sequence
    rng = np.random.default_rng(0)
    acts = [
        np.concatenate([rng.integers(0, 3, (256, 4)), rng.integers(0, 2, (256, 2))], 1).astype(
            np.int8
        )
        for _ in range(N)
    ]
    a = replay_outcomes(jax.device_put(sampled["s"]), acts)
    b = replay_outcomes(levels, acts)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_parquet_read_concatenates_shards(table_s, tmp_path):
    write_level_parquet(table_s.slice(0, 2), tmp_path / "a.parquet")
    write_level_parquet(table_s.slice(2), tmp_path / "b.parquet")
    levels, table = read_level_parquet([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert table.column("level_id").to_pylist() == table_s.column("level_id").to_pylist()
    assert kx.level_hashes(levels) == table_s.column("level_hash").to_pylist()


def test_handmade_round_trip_witness_still_solves(handmade_s, tmp_path):
    from kinetix.planner import replay_outcomes

    levels, table, certified = handmade_s
    assert validate_table(table) == kx.env_size("s")
    path = tmp_path / "handmade.parquet"
    write_level_parquet(table, path)
    back, t = read_level_parquet(path)
    _assert_same_levels(levels, back)
    assert t.column("description").to_pylist() == [e.description for e, _, _ in certified]
    assert t.column("tags").to_pylist() == [list(e.tags) for e, _, _ in certified]
    assert t.column("generator_seed").to_pylist() == [None, None]
    witnesses = [np.asarray(w, np.int8) for w in t.column("witness_actions").to_pylist()]
    for w, (_, _, a) in zip(witnesses, certified, strict=True):
        np.testing.assert_array_equal(w, np.asarray(a, np.int8))
    out = replay_outcomes(back, witnesses)
    assert out["solved"].tolist() == [True, True]


def test_write_is_deterministic(table_s, sampled, tmp_path):
    write_level_parquet(table_s, tmp_path / "a.parquet")
    again = levels_to_table(sampled["s"], _meta(sampled["s"]))  # rebuilt from the levels
    write_level_parquet(again, tmp_path / "b.parquet")
    write_level_parquet(table_s, tmp_path / "c.parquet")
    a = (tmp_path / "a.parquet").read_bytes()
    assert a == (tmp_path / "b.parquet").read_bytes()
    assert a == (tmp_path / "c.parquet").read_bytes()


def test_read_pads_to_a_larger_size(sampled, table_s, tmp_path):
    path = tmp_path / "s.parquet"
    write_level_parquet(table_s, path)
    levels, table = read_level_parquet(path, size="l")
    assert levels.size == kx.env_size("l")
    assert levels.polygon_roles.shape == (N, kx.env_size("l").num_polygons)
    assert kx.level_hashes(levels) == kx.level_hashes(sampled["s"])
    assert size_of_schema(table.schema) == kx.env_size("s")  # the table itself is unchanged
    assert isinstance(levels.polygon_roles, jax.Array)
    host, _ = read_level_parquet(path, size="m", device=False)  # padded, still host memory
    assert isinstance(host.polygon_roles, np.ndarray) and host.size == kx.env_size("m")
    assert kx.level_hashes(host) == kx.level_hashes(sampled["s"])
    same, _ = read_level_parquet(path, size="s")
    _assert_same_levels(sampled["s"], same)
    # padding only grows a level: an L table does not fit into S
    lpath = tmp_path / "l.parquet"
    write_level_parquet(levels_to_table(sampled["l"], _meta(sampled["l"])), lpath)
    with pytest.raises(kx.LevelSizeError):
        read_level_parquet(lpath, size="s")


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(LevelTableError, match="no such file"):
        read_level_table(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(LevelTableError, match="bad.parquet.*not a readable Parquet"):
        read_level_table(bad)
    with pytest.raises(LevelTableError, match="no files"):
        read_level_table([])


def test_read_refuses_shards_of_different_sizes(sampled, table_s, tmp_path):
    write_level_parquet(table_s, tmp_path / "s.parquet")
    write_level_parquet(levels_to_table(sampled["m"], _meta(sampled["m"])), tmp_path / "m.parquet")
    with pytest.raises(LevelTableError, match="m.parquet.*schema differs"):
        read_level_table([tmp_path / "s.parquet", tmp_path / "m.parquet"])


# ----------------------------------------------------------------------------- validation
def _broken(batch, edit) -> pa.Table:
    """``batch`` with ``edit(levels_as_mutable_numpy)`` applied, as a (not validated) table."""
    lv = jax.tree.map(np.array, batch)  # copies
    edit(lv)
    n = lv.polygon_roles.shape[0]
    return levels_to_table(lv, _meta(lv, hashes=[f"{i:064x}" for i in range(n)]))


def _err(row: int, column: str) -> str:
    return re.escape(f"row {row}, column {column!r}")


def _inactive_shape(lv, row: int) -> int:
    act = np.concatenate([lv.scene.polygon.active[row], lv.scene.circle.active[row]])
    return int(np.flatnonzero(~act.astype(bool))[0])


def _joint_row(lv) -> int:
    """The first row with an active joint."""
    rows = np.flatnonzero(lv.scene.joint.active.any(axis=1))
    assert rows.size, "no sampled level has a joint"
    return int(rows[0])


def test_validate_nan_in_float_column(sampled):
    def edit(lv):
        lv.scene.polygon.position[2, 1, 0] = np.nan

    with pytest.raises(LevelTableError, match=_err(2, "polygon_position") + ".*not finite"):
        validate_table(_broken(sampled["s"], edit))

    def edit_inf(lv):
        lv.circle_densities[1, 0] = np.inf

    with pytest.raises(LevelTableError, match=_err(1, "circle_densities") + ".*not finite"):
        validate_table(_broken(sampled["s"], edit_inf))


def test_validate_polygon_role(sampled):
    def edit(lv):
        lv.polygon_roles[1, 2] = 7

    with pytest.raises(LevelTableError, match=_err(1, "polygon_roles") + ".*role must be"):
        validate_table(_broken(sampled["s"], edit))


def test_validate_joint_out_of_range(sampled):
    batch = sampled["m"]
    row = _joint_row(batch)
    j = int(np.flatnonzero(batch.scene.joint.active[row])[0])

    def edit(lv):
        lv.scene.joint.a_index[row, j] = 99

    with pytest.raises(LevelTableError, match=_err(row, "joint_a_index") + ".*out of range"):
        validate_table(_broken(batch, edit))


def test_validate_joint_to_inactive_shape(sampled):
    batch = sampled["m"]
    row = _joint_row(batch)
    j = int(np.flatnonzero(batch.scene.joint.active[row])[0])
    target = _inactive_shape(batch, row)

    def edit(lv):
        lv.scene.joint.b_index[row, j] = target

    with pytest.raises(LevelTableError, match=_err(row, "joint_b_index") + ".*inactive shape"):
        validate_table(_broken(batch, edit))


def _replace(table: pa.Table, name: str, array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, array)


def test_validate_schema_version(table_s):
    bad = _replace(table_s, "schema_version", pa.array([2, 2, 3], pa.int16()))
    with pytest.raises(LevelTableError, match=_err(2, "schema_version") + ".*version 3 is not"):
        validate_table(bad)
    mixed = _replace(table_s, "schema_version", pa.array([2, 2, 1], pa.int16()))
    with pytest.raises(LevelTableError, match=_err(2, "schema_version") + ".*of version 2"):
        validate_table(mixed)


def test_schema_1_tables_are_still_read(sampled, handmade_s):
    """Tables written before the measured columns (schema 1) read and validate unchanged."""
    batch = sampled["s"]
    old = levels_to_table(batch, _meta(batch), version=1)
    assert old.column("schema_version").to_pylist() == [1] * N
    assert old.schema.metadata[b"kinetix_bench.schema_version"] == b"1"
    assert old.schema.names == table_schema("s", version=1).names
    validate_table(old)
    _assert_same_levels(batch, table_to_levels(old))
    levels, new, _ = handmade_s
    meta = {k: new.column(k).to_pylist() for k in _HANDMADE_META}
    old_hm = levels_to_table(levels, meta, handmade=True, version=1)
    assert not set(MEASURED_COLUMNS) & set(old_hm.schema.names)
    assert validate_table(old_hm) == kx.env_size("s")
    _assert_same_levels(levels, table_to_levels(old_hm))
    with pytest.raises(LevelTableError, match="schema version 3"):
        table_schema("s", version=3)


_HANDMADE_META = (
    "level_id",
    "level_hash",
    "source",
    "description",
    "tags",
    "witness_actions",
)


def _measured(n):
    return {
        "constant_solves": [0, 3][:n],
        "best_constant_action": [[2, 0, 0, 0, 1, 0], None][:n],
        "scratch_solve_rate_1e5": [0.05, None][:n],
        "scratch_solve_rate_1e6": [None, None][:n],
        "tier": [None, "hard"][:n],
        "witness_cem_iterations": [4, None][:n],
        "witness_robustness": [0.5, 1.0][:n],
    }


def test_measured_columns_round_trip(handmade_s, tmp_path):
    levels, table, _ = handmade_s
    meta = {k: table.column(k).to_pylist() for k in _HANDMADE_META} | _measured(2)
    t = levels_to_table(levels, meta, handmade=True)
    assert t.column("schema_version").to_pylist() == [2, 2]
    write_level_parquet(t, tmp_path / "m.parquet")
    _, back = read_level_parquet([tmp_path / "m.parquet"])
    for k, want in _measured(2).items():
        got = back.column(k).to_pylist()
        assert got == pytest.approx(want) if k.startswith(("scratch", "witness_r")) else got == want
    # unmeasured levels are nulls, not zeros
    bare = levels_to_table(
        levels, {k: table.column(k).to_pylist() for k in _HANDMADE_META}, handmade=True
    )
    assert all(bare.column(k).null_count == 2 for k in MEASURED_COLUMNS)
    validate_table(bare)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("constant_solves", 325, "325 is not in 0..324"),
        ("scratch_solve_rate_1e6", 1.5, "not a rate"),
        ("witness_robustness", -0.25, "not a rate"),
        ("tier", "trivial", "'trivial' is not one of easy, medium, hard"),
        ("best_constant_action", [0, 0, 3, 0, 0, 0], "not a MultiDiscrete action"),
        ("witness_cem_iterations", -1, "negative"),
    ],
)
def test_validate_measured_columns(handmade_s, column, value, problem):
    levels, table, _ = handmade_s
    meta = {k: table.column(k).to_pylist() for k in _HANDMADE_META} | _measured(2)
    meta[column] = [meta[column][0], value]
    with pytest.raises(LevelTableError, match=_err(1, column) + ".*" + re.escape(problem)):
        validate_table(levels_to_table(levels, meta, handmade=True))


def test_validate_missing_column(table_s):
    with pytest.raises(LevelTableError, match="column 'polygon_friction' missing"):
        validate_table(table_s.drop_columns(["polygon_friction"]))
    with pytest.raises(LevelTableError, match="'schema_version' missing"):
        validate_table(table_s.drop_columns(["schema_version"]))
    with pytest.raises(LevelTableError, match="column 'polygon_vertices'"):
        validate_table(table_s.drop_columns(["polygon_vertices"]))


def test_validate_unexpected_column(table_s):
    bad = table_s.append_column("extra", pa.array([1, 2, 3]))
    with pytest.raises(LevelTableError, match="unexpected columns.*extra"):
        validate_table(bad)


def test_validate_list_of_wrong_length(table_s):
    P = kx.env_size("s").num_polygons
    wrong = pa.FixedSizeListArray.from_arrays(pa.array(np.ones(N * (P - 1), np.float32)), P - 1)
    bad = _replace(table_s, "polygon_densities", wrong)
    with pytest.raises(LevelTableError, match="column 'polygon_densities' has type.*expected"):
        validate_table(bad)
    # a capacity column read for the size itself: not a fixed-size list at all
    var = pa.array([[True] * P] * N, pa.list_(pa.bool_()))
    with pytest.raises(LevelTableError, match="column 'polygon_active'.*fixed-size list"):
        validate_table(_replace(table_s, "polygon_active", var))


def test_validate_null_in_non_nullable_column(table_s):
    ids = pa.array(["a", None, "c"], pa.string())
    with pytest.raises(LevelTableError, match=_err(1, "level_id") + ".*null"):
        validate_table(_replace(table_s, "level_id", ids))
    roles = table_s.column("polygon_roles").combine_chunks()
    with_null = pa.FixedSizeListArray.from_arrays(
        roles.values, roles.type.list_size, mask=pa.array([False, False, True])
    )
    with pytest.raises(LevelTableError, match=_err(2, "polygon_roles") + ".*null"):
        validate_table(_replace(table_s, "polygon_roles", with_null))
    # nullable metadata may be null
    validate_table(_replace(table_s, "noop_return", pa.array([None, 1.0, None], pa.float32())))


def test_validate_witness_out_of_range(handmade_s):
    _, table, _ = handmade_s
    w = table.column("witness_actions").to_pylist()
    w[1] = [[0, 0, 0, 0, 3, 0]]
    wtype = table.schema.field("witness_actions").type
    bad = _replace(table, "witness_actions", pa.array(w, wtype))
    with pytest.raises(
        LevelTableError, match=_err(1, "witness_actions") + r".*sub-action 4 must be in 0\.\.1"
    ):
        validate_table(bad)


def test_read_level_parquet_error_names_file_row_and_column(sampled, tmp_path):
    def edit(lv):
        lv.polygon_roles[2, 0] = 7

    path = tmp_path / "broken.parquet"
    write_level_parquet(_broken(sampled["s"], edit), path)
    with pytest.raises(LevelTableError, match="broken.parquet.*" + _err(2, "polygon_roles")):
        read_level_parquet(path)
    levels, _ = read_level_parquet(path, validate=False, device=False)  # explicit opt-out
    assert levels.polygon_roles[2, 0] == 7


def test_levels_to_table_refuses_contact_cache(sampled):
    lv = jax.tree.map(np.array, sampled["s"])
    lv.scene.contacts.normal_impulse[1, 0, 0] = 0.5
    with pytest.raises(LevelTableError, match=r"row 1: scene\.contacts\.normal_impulse"):
        levels_to_table(lv, _meta(lv))


def test_levels_to_table_refuses_bad_metadata(sampled):
    batch = sampled["s"]
    meta = _meta(batch)
    del meta["level_id"]
    with pytest.raises(LevelTableError, match="'level_id'.*required"):
        levels_to_table(batch, meta)
    meta = _meta(batch)
    meta["level_hash"] = meta["level_hash"][:2]
    with pytest.raises(LevelTableError, match="'level_hash': 2 values for 3 levels"):
        levels_to_table(batch, meta)
    meta = _meta(batch)
    meta["bogus"] = [1, 2, 3]
    with pytest.raises(LevelTableError, match="unknown metadata columns.*bogus"):
        levels_to_table(batch, meta)
    with pytest.raises(LevelTableError, match="stacked batch"):
        levels_to_table(jax.tree.map(lambda x: x[0], batch), _meta(batch))
