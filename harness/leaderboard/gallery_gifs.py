"""GIFs of the reference agents on the hand-made levels, linked from the leaderboard's gallery.

:func:`hand_made_gifs` rolls out each reference agent (by default every committed submission
folder under ``submissions/``: the baselines) on every level of a hand-made benchmark (one
compiled program per agent and level size, :func:`harness.scoring.episodes.submission_scenes`),
renders each first episode (attempt 0 of seed 0, one frame per agent step, 30 fps) and writes
it to ``{root}/gifs/{submission}/{level name}.gif``, atomically. The page links them from the
gallery cards (relative links; the page itself stays one self-contained file).

**Page budget**: the GIFs a page links are at most ``budget_bytes`` in total (default
:data:`DEFAULT_GIF_BUDGET`, 8 MiB). Levels are taken in gallery order and, for each level, the
agents in order; a GIF that does not fit is left out (the card says so by having no link) and
later, smaller ones may still fit. GIFs of an earlier build that are no longer linked are
removed from ``{root}/gifs``.

A GIF depends only on the submission's checkpoint, the level, the frames drawn and the
simulator, so each is cached as ``{cache_dir}/{sha16}-{level_hash16}-{steps}-{downscale}-v{N}.gif``
(default ``~/.cache/kinetix-bench/gifs``): a rebuild rolls nothing out again.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["DEFAULT_GIF_BUDGET", "GIF_FOLDER", "default_gif_cache", "hand_made_gifs"]

#: Total bytes of GIFs one page may link.
DEFAULT_GIF_BUDGET = 8 * 1024 * 1024
#: The folder under the leaderboard root that holds them.
GIF_FOLDER = "gifs"
#: Bump when the GIF drawing changes (old cache entries are then ignored).
GIF_VERSION = 1


def default_gif_cache() -> Path:
    return Path(os.path.expanduser("~/.cache/kinetix-bench/gifs"))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "unnamed"


def _reference_agents() -> list[str]:
    from harness.levels.home import shipped_path

    root = shipped_path("submissions")
    if not root.is_dir():
        return []
    return [str(d) for d in sorted(root.iterdir()) if (d / "config.json").is_file()]


def _cache_name(sub, level_hash: str, max_steps: int, downscale: int) -> str:
    from harness.levels.build import simulator_version

    sim = hashlib.sha256(simulator_version().encode()).hexdigest()[:8]
    return f"{sub.sha256[:16]}-{level_hash[:16]}-{max_steps}-{downscale}-{sim}-v{GIF_VERSION}.gif"


def _render_gifs(sub, levels, hashes, max_steps, downscale, fps) -> dict[str, bytes]:
    """``{level_hash: gif bytes}`` for a stacked batch of levels (one rollout program)."""
    import io

    import jax
    from PIL import Image

    from harness.scoring.episodes import submission_scenes
    from kinetix.render_io import render_frames

    scenes, run, summaries = submission_scenes(sub, levels, max_steps=max_steps)
    out = {}
    for b, (h, summary) in enumerate(zip(hashes, summaries, strict=True)):
        pick = lambda t, b=b: jax.tree.map(lambda x: x[b], t)  # noqa: E731
        lv = pick(run)
        frames = render_frames(
            jax.tree.map(lambda x, b=b, n=summary["steps"]: x[: n + 1, b], scenes),
            lv.polygon_roles,
            lv.circle_roles,
            lv.motor_bindings,
            lv.thruster_bindings,
            downscale=downscale,
        )
        images = [Image.fromarray(f) for f in frames]
        buf = io.BytesIO()
        images[0].save(
            buf,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=round(1000 / fps),
            loop=0,
            optimize=True,
        )
        out[h] = buf.getvalue()
    return out


def hand_made_gifs(
    root: str | os.PathLike,
    *,
    benchmark: str = "handmade-all-v1",
    submissions: Sequence[str] | None = None,
    budget_bytes: int = DEFAULT_GIF_BUDGET,
    max_steps: int = 256,
    downscale: int = 4,
    fps: float = 30.0,
    dataset: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    cache: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, list[dict]]:
    """Writes the GIFs that fit the budget under ``{root}/gifs`` (module docstring).

    ``submissions``: submission specs (folders, registered names); default the committed
    ``submissions/`` folders. ``dataset``: the level dataset folder (default: the bundled copy).

    Returns ``{level_hash: [{"submission_id", "href", "bytes"}, ...]}``: ``href`` relative to
    ``root`` (POSIX), in agent order; levels with no GIF that fits are absent."""
    import jax

    from harness.leaderboard.gallery_data import _level_index
    from harness.leaderboard.record_files import LeaderboardError
    from harness.levels.loading import bundled_levels_dir
    from harness.levels.manifest import verify_dataset
    from harness.levels.registry import get_benchmark
    from harness.scoring.pipeline import resolve_submission
    from harness.submissions.loading import load_submission
    from kinetix.atomic_io import atomic_write
    from kinetix.level_files import read_level_parquet

    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, int) or budget_bytes < 0:
        raise LeaderboardError(f"GIF budget must be a byte count >= 0, got {budget_bytes!r}")
    if not 1 <= downscale <= 100 or max_steps < 1:
        raise LeaderboardError(
            f"GIF downscale must be 1..100 and max_steps >= 1, got {downscale}, {max_steps}"
        )
    say = log or (lambda s: None)
    root = Path(root)
    bench = get_benchmark(benchmark)
    data = Path(dataset) if dataset is not None else bundled_levels_dir()
    verify_dataset(data, configs=list(bench.configs), deep=False)
    index = _level_index(data, bench.configs, bench.split)  # (level_id, hash, config, file)
    specs = list(submissions) if submissions is not None else _reference_agents()
    subs = [load_submission(resolve_submission(s), offline=True) for s in specs]
    folder = None
    if cache:
        folder = Path(cache_dir) if cache_dir is not None else default_gif_cache()

    def cached(sub, h):
        return None if folder is None else folder / _cache_name(sub, h, max_steps, downscale)

    # every GIF missing from the cache, drawn per (agent, level file): one rollout program each
    gifs: dict[tuple[int, str], bytes] = {}
    for i, sub in enumerate(subs):
        files = list(dict.fromkeys(f for *_, f in index))
        for f in files:
            wanted = [h for _, h, _, g in index if g == f]
            missing = []
            for h in wanted:
                p = cached(sub, h)
                if p is not None and p.is_file():
                    gifs[(i, h)] = p.read_bytes()
                else:
                    missing.append(h)
            if not missing:
                continue
            say(f"rolling out {sub.id} on {len(missing)} levels of {f.parent.name} for GIFs")
            levels, table = read_level_parquet(f, device=False)
            rows = [table["level_hash"].to_pylist().index(h) for h in missing]
            batch = jax.tree.map(lambda x, r=rows: x[r], levels)
            for h, data_ in _render_gifs(sub, batch, missing, max_steps, downscale, fps).items():
                gifs[(i, h)] = data_
                p = cached(sub, h)
                if p is not None:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write(p, lambda fh, d=data_: fh.write(d))

    # the budget: levels in gallery order, agents in order; a GIF that does not fit is skipped
    out: dict[str, list[dict]] = {}
    used, kept = 0, set()
    for level_id, h, _, _ in index:
        for i, sub in enumerate(subs):
            data_ = gifs[(i, h)]
            if used + len(data_) > budget_bytes:
                continue
            rel = f"{GIF_FOLDER}/{_safe(sub.id)}/{_safe(level_id.rsplit('/', 1)[-1])}.gif"
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_bytes() != data_:
                atomic_write(path, lambda fh, d=data_: fh.write(d))
            used += len(data_)
            kept.add(path.resolve())
            out.setdefault(h, []).append(
                {"submission_id": sub.id, "href": rel, "bytes": len(data_)}
            )
    skipped = len(gifs) - len(kept)
    say(f"GIFs: {len(kept)} linked ({used / 2**20:.1f} MiB), {skipped} over the page budget")
    gif_root = root / GIF_FOLDER
    if gif_root.is_dir():  # GIFs of an earlier build that this page no longer links
        for p in sorted(gif_root.rglob("*.gif")):
            if p.resolve() not in kept:
                p.unlink()
    return out
