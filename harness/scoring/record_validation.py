"""Validating result records against the published JSON Schema (``result_schema.json``).

:func:`validate_record` checks a record with ``jsonschema`` against :func:`result_schema`
(draft 2020-12; ``result/1`` and ``result/2`` records) plus the rules JSON Schema cannot state,
and raises :class:`RecordError` with a message naming the field (``record: field
'metrics.solve_rate.iqm' = 1.5 is outside [0, 1]``): the most specific of the schema's errors.
Used on write, on read and so in ``leaderboard build`` (:mod:`harness.scoring.records`).
"""

from __future__ import annotations

import copy
import functools
import json
import re

__all__ = ["SCHEMA_FILE", "RecordError", "result_schema", "validate_record"]


class RecordError(ValueError):
    """A result record is malformed (the message names the field)."""


#: The published JSON Schema (draft 2020-12) of result records (``result/1`` and ``result/2``),
#: shipped as package data.
SCHEMA_FILE = "result_schema.json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def result_schema() -> dict:
    """The JSON Schema of result records (``harness/scoring/result_schema.json``), for
    outside tools too: ``jsonschema.validate(record, result_schema())``."""
    return copy.deepcopy(_schema())


@functools.cache
def _schema() -> dict:
    from importlib.resources import files

    return json.loads(files("harness.scoring").joinpath(SCHEMA_FILE).read_text("utf-8"))


@functools.cache
def _validator():
    import jsonschema

    cls = jsonschema.validators.validator_for(_schema())
    cls.check_schema(_schema())
    return cls(_schema())


def _field(path) -> str:
    return ".".join(str(p) for p in path)


def _message(e) -> str:
    """One jsonschema error as ``record: field 'a.b' ...`` (the field and the problem)."""
    path = list(e.absolute_path)
    v, rule = e.instance, e.validator
    if rule == "required":
        missing = next(k for k in e.validator_value if k not in v)
        return f"record: field {_field([*path, missing])!r} is missing"
    where = f"record: field {_field(path) or '(the record)'!r}"
    if rule == "type":
        want = (
            e.validator_value if isinstance(e.validator_value, str) else "/".join(e.validator_value)
        )
        return f"{where} must be {want}, got {v!r}"
    if rule in ("minimum", "maximum"):
        lo, hi = (e.schema.get(k) for k in ("minimum", "maximum"))
        rng = (
            f"[{lo}, {hi}]" if lo is not None and hi is not None else f"{rule} {e.validator_value}"
        )
        return f"{where} = {v!r} is outside {rng}"
    if rule == "const":
        return f"{where} must be {e.validator_value!r}, got {v!r}"
    if rule == "enum":
        return f"{where} must be one of {tuple(e.validator_value)}, got {v!r}"
    if rule == "pattern":
        what = {
            _HEX64.pattern: "a sha256 hex digest",
            _TS.pattern: "an ISO-8601 UTC time (…Z)",
            "^[0-9a-f]{40}$": "a 40-hex commit sha",
        }.get(e.validator_value, f"a string matching {e.validator_value}")
        return f"{where} must be {what}, got {v!r}"
    if rule in ("minItems", "maxItems"):
        return f"{where} must be [low, high], got {v!r}"
    return f"{where}: {e.message}"


def validate_record(record: dict) -> dict:
    """Checks a record against the published JSON Schema (:func:`result_schema`) and the rules
    it cannot state (each ``ci95`` interval has low <= high; a record of a multi-seed
    submission, ``submission.seeds``, has a ``ci_unit`` over those seeds, and only such a record
    does); raises :class:`RecordError` naming the field and the problem."""
    if not isinstance(record, dict):
        raise RecordError("record: expected a JSON object")
    errors = list(_validator().iter_errors(record))
    if errors:
        # the deepest, then first in document order: the most specific field
        best = min(errors, key=lambda e: (-len(e.absolute_path), list(map(str, e.absolute_path))))
        raise RecordError(_message(best))
    ci95 = record["metrics"]["solve_rate"]["ci95"]
    for k in ("iqm", "mean", "median"):
        lo, hi = ci95[k]
        if lo > hi:
            raise RecordError(
                f"record: field 'metrics.solve_rate.ci95.{k}' must be [low, high] with "
                f"low <= high, got {ci95[k]!r}"
            )
    seeds = record["submission"].get("seeds")
    unit = record["metrics"]["solve_rate"].get("ci_unit", "")
    if seeds and not unit.startswith("submission_seed"):
        raise RecordError(
            f"record: field 'metrics.solve_rate.ci_unit' is {unit!r} but the submission has "
            f"{len(seeds)} training seeds (submission.seeds): its CIs resample them "
            "('submission_seed' or 'submission_seed_x_train_seed')"
        )
    if unit.startswith("submission_seed") and not seeds:
        raise RecordError(
            f"record: field 'submission.seeds' is missing but metrics.solve_rate.ci_unit is "
            f"{unit!r} (a CI over training seeds needs the seeds it resampled)"
        )
    return record
