"""Levels as Arrow rows (dataset schema v1, DESIGN §6): lossless both ways.

A table holds one env size. Every physics leaf of :class:`~kinetix.level.Level` is one flat
column of fixed-size lists (``polygon_position``: ``fixed_size_list<fixed_size_list<float32, 2>,
P>``), named after its path (``scene.polygon.position`` -> ``polygon_position``,
``scene.joint.a_index`` -> ``joint_a_index``, ``polygon_roles`` -> ``polygon_roles``). Two
groups of leaves are not stored because a level is a start state: the contact cache
(``scene.contacts``) and the joints' accumulated impulses must be zero, and read back as zero.

Besides the physics columns (:data:`META_COLUMNS`): ``level_id``, ``level_hash``, ``source``,
``env_size``, ``schema_version``, ``generator_version``, ``generator_seed``, ``generator_index``,
``noop_solved``, ``noop_return``, ``random_solve_rate``, and for hand-made levels
(:data:`HANDMADE_COLUMNS`) ``description``, ``tags`` and ``witness_actions`` (a list of
``fixed_size_list<int8, 6>`` MultiDiscrete rows). Schema 2 adds to hand-made tables the measured
difficulty of each level (:data:`MEASURED_COLUMNS`, from ``kinetix-bench levels calibrate``; null
where not measured): ``constant_solves`` (how many of the 324 constant MultiDiscrete actions solve
it), ``best_constant_action``, ``scratch_solve_rate_1e5`` / ``scratch_solve_rate_1e6`` (from-scratch
PPO at that many env steps, mean over 3 training seeds), ``tier`` (``easy``, ``medium``, ``hard``),
``witness_cem_iterations`` and ``witness_robustness`` (the fraction of 16 one-step edits of the
witness that still solve). Procedural tables have the same columns in both schemas. Tables of
either schema are read (:data:`READ_SCHEMA_VERSIONS`); new ones are written at
:data:`SCHEMA_VERSION`. No struct columns, no extension types: pyarrow, pandas, duckdb and
``datasets`` read them natively.

``levels_to_table(batch, meta)`` and ``table_to_levels(table)`` convert; ``validate_table``
checks a table read from disk and names the row and column of every problem.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np
import pyarrow as pa

from jax2d import MAX_INVERSE_INERTIA, MAX_INVERSE_MASS
from kinetix.errors import LevelError
from kinetix.level import Level
from kinetix.measured_columns import MEASURED_COLUMNS, TIERS, measured_problem
from kinetix.sizes import EnvSize, env_size

__all__ = [
    "SCHEMA_VERSION",
    "READ_SCHEMA_VERSIONS",
    "META_COLUMNS",
    "HANDMADE_COLUMNS",
    "MEASURED_COLUMNS",
    "TIERS",
    "LevelTableError",
    "physics_columns",
    "table_schema",
    "levels_to_table",
    "table_to_levels",
    "table_to_numpy_levels",
    "validate_table",
    "size_of_schema",
]

SCHEMA_VERSION = 2
#: The schema versions this version reads (1: before the measured columns).
READ_SCHEMA_VERSIONS = (1, 2)

#: Leaves that are not level content: zero in every start state, never stored.
_UNSTORED = (
    "scene.contacts.",
    "scene.joint.accumulated_impulse",
    "scene.joint.accumulated_angular_impulse",
)


class LevelTableError(LevelError):
    """A level table (Arrow/Parquet) has a wrong schema or an invalid row."""


#: Metadata columns of every table: name -> Arrow type.
META_COLUMNS: dict[str, pa.DataType] = {
    "level_id": pa.string(),
    "level_hash": pa.string(),
    "source": pa.string(),
    "env_size": pa.string(),
    "schema_version": pa.int16(),
    "generator_version": pa.string(),
    "generator_seed": pa.int64(),
    "generator_index": pa.int64(),
    "noop_solved": pa.bool_(),
    "noop_return": pa.float32(),
    "random_solve_rate": pa.float32(),
}

#: Extra columns of hand-made tables.
HANDMADE_COLUMNS: dict[str, pa.DataType] = {
    "description": pa.string(),
    "tags": pa.list_(pa.string()),
    "witness_actions": pa.list_(pa.list_(pa.int8(), 6)),
}

#: Metadata columns that may be null (the others never are).
NULLABLE = frozenset(
    {"generator_version", "generator_seed", "generator_index", "noop_solved", "noop_return"}
    | {"random_solve_rate", "description", "witness_actions"}
    | set(MEASURED_COLUMNS)
)


@dataclasses.dataclass(frozen=True)
class _Leaf:
    column: str
    path: str  # dotted path in Level
    shape: tuple[int, ...]  # per level
    dtype: np.dtype


def _column_name(path: str) -> str:
    return path.removeprefix("scene.").replace(".", "_")


def _paths(level: Level) -> list[tuple[str, jax.Array]]:
    out = []
    for kp, leaf in jax.tree_util.tree_flatten_with_path(level)[0]:
        out.append((".".join(k.name for k in kp), leaf))
    return out


def physics_columns(size: str | EnvSize) -> list[_Leaf]:
    """The stored physics leaves of a level of ``size``, in a fixed order."""
    return list(_physics_columns(env_size(size)))


@functools.cache
def _physics_columns(size: EnvSize) -> tuple[_Leaf, ...]:
    proto = _proto(size)
    leaves = []
    for path, leaf in _paths(proto):
        if path.startswith(_UNSTORED):
            continue
        leaves.append(_Leaf(_column_name(path), path, tuple(leaf.shape), np.dtype(leaf.dtype)))
    return tuple(leaves)


@functools.cache
def _proto(size: EnvSize) -> Level:
    """An empty level of ``size`` with numpy leaves (read-only template)."""
    from kinetix.level import empty_level

    return jax.tree.map(np.asarray, empty_level(size))


def _arrow_type(dtype: np.dtype, shape: tuple[int, ...]) -> pa.DataType:
    t = pa.from_numpy_dtype(dtype)
    for n in reversed(shape):
        t = pa.list_(t, n)
    return t


def _meta_columns(handmade: bool, version: int) -> dict[str, pa.DataType]:
    cols = dict(META_COLUMNS)
    if handmade:
        cols |= HANDMADE_COLUMNS
        if version >= 2:
            cols |= MEASURED_COLUMNS
    return cols


def table_schema(
    size: str | EnvSize, *, handmade: bool = False, version: int = SCHEMA_VERSION
) -> pa.Schema:
    """The Arrow schema of a table of ``size`` (physics columns after the metadata) at schema
    ``version`` (one of :data:`READ_SCHEMA_VERSIONS`)."""
    if version not in READ_SCHEMA_VERSIONS:
        raise LevelTableError(f"schema version {version}: not one of {READ_SCHEMA_VERSIONS}")
    size = env_size(size)
    fields = [
        pa.field(k, t, nullable=k in NULLABLE) for k, t in _meta_columns(handmade, version).items()
    ]
    fields += [
        pa.field(leaf.column, _arrow_type(leaf.dtype, leaf.shape), nullable=False)
        for leaf in physics_columns(size)
    ]
    meta = {
        b"kinetix_bench.schema_version": str(version).encode(),
        b"kinetix_bench.capacities": (
            f"{size.num_polygons},{size.num_circles},{size.num_joints},"
            f"{size.num_thrusters},{size.max_polygon_vertices}"
        ).encode(),
    }
    return pa.schema(fields, metadata=meta)


def size_of_schema(schema: pa.Schema) -> EnvSize:
    """The env size a table's physics columns were written for (read from list lengths)."""

    def n(col: str) -> int:
        if col not in schema.names:
            raise LevelTableError(f"column {col!r}: missing")
        t = schema.field(col).type
        if not pa.types.is_fixed_size_list(t):
            raise LevelTableError(f"column {col!r}: expected a fixed-size list, got {t}")
        return t.list_size

    verts = schema.field("polygon_vertices").type if "polygon_vertices" in schema.names else None
    if verts is None or not pa.types.is_fixed_size_list(verts.value_type):
        raise LevelTableError("column 'polygon_vertices': expected fixed-size list of (V, 2)")
    return EnvSize(
        n("polygon_active"),
        n("circle_active"),
        n("joint_active"),
        n("thruster_active"),
        verts.value_type.list_size,
    )


def _to_arrow(values: np.ndarray, dtype: np.dtype, shape: tuple[int, ...]) -> pa.Array:
    """(B, *shape) numpy -> nested FixedSizeListArray."""
    flat = pa.array(np.ascontiguousarray(values, dtype).reshape(-1))
    arr = flat
    for n in reversed(shape):
        arr = pa.FixedSizeListArray.from_arrays(arr, n)
    return arr


def levels_to_table(
    batch: Level, meta: dict[str, list], *, handmade: bool = False, version: int = SCHEMA_VERSION
) -> pa.Table:
    """A stacked level batch (leading axis B) and per-row metadata -> an Arrow table.

    ``meta`` maps metadata column names to length-B lists (missing nullable columns are null;
    ``schema_version`` and ``env_size`` are filled in); ``version`` is the schema written.
    Raises :class:`LevelTableError` when a level is not a start state (non-zero contact cache
    or accumulated joint impulses).
    """
    host = jax.tree.map(np.asarray, batch)
    if host.polygon_roles.ndim != 2:
        raise LevelTableError("levels_to_table takes a stacked batch (leading axis = level)")
    B = host.polygon_roles.shape[0]
    size = EnvSize.from_scene_size(host.scene.size)
    leaves = dict(_paths(host))
    for path, leaf in leaves.items():
        if path.startswith(_UNSTORED) and np.any(leaf):
            rows = np.flatnonzero(np.any(leaf.reshape(B, -1), axis=1))
            raise LevelTableError(
                f"row {int(rows[0])}: {path} is not zero; levels are start states "
                "(reset the contact cache and accumulated impulses before storing)"
            )
    schema = table_schema(size, handmade=handmade, version=version)
    meta = dict(meta)
    meta.setdefault("schema_version", [version] * B)
    meta.setdefault("env_size", [size.name] * B)
    described = _meta_columns(handmade, version)
    cols = {}
    for name in schema.names:
        f = schema.field(name)
        if name in described:
            vals = meta.get(name)
            if vals is None:
                if name not in NULLABLE:
                    raise LevelTableError(f"column {name!r}: required metadata missing")
                vals = [None] * B
            if len(vals) != B:
                raise LevelTableError(f"column {name!r}: {len(vals)} values for {B} levels")
            if name in ("witness_actions", "best_constant_action"):
                vals = [None if v is None else np.asarray(v, np.int8).tolist() for v in vals]
            cols[name] = pa.array(vals, type=f.type)
    for leaf in physics_columns(size):
        cols[leaf.column] = _to_arrow(leaves[leaf.path], leaf.dtype, leaf.shape)
    unknown = set(meta) - set(cols)
    if unknown:
        raise LevelTableError(f"unknown metadata columns {sorted(unknown)}")
    return pa.Table.from_pydict(cols, schema=schema)


def _column_numpy(col: pa.ChunkedArray | pa.Array, shape: tuple[int, ...], dtype) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(arr)
    for _ in shape:
        arr = arr.flatten()
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype).reshape((n, *shape))


def table_to_numpy_levels(table: pa.Table, size: str | EnvSize | None = None) -> Level:
    """A table -> a stacked :class:`Level` batch of numpy arrays (host memory).

    The table must have been checked (:func:`validate_table`). With ``size`` the levels are
    returned at that size only if it equals the stored one; pad with :func:`kinetix.pad_level`.
    """
    stored = size_of_schema(table.schema)
    if size is not None and env_size(size) != stored:
        raise LevelTableError(f"table holds levels of size {stored}, asked for {env_size(size)}")
    B = table.num_rows
    proto = _proto(stored)
    values = {}
    for leaf in physics_columns(stored):
        values[leaf.path] = _column_numpy(table.column(leaf.column), leaf.shape, leaf.dtype)

    def fill(kp, x):
        path = ".".join(k.name for k in kp)
        if path in values:
            return values[path]
        return np.zeros((B, *x.shape), x.dtype)  # unstored start-state leaves

    return jax.tree_util.tree_map_with_path(fill, proto)


def table_to_levels(table: pa.Table, size: str | EnvSize | None = None, *, validate=True) -> Level:
    """A table -> a stacked :class:`Level` batch on the default device (``jax.device_put``)."""
    if validate:
        validate_table(table)
    return jax.device_put(table_to_numpy_levels(table, size))


def _fail(row: int, column: str, problem: str):
    raise LevelTableError(f"row {row}, column {column!r}: {problem}")


def validate_table(table: pa.Table, *, what: str = "table") -> EnvSize:
    """Checks a level table's schema and every row; returns its env size.

    Checks: the schema version; every expected column present with its exact Arrow type (so
    list lengths are right); no nulls outside the nullable metadata columns; finite floats;
    booleans and indices in range (roles 0-3, collision modes 0-2, polygons with 3 or 4
    vertices, joint and thruster references to active shapes, bindings in range). Errors name
    the row and the column (:class:`LevelTableError`).
    """
    schema = table.schema
    if "schema_version" not in schema.names:
        raise LevelTableError(f"{what}: column 'schema_version' missing (not a level table?)")
    versions = table.column("schema_version").to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(~np.isin(versions, READ_SCHEMA_VERSIONS))
    if bad.size:
        _fail(
            int(bad[0]),
            "schema_version",
            f"schema version {versions[bad[0]]} is not supported (this version reads "
            f"{', '.join(map(str, READ_SCHEMA_VERSIONS))}); upgrade kinetix-bench",
        )
    version = int(versions[0]) if len(versions) else SCHEMA_VERSION
    mixed = np.flatnonzero(versions != version)
    if mixed.size:
        _fail(
            int(mixed[0]),
            "schema_version",
            f"schema version {versions[mixed[0]]} in a table of version {version}",
        )
    size = size_of_schema(schema)
    handmade = "witness_actions" in schema.names
    expected = table_schema(size, handmade=handmade, version=version)
    for f in expected:
        if f.name not in schema.names:
            raise LevelTableError(f"{what}: column {f.name!r} missing")
        got = schema.field(f.name).type
        if got != f.type:
            raise LevelTableError(f"{what}: column {f.name!r} has type {got}, expected {f.type}")
    extra = set(schema.names) - set(expected.names)
    if extra:
        raise LevelTableError(f"{what}: unexpected columns {sorted(extra)}")
    for f in expected:
        col = table.column(f.name)
        if col.null_count and f.name not in NULLABLE:
            isnull = np.asarray(col.is_null().to_numpy(zero_copy_only=False))
            _fail(int(np.flatnonzero(isnull)[0]), f.name, "null value")
        if col.null_count == 0 and pa.types.is_fixed_size_list(f.type):
            inner = col.combine_chunks()
            while pa.types.is_fixed_size_list(inner.type):
                inner = inner.flatten()
            if inner.null_count:
                raise LevelTableError(f"{what}: column {f.name!r}: null inside a list")
    lv = table_to_numpy_levels(table)
    _check_rows(lv, size, table)
    return size


def _check_rows(lv: Level, size: EnvSize, table: pa.Table) -> None:
    P, C = size.num_polygons, size.num_circles
    B = lv.polygon_roles.shape[0]

    def first_bad(mask, column):
        mask = np.asarray(mask).reshape(B, -1).any(axis=1)
        if mask.any():
            return int(np.flatnonzero(mask)[0]), column
        return None

    def check(mask, column, problem):
        hit = first_bad(mask, column)
        if hit:
            _fail(hit[0], column, problem)

    for leaf in physics_columns(size):
        if leaf.dtype.kind == "f":
            x = _get(lv, leaf.path)
            check(~np.isfinite(x), leaf.column, "not finite (NaN or inf)")
    sc = lv.scene
    for kind, b in (("polygon", sc.polygon), ("circle", sc.circle)):
        act = b.active.astype(bool)
        check(
            act & ((b.collision_mode < 0) | (b.collision_mode > 2)),
            f"{kind}_collision_mode",
            "collision mode must be 0, 1 or 2",
        )
        check(act & (b.inverse_mass < 0), f"{kind}_inverse_mass", "negative inverse mass")
        check(
            act & (b.inverse_mass > MAX_INVERSE_MASS),
            f"{kind}_inverse_mass",
            f"above {MAX_INVERSE_MASS:.0e} 1/kg (a dynamic shape lighter than 1 mg)",
        )
        check(
            act & (b.inverse_inertia > MAX_INVERSE_INERTIA),
            f"{kind}_inverse_inertia",
            f"above {MAX_INVERSE_INERTIA:.0e} 1/(kg m^2) (a moment of inertia below 1e-10)",
        )
    roles = (("polygon_roles", lv.polygon_roles), ("circle_roles", lv.circle_roles))
    for col, r in roles:
        check((r < 0) | (r > 3), col, "role must be 0 (grey), 1 (green), 2 (blue) or 3 (red)")
    pact = sc.polygon.active.astype(bool)
    nv = sc.polygon.n_vertices
    check(
        pact & ((nv < 3) | (nv > size.max_polygon_vertices)),
        "polygon_n_vertices",
        f"an active polygon needs 3..{size.max_polygon_vertices} vertices",
    )
    check(
        sc.circle.active.astype(bool) & (sc.circle.radius <= 0),
        "circle_radius",
        "an active circle needs a positive radius",
    )
    shape_active = np.concatenate([pact, sc.circle.active.astype(bool)], axis=1)

    def refs_ok(idx, active, column):
        inrange = (idx >= 0) & (idx < P + C)
        check(active & ~inrange, column, f"shape index out of range 0..{P + C - 1}")
        safe = np.clip(idx, 0, P + C - 1)
        target = np.take_along_axis(shape_active, safe, axis=1)
        check(active & ~target, column, "refers to an inactive shape")

    jact = sc.joint.active.astype(bool)
    refs_ok(sc.joint.a_index, jact, "joint_a_index")
    refs_ok(sc.joint.b_index, jact, "joint_b_index")
    check(
        jact & (sc.joint.a_index == sc.joint.b_index),
        "joint_b_index",
        "a joint must connect two different shapes",
    )
    tact = sc.thruster.active.astype(bool)
    refs_ok(sc.thruster.shape_index, tact, "thruster_shape_index")
    from kinetix.sizes import NUM_MOTOR_BINDINGS, NUM_THRUSTER_BINDINGS

    check(
        jact & ((lv.motor_bindings < 0) | (lv.motor_bindings >= NUM_MOTOR_BINDINGS)),
        "motor_bindings",
        f"motor binding must be in 0..{NUM_MOTOR_BINDINGS - 1}",
    )
    check(
        tact & ((lv.thruster_bindings < 0) | (lv.thruster_bindings >= NUM_THRUSTER_BINDINGS)),
        "thruster_bindings",
        f"thruster binding must be in 0..{NUM_THRUSTER_BINDINGS - 1}",
    )
    problem = measured_problem(table)
    if problem is not None:
        _fail(*problem)
    if "witness_actions" in table.schema.names:
        from kinetix.planner import MAX_STEPS, WitnessError, check_witness

        for i, w in enumerate(table.column("witness_actions").to_pylist()):
            if w is None:
                continue
            if len(w) > MAX_STEPS:
                _fail(i, "witness_actions", f"{len(w)} rows, at most {MAX_STEPS}")
            try:
                check_witness(np.asarray(w, np.int8).reshape(-1, 6))
            except WitnessError as e:
                _fail(i, "witness_actions", str(e))


def _get(level: Level, path: str):
    x = level
    for part in path.split("."):
        x = getattr(x, part)
    return x
