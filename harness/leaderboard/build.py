"""One call that rebuilds every leaderboard output from the result records.

:func:`build_leaderboard` is what ``kinetix-bench leaderboard build``, ``kinetix-bench queue run``
and ``kinetix-bench leaderboard refresh`` run: collect and validate the records under
``ROOT/records`` (and any extra folders), rank them (:mod:`harness.leaderboard.table`), write
``ROOT/leaderboard.parquet`` and ``ROOT/leaderboard.csv``, the Markdown block of
``ROOT/README.md`` (:mod:`harness.leaderboard.markdown`) and the static ``ROOT/index.html``
(:mod:`harness.leaderboard.page`, with the gallery of the hand-made levels). Every file is
written atomically; a failure leaves the previous outputs in place.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.leaderboard.table import LeaderboardError

__all__ = ["BuildResult", "build_leaderboard"]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What :func:`build_leaderboard` wrote.

    Attributes:
        root: the leaderboard folder.
        files: paths written, in order (table Parquet, CSV, README.md, index.html).
        records: number of record files read.
        rows: rows of the table (ranked results).
        groups: (benchmark, protocol, level set) groups.
        notes: what was left out or replaced, one line each.
        skipped: invalid records left out (``skip_invalid``), one line each.
    """

    root: Path
    files: tuple[Path, ...]
    records: int
    rows: int
    groups: int
    notes: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def build_leaderboard(
    root: str | os.PathLike | None = None,
    *,
    records: Iterable[str | os.PathLike] = (),
    skip_invalid: bool = False,
    page: bool = True,
    gallery: bool = True,
    thumb: int = 96,
    gifs: bool = False,
    gif_budget: int | None = None,
    gif_submissions=None,
    generated_at: str | None = None,
    log: Callable[[str], None] | None = None,
) -> BuildResult:
    """Rebuilds the leaderboard under ``root`` from ``root/records`` plus ``records`` folders.

    ``generated_at`` (ISO time) stamps the page; None uses the newest record's ``created_at``,
    so rebuilding from the same records gives the same page. ``log`` receives notes and
    warnings. Raises :class:`LeaderboardError` when there is no finished record or a record is
    invalid (unless ``skip_invalid``). ``root`` None:
    :func:`harness.levels.home.default_leaderboard_dir`. ``gifs``: also write GIFs of the
    reference agents (``gif_submissions``, default the committed submissions) on the gallery's
    levels under ``root/gifs`` and link them from the gallery, at most ``gif_budget`` bytes
    (default :data:`~harness.leaderboard.gallery_gifs.DEFAULT_GIF_BUDGET`;
    :mod:`harness.leaderboard.gallery_gifs`)."""
    from harness.leaderboard.markdown import markdown_table, update_readme
    from harness.leaderboard.table import (
        GROUP_KEYS,
        build_table,
        collect_records,
        load_per_level,
        write_table,
    )
    from harness.levels.home import default_leaderboard_dir

    say = log or (lambda s: None)
    root = Path(default_leaderboard_dir() if root is None else root)
    folders = [Path(d) for d in records]
    if (root / "records").is_dir() and (root / "records").resolve() not in {
        f.resolve() for f in folders
    }:
        folders.insert(0, root / "records")
    if not folders:
        raise LeaderboardError(f"{root / 'records'} does not exist (give a records folder)")
    notes: list[str] = []
    skipped: list[str] = []

    def note(s: str) -> None:
        notes.append(s)
        say(f"note: {s}")

    def warn(s: str) -> None:
        skipped.append(s)
        say(f"warning: {s}")

    found = collect_records(folders, skip_invalid=skip_invalid, warn=warn)
    table = build_table(found, root=root, note=note)
    if table.empty:
        raise LeaderboardError(f"no finished result records found ({len(found)} read)")
    root.mkdir(parents=True, exist_ok=True)
    files = [*write_table(table, root)]
    from harness.leaderboard.tiers import tier_markdown, tier_table

    per_level = load_per_level(table, root)
    tiers = tier_table(table, per_level)
    files.append(update_readme(root / "README.md", markdown_table(table) + tier_markdown(tiers)))
    if page:
        from harness.leaderboard.gallery_data import hand_made_gallery
        from harness.leaderboard.page import render_page

        cards = hand_made_gallery(table, per_level, size=thumb, log=say) if gallery else None
        if cards and gifs:
            from harness.leaderboard.gallery_gifs import DEFAULT_GIF_BUDGET, hand_made_gifs

            budget = DEFAULT_GIF_BUDGET if gif_budget is None else gif_budget
            links = hand_made_gifs(root, submissions=gif_submissions, budget_bytes=budget, log=say)
            for card in cards:
                card["gifs"] = links.get(card["level_hash"], [])
            files += [root / g["href"] for gs in links.values() for g in gs]
        stamp = generated_at or max(str(t) for t in table["created_at"])
        files.append(
            render_page(
                table,
                per_level,
                root / "index.html",
                gallery=cards,
                tiers=tiers,
                generated_at=stamp,
            )
        )
    return BuildResult(
        root=root,
        files=tuple(Path(f) for f in files),
        records=len(found),
        rows=len(table),
        groups=int(table.groupby(list(GROUP_KEYS)).ngroups),
        notes=tuple(notes),
        skipped=tuple(skipped),
    )
