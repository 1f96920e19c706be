"""The leaderboard table: collecting records, grouping, ranking, bands, files, Markdown.

Synthetic records are written with :func:`harness.scoring.records.write_record` by
:func:`make_result` (also used by ``test_leaderboard_compare.py`` and ``test_leaderboard_cli.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from harness.leaderboard.markdown import (
    MARKER_END,
    MARKER_START,
    markdown_table,
    md_escape,
    update_readme,
)
from harness.leaderboard.table import (
    COLUMNS,
    GROUP_KEYS,
    LeaderboardError,
    build_table,
    collect_records,
    load_per_level,
    read_table,
    write_table,
)
from harness.scoring.records import RecordError, write_record

REPO_ROOT = Path(__file__).resolve().parents[3]
COMMIT = "c" * 40


def level_hash(bench: str, i: int) -> str:
    return hashlib.sha256(f"{bench}/{i}".encode()).hexdigest()


def make_result(
    folder,
    sub: str,
    rates,
    *,
    bench: str = "handmade-s-v1",
    protocol: str = "zero-shot",
    commit: str = COMMIT,
    origin: str | None = None,
    level_set: str | None = None,
    created: str = "2026-01-01T00:00:00Z",
    iqm: float | None = None,
    ci: tuple[float, float] | None = None,
    attempts: int = 20,
    scratch_iqm: float | None = None,
    gain: tuple[float, float, float] | None = None,
    arch: str = "mlp",
    checkpoint: str | None = None,
    order=None,
) -> tuple[Path, Path]:
    """Writes a record + per-level Parquet under ``folder/sub/``; returns their paths.

    ``rates``: per-level solve rates (zero-shot; multiples of 1/attempts) or, for a fine-tune
    protocol, a list of per-seed rate lists. ``iqm`` / ``ci`` default to the IQM of the level
    means and IQM +- 0.05. ``order``: row order of the levels in the Parquet file."""
    from harness.scoring.stats import iqm as iqm_fn

    finetune = protocol != "zero-shot"
    rows = {"level_id": [], "level_hash": [], "train_seed": [], "solve_rate": []}
    for i in order if order is not None else range(len(rates)):
        for s, r in enumerate(rates[i] if finetune else [rates[i]]):
            rows["level_id"].append(f"handmade-s/level_{i:02d}")
            rows["level_hash"].append(level_hash(bench, i))
            rows["train_seed"].append(s if finetune else None)
            rows["solve_rate"].append(float(r))
    means = np.array([np.mean(r) for r in rates], np.float64)
    value = float(iqm_fn(means)) if iqm is None else iqm
    lo, hi = ci if ci is not None else (max(0.0, value - 0.05), min(1.0, value + 0.05))
    rid = hashlib.sha256(f"{sub}|{bench}|{protocol}|{commit}|{created}".encode()).hexdigest()
    n = len(rows["level_id"])
    table = pa.table(
        {
            "result_id": pa.array([rid] * n),
            "level_id": pa.array(rows["level_id"]),
            "level_hash": pa.array(rows["level_hash"]),
            "train_seed": pa.array(rows["train_seed"], pa.int64()),
            "eval_seed": pa.array([0] * n, pa.int64()),
            "attempts": pa.array([attempts] * n, pa.int32()),
            "solve_rate": pa.array(rows["solve_rate"], pa.float64()),
            "mean_return": pa.array([0.0] * n, pa.float64()),
            "mean_length": pa.array([100.0] * n, pa.float64()),
            "death_rate": pa.array([0.0] * n, pa.float64()),
        }
    )
    mean = float(means.mean())
    metrics = {
        "solve_rate": {
            "iqm": value,
            "mean": mean,
            "median": float(np.median(means)),
            "optimality_gap": 1.0 - mean,
            "ci95": {
                "iqm": [lo, hi],
                "mean": [max(0.0, mean - 0.05), min(1.0, mean + 0.05)],
                "median": [0.0, 1.0],
                "optimality_gap": [0.0, 1.0],
            },
        }
    }
    if scratch_iqm is not None:
        metrics["scratch_solve_rate"] = {"iqm": scratch_iqm, "mean": scratch_iqm}
    if gain is not None:
        metrics["finetune_gain"] = {"iqm": {"value": gain[0], "ci95": [gain[1], gain[2]]}}
    record = {
        "schema_version": "result/1",
        "result_id": rid,
        "status": "FINISHED",
        "created_at": created,
        "started_at": created,
        "finished_at": created,
        "submission": {
            "model_id": sub,
            "checkpoint_sha256": checkpoint or hashlib.sha256(sub.encode()).hexdigest(),
            "architecture": arch,
            "obs_type": "entity",
            "action_type": "multi_discrete",
        },
        "benchmark": {
            "benchmark_id": bench,
            "dataset_repo": "kinetix-bench/levels",
            "dataset_tag": "v1.0.0",
            "dataset_commit": commit,
            **({"dataset_origin": origin} if origin is not None else {}),
            "level_set_sha256": level_set or hashlib.sha256(bench.encode()).hexdigest(),
            "n_levels": len(rates),
        },
        "protocol": {
            "protocol_id": protocol,
            "protocol_version": 1,
            "episodes_per_level": attempts,
            "obs_type": "entity",
            "action_type": "multi_discrete",
        },
        "seeds": {"train": [0, 1, 2] if finetune else [], "eval": [0]},
        "metrics": metrics,
        "compute": {
            "env_steps": 1000,
            "wall_clock_s": 1.5,
            "device_kind": "cpu",
            "device_count": 1,
        },
        "software": {"harness_version": "0.1.0"},
    }
    return write_record(folder, record, table)


def _build(*folders, **kw):
    return build_table(collect_records(folders), **kw)


# ------------------------------------------------------------------------------- grouping
def test_groups_are_level_sets_not_dataset_commits(tmp_path):
    bundled = "bundled:" + "b" * 64
    make_result(tmp_path / "a", "alpha", [1.0, 0.5, 0.0, 0.5], commit=bundled)
    # the Hub release of the same levels: ranked with the bundled runs
    make_result(tmp_path / "b", "beta", [1.0, 1.0, 1.0, 0.5], commit="d" * 40, origin="hub")
    # other levels under the same benchmark id: a group of their own
    make_result(tmp_path / "c", "gamma", [1.0, 1.0, 1.0, 1.0], level_set="e" * 64)
    make_result(tmp_path / "a", "alpha", [0.0, 0.0, 0.5, 0.5], bench="handmade-m-v1")
    table = _build(tmp_path / "a", tmp_path / "b", tmp_path / "c", root=tmp_path)

    assert list(table.columns) == [c for c, _ in COLUMNS]
    assert len(table) == 4
    assert table.groupby(list(GROUP_KEYS)).ngroups == 3
    same = table[table.level_set_sha256 == hashlib.sha256(b"handmade-s-v1").hexdigest()]
    assert list(same.submission_id) == ["beta", "alpha"] and list(same["rank"]) == [1, 2]
    assert list(same.dataset_commit) == ["d" * 40, bundled]
    assert list(same.dataset_origin) == ["hub", "bundled"]  # absent: read from the commit
    other = table[table.level_set_sha256 == "e" * 64]
    assert list(other.submission_id) == ["gamma"] and list(other["rank"]) == [1]
    assert table.iloc[0]["record_path"] == "a/alpha/handmade-m-v1__zero-shot_v1.json"
    assert list(table.benchmark_id) == sorted(table.benchmark_id)


def test_one_submission_on_hub_and_bundled_keeps_the_newest(tmp_path):
    make_result(tmp_path / "a", "alpha", [0.5, 0.5], commit="bundled:" + "b" * 64)
    make_result(
        tmp_path / "b", "alpha", [1.0, 0.5], commit="d" * 40, created="2026-02-01T00:00:00Z"
    )
    notes = []
    table = _build(tmp_path / "a", tmp_path / "b", note=notes.append)
    assert list(table.dataset_commit) == ["d" * 40]
    assert any("kept the newest" in n for n in notes)


def test_one_commit_with_two_level_sets_is_corrupt(tmp_path):
    make_result(tmp_path / "a", "alpha", [0.5, 0.5])
    make_result(tmp_path / "b", "beta", [0.5, 0.5], level_set="e" * 64)
    with pytest.raises(LeaderboardError, match="different level_set_sha256"):
        _build(tmp_path / "a", tmp_path / "b")


def test_markdown_and_show_name_each_rows_dataset(tmp_path):
    make_result(tmp_path / "a", "alpha", [0.5, 0.5], commit="bundled:" + "b" * 64)
    make_result(tmp_path / "b", "beta", [1.0, 0.5], commit="d" * 40, origin="hub")
    text = markdown_table(_build(tmp_path))
    hub = md_escape("dddddddddddd (hub)")
    assert "| bundled:bbbbbbbbbbbb |" in text and f"| {hub} |" in text
    assert f"dataset {hub}, bundled:bbbbbbbbbbbb, 2 levels" in text  # rank order


def test_newest_duplicate_is_kept_and_reported(tmp_path):
    make_result(tmp_path / "old", "alpha", [0.5, 0.5], created="2026-01-01T00:00:00Z")
    new_json, _ = make_result(tmp_path / "new", "alpha", [1.0, 1.0], created="2026-02-01T00:00:00Z")
    notes = []
    table = _build(tmp_path / "old", tmp_path / "new", note=notes.append)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["created_at"] == "2026-02-01T00:00:00Z" and row["mean"] == 1.0
    assert row["result_id"] == json.loads(new_json.read_text())["result_id"]
    assert len(notes) == 1 and "kept the newest" in notes[0] and str(tmp_path / "old") in notes[0]
    assert table.attrs["notes"] == notes


def test_overlapping_folders_read_each_file_once(tmp_path):
    make_result(tmp_path, "alpha", [0.5, 0.5])
    recs = collect_records([tmp_path, tmp_path / "alpha", tmp_path])
    assert len(recs) == 1


# ------------------------------------------------------------------------------- ranking
def test_rank_by_iqm_ties_share_a_rank(tmp_path):
    make_result(tmp_path, "low", [0.0, 0.0, 0.5, 0.5])
    make_result(tmp_path, "high", [1.0, 1.0, 0.5, 0.5])
    make_result(tmp_path, "tie-a", [0.5, 0.5, 0.5, 0.5])
    make_result(tmp_path, "tie-b", [0.5, 0.5, 0.5, 0.5])
    table = _build(tmp_path)
    assert list(table.submission_id) == ["high", "tie-a", "tie-b", "low"]
    assert list(table["rank"]) == [1, 2, 2, 4]
    assert table["iqm"].is_monotonic_decreasing


def test_bands_follow_ci_overlap_with_the_band_leader(tmp_path):
    #                       iqm    ci
    spec = {
        "a": (0.60, (0.50, 0.70)),  # leads band 1
        "b": (0.45, (0.40, 0.55)),  # overlaps a -> band 1
        "c": (0.35, (0.30, 0.45)),  # overlaps b but not a -> starts band 2
        "d": (0.30, (0.20, 0.32)),  # overlaps c -> band 2
        "e": (0.10, (0.05, 0.15)),  # overlaps nobody above -> band 3
        "f": (0.00, (0.00, 0.00)),  # band 4
    }
    for name, (v, ci) in spec.items():
        make_result(tmp_path, name, [0.5, 0.5], iqm=v, ci=ci)
    table = _build(tmp_path)
    assert list(table.submission_id) == list("abcdef")
    assert list(table["band"]) == [1, 1, 2, 2, 3, 4]
    assert list(table["rank"]) == [1, 2, 3, 4, 5, 6]


def test_finetune_columns(tmp_path):
    rates = [[0.5, 1.0, 0.5], [0.0, 0.0, 0.5]]
    make_result(
        tmp_path, "ft", rates, protocol="finetune-1e5", scratch_iqm=0.1, gain=(0.2, 0.05, 0.3)
    )
    make_result(tmp_path, "zs", [0.5, 0.5])
    table = _build(tmp_path)
    ft = table[table.protocol == "finetune-1e5@v1"].iloc[0]
    assert ft["protocol_id"] == "finetune-1e5" and ft["protocol_version"] == 1
    assert (ft["scratch_iqm"], ft["gain_iqm"], ft["gain_ci_low"], ft["gain_ci_high"]) == (
        0.1,
        0.2,
        0.05,
        0.3,
    )
    zs = table[table.protocol == "zero-shot@v1"].iloc[0]
    assert all(math.isnan(zs[c]) for c in ("scratch_iqm", "gain_iqm", "gain_ci_low"))
    md = markdown_table(table)
    ft_section = md.split("finetune-1e5@v1")[1].split("###")[0]
    assert "from-scratch IQM" in ft_section and "+0.200 [+0.050, +0.300]" in ft_section
    assert "from-scratch" not in md.split("zero-shot@v1")[1]


def test_non_leaderboard_and_unfinished_records_are_left_out(tmp_path):
    j, _ = make_result(tmp_path, "alpha", [0.5, 0.5])
    rec = json.loads(j.read_text())
    rec["status"] = "FAILED"
    j.write_text(json.dumps(rec))
    notes = []
    table = _build(tmp_path, note=notes.append)
    assert table.empty and list(table.columns) == [c for c, _ in COLUMNS]
    assert "status FAILED" in notes[0]
    # validation splits are for checkpoint selection: never ranked, one note per benchmark
    for sub in ("alpha", "beta"):
        make_result(tmp_path / "val", sub, [0.5, 0.0], bench="random-s-validation-v1")
    make_result(tmp_path / "val", "alpha", [1.0, 0.0], bench="random-m-validation-v1")
    notes = []
    table = _build(tmp_path / "val", note=notes.append)
    assert table.empty
    assert notes[0].startswith("left out ") and "random-m-validation-v1" in notes[0]
    assert notes[1].startswith("left out 2 records on random-s-validation-v1")
    assert len(notes) == 2


# ------------------------------------------------------------------------------- validation
def test_invalid_record_is_an_error_naming_the_file_or_skipped(tmp_path):
    make_result(tmp_path, "good", [0.5, 0.5])
    bad, _ = make_result(tmp_path, "bad", [0.5, 0.5])
    rec = json.loads(bad.read_text())
    del rec["benchmark"]["dataset_commit"]
    bad.write_text(json.dumps(rec))
    with pytest.raises(RecordError, match=r"bad/handmade-s-v1__zero-shot_v1\.json.*dataset_commit"):
        collect_records([tmp_path])
    warnings = []
    recs = collect_records([tmp_path], skip_invalid=True, warn=warnings.append)
    assert [r.key[3] for r in recs] == ["good"]
    assert len(warnings) == 1 and str(bad) in warnings[0]


def test_per_level_file_must_exist_and_match(tmp_path):
    j, p = make_result(tmp_path, "alpha", [0.5, 0.5])
    p.unlink()
    with pytest.raises(LeaderboardError, match="per-level file .* is missing"):
        collect_records([tmp_path])
    make_result(tmp_path, "alpha", [0.5, 0.5])
    rec = json.loads(j.read_text())
    rec["metrics"]["solve_rate"]["mean"] = 0.9
    j.write_text(json.dumps(rec))
    with pytest.raises(LeaderboardError, match="mean solve rate"):
        collect_records([tmp_path])
    with pytest.raises(LeaderboardError, match="does not exist"):
        collect_records([tmp_path / "nope"])


# ------------------------------------------------------------------------------- files
def test_parquet_and_csv_round_trip(tmp_path):
    make_result(tmp_path / "r", "alpha", [0.5, 0.5], checkpoint="1" * 64)  # digits-only string
    make_result(tmp_path / "r", 'we|ird, "name"', [1.0, 0.5])
    make_result(
        tmp_path / "r",
        "ft",
        [[0.5, 1.0], [0.0, 0.5]],
        protocol="finetune-1e5",
        gain=(0.1, 0.0, 0.2),
    )
    table = _build(tmp_path / "r", root=tmp_path)
    ppath, cpath = write_table(table, tmp_path)
    for path in (ppath, cpath):
        back = read_table(path)
        back.attrs = {}
        expect = table.copy()
        expect.attrs = {}
        pd.testing.assert_frame_equal(back, expect, check_exact=True)
    assert not list(tmp_path.glob(".*.tmp"))


def test_read_table_reports_missing_columns(tmp_path):
    path = tmp_path / "leaderboard.csv"
    path.write_text("benchmark_id,protocol\nx,y\n")
    with pytest.raises(LeaderboardError, match="missing columns"):
        read_table(path)


def test_load_per_level_adds_keys(tmp_path):
    make_result(tmp_path / "r", "alpha", [0.5, 0.25, 1.0])
    make_result(tmp_path / "r", "beta", [0.0, 0.25, 1.0])
    table = _build(tmp_path / "r", root=tmp_path)
    per = load_per_level(table, tmp_path)
    assert len(per) == 6
    assert {"benchmark_id", "protocol", "dataset_commit", "submission_id", "level_id"} <= set(per)
    assert set(per.submission_id) == {"alpha", "beta"}
    assert per.groupby("submission_id")["result_id"].nunique().eq(1).all()


# ------------------------------------------------------------------------------- Markdown
def test_md_escape():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert (
        md_escape("*bold* _it_ [l](u) `c` \\") == "\\*bold\\* \\_it\\_ \\[l\\]\\(u\\) \\`c\\` \\\\"
    )
    assert md_escape("two\nlines") == "two lines"


def test_markdown_escapes_names_and_has_one_section_per_group(tmp_path):
    make_result(tmp_path, "evil|name<b>", [1.0, 0.5], arch="a|b")
    make_result(tmp_path, "plain", [0.5, 0.5])
    make_result(tmp_path, "plain", [0.5, 0.5], bench="handmade-m-v1")
    md = markdown_table(_build(tmp_path))
    assert md.count("### ") == 2
    assert "### handmade-m-v1 · zero-shot@v1" in md
    row = next(line for line in md.splitlines() if "evil" in line)
    assert "evil\\|name&lt;b&gt;" in row and "a\\|b" in row
    # every table row has the header's number of unescaped pipes
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.replace("\\|", "").count("|") == 11  # 10 columns


def test_readme_markers_keep_outside_text(tmp_path):
    readme = tmp_path / "README.md"
    update_readme(readme, "first")
    text = readme.read_text()
    assert text.startswith("---\nconfigs:") and f"{MARKER_START}\nfirst\n{MARKER_END}" in text

    readme.write_text(f"# Mine\n\nbefore\n{MARKER_START}\nold stuff\n{MARKER_END}\nafter\n")
    update_readme(readme, "| new |")
    assert readme.read_text() == f"# Mine\n\nbefore\n{MARKER_START}\n| new |\n{MARKER_END}\nafter\n"

    readme.write_text("just text\n")
    update_readme(readme, "x")
    assert readme.read_text() == f"just text\n\n{MARKER_START}\nx\n{MARKER_END}\n"

    broken = f"{MARKER_END}\n{MARKER_START}\n"
    readme.write_text(broken)
    with pytest.raises(LeaderboardError, match="markers"):
        update_readme(readme, "x")
    assert readme.read_text() == broken


# ------------------------------------------------------------------------------- real data
def test_committed_records_build():
    root = REPO_ROOT / "leaderboard"
    table = build_table(collect_records([root / "records"]), root=root)
    assert len(table) >= 3
    for _, g in table.groupby(["benchmark_id", "protocol", "level_set_sha256", "verified"]):
        assert g["rank"].iloc[0] == 1 and g["band"].iloc[0] == 1
        assert g["band"].is_monotonic_increasing and g["iqm"].is_monotonic_decreasing
    assert all((root / p).is_file() for p in table.per_level_path)
    assert not table.benchmark_id.str.contains("validation").any()


# ------------------------------------------------------------------------------- gallery
PNG = b"\x89PNG\r\n\x1a\n"


def test_gallery_uses_cached_thumbnails_and_solve_rates(tmp_path, monkeypatch):
    from harness.leaderboard import gallery_data
    from harness.leaderboard.gallery_data import (
        MEASURED_FIELDS,
        THUMBNAIL_VERSION,
        hand_made_gallery,
    )
    from kinetix.handmade.measurements import load_measurements

    root = REPO_ROOT / "leaderboard"
    table = build_table(collect_records([root / "records"]), root=root)
    per = load_per_level(table, root)
    hm = per[(per.benchmark_id == "handmade-all-v1") & (per.protocol == "zero-shot@v1")]
    for h in hm.level_hash.unique():
        (tmp_path / f"{h}-64px-v{THUMBNAIL_VERSION}.png").write_bytes(PNG + h.encode())
    monkeypatch.setattr(gallery_data, "_render", lambda *a: pytest.fail("rendered"))

    gallery = hand_made_gallery(table, per, size=64, cache_dir=tmp_path)
    assert len(gallery) == hm.level_hash.nunique() == 50
    assert [g["config"] for g in gallery][:1] == ["handmade-s"]
    for item in gallery:
        assert item["thumbnail_png"] == PNG + item["level_hash"].encode()
        rows = hm[hm.level_hash == item["level_hash"]]
        assert item["solved_by"] == dict(zip(rows.submission_id, rows.solve_rate, strict=True))
        assert item["level_id"] == rows.level_id.iloc[0]
    # the committed calibration rows of the v1 levels are shown (matched by level hash)
    store = load_measurements()
    for item in gallery:
        row = store[item["level_id"]]
        assert row["level_hash"] == item["level_hash"]
        assert item["measured"] == {k: row.get(k) for k in MEASURED_FIELDS}
    none = hand_made_gallery(table, per, size=64, cache_dir=tmp_path, measurements=tmp_path / "x")
    assert all(g["measured"] is None for g in none)
    # without results there is still a gallery, with nobody's rates
    empty = hand_made_gallery(table.iloc[:0], None, size=64, cache_dir=tmp_path)
    assert len(empty) == 50 and all(g["solved_by"] == {} for g in empty)


def test_gallery_draws_and_caches_thumbnails(tmp_path):
    from PIL import Image

    from harness.leaderboard.gallery_data import hand_made_gallery

    table = build_table([])
    first = hand_made_gallery(table, benchmark="handmade-s-v1", size=32, cache_dir=tmp_path)
    assert len(first) == 12 and len(list(tmp_path.glob("*-32px-v*.png"))) == 12
    im = Image.open(__import__("io").BytesIO(first[0]["thumbnail_png"]))
    assert im.size == (32, 32) and im.format == "PNG"
    again = hand_made_gallery(table, benchmark="handmade-s-v1", size=32, cache_dir=tmp_path)
    assert [g["thumbnail_png"] for g in again] == [g["thumbnail_png"] for g in first]
