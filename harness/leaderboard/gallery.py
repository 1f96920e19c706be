"""HTML for the gallery of hand-made levels on the leaderboard page.

The gallery is a grid of cards, one per level, grouped by dataset config (in the order given):
the level's thumbnail embedded as a base64 PNG ``data:`` URI (no external files), its id, its
config, the best solve rate any submission reached on it, its measured difficulty when the
calibration store has it (tier, constant actions that solve it, random policy, from-scratch PPO;
:mod:`harness.leaderboard.gallery_data`) and, when the build made them
(:mod:`harness.leaderboard.gallery_gifs`), links to GIFs of the reference agents on it (files
beside the page, relative links). :func:`check_gallery` validates the input (``render_page``
calls it first); every string is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import urllib.parse

__all__ = ["check_gallery", "png_size", "render_gallery"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` in pixels from a PNG's IHDR chunk, or None if it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    return int(w), int(h)


def _best(solved_by: dict) -> tuple[float, list[str]]:
    """Best finite rate and the submissions that reach it (NaN when there is none)."""
    rates = {str(k): float(v) for k, v in solved_by.items() if math.isfinite(float(v))}
    if not rates:
        return math.nan, []
    top = max(rates.values())
    return top, sorted(k for k, v in rates.items() if v == top)


def _rate(x) -> str:
    return "-" if x is None else f"{float(x):.2f}"


def _measured(m: dict | None) -> str:
    """The card's tier badge and line of calibration figures ('' when not measured)."""
    if not m:
        return ""
    tier = m.get("tier")
    badge = (
        f'<span class="tier tier-{_e(tier)}">{_e(tier)}</span>'
        if tier
        else '<span class="tier tier-none">no tier yet</span>'
    )
    parts = []
    if m.get("constant_solves") is not None:
        parts.append(f"constant {int(m['constant_solves'])}/324")
    if m.get("random_solve_rate") is not None:
        parts.append(f"random {_rate(m['random_solve_rate'])}")
    for budget in ("1e5", "1e6"):
        if m.get(f"scratch_solve_rate_{budget}") is not None:
            parts.append(f"PPO@{budget} {_rate(m[f'scratch_solve_rate_{budget}'])}")
    if m.get("noop_solved"):
        parts.append("no-op solves")
    line = " \u00b7 ".join(parts)
    return f'<span class="measured">{badge} {_e(line)}</span>'


def _card(item: dict) -> str:
    level_id, config = str(item["level_id"]), str(item["config"])
    png = bytes(item["thumbnail_png"])
    size = png_size(png)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    solved_by = item.get("solved_by") or {}
    rate, who = _best(solved_by)
    if who:
        names = ", ".join(who[:3]) + (f" +{len(who) - 3}" if len(who) > 3 else "")
        best = f'best <b>{rate:.2f}</b> <span class="who">{_e(names)}</span>'
        rank = sorted(solved_by.items(), key=lambda kv: (-float(kv[1]), str(kv[0])))
        tip = "\n".join(f"{k}: {float(v):.3f}" for k, v in rank)
        data_rate = f"{rate:.6g}"
    else:
        best, tip, data_rate = '<span class="who">not evaluated</span>', "", ""
    name = level_id.rsplit("/", 1)[-1]
    links = [
        f'<a href="{_e(urllib.parse.quote(g["href"], safe="/"))}" '
        f'title="{_e(g["submission_id"] + " on " + level_id)}">{_e(g["submission_id"])}</a>'
        for g in item.get("gifs") or ()
    ]
    sep = " \u00b7 "
    gif = f'<span class="gifs">GIF: {sep.join(links)}</span>' if links else ""
    tier = (item.get("measured") or {}).get("tier") or ""
    return (
        f'<figure class="level-card" data-level-id="{_e(level_id)}" data-config="{_e(config)}" '
        f'data-best-rate="{data_rate}" data-tier="{_e(tier)}" title="{_e(tip)}">'
        f'<img src="{uri}" alt="{_e("level " + level_id)}"{dims}>'
        f'<figcaption><span class="level-name">{_e(name)}</span>'
        f'<code class="level-id">{_e(level_id)}</code>'
        f'<span class="best">{best}</span>{_measured(item.get("measured"))}{gif}'
        "</figcaption></figure>"
    )


def check_gallery(gallery, error: type[Exception] = ValueError) -> list[dict]:
    """The gallery items as a list, checked; ``error`` (naming the item and field) if bad."""
    if gallery is None:
        return []
    if isinstance(gallery, (str, bytes, dict)) or not hasattr(gallery, "__iter__"):
        raise error(f"gallery: expected a list of dicts, got {type(gallery).__name__}")
    items = list(gallery)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise error(f"gallery[{i}]: expected a dict, got {type(item).__name__}")
        for key in ("level_id", "config"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise error(f"gallery[{i}].{key}: expected a non-empty string")
        png = item.get("thumbnail_png")
        if not isinstance(png, (bytes, bytearray)) or not bytes(png).startswith(PNG_SIGNATURE):
            raise error(f"gallery[{i}].thumbnail_png: expected PNG bytes")
        for j, g in enumerate(item.get("gifs") or ()):
            href = g.get("href") if isinstance(g, dict) else None
            if (
                not isinstance(href, str)
                or not href.endswith(".gif")
                or href.startswith("/")
                or ":" in href
                or ".." in href.split("/")
                or not isinstance(g.get("submission_id"), str)
            ):
                raise error(
                    f"gallery[{i}].gifs[{j}]: expected {{submission_id, href}} with a relative "
                    f".gif href, got {g!r}"
                )
        measured = item.get("measured")
        if measured is not None and not isinstance(measured, dict):
            raise error(f"gallery[{i}].measured: expected a dict of calibration fields or None")
        tier = (measured or {}).get("tier")
        if tier is not None and tier not in ("easy", "medium", "hard"):
            raise error(f"gallery[{i}].measured.tier: expected easy, medium, hard or None")
        for key, value in (measured or {}).items():
            if key != "tier" and value is not None and not isinstance(value, (int, float)):
                raise error(f"gallery[{i}].measured.{key}: expected a number, got {value!r}")
        solved = item.get("solved_by")
        if solved is not None and not isinstance(solved, dict):
            raise error(f"gallery[{i}].solved_by: expected a dict of solve rates or None")
        for name, rate in (solved or {}).items():
            try:
                float(rate)
            except (TypeError, ValueError):
                raise error(
                    f"gallery[{i}].solved_by[{name!r}]: expected a number, got {rate!r}"
                ) from None
    return items


def render_gallery(items: list[dict]) -> str:
    """The gallery ``<section>``: one ``<h3>`` and card grid per config, in order of first use.

    ``items``: dicts ``{level_id: str, config: str, thumbnail_png: bytes, solved_by:
    {submission_id: solve rate in [0, 1]} or None, gifs: [{submission_id, href}] (optional),
    measured: {tier, constant_solves, random_solve_rate, scratch_solve_rate_1e5, ...} or None}``.
    """
    configs: dict[str, list[dict]] = {}
    for item in items:
        configs.setdefault(str(item["config"]), []).append(item)
    out = [
        '<section class="gallery" id="gallery"><h2>Hand-made levels</h2>'
        '<p class="note">Each card shows the level\'s first frame, its id and the best solve '
        "rate any submission reached on it (hover for every submission's rate), and its measured "
        "difficulty: how many of the 324 constant actions solve it, the random policy's solve "
        "rate and from-scratch PPO's at the fine-tuning budgets. Tiers: <b>easy</b> when "
        "scratch PPO reaches 0.8 at 1e5 env steps, <b>medium</b> when it reaches 0.5 at 1e6, "
        "<b>hard</b> below that.</p>"
    ]
    for config, group in configs.items():
        out.append(
            f'<h3 class="gallery-config">{_e(config)} <span class="count">{len(group)} '
            f"level{'s' if len(group) != 1 else ''}</span></h3>"
        )
        out.append('<div class="cards">' + "".join(_card(item) for item in group) + "</div>")
    out.append("</section>")
    return "".join(out)
