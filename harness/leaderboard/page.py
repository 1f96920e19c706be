"""The static leaderboard web page: one self-contained ``index.html`` (DESIGN §9).

:func:`render_page` takes the leaderboard table (``harness.leaderboard.table.build_table``: one
row per benchmark, protocol, level set and submission) and the per-level scores
(``load_per_level``) and writes one HTML file that needs no server and loads nothing from
anywhere: inline CSS, a small inline vanilla script (sortable tables) allowed by a hash in the
page's Content-Security-Policy (both from :mod:`harness.leaderboard.page_assets`), inline SVG
plots (:mod:`harness.leaderboard.plots`) and, for the gallery, thumbnails as base64 ``data:``
URIs. The only links are relative links to the
result records (``record_path``/``per_level_path``, relative to the folder of ``index.html``).

Every string that comes from a record is escaped with :func:`html.escape` (attributes included).
Bad input raises :class:`PageError` naming the field; the file is written atomically.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import math
import re
import urllib.parse
from pathlib import Path

import pandas as pd

from harness.leaderboard import plots
from harness.leaderboard.ci_units import ci_label, ci_title, has_seed_ci
from harness.leaderboard.gallery import check_gallery, render_gallery
from harness.leaderboard.page_assets import PAGE_CSS as _CSS
from harness.leaderboard.page_assets import PAGE_JS as _JS
from harness.leaderboard.page_assets import band_css as _band_css
from kinetix.atomic_io import atomic_write_text

__all__ = ["PageError", "TABLE_COLUMNS", "render_page", "build_html"]

# The table columns this page reads (a subset of the table's contract).
TABLE_COLUMNS = (
    "benchmark_id", "protocol", "protocol_id", "dataset_commit", "level_set_sha256", "n_levels",
    "submission_id", "architecture", "obs_type", "action_type", "rank", "band", "iqm",
    "iqm_ci_low", "iqm_ci_high", "mean", "mean_ci_low", "mean_ci_high", "optimality_gap",
    "scratch_iqm", "gain_iqm", "gain_ci_low", "gain_ci_high", "env_steps", "created_at",
    "result_id", "record_path", "per_level_path",
)  # fmt: skip
GROUP_KEYS = ["benchmark_id", "protocol", "level_set_sha256"]
DEFAULT_TITLE = "kinetix-bench leaderboard"


class PageError(ValueError):
    """Input that the leaderboard page cannot be built from (the message names the field)."""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _isnan(x) -> bool:
    try:
        return x is None or not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _f3(x) -> str:
    return "\u2013" if _isnan(x) else f"{float(x):.3f}"


def _sortkey(x) -> str:
    """The ``data-sort`` value of a numeric cell: empty for NaN (sorted last either way)."""
    return "" if _isnan(x) else f"{float(x):.10g}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "x"


def _short_hash(text: str, n: int = 12) -> str:
    """``bundled:3b62be80ec29...`` -> ``bundled:3b62be80ec29``; plain hashes to ``n`` chars."""
    head, sep, tail = str(text).rpartition(":")
    return f"{head}{sep}{tail[:n]}" + ("\u2026" if len(tail) > n else "")


def _href(path) -> str | None:
    """A relative link to a record file, or None when ``path`` is missing or not relative."""
    if path is None or (isinstance(path, float) and math.isnan(path)):
        return None
    p = str(path).replace("\\", "/")
    if not p or p.startswith("/") or ".." in p.split("/"):
        return None
    return urllib.parse.quote(p, safe="/")  # "a:b" -> "a%3Ab": never a scheme or a host


# -- input checks -------------------------------------------------------------------------------


def _check_table(table) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise PageError(f"table: expected a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise PageError(f"table: missing columns {missing}")
    return table


def _check_per_level(per_level) -> pd.DataFrame | None:
    if per_level is None:
        return None
    if not isinstance(per_level, pd.DataFrame):
        raise PageError(f"per_level: expected a pandas DataFrame, got {type(per_level).__name__}")
    need = ["level_id", "solve_rate"]
    if "result_id" not in per_level.columns:
        need += ["benchmark_id", "protocol", "submission_id"]
    missing = [c for c in need if c not in per_level.columns]
    if missing:
        raise PageError(f"per_level: missing columns {missing}")
    return per_level


# -- sections -----------------------------------------------------------------------------------


def _is_finetune(group: pd.DataFrame) -> bool:
    return str(group["protocol_id"].iloc[0]).startswith("finetune")


def _has_gains(group: pd.DataFrame) -> bool:
    return bool(group["gain_iqm"].notna().any())


def _ci_cell(v, lo, hi) -> str:
    ci = "" if _isnan(lo) and _isnan(hi) else f' <span class="ci">[{_f3(lo)}, {_f3(hi)}]</span>'
    return f'<td class="num" data-sort="{_sortkey(v)}">{_f3(v)}{ci}</td>'


def _row(r, gains: bool) -> str:
    band = "" if _isnan(r.band) else int(r.band)
    band_cls = f"band-{(band - 1) % len(plots.BAND_COLOURS) + 1}" if band != "" else "band-x"
    steps = "" if _isnan(r.env_steps) else int(r.env_steps)
    links, sep = [], " \u00b7 "
    for label, path in (("JSON", r.record_path), ("Parquet", r.per_level_path)):
        href = _href(path)
        if href:
            links.append(f'<a href="{_e(href)}" title="{_e(path)}">{label}</a>')
    sub = (
        f'<td class="sub" data-sort="{_e(r.submission_id)}"><span class="name">'
        f'{_e(r.submission_id)}</span><span class="kind" title="observations \u00b7 actions">'
        f"{_e(r.obs_type)} \u00b7 {_e(r.action_type)}</span></td>"
    )
    cells = [
        f'<td class="num" data-sort="{_sortkey(r.rank)}">{_e(r.rank)}</td>',
        f'<td data-sort="{band}"><span class="band {band_cls}">{band}</span></td>',
        sub,
        f'<td data-sort="{_e(r.architecture)}">{_e(r.architecture)}</td>',
        _ci_cell(r.iqm, r.iqm_ci_low, r.iqm_ci_high),
        _ci_cell(r.mean, r.mean_ci_low, r.mean_ci_high),
        _unit_cell(r),
        f'<td class="num" data-sort="{_sortkey(r.optimality_gap)}">{_f3(r.optimality_gap)}</td>',
    ]
    if gains:
        cells += [
            f'<td class="num" data-sort="{_sortkey(r.scratch_iqm)}">{_f3(r.scratch_iqm)}</td>',
            _ci_cell(r.gain_iqm, r.gain_ci_low, r.gain_ci_high),
        ]
    cells += [
        f'<td class="num" data-sort="{_sortkey(r.n_levels)}">{_e(r.n_levels)}</td>',
        _dataset_cell(r),
        f'<td class="num" data-sort="{steps}">{f"{steps:,}" if steps != "" else ""}</td>',
        f'<td class="links" data-sort="{_e(r.record_path)}">{sep.join(links)}</td>',
    ]
    attrs = (
        f'class="lb-row" id="row-{_e(_slug(str(r.result_id))[:24])}" '
        f'data-submission="{_e(r.submission_id)}" data-rank="{_e(r.rank)}" '
        f'data-band="{band}" data-iqm="{_sortkey(r.iqm)}" data-result-id="{_e(r.result_id)}" '
        f'data-ci-unit="{_e(_unit(r))}"'
    )
    return f"<tr {attrs}>" + "".join(cells) + "</tr>"


def _unit(r) -> str:
    """The row's ``ci_unit`` (tables before the column: episodes, or fine-tuning seeds)."""
    unit = getattr(r, "ci_unit", None)
    if isinstance(unit, str) and unit:
        return unit
    return "train_seed" if str(r.protocol_id).startswith("finetune") else "eval_episode"


def _unit_cell(r) -> str:
    """What the row's CIs resample: a badge, green for the submission's training seeds."""
    unit, n = _unit(r), getattr(r, "n_seeds", 1)
    kind = "seeds" if has_seed_ci(unit) else ("ft-seeds" if unit == "train_seed" else "episodes")
    return (
        f'<td class="ci-unit" data-sort="{_e(unit)}"><span class="unit unit-{kind}" '
        f'title="{_e(ci_title(unit))}">{_e(ci_label(unit, n))}</span></td>'
    )


_NUMERIC = {"rank", "iqm", "mean", "optimality_gap", "scratch_iqm", "gain_iqm", "n_levels",
            "env_steps"}  # fmt: skip


def _header_label(label: str) -> str:
    """``"IQM [95% CI]"`` -> ``IQM`` (with the sort arrow) over a small ``[95% CI]`` line."""
    main, bracket, rest = label.partition(" [")
    sub = f'<span class="ci">[{_e(rest)}</span>' if bracket else ""
    return f'<span class="h">{_e(main)}</span>{sub}'


def _table(group: pd.DataFrame, table_id: str) -> str:
    gains = _is_finetune(group) and _has_gains(group)
    heads = [
        ("rank", "rank", "Rank, 1 = best IQM"),
        ("band", "band", "Rank band: submissions whose 95% CIs overlap share a band"),
        ("submission", "submission", ""),
        ("architecture", "architecture", ""),
        ("iqm", "IQM [95% CI]", "Interquartile mean of per-level solve rates"),
        ("mean", "mean [95% CI]", "Mean per-level solve rate"),
        (
            "ci_unit",
            "CI over",
            "What each 95% CI resamples within every level: episodes (one trained policy), "
            "fine-tuning seeds, or the submission's training seeds (seeds x levels)",
        ),
        (
            "optimality_gap",
            "optimality gap",
            "Mean shortfall below a solve rate of 1; lower is better",
        ),
    ]
    if gains:
        heads += [
            ("scratch_iqm", "scratch IQM", "IQM of PPO from scratch, same budget"),
            ("gain_iqm", "gain [95% CI]", "IQM fine-tuned minus IQM from scratch"),
        ]
    heads += [
        ("n_levels", "levels", ""),
        ("dataset", "dataset", "The dataset commit (and origin) the record was scored on"),
        ("env_steps", "env steps", "Environment steps used"),
        ("record", "record", "The result record (JSON) and its per-level scores (Parquet)"),
    ]
    th = "".join(
        f'<th scope="col" data-col="{key}"'
        + (' class="num"' if key in _NUMERIC else "")
        + (' aria-sort="ascending"' if key == "rank" else "")
        + (f' title="{_e(tip)}"' if tip else "")
        + f">{_header_label(label)}</th>"
        for key, label, tip in heads
    )
    rows = "".join(_row(r, gains) for r in group.itertuples(index=False))
    return (
        f'<div class="table-wrap"><table class="lb-table" id="{table_id}">'
        f"<thead><tr>{th}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _level_matrix(group: pd.DataFrame, per_level: pd.DataFrame | None):
    """Level ids (first-seen order) and their ``(L, S)`` solve rates for the group's rows."""
    if per_level is None or per_level.empty:
        return [], []
    if "result_id" in per_level.columns:
        ids = dict(zip(group["result_id"], group["submission_id"], strict=True))
        sel = per_level[per_level["result_id"].isin(list(ids))].copy()
        sel["_sub"] = sel["result_id"].map(ids)
    else:
        b, p = group["benchmark_id"].iloc[0], group["protocol"].iloc[0]
        sel = per_level[(per_level["benchmark_id"] == b) & (per_level["protocol"] == p)].copy()
        sel = sel[sel["submission_id"].isin(list(group["submission_id"]))]
        sel["_sub"] = sel["submission_id"]
    if sel.empty:
        return [], []
    w = sel["attempts"].astype(float) if "attempts" in sel.columns else 1.0
    sel["_w"], sel["_ws"] = w, sel["solve_rate"].astype(float) * w
    agg = sel.groupby(["level_id", "_sub"], sort=False)[["_ws", "_w"]].sum()
    rate = (agg["_ws"] / agg["_w"]).to_dict()
    levels = list(dict.fromkeys(sel["level_id"]))
    subs = list(group["submission_id"])
    return levels, [[rate.get((lv, s), math.nan) for s in subs] for lv in levels]


_CAPTIONS = {
    "iqm": "IQM of per-level solve rates; whiskers: 95% CI; colour: rank band.",
    "heatmap": "Solve rate per level (rows) and submission (columns).",
    "gain": "IQM after fine-tuning minus IQM of PPO from scratch with the same budget; "
    "whiskers: 95% CI.",
}
_NO_LEVELS = '<p class="note">No per-level scores for this group.</p>'
_NO_GAINS = (
    '<p class="note">These fine-tune records have no from-scratch baseline, so there is no '
    "gain to plot.</p>"
)


def _figure(caption: str, svg: str, cls: str) -> str:
    return f'<figure class="plot-fig {cls}">{svg}<figcaption>{_e(caption)}</figcaption></figure>'


_UNVERIFIED_NOTE = (
    '<p class="note unverified-note">Scored in-process with <code>harness.evaluate_policy</code>'
    ": the policy's code is not in a submission the harness read and checked, so these entries "
    "are ranked only among themselves and never with the verified ones above.</p>"
)


def _split_verified(group: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(verified rows, unverified rows); a table without a ``verified`` column is all verified."""
    if "verified" not in group.columns:
        return group, group.iloc[:0]
    flag = group["verified"].astype(int) != 0
    return group[flag], group[~flag]


def _dataset_cell(r) -> str:
    """The dataset commit (and origin) a row was scored on, as a table cell."""
    commit, origin = str(r.dataset_commit), getattr(r, "dataset_origin", "") or ""
    label = _short_hash(commit)
    if origin and not commit.startswith(f"{origin}:"):
        label += f" ({origin})"
    return (
        f'<td class="dataset" data-sort="{_e(commit)}"><code title="{_e(commit)}">'
        f"{_e(label)}</code></td>"
    )


def _group_section(key, group: pd.DataFrame, per_level, sec_id: str) -> str:
    benchmark, protocol, level_set = (str(k) for k in key)
    commits = list(dict.fromkeys(str(c) for c in group["dataset_commit"]))
    full = group.sort_values("rank", kind="stable")
    group, unverified = _split_verified(full)
    first = full.iloc[0]
    n = len(group)
    extra = f" \u00b7 {len(unverified)} unverified" if len(unverified) else ""
    out = [
        f'<section class="group" id="{sec_id}" data-benchmark="{_e(benchmark)}" '
        f'data-protocol="{_e(protocol)}" data-level-set="{_e(level_set)}">'
        f'<h2>{_e(benchmark)} <span class="protocol">{_e(protocol)}</span></h2>'
        f'<p class="meta">level set <code title="{_e(level_set)}">'
        f"{_e(_short_hash(level_set))}</code> \u00b7 dataset "
        + ", ".join(f'<code title="{_e(c)}">{_e(_short_hash(c))}</code>' for c in commits)
        + f" \u00b7 {_e(first.n_levels)} levels "
        f"\u00b7 {n} submission{'s' if n != 1 else ''}{extra}</p>",
    ]
    if len(unverified):
        tail = [
            f'<h3 class="unverified">Unverified entries</h3>{_UNVERIFIED_NOTE}',
            _table(unverified, "table-" + sec_id + "-unverified"),
        ]
    else:
        tail = []
    if not n:  # only unverified entries: no ranking plots
        return "".join([*out, *tail, "</section>"])
    out += [_table(group, "table-" + sec_id), '<div class="plots">']
    names, col = list(group["submission_id"].astype(str)), lambda c: list(group[c])
    what = f"{benchmark}, {protocol}"
    svg = plots.interval_plot(names, col("iqm"), col("iqm_ci_low"), col("iqm_ci_high"),
                              col("band"), title=f"IQM solve rate with 95% CI: {what}")  # fmt: skip
    out.append(_figure(_CAPTIONS["iqm"], svg, "fig-iqm"))
    if benchmark.startswith("handmade"):
        levels, matrix = _level_matrix(group, per_level)
        labels = [str(lv).rsplit("/", 1)[-1] for lv in levels]
        svg = levels and plots.heatmap(levels, names, matrix, level_labels=labels,
                                       title=f"Per-level solve rate: {what}")  # fmt: skip
        out.append(_figure(_CAPTIONS["heatmap"], svg, "fig-heatmap") if levels else _NO_LEVELS)
    if _is_finetune(group) and _has_gains(group):
        svg = plots.gain_plot(names, col("gain_iqm"), col("gain_ci_low"), col("gain_ci_high"),
                              title=f"Fine-tuning gain: {what}")  # fmt: skip
        out.append(_figure(_CAPTIONS["gain"], svg, "fig-gain"))
    elif _is_finetune(group):
        out.append(_NO_GAINS)
    out.append("</div>")
    return "".join([*out, *tail, "</section>"])


def _header(table: pd.DataFrame, title: str, generated_at: str, sections) -> str:
    n_rec = int(table["result_id"].nunique())
    latest = str(table["created_at"].max()) if len(table) else "\u2013"
    nav = "".join(
        f'<li><a href="#{sid}">{_e(b)} <span class="protocol">{_e(p)}</span></a> '
        f'<span class="count">{n} submission{"s" if n != 1 else ""}</span></li>'
        for sid, b, p, n in sections
    )
    has_ft = any(_is_finetune(g) for _, g in table.groupby(GROUP_KEYS, sort=False))
    ft_note = (
        ""
        if has_ft
        else '<p class="note" id="finetune-note">No fine-tuning records yet: the fine-tuning '
        "gain plot appears once a fine-tune protocol record is in the leaderboard.</p>"
    )
    return (
        f'<header><h1>{_e(title)}</h1><p class="generated">Generated <time>{_e(generated_at)}'
        f"</time> from {n_rec} result record{'s' if n_rec != 1 else ''} (latest record "
        f"{_e(latest)}).</p>"
        '<div class="explain"><p><b>How to read it.</b> Every submission is scored on a '
        "benchmark's fixed level set. A level's score is its solve rate over the evaluation "
        "episodes (or training seeds, for fine-tuning). <b>IQM</b> is the interquartile mean of "
        "the level scores: the mean of the middle 50%, robust to a few outlier levels. The "
        "<b>95% CI</b> comes from a stratified bootstrap (levels are strata; within each level "
        "it resamples what the <b>CI over</b> column says: the evaluation episodes of one "
        "trained policy, the fine-tuning seeds, or, for a submission of several training "
        "seeds, the seeds themselves, as rliable does over runs x tasks; only the last shows "
        "how much a method depends on its training seed): a basic interval for the IQM, whose "
        "resamples are biased low when many levels are never solved, a percentile interval "
        "for the mean. "
        "Rank is by IQM; submissions whose CIs "
        "overlap share a <b>band</b>, so only a band change is a clear difference. The "
        "optimality gap is the mean shortfall below a solve rate of 1 (lower is better).</p>"
        "<p><b>Built only from result records.</b> Each row comes from one committed result "
        "record (JSON, with its per-level Parquet, linked in the last column); records are "
        "grouped by benchmark, protocol and level set (the same levels from the bundled copy or "
        "the Hub release rank together; each row names its dataset commit) and never mixed "
        "across them.</p>"
        f'</div>{ft_note}<nav><ul class="toc">{nav}</ul></nav></header>'
    )


def build_html(
    table: pd.DataFrame,
    per_level=None,
    *,
    gallery=None,
    tiers: pd.DataFrame | None = None,
    title=DEFAULT_TITLE,
    generated_at: str | None = None,
) -> str:
    """The page as a string (see :func:`render_page`; the same checks, nothing written)."""
    from harness.leaderboard.tiers import tier_html

    table = _check_table(table)
    per_level = _check_per_level(per_level)
    items = check_gallery(gallery, PageError)
    if generated_at is None:
        generated_at = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body, sections, used = [], [], set()
    for key, group in table.groupby(GROUP_KEYS, sort=False):
        sid = "g-" + _slug(f"{key[0]}--{key[1]}--{_short_hash(key[2], 8)}")
        while sid in used:
            sid += "-x"
        used.add(sid)
        sections.append((sid, key[0], key[1], len(group)))
        body.append(_group_section(key, group, per_level, sid))
    if not sections:
        body.append(
            '<section class="group empty"><p class="note">No result records yet.</p></section>'
        )
    if tiers is not None:
        body.append(tier_html(tiers))
    if items:
        body.append(render_gallery(items))
    script_hash = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="kinetix-bench harness.leaderboard.page">'
        f"<title>{_e(title)}</title><style>{_CSS}{_band_css()}</style></head><body><main>"
        + _header(table, title, generated_at, sections)
        + "".join(body)
        + "<footer>Static page: no server, no external assets. Rebuild it with "
        "<code>kinetix-bench leaderboard build</code>.</footer></main>"
        f"<script>{_JS}</script></body></html>\n"
    )


def render_page(
    table: pd.DataFrame,
    per_level,
    out_path,
    *,
    gallery=None,
    tiers: pd.DataFrame | None = None,
    title=DEFAULT_TITLE,
    generated_at: str | None = None,
) -> Path:
    """Write the leaderboard as one self-contained HTML file, atomically; return its path.

    ``table``: the leaderboard table (columns as ``build_table``; at least :data:`TABLE_COLUMNS`),
    one section per (benchmark_id, protocol, level_set_sha256) in table order, rows by rank.
    ``per_level``: per-level scores (``level_id``, ``solve_rate``, optional ``attempts`` as the
    weight, matched to rows by ``result_id``, else by benchmark_id/protocol/submission_id), or
    None; feeds the heat map of each hand-made group. ``gallery``: list of ``{level_id, config,
    thumbnail_png: bytes, solved_by: {submission_id: rate}}`` or None. ``tiers``: the per-tier
    results (:func:`harness.leaderboard.tiers.tier_table`) or None. ``generated_at``: the
    timestamp shown (default: now, UTC). Raises :class:`PageError` on bad input.
    """
    doc = build_html(
        table, per_level, gallery=gallery, tiers=tiers, title=title, generated_at=generated_at
    )
    path = Path(out_path)
    atomic_write_text(path, doc)
    return path
