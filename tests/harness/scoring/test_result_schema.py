"""The published JSON Schema of result records, ``result/1`` and ``result/2``
(``harness/scoring/result_schema.json``): valid, shipped as package data, true of every
committed record, and what :func:`harness.scoring.records.validate_record` (so ``leaderboard
build``) checks, with messages that name the field."""

from __future__ import annotations

import copy
import json
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from harness.cli import main
from harness.scoring.records import RecordError, result_schema, validate_record

ROOT = Path(__file__).resolve().parents[3]
RECORDS = sorted((ROOT / "leaderboard" / "records").rglob("*.json"))


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RECORDS[0].read_text())


def test_the_schema_is_valid_and_package_data():
    schema = result_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    shipped = json.loads(files("harness.scoring").joinpath("result_schema.json").read_text())
    assert shipped == schema
    assert schema["properties"]["schema_version"] == {"enum": ["result/1", "result/2"]}


def test_every_committed_record_validates_with_plain_jsonschema():
    assert RECORDS
    schema = result_schema()
    for path in RECORDS:  # what an outside tool does: no kinetix-bench code involved
        jsonschema.validate(json.loads(path.read_text()), schema)


def _broken(record, path, value=None, delete=False):
    bad = copy.deepcopy(record)
    cur = bad
    for p in path[:-1]:
        cur = cur[p]
    if delete:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return bad


@pytest.mark.parametrize(
    ("path", "value", "delete", "message"),
    [
        (("benchmark", "dataset_commit"), None, True, r"'benchmark\.dataset_commit' is missing"),
        (("result_id",), None, True, r"'result_id' is missing"),
        (("compute", "env_steps"), "many", False, r"'compute\.env_steps' must be integer"),
        (("metrics", "solve_rate", "iqm"), 1.5, False, r"solve_rate\.iqm' = 1\.5 is outside"),
        (("benchmark", "level_set_sha256"), "xyz", False, r"sha256 hex digest"),
        (("created_at",), "yesterday", False, r"'created_at' must be an ISO-8601 UTC time"),
        (("status",), "DONE", False, r"'status' must be one of"),
        (("benchmark", "dataset_origin"), "moon", False, r"'benchmark\.dataset_origin' must be"),
        (("metrics", "solve_rate", "ci95", "iqm"), [0.1], False, r"ci95\.iqm' must be \[low"),
        (("metrics", "solve_rate", "ci95", "mean"), [0.6, 0.2], False, r"low <= high"),
        (("submission", "source"), {"repo": "a"}, False, r"'submission\.source\.\w+' is missing"),
        (("compute", "process_count"), 0, False, r"'compute\.process_count' = 0 is outside"),
    ],
)
def test_errors_name_the_field(record, path, value, delete, message):
    bad = _broken(record, path, value, delete)
    with pytest.raises(RecordError, match=message):
        validate_record(bad)
    if "low <= high" not in message:  # the one rule JSON Schema cannot state
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, result_schema())


def test_process_count_is_optional(record):
    """Records before multi-process runs have no ``compute.process_count``; newer ones do."""
    assert "process_count" not in record["compute"]
    validate_record(record)
    for value in (1, 8):
        validate_record(_broken(record, ("compute", "process_count"), value))


def test_an_in_process_record_must_be_unverified(record):
    bad = copy.deepcopy(record)
    bad["submission"].update(kind="in-process", verified=True)
    with pytest.raises(RecordError, match=r"'submission\.verified' must be False"):
        validate_record(bad)
    bad["submission"]["verified"] = False
    validate_record(bad)


def test_leaderboard_build_refuses_a_record_against_the_schema(record, tmp_path, capsys):
    import shutil

    folder = tmp_path / "lb" / "records" / "x"
    folder.mkdir(parents=True)
    shutil.copy(RECORDS[0].with_suffix(".parquet"), folder / "r.parquet")
    bad = _broken(record, ("compute", "device_count"), 0)
    (folder / "r.json").write_text(json.dumps(bad))
    assert main(["leaderboard", "build", "--root", str(tmp_path / "lb"), "--no-page"]) == 2
    err = capsys.readouterr().err
    assert "r.json" in err and "'compute.device_count' = 0 is outside" in err
