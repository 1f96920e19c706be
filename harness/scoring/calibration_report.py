"""Markdown summaries of calibration measurements (``levels calibrate --report``).

:func:`calibration_summary` groups measurement rows (``{level_id: row}``, as
:mod:`harness.scoring.calibration` writes them) by size group (:func:`kinetix_size_group` of the
id: ``handmade-m/...`` -> ``m``, ``kinetix-l/s/...`` -> ``s``) and counts, per group: the levels,
how many break each of v2's policy-free rules (no-op solves; more than
:data:`~harness.scoring.calibration.MAX_CONSTANT_SOLVES` of the 324 constant actions solve;
random-policy solve rate of :data:`~harness.scoring.calibration.MAX_RANDOM_SOLVE_RATE` or more),
how many pass all three, the median number of solving constant actions, the mean random-policy
solve rate, and the tiers where from-scratch PPO has placed levels. :func:`calibration_levels`
is the per-level table. Both return Markdown text.
"""

from __future__ import annotations

import numpy as np

from harness.scoring.calibration import MAX_CONSTANT_SOLVES, MAX_RANDOM_SOLVE_RATE, broken_rules

__all__ = ["calibration_summary", "calibration_levels"]


def _group(level_id: str) -> str:
    from harness.levels.registry import kinetix_size_group

    return kinetix_size_group(level_id) or "-"


def _groups(rows: dict[str, dict]) -> dict[str, list[tuple[str, dict]]]:
    out: dict[str, list[tuple[str, dict]]] = {}
    for lid, row in sorted(rows.items()):
        out.setdefault(_group(lid), []).append((lid, row))
    order = {"s": 0, "m": 1, "l": 2}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 3)))


def _summary_row(name: str, items: list[tuple[str, dict]]) -> list[str]:
    rows = [r for _, r in items]
    const = np.array([r["constant_solves"] for r in rows])
    rand = np.array([r["random_solve_rate"] for r in rows])
    tiers = [r.get("tier") for r in rows]
    tiered = ", ".join(f"{t} {tiers.count(t)}" for t in ("easy", "medium", "hard") if t in tiers)
    return [
        name,
        str(len(rows)),
        str(sum(bool(r["noop_solved"]) for r in rows)),
        str(int((const > MAX_CONSTANT_SOLVES).sum())),
        str(int((rand >= MAX_RANDOM_SOLVE_RATE).sum())),
        str(sum(not broken_rules(r) for r in rows)),
        f"{np.median(const):g}",
        f"{rand.mean():.2f}",
        tiered or "-",
    ]


def _table(head: list[str], body: list[list[str]], left: int) -> str:
    align = ["---"] * left + ["---:"] * (len(head) - left)
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def calibration_summary(rows: dict[str, dict]) -> str:
    """Per size group and overall (module doc), as a Markdown table."""
    if not rows:
        return "_No measurements._"
    groups = _groups(rows)
    body = [_summary_row(g, items) for g, items in groups.items()]
    if len(groups) > 1:
        body.append(_summary_row("all", [x for items in groups.values() for x in items]))
    head = ["size", "levels", "no-op solves", f"> {MAX_CONSTANT_SOLVES} of 324 constants"]
    head += [f"random >= {MAX_RANDOM_SOLVE_RATE}", "pass all three", "median constants"]
    head += ["mean random", "tiers"]
    return _table(head, body, 1)


def calibration_levels(rows: dict[str, dict]) -> str:
    """One Markdown row per level: constants solving, best constant, random rate, no-op,
    scratch PPO per budget, tier and the rules it breaks."""
    if not rows:
        return "_No measurements._"
    body = []
    for items in _groups(rows).values():
        for lid, r in items:
            ppo = [r.get(f"scratch_solve_rate_{b}") for b in ("1e5", "1e6")]
            body.append(
                [
                    f"`{lid}`",
                    f"{r['constant_solves']}",
                    f"{r['random_solve_rate']:.2f}",
                    "yes" if r["noop_solved"] else "no",
                    *("-" if p is None else f"{p:.2f}" for p in ppo),
                    r.get("tier") or "-",
                    "; ".join(broken_rules(r)) or "-",
                ]
            )
    head = ["level", "constants solving", "random", "no-op solves", "PPO@1e5", "PPO@1e6"]
    head += ["tier", "breaks"]
    return _table(head, body, 1)
