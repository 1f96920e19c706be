"""The measured-difficulty columns of hand-made level tables (dataset schema 2).

Written by the dataset build from ``kinetix/handmade/measurements.json`` (``kinetix-bench levels
calibrate``) and the witness store; every column is nullable (a level may be unmeasured).
:func:`measured_problem` checks their ranges for :func:`kinetix.level_table.validate_table`.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["MEASURED_COLUMNS", "TIERS", "NUM_CONSTANT_ACTIONS", "measured_problem"]

#: Column name -> Arrow type.
MEASURED_COLUMNS: dict[str, pa.DataType] = {
    "constant_solves": pa.int16(),
    "best_constant_action": pa.list_(pa.int8(), 6),
    "scratch_solve_rate_1e5": pa.float32(),
    "scratch_solve_rate_1e6": pa.float32(),
    "tier": pa.string(),
    "witness_cem_iterations": pa.int32(),
    "witness_robustness": pa.float32(),
}

#: The difficulty tiers of the measured ladder (``tier`` column).
TIERS = ("easy", "medium", "hard")

#: Number of constant MultiDiscrete actions (3^4 motor x 2^2 thruster settings).
NUM_CONSTANT_ACTIONS = 324

_RATES = ("scratch_solve_rate_1e5", "scratch_solve_rate_1e6", "witness_robustness")


def _bad(col: str, v) -> str | None:
    """What is wrong with value ``v`` of column ``col`` (None: fine or null)."""
    if v is None:
        return None
    if col == "constant_solves" and not 0 <= v <= NUM_CONSTANT_ACTIONS:
        return f"{v} is not in 0..{NUM_CONSTANT_ACTIONS}"
    if col in _RATES and not 0.0 <= v <= 1.0:
        return f"{v} is not a rate in [0, 1]"
    if col == "tier" and v not in TIERS:
        return f"{v!r} is not one of {', '.join(TIERS)}"
    if col == "witness_cem_iterations" and v < 0:
        return f"{v} is negative"
    if col == "best_constant_action" and not (
        all(0 <= a <= 2 for a in v[:4]) and all(a in (0, 1) for a in v[4:])
    ):
        return f"{v} is not a MultiDiscrete action"
    return None


def measured_problem(table: pa.Table) -> tuple[int, str, str] | None:
    """The first ``(row, column, problem)`` among the table's measured columns, or None."""
    for col in MEASURED_COLUMNS:
        if col not in table.schema.names:
            continue
        for i, v in enumerate(table.column(col).to_pylist()):
            problem = _bad(col, v)
            if problem is not None:
                return i, col, problem
    return None
