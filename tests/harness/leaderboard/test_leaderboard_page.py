"""The static leaderboard page (harness.leaderboard.page): HTML checks and a real-browser test.

The table and per-level frames are synthetic, built here with the contract's columns, so these
tests do not depend on how the table is built from records. The ``browser`` tests open the page
in headless system Chromium through selenium; they skip when Chromium, chromedriver or selenium
is missing, unless ``KINETIX_BENCH_REQUIRE_BROWSER=1`` (CI), where they fail instead.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import shutil
from html.parser import HTMLParser

import pandas as pd
import pytest

from harness.leaderboard import plots
from harness.leaderboard.page import PageError, build_html, render_page
from harness.leaderboard.screenshot import (
    browser_unavailable,
    full_page_screenshot,
    headless_chromium,
    screenshot_page,
)

# The table columns of the contract, in order.
COLUMNS = [
    "benchmark_id", "protocol", "protocol_id", "protocol_version", "dataset_commit",
    "level_set_sha256", "n_levels", "submission_id", "architecture", "obs_type", "action_type",
    "checkpoint_sha256", "rank", "band", "iqm", "iqm_ci_low", "iqm_ci_high", "mean",
    "mean_ci_low", "mean_ci_high", "median", "optimality_gap", "scratch_iqm", "gain_iqm",
    "gain_ci_low", "gain_ci_high", "env_steps", "wall_clock_s", "device_kind", "created_at",
    "result_id", "record_path", "per_level_path",
]  # fmt: skip
EVIL = "<script>window.__pwned=1</script> & \"quoted\" 'x'"
COMMIT = "bundled:3b62be80ec29f3a123d3a0b2188fd448f6e29d099be69cda91b89403acac4a09"
LEVELS = [f"handmade-s/level_{i}" for i in range(6)]
NAN = math.nan

# (benchmark, protocol, [(submission, iqm, band, scratch_iqm, gain)]), in rank order.
GROUPS = [
    ("handmade-s-v1", "zero-shot@v1",
     [("general-ppo", 0.62, 1, NAN, NAN), (EVIL, 0.55, 1, NAN, NAN),
      ("random", 0.20, 2, NAN, NAN), ("noop", 0.0, 3, NAN, NAN)]),
    ("random-s-test-v1", "zero-shot@v1",
     [("general-ppo", 0.31, 1, NAN, NAN), ("noop", 0.02, 2, NAN, NAN)]),
    ("handmade-s-v1", "finetune-1e5@v1",
     [("general-ppo", 0.81, 1, 0.40, 0.41), ("random", 0.35, 2, 0.40, -0.05)]),
]  # fmt: skip


def _row(benchmark, protocol, rank, sub, iqm, band, scratch, gain):
    pid = protocol.split("@")[0]
    rid = hashlib.sha256(f"{benchmark}|{protocol}|{sub}".encode()).hexdigest()
    folder = "evil" if sub == EVIL else sub
    stem = f"records/{folder}/{benchmark}__{pid}_v1"
    return {
        "benchmark_id": benchmark, "protocol": protocol, "protocol_id": pid,
        "protocol_version": 1, "dataset_commit": COMMIT, "level_set_sha256": "ab" * 32,
        "n_levels": 6 if benchmark.startswith("handmade") else 100, "submission_id": sub,
        "architecture": "entity-transformer" if "ppo" in sub else "noop", "obs_type": "entity",
        "action_type": "multi_discrete", "checkpoint_sha256": "cd" * 32, "rank": rank,
        "band": band, "iqm": iqm, "iqm_ci_low": max(iqm - 0.08, 0.0),
        "iqm_ci_high": min(iqm + 0.08, 1.0), "mean": iqm, "mean_ci_low": max(iqm - 0.05, 0.0),
        "mean_ci_high": min(iqm + 0.05, 1.0), "median": iqm, "optimality_gap": 1 - iqm,
        "scratch_iqm": scratch, "gain_iqm": gain, "gain_ci_low": gain - 0.1,
        "gain_ci_high": gain + 0.1, "env_steps": 10 ** (6 - rank) + 7,
        "wall_clock_s": 9.5, "device_kind": "cpu", "created_at": f"2026-11-2{rank}T10:00:00Z",
        "result_id": rid, "record_path": stem + ".json", "per_level_path": stem + ".parquet",
    }  # fmt: skip


def make_table(groups=GROUPS) -> pd.DataFrame:
    rows = [
        _row(b, p, rank, *entry)
        for b, p, entries in groups
        for rank, entry in enumerate(entries, start=1)
    ]
    df = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("protocol_version", "n_levels", "rank", "band", "env_steps"):
        df[c] = df[c].astype("int64")
    return df


def make_per_level(table: pd.DataFrame) -> pd.DataFrame:
    """6 levels per hand-made row; fine-tune rows have two training seeds per level."""
    rows = []
    for r in table.itertuples(index=False):
        if not r.benchmark_id.startswith("handmade"):
            continue
        seeds = [0, 1] if r.protocol_id.startswith("finetune") else [NAN]
        for i, level in enumerate(LEVELS):
            for s in seeds:
                rate = (i / 5) * r.iqm if math.isnan(s) else (0.25 if s == 0 else 0.75)
                rows.append({"result_id": r.result_id, "level_id": level, "level_hash": "ef" * 32,
                             "train_seed": s, "eval_seed": 0, "attempts": 20, "solve_rate": rate,
                             "mean_return": 0.0, "mean_length": 100.0, "death_rate": 0.0,
                             "benchmark_id": r.benchmark_id, "protocol": r.protocol,
                             "submission_id": r.submission_id})  # fmt: skip
    return pd.DataFrame(rows)


def png_bytes(colour=(200, 30, 30), size=(24, 16)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def make_gallery():
    return [
        {"level_id": lv, "config": "handmade-s", "thumbnail_png": png_bytes((40 * i, 90, 120)),
         "solved_by": {"general-ppo": 0.9 - 0.1 * i, EVIL: 0.95 if i == 0 else 0.1},
         "measured": [None, {"tier": "hard", "constant_solves": 0, "random_solve_rate": 0.03,
                             "scratch_solve_rate_1e5": 0.05, "scratch_solve_rate_1e6": 0.2},
                      {"tier": None, "constant_solves": 216, "noop_solved": True}][i]}
        for i, lv in enumerate(LEVELS[:3])
    ] + [{"level_id": "handmade-m/other", "config": "handmade-m", "thumbnail_png": png_bytes(),
          "solved_by": None}]  # fmt: skip


class _Collect(HTMLParser):
    """Start tags with their (unescaped) attributes, and the text of ``<title>``/``<script>``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def parse(doc: str) -> _Collect:
    p = _Collect()
    p.feed(doc)
    p.close()
    return p


def rows_by_table(p: _Collect) -> dict[str, list[dict]]:
    out, current = {}, None
    for tag, attrs in p.tags:
        if tag == "table" and "lb-table" in attrs.get("class", ""):
            current = attrs["id"]
            out[current] = []
        elif tag == "tr" and attrs.get("class") == "lb-row":
            out[current].append(attrs)
    return out


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def per_level(table):
    return make_per_level(table)


@pytest.fixture(scope="module")
def page(tmp_path_factory, table, per_level):
    path = tmp_path_factory.mktemp("leaderboard") / "index.html"
    render_page(table, per_level, path, gallery=make_gallery(), generated_at="2026-11-30 12:00 UTC")
    return path


@pytest.fixture(scope="module")
def doc(page):
    return page.read_text(encoding="utf-8")


def test_one_section_and_table_per_group_with_every_row(doc, table):
    p = parse(doc)
    sections = [a for t, a in p.tags if t == "section" and "group" in a.get("class", "")]
    assert [(s["data-benchmark"], s["data-protocol"]) for s in sections] == [
        (b, pr) for b, pr, _ in GROUPS
    ]
    assert all(s["data-level-set"] == "ab" * 32 for s in sections)
    tables = rows_by_table(p)
    assert list(tables) == [f"table-{s['id']}" for s in sections]
    for (_, _, entries), rows in zip(GROUPS, tables.values(), strict=True):
        assert [r["data-submission"] for r in rows] == [e[0] for e in entries]
        assert [int(r["data-rank"]) for r in rows] == list(range(1, len(entries) + 1))
        assert [float(r["data-iqm"]) for r in rows] == [e[1] for e in entries]
    row_ids = [a["id"] for t, a in p.tags if t == "tr" and a.get("class") == "lb-row"]
    assert len(row_ids) == len(table) == len(set(row_ids))
    assert "2026-11-30 12:00 UTC" in doc and "Built only from result records" in doc
    assert "bundled:3b62be80ec29" in doc  # the dataset commit, shortened, full in a title
    assert '0.620 <span class="ci">[0.540, 0.700]</span>' in doc
    assert "100,007" in doc  # env steps of rank 1, with a thousands separator


def test_record_strings_are_escaped_everywhere(doc):
    p = parse(doc)
    assert EVIL not in doc  # never raw, neither in text nor in attributes
    assert "<script>window.__pwned" not in doc
    assert html_escape(EVIL) in doc
    assert len(p.scripts) == 1 and "__pwned" not in p.scripts[0]  # only our own script
    # Attributes round-trip to the exact name (the parser unescapes them).
    subs = {a.get("data-submission") for t, a in p.tags if t == "tr"}
    assert EVIL in subs
    # Submission names are also escaped inside the SVG plots (labels and tooltips).
    assert re.search(r"<svg[^>]*plot-iqm.*?" + re.escape(html_escape(EVIL[:20])), doc, re.S)


def html_escape(s: str) -> str:
    import html

    return html.escape(s, quote=True)


def test_no_external_assets(doc):
    assert "http://" not in doc and "https://" not in doc
    assert not re.search(r"@import|url\(|//[a-z0-9.-]+\.[a-z]{2,}", doc, re.I)
    refs = re.findall(r"""\b(?:src|href|xlink:href|action|srcset)\s*=\s*["']?([^"'\s>]*)""", doc)
    assert refs, "the page has record links and thumbnails"
    for ref in refs:
        assert ref.startswith(("data:image/png;base64,", "#", "records/")), ref
    assert "Content-Security-Policy" in doc and "default-src 'none'" in doc


def test_record_links_are_relative_to_the_page(doc, table):
    hrefs = [a["href"] for t, a in parse(doc).tags if t == "a" and "href" in a]
    for r in table.itertuples():
        assert r.record_path in hrefs and r.per_level_path in hrefs
    bad = table.copy()
    bad.loc[0, "record_path"] = "//evil.example/x.json"
    bad.loc[1, "record_path"] = "javascript:alert(1)"
    doc2 = build_html(bad, None)
    hrefs2 = [a["href"] for t, a in parse(doc2).tags if t == "a" and "href" in a]
    assert "//evil.example/x.json" not in hrefs2 and "javascript%3Aalert%281%29" in hrefs2
    assert not any(h.startswith("javascript:") for h in hrefs2)


def test_plots_are_inline_svg(doc):
    assert doc.count('class="plot plot-iqm"') == len(GROUPS)
    assert doc.count('class="plot plot-heatmap"') == 2  # the two hand-made groups
    assert doc.count('class="plot plot-gain"') == 1  # the fine-tune group
    assert 'id="finetune-note"' not in doc
    for level in LEVELS:  # level names as row labels and full ids in tooltips
        assert f'data-level-id="{level}"' in doc and f"<title>{level}</title>" in doc
    # Fine-tune heat map: the attempts-weighted mean over the two seeds (0.25, 0.75).
    assert "general-ppo: solve rate 0.500" in doc
    # Zero-shot heat map: level 5 of general-ppo = 0.62.
    assert "general-ppo: solve rate 0.620" in doc


def test_no_finetune_records_says_so_in_one_line(table):
    zero_shot = table[table["protocol_id"] == "zero-shot"].reset_index(drop=True)
    doc = build_html(zero_shot, make_per_level(zero_shot))
    assert 'id="finetune-note"' in doc and "No fine-tuning records yet" in doc
    assert "plot-gain" not in doc
    # A fine-tune group without from-scratch baselines: a note, no empty plot.
    ft = table[table["protocol_id"] == "finetune-1e5"].copy()
    ft[["scratch_iqm", "gain_iqm", "gain_ci_low", "gain_ci_high"]] = NAN
    doc = build_html(ft, None)
    assert "plot-gain" not in doc and "no from-scratch baseline" in doc


def test_gallery_cards(doc):
    p = parse(doc)
    cards = [a for t, a in p.tags if t == "figure" and a.get("class") == "level-card"]
    assert [c["data-level-id"] for c in cards] == LEVELS[:3] + ["handmade-m/other"]
    assert [c["data-best-rate"] for c in cards] == ["0.95", "0.8", "0.7", ""]
    imgs = [a for t, a in p.tags if t == "img"]
    assert len(imgs) == 4 and all(a["src"].startswith("data:image/png;base64,") for a in imgs)
    assert imgs[0]["width"] == "24" and imgs[0]["height"] == "16"
    assert "not evaluated" in doc
    assert [c["data-tier"] for c in cards] == ["", "hard", "", ""]
    spans = [a for t, a in p.tags if t == "span" and a.get("class", "").startswith("tier ")]
    assert [s["class"] for s in spans] == ["tier tier-hard", "tier tier-none"]
    assert "constant 0/324 \u00b7 random 0.03 \u00b7 PPO@1e5 0.05 \u00b7 PPO@1e6 0.20" in doc
    assert "constant 216/324 \u00b7 no-op solves" in doc


@pytest.mark.parametrize(
    "gallery, field",
    [
        ("nope", "gallery"),
        ([{"level_id": "a", "config": "c", "thumbnail_png": b"GIF89a", "solved_by": {}}],
         "gallery[0].thumbnail_png"),
        ([{"level_id": "", "config": "c", "thumbnail_png": b"", "solved_by": {}}],
         "gallery[0].level_id"),
        ([{"level_id": "a", "config": "c", "thumbnail_png": png_bytes(), "solved_by": {"x": "y"}}],
         "gallery[0].solved_by['x']"),
        ([{"level_id": "a", "config": "c", "thumbnail_png": png_bytes(), "measured": [1]}],
         "gallery[0].measured"),
        ([{"level_id": "a", "config": "c", "thumbnail_png": png_bytes(),
           "measured": {"tier": "<b>"}}], "gallery[0].measured.tier"),
        ([{"level_id": "a", "config": "c", "thumbnail_png": png_bytes(),
           "measured": {"random_solve_rate": "x"}}], "gallery[0].measured.random_solve_rate"),
    ],
)  # fmt: skip
def test_bad_gallery_names_the_field(table, gallery, field):
    with pytest.raises(PageError, match=re.escape(field)):
        build_html(table, None, gallery=gallery)


def test_bad_table_names_the_field(table):
    with pytest.raises(PageError, match=r"table: missing columns \['iqm'\]"):
        build_html(table.drop(columns=["iqm"]), None)
    with pytest.raises(PageError, match="table: expected a pandas DataFrame"):
        build_html([{}], None)
    with pytest.raises(PageError, match=r"per_level: missing columns \['solve_rate'\]"):
        build_html(table, pd.DataFrame({"result_id": ["x"], "level_id": ["y"]}))


def test_write_is_atomic_and_keeps_the_old_page_on_error(tmp_path, table):
    out = tmp_path / "site" / "index.html"
    assert render_page(table, None, out) == out
    first = out.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>")
    with pytest.raises(PageError):
        render_page(table.drop(columns=["band"]), None, out)
    assert out.read_text(encoding="utf-8") == first
    assert sorted(p.name for p in out.parent.iterdir()) == ["index.html"]  # no temp files


def test_empty_table_renders_a_valid_page(table):
    doc = build_html(table.iloc[0:0], None)
    assert "No result records yet." in doc and "lb-row" not in doc


def test_plot_helpers():
    assert plots.nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    assert plots.nice_ticks(-0.3, 0.3)[0] <= -0.2 and 0 in plots.nice_ticks(-0.3, 0.3)
    assert plots.heat_colour(0.0) == "#440154" and plots.heat_colour(1.0) == "#fde725"
    assert plots.heat_colour(NAN) == plots.MISSING
    svg = plots.heatmap(["a/b"], ["s"], [[NAN]])
    assert ">n/a<" in svg and "<svg" in svg
    svg = plots.interval_plot(["x" * 80], [NAN], [NAN], [NAN], [1])
    assert "\u2026" in svg and "n/a" in svg  # long names shortened (full name in <title>)


# -- the real browser ------------------------------------------------------------------------


def _need_browser():
    reason = browser_unavailable()
    if reason is None:
        return
    if os.environ.get("KINETIX_BENCH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"KINETIX_BENCH_REQUIRE_BROWSER=1 but no headless browser: {reason}")
    pytest.skip(f"no headless browser: {reason}")


@pytest.fixture
def no_driver_download(monkeypatch):
    """selenium's driver manager must never run (it would try to download a driver)."""
    _need_browser()
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    def refuse(*args, **kwargs):
        raise AssertionError("selenium manager was asked for a driver")

    monkeypatch.setattr(SeleniumManager, "binary_paths", refuse)
    monkeypatch.setenv("SE_OFFLINE", "true")


def _order(driver, table_id, attr):
    return driver.execute_script(
        "var attr = arguments[1];"
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr.lb-row'))"
        ".map(function (r) { return r.getAttribute(attr); });",
        table_id,
        attr,
    )


@pytest.mark.browser
def test_page_in_headless_chromium(page, table, no_driver_download, tmp_path):
    from selenium.webdriver.common.by import By

    with headless_chromium(1280, 900) as driver:
        driver.get(page.as_uri())
        tables = driver.find_elements(By.CSS_SELECTOR, "table.lb-table")
        assert len(tables) == len(GROUPS)
        assert len(driver.find_elements(By.CSS_SELECTOR, "tr.lb-row")) == len(table)
        first = tables[0].get_attribute("id")
        n = len(GROUPS[0][2])
        assert _order(driver, first, "data-rank") == [str(i) for i in range(1, n + 1)]
        iqm = [float(x) for x in _order(driver, first, "data-iqm")]
        # Click "IQM": ascending (numeric), then descending; the row count never changes.
        header = driver.find_element(By.CSS_SELECTOR, f"#{first} th[data-col='iqm']")
        header.click()
        assert [float(x) for x in _order(driver, first, "data-iqm")] == sorted(iqm)
        assert header.get_attribute("aria-sort") == "ascending"
        header.click()
        assert [float(x) for x in _order(driver, first, "data-iqm")] == sorted(iqm, reverse=True)
        assert header.get_attribute("aria-sort") == "descending"
        # Back to rank: the first click on a column sorts ascending.
        driver.find_element(By.CSS_SELECTOR, f"#{first} th[data-col='rank']").click()
        assert _order(driver, first, "data-rank") == [str(i) for i in range(1, n + 1)]
        # Env steps (100,007 ... 107 on screen) sort as numbers, not as text.
        driver.find_element(By.CSS_SELECTOR, f"#{first} th[data-col='env_steps']").click()
        assert _order(driver, first, "data-rank") == [str(i) for i in range(n, 0, -1)]
        # Other tables untouched.
        second = tables[1].get_attribute("id")
        assert _order(driver, second, "data-rank") == ["1", "2"]
        # Every SVG plot is laid out with a non-zero size; thumbnails decoded.
        sizes = driver.execute_script(
            "return Array.from(document.querySelectorAll('svg.plot')).map(function (s) {"
            " var r = s.getBoundingClientRect(); return [r.width, r.height]; });"
        )
        assert len(sizes) == len(GROUPS) + 2 + 1
        assert all(w > 100 and h > 50 for w, h in sizes), sizes
        widths = driver.execute_script(
            "return Array.from(document.images).map(function (i) { return i.naturalWidth; });"
        )
        assert widths == [24, 24, 24, 24]
        # The hostile submission name is text, never code; no console errors (CSP included).
        assert driver.execute_script("return window.__pwned === undefined;")
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, errors
        shot = full_page_screenshot(driver, tmp_path / "sorted.png", width=1024)
        assert shot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.browser
def test_full_page_screenshot(page, no_driver_download, tmp_path):
    from PIL import Image

    png = screenshot_page(page, tmp_path / "leaderboard.png", width=1280)
    with Image.open(png) as im:
        width, height = im.size
        colours = len(im.convert("RGB").getcolors(1 << 24))
    assert width == 1280 and height > 900  # the whole page, not one screen
    assert colours > 20  # something was drawn
    out_dir = os.environ.get("KINETIX_BENCH_SCREENSHOT_DIR")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        shutil.copyfile(png, os.path.join(out_dir, "leaderboard.png"))
