"""Hand-written inline SVG plots for the leaderboard page (no matplotlib, no external assets).

Every function returns one ``<svg>`` element as a string, sized in CSS pixels through ``width``,
``height`` and a matching ``viewBox`` (the page's CSS scales it down on narrow screens). Every
string that reaches the SVG (submission names, level ids) is escaped with :func:`html.escape`;
long labels are shortened on screen and given in full in a ``<title>`` tooltip. No element ids
are used, so any number of plots can share one HTML document.

* :func:`interval_plot`: one row per submission, a point at the IQM and a whisker over its 95%
  confidence interval, coloured by rank band (rliable's interval-estimate plot); the axis runs
  from 0 to a round value just above the largest bound (1 at most).
* :func:`heatmap`: levels x submissions grid of solve rates with a discrete colour scale.
* :func:`gain_plot`: fine-tuning gain over from-scratch training, bars from zero with whiskers.

Values are solve rates in [0, 1] (gains in [-1, 1]); NaN marks a missing value and is drawn as
"n/a", never as zero.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

__all__ = ["BAND_COLOURS", "band_colour", "heat_colour", "interval_plot", "heatmap", "gain_plot"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
AXIS = "#4b5563"
GRID = "#e5e7eb"
TEXT = "#111827"
MISSING = "#d1d5db"
# Categorical colours for rank bands 1, 2, ... (cycled).
BAND_COLOURS = (
    "#2563eb",
    "#16a34a",
    "#d97706",
    "#dc2626",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
)
# Sequential scale for solve rates (dark purple -> blue -> teal -> green -> yellow).
_HEAT_STOPS = (
    (0.00, (68, 1, 84)),
    (0.25, (59, 82, 139)),
    (0.50, (33, 145, 140)),
    (0.75, (94, 201, 98)),
    (1.00, (253, 231, 37)),
)
_CHAR_W = 7.0  # generous width of one character of 12 px text, in px


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _short(label: str, max_chars: int) -> str:
    return label if len(label) <= max_chars else label[: max_chars - 1] + "\u2026"


def _num(x: float) -> str:
    """A coordinate with at most 2 decimals (keeps the SVG small and crisp)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def band_colour(band) -> str:
    """Colour of rank band ``band`` (1 = top); grey when the band is missing."""
    if not _finite(band) or int(band) < 1:
        return "#6b7280"
    return BAND_COLOURS[(int(band) - 1) % len(BAND_COLOURS)]


def heat_colour(value) -> str:
    """Hex colour of a solve rate on the sequential scale; grey for NaN."""
    if not _finite(value):
        return MISSING
    v = min(max(float(value), 0.0), 1.0)
    for (a, ca), (b, cb) in zip(_HEAT_STOPS, _HEAT_STOPS[1:], strict=False):
        if v <= b:
            t = (v - a) / (b - a)
            rgb = [round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*_HEAT_STOPS[-1][1])


def _text_colour(value) -> str:
    """Black or white, whichever reads better on ``heat_colour(value)``."""
    if not _finite(value):
        return TEXT
    c = heat_colour(value)
    r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
    return TEXT if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten)."""
    if not (_finite(lo) and _finite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks, t = [], first
    while t <= hi + step * 1e-6:
        if t >= lo - step * 1e-6:
            ticks.append(round(t, 10))
        t += step
    return ticks


def _tick_label(t: float) -> str:
    return f"{t:.2f}".rstrip("0").rstrip(".") if t != 0 else "0"


def _svg_open(width: float, height: float, label: str, cls: str) -> str:
    return (
        f'<svg class="plot {cls}" width="{_num(width)}" '
        f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
        f'aria-label="{_e(label)}" font-family="{_e(FONT)}" font-size="12" fill="{TEXT}">'
        f"<title>{_e(label)}</title>"
    )


def _x_axis(x0: float, x1: float, y_top: float, y_axis: float, dom, ticks, label: str) -> str:
    """Vertical grid lines at ``ticks``, a baseline at ``y_axis``, tick labels and a title."""
    lo, hi = dom
    sx = lambda v: x0 + (v - lo) / (hi - lo) * (x1 - x0)
    out = []
    for t in ticks:
        x = _num(sx(t))
        colour = AXIS if t == 0 else GRID
        out.append(
            f'<line x1="{x}" y1="{_num(y_top)}" x2="{x}" y2="{_num(y_axis)}" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{x}" y="{_num(y_axis + 15)}" text-anchor="middle" fill="{AXIS}">'
            f"{_tick_label(t)}</text>"
        )
    out.append(
        f'<line x1="{_num(x0)}" y1="{_num(y_axis)}" x2="{_num(x1)}" y2="{_num(y_axis)}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    out.append(
        f'<text x="{_num((x0 + x1) / 2)}" y="{_num(y_axis + 34)}" text-anchor="middle" '
        f'font-weight="600">{_e(label)}</text>'
    )
    return "".join(out)


def _rows_geometry(names: Sequence[str], max_chars: int = 30):
    shown = [_short(str(n), max_chars) for n in names]
    left = 16 + _CHAR_W * max([len(s) for s in shown] + [8])
    return shown, left


def interval_plot(
    names: Sequence[str],
    values: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    bands: Sequence[int],
    *,
    title: str = "IQM solve rate with 95% CI",
    axis_label: str = "IQM of per-level solve rate (95% CI)",
    width: int = 760,
) -> str:
    """Point-and-whisker plot, one row per submission (in the order given).

    ``values``/``lows``/``highs``: IQM and CI bounds in [0, 1] (NaN: drawn as "n/a");
    ``bands``: rank band per submission, which picks the colour. Returns an ``<svg>`` string.
    """
    n = len(names)
    shown, left = _rows_geometry(names)
    row_h, top, right, bottom = 26, 34, 24, 46
    height = top + max(n, 1) * row_h + bottom
    x0, x1 = left, width - right
    finite = [float(v) for v in (*values, *lows, *highs) if _finite(v)]
    # From 0 to a round value just above the largest bound (at most 1), so that small scores
    # stay readable; values outside [0, 1] widen the axis.
    top_v = max([0.0, *finite]) * 1.05
    steps = {0.05: 0.01, 0.1: 0.02, 0.2: 0.05, 0.25: 0.05, 0.5: 0.1, 1.0: 0.25}
    upper = next((u for u in steps if u >= top_v), top_v)
    dom = (min([0.0, *finite]), upper)
    if dom[0] == 0.0 and upper in steps:
        ticks = [round(k * steps[upper], 10) for k in range(round(upper / steps[upper]) + 1)]
    else:
        ticks = nice_ticks(*dom)
    sx = lambda v: x0 + (float(v) - dom[0]) / (dom[1] - dom[0]) * (x1 - x0)
    y_axis = top + max(n, 1) * row_h
    out = [_svg_open(width, height, title, "plot-iqm")]
    out.append(_x_axis(x0, x1, top - 4, y_axis, dom, ticks, axis_label))
    # Legend: marker meaning, then the bands present.
    lx = x0
    out.append(
        f'<g class="legend"><circle cx="{_num(lx + 5)}" cy="13" r="4.5" fill="{AXIS}"/>'
        f'<text x="{_num(lx + 14)}" y="17">IQM</text>'
        f'<line x1="{_num(lx + 50)}" y1="13" x2="{_num(lx + 74)}" y2="13" stroke="{AXIS}" '
        f'stroke-width="2"/><text x="{_num(lx + 80)}" y="17">95% CI</text>'
    )
    lx += 140
    for b in sorted({int(b) for b in bands if _finite(b)}):
        out.append(
            f'<rect x="{_num(lx)}" y="7" width="12" height="12" rx="2" fill="{band_colour(b)}"/>'
            f'<text x="{_num(lx + 17)}" y="17">band {b}</text>'
        )
        lx += 74
    out.append("</g>")
    for i in range(n):
        y = top + i * row_h + row_h / 2
        name, v, lo, hi, b = names[i], values[i], lows[i], highs[i], bands[i]
        colour = band_colour(b)
        tip = f"{name}: IQM {_fmt(v)} [{_fmt(lo)}, {_fmt(hi)}], band {b}"
        out.append(f'<g class="row"><title>{_e(tip)}</title>')
        if i % 2 == 0:
            out.append(
                f'<rect x="{_num(x0)}" y="{_num(y - row_h / 2)}" '
                f'width="{_num(x1 - x0)}" height="{row_h}" fill="#f9fafb"/>'
            )
        out.append(
            f'<text x="{_num(x0 - 8)}" y="{_num(y + 4)}" text-anchor="end">{_e(shown[i])}</text>'
        )
        if _finite(lo) and _finite(hi):
            out.append(
                f'<line x1="{_num(sx(lo))}" y1="{_num(y)}" x2="{_num(sx(hi))}" y2="{_num(y)}" '
                f'stroke="{colour}" stroke-width="2.5" stroke-linecap="round"/>'
            )
            for xb in (sx(lo), sx(hi)):
                out.append(
                    f'<line x1="{_num(xb)}" y1="{_num(y - 5)}" x2="{_num(xb)}" '
                    f'y2="{_num(y + 5)}" stroke="{colour}" stroke-width="2"/>'
                )
        if _finite(v):
            out.append(
                f'<circle cx="{_num(sx(v))}" cy="{_num(y)}" r="5" fill="{colour}" '
                f'stroke="#ffffff" stroke-width="1.5"/>'
            )
        else:
            out.append(f'<text x="{_num(x0 + 6)}" y="{_num(y + 4)}" fill="{AXIS}">n/a</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _fmt(x) -> str:
    return f"{float(x):.3f}" if _finite(x) else "n/a"


def heatmap(
    level_ids: Sequence[str],
    submissions: Sequence[str],
    values,
    *,
    level_labels: Sequence[str] | None = None,
    title: str = "Per-level solve rate",
    cell_w: int = 58,
    cell_h: int = 20,
) -> str:
    """Levels (rows) x submissions (columns) grid of solve rates with a colour legend.

    ``values[i][j]`` is the solve rate of submission ``j`` on level ``i`` (NaN: not evaluated,
    drawn grey with "n/a"); ``level_labels`` are the row labels shown (default: the ids), the
    full level id is in each row's and cell's ``<title>``. Returns an ``<svg>`` string.
    """
    labels = list(level_labels) if level_labels is not None else [str(x) for x in level_ids]
    n_l, n_s = len(level_ids), len(submissions)
    shown, left = _rows_geometry(labels, max_chars=28)
    sub_shown = [_short(str(s), 22) for s in submissions]
    # Column labels are drawn at -40 degrees above the grid.
    top = 24 + _CHAR_W * max([len(s) for s in sub_shown] + [6]) * math.sin(math.radians(40))
    # Room on the right for the legend and for the last column's label, which leans right.
    last = _CHAR_W * (len(sub_shown[-1]) if sub_shown else 0) * math.cos(math.radians(40))
    width = left + max(n_s, 1) * cell_w + max(96.0, last - cell_w / 2 + 8)
    legend_h = 10 * 12 + 30  # colour steps, then the n/a swatch
    height = top + max(max(n_l, 1) * cell_h, legend_h) + 16
    out = [_svg_open(width, height, title, "plot-heatmap")]
    for j, s in enumerate(sub_shown):
        cx, cy = left + j * cell_w + cell_w / 2, top - 8
        out.append(
            f'<text x="{_num(cx)}" y="{_num(cy)}" transform="rotate(-40 {_num(cx)} {_num(cy)})" '
            f'text-anchor="start"><title>{_e(submissions[j])}</title>{_e(s)}</text>'
        )
    for i, lid in enumerate(level_ids):
        y = top + i * cell_h
        out.append(f'<g class="level-row" data-level-id="{_e(lid)}"><title>{_e(lid)}</title>')
        out.append(
            f'<text x="{_num(left - 8)}" y="{_num(y + cell_h / 2 + 4)}" text-anchor="end">'
            f"{_e(shown[i])}</text>"
        )
        for j in range(n_s):
            v = values[i][j]
            x = left + j * cell_w
            tip = f"{lid}\n{submissions[j]}: solve rate {_fmt(v)}"
            out.append(
                f'<rect class="cell" x="{_num(x + 0.5)}" y="{_num(y + 0.5)}" '
                f'width="{cell_w - 1}" height="{cell_h - 1}" fill="{heat_colour(v)}">'
                f"<title>{_e(tip)}</title></rect>"
                f'<text x="{_num(x + cell_w / 2)}" y="{_num(y + cell_h / 2 + 4)}" '
                f'text-anchor="middle" font-size="11" fill="{_text_colour(v)}" '
                f'pointer-events="none">{"n/a" if not _finite(v) else f"{float(v):.2f}"}</text>'
            )
        out.append("</g>")
    # Legend: a discrete vertical colour bar, 1 at the top, 0 at the bottom, and the n/a swatch.
    lx, ly, steps, step_h = left + n_s * cell_w + 22, top, 10, 12
    out.append(
        f'<g class="legend"><text x="{_num(lx)}" y="{_num(ly - 8)}" font-weight="600">'
        "solve rate</text>"
    )
    for k in range(steps):
        v = 1 - (k + 0.5) / steps
        out.append(
            f'<rect x="{_num(lx)}" y="{_num(ly + k * step_h)}" width="16" '
            f'height="{step_h}" fill="{heat_colour(v)}"/>'
        )
    for v in (1.0, 0.5, 0.0):
        ty = ly + (1 - v) * steps * step_h
        out.append(
            f'<line x1="{_num(lx + 16)}" y1="{_num(ty)}" x2="{_num(lx + 20)}" y2="{_num(ty)}" '
            f'stroke="{AXIS}"/><text x="{_num(lx + 23)}" y="{_num(ty + 4)}" fill="{AXIS}">'
            f"{_tick_label(v)}</text>"
        )
    ny = ly + steps * step_h + 12
    out.append(
        f'<rect x="{_num(lx)}" y="{_num(ny)}" width="16" height="12" fill="{MISSING}"/>'
        f'<text x="{_num(lx + 23)}" y="{_num(ny + 10)}" fill="{AXIS}">n/a</text></g>'
    )
    out.append("</svg>")
    return "".join(out)


def gain_plot(
    names: Sequence[str],
    gains: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    *,
    title: str = "Fine-tuning gain over from-scratch training (IQM, 95% CI)",
    axis_label: str = "IQM gain: fine-tuned minus from scratch (95% CI)",
    width: int = 760,
) -> str:
    """Horizontal bars from 0 to each submission's gain, with a whisker over its 95% CI.

    Gains are differences of solve-rate IQMs, in [-1, 1]; positive bars are green, negative
    red; NaN rows say "n/a". Returns an ``<svg>`` string.
    """
    n = len(names)
    shown, left = _rows_geometry(names)
    row_h, top, right, bottom = 28, 34, 24, 46
    height = top + max(n, 1) * row_h + bottom
    x0, x1 = left, width - right
    finite = [abs(float(v)) for v in (*gains, *lows, *highs) if _finite(v)]
    m = max([0.05, *finite])
    step = nice_ticks(-m, m)[1] - nice_ticks(-m, m)[0]
    m = math.ceil(m / step - 1e-9) * step  # the domain ends on a tick
    ticks = nice_ticks(-m, m)
    dom = (-m, m)
    sx = lambda v: x0 + (float(v) - dom[0]) / (dom[1] - dom[0]) * (x1 - x0)
    y_axis = top + max(n, 1) * row_h
    pos, neg = "#16a34a", "#dc2626"
    out = [_svg_open(width, height, title, "plot-gain")]
    out.append(_x_axis(x0, x1, top - 4, y_axis, dom, ticks, axis_label))
    out.append(
        f'<g class="legend"><rect x="{_num(x0)}" y="7" width="12" height="12" fill="{pos}"/>'
        f'<text x="{_num(x0 + 17)}" y="17">gain</text>'
        f'<rect x="{_num(x0 + 60)}" y="7" width="12" height="12" fill="{neg}"/>'
        f'<text x="{_num(x0 + 77)}" y="17">loss</text>'
        f'<line x1="{_num(x0 + 120)}" y1="13" x2="{_num(x0 + 144)}" y2="13" stroke="{TEXT}" '
        f'stroke-width="1.5"/><text x="{_num(x0 + 150)}" y="17">95% CI</text></g>'
    )
    for i in range(n):
        y = top + i * row_h + row_h / 2
        g, lo, hi = gains[i], lows[i], highs[i]
        tip = f"{names[i]}: gain {_fmt(g)} [{_fmt(lo)}, {_fmt(hi)}]"
        out.append(f'<g class="row"><title>{_e(tip)}</title>')
        out.append(
            f'<text x="{_num(x0 - 8)}" y="{_num(y + 4)}" text-anchor="end">{_e(shown[i])}</text>'
        )
        if _finite(g):
            xa, xb = sorted((sx(0), sx(g)))
            out.append(
                f'<rect x="{_num(xa)}" y="{_num(y - 8)}" width="{_num(max(xb - xa, 1))}" '
                f'height="16" rx="2" fill="{pos if float(g) >= 0 else neg}" opacity="0.85"/>'
            )
        else:
            out.append(f'<text x="{_num(sx(0) + 6)}" y="{_num(y + 4)}" fill="{AXIS}">n/a</text>')
        if _finite(lo) and _finite(hi):
            out.append(
                f'<line x1="{_num(sx(lo))}" y1="{_num(y)}" x2="{_num(sx(hi))}" y2="{_num(y)}" '
                f'stroke="{TEXT}" stroke-width="1.5"/>'
                f'<line x1="{_num(sx(lo))}" y1="{_num(y - 5)}" x2="{_num(sx(lo))}" '
                f'y2="{_num(y + 5)}" stroke="{TEXT}" stroke-width="1.5"/>'
                f'<line x1="{_num(sx(hi))}" y1="{_num(y - 5)}" x2="{_num(sx(hi))}" '
                f'y2="{_num(y + 5)}" stroke="{TEXT}" stroke-width="1.5"/>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
