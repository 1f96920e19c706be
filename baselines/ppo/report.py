"""Training metrics on disk (JSON lines) and the learning-curve plot (matplotlib, Agg)."""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["MetricsWriter", "read_metrics", "plot_curve"]


def _plain(v):
    v = float(v) if not isinstance(v, int | str) else v
    return None if isinstance(v, float) and not math.isfinite(v) else v


class MetricsWriter:
    """Appends one JSON object per update to ``path`` (``None``: keep in memory only).

    On resume, lines of updates after the checkpoint are dropped first (``truncate_after``).
    """

    def __init__(self, path=None, truncate_after: int | None = None):
        self.path = Path(path) if path is not None else None
        self.rows: list[dict] = []
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if truncate_after is not None and self.path.exists():
                self.rows = [r for r in read_metrics(self.path) if r["update"] <= truncate_after]
                self.path.write_text("".join(json.dumps(r) + "\n" for r in self.rows))
            elif truncate_after is None:
                self.path.write_text("")

    def write(self, row: dict) -> dict:
        row = {k: _plain(v) for k, v in row.items()}
        self.rows.append(row)
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")
        return row


def read_metrics(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_curve(rows: list[dict], path, title: str = "PPO") -> Path | None:
    """Mean episode return and solve rate against env steps (PNG); ``None`` without rows."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["env_steps"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key, label in (
        (axes[0], "mean_return", "mean episode return"),
        (axes[1], "solve_rate", "solve rate (completed episodes)"),
        (axes[2], "entropy", "policy entropy"),
    ):
        ys = [r.get(key) for r in rows]
        xs = [x for x, y in zip(steps, ys, strict=True) if y is not None]
        ax.plot(xs, [y for y in ys if y is not None], lw=1.2)
        ax.set_xlabel("env steps")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[1].set_ylim(-0.02, 1.02)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
