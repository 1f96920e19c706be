"""Level tables on disk: deterministic Parquet writes and fast reads into level batches.

``write_level_parquet(table, path)`` writes zstd-compressed Parquet with a fixed row-group size
and no timestamps, so the same table gives the same bytes (with the same pyarrow version).
``read_level_parquet(paths)`` reads one or more shards of one env size, validates them
(:func:`kinetix.level_table.validate_table`) and returns ``(levels, table)``: a stacked
:class:`~kinetix.level.Level` batch (numpy, or on the device with ``device=True``) and the
metadata columns. Reading goes pyarrow -> numpy -> ``jax.device_put`` (no ``datasets`` Arrow
copy on the hot path).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import jax
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kinetix.level import Level, pad_level
from kinetix.level_table import (
    LevelTableError,
    table_to_numpy_levels,
    validate_table,
)
from kinetix.sizes import EnvSize, env_size

__all__ = ["ROW_GROUP_SIZE", "write_level_parquet", "read_level_table", "read_level_parquet"]

#: Rows per Parquet row group (small enough for the Hub viewer, large enough to compress well).
ROW_GROUP_SIZE = 4096


def write_level_parquet(table: pa.Table, path: str | os.PathLike) -> None:
    """Writes ``table`` to ``path`` atomically (temporary file + rename), zstd, deterministic."""
    from kinetix.atomic_io import atomic_write

    def write(f):
        pq.write_table(
            table,
            f,
            compression="zstd",
            compression_level=9,
            row_group_size=ROW_GROUP_SIZE,
            use_dictionary=["level_id", "source", "env_size", "generator_version"],
            write_statistics=["level_id", "level_hash", "generator_index"],
            store_schema=True,
        )

    atomic_write(path, write)


@functools.cache
def _padder(target: EnvSize):
    """One compiled ``vmap(pad_level)`` per target size (a fresh lambda would recompile)."""
    return jax.jit(jax.vmap(lambda lv: pad_level(lv, target)))


def read_level_table(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> pa.Table:
    """Reads and concatenates Parquet shards of one env size into one Arrow table."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise LevelTableError("read_level_parquet: no files given")
    tables = []
    for p in paths:
        if not p.is_file():
            raise LevelTableError(f"{p}: no such file")
        try:
            tables.append(pq.read_table(p))
        except (pa.ArrowInvalid, OSError) as e:
            raise LevelTableError(f"{p}: not a readable Parquet file ({e})") from None
    first = tables[0].schema
    for p, t in zip(paths[1:], tables[1:], strict=True):
        if not t.schema.equals(first, check_metadata=False):
            raise LevelTableError(f"{p}: its schema differs from {paths[0]}'s")
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def read_level_parquet(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    size: str | EnvSize | None = None,
    validate: bool = True,
    device: bool = True,
) -> tuple[Level, pa.Table]:
    """Parquet shards -> ``(levels, table)``.

    ``levels`` is a stacked batch (leading axis = row), padded to ``size`` when given (a level
    may only grow, see :func:`kinetix.pad_level`), on the default device when ``device``.
    ``table`` is the Arrow table (metadata and physics columns) in row order. Errors name the
    file, row and column (:class:`~kinetix.level_table.LevelTableError`).
    """
    table = read_level_table(paths)
    if validate:
        try:
            validate_table(table)
        except LevelTableError as e:
            names = ", ".join(
                str(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)
            )
            raise LevelTableError(f"{names}: {e}") from None
    levels = table_to_numpy_levels(table)
    if size is not None and env_size(size) != levels.size:
        target = env_size(size)
        levels = _padder(target)(levels)
        if not device:
            levels = jax.tree.map(np.asarray, levels)
    elif device:
        levels = jax.device_put(levels)
    return levels, table
