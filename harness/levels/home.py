"""Where kinetix-bench's files live, whatever the current directory.

Two kinds of files:

* **Shipped data**: the bundled level copy (``datasets/kinetix-levels``, Hub layout) and the
  committed submissions (``submissions/noop``, ``submissions/random``, ...). In a checkout (an
  editable install included) they are the checkout's own folders. A wheel ships them as data
  files under ``{prefix}/share/kinetix-bench/`` (``[tool.setuptools.data-files]`` in
  ``pyproject.toml``; never as a top-level ``datasets`` package, which would shadow Hugging
  Face's), found through the installed distribution's file list. :func:`shipped_path` resolves
  a path relative to the checkout root to whichever exists.
* **The project home**, where the defaults of outputs and of the leaderboard point
  (:func:`default_leaderboard_dir`, :func:`default_records_dir`): ``$KINETIX_BENCH_HOME`` if set,
  else the checkout root, else ``$XDG_DATA_HOME/kinetix-bench`` (``~/.local/share/kinetix-bench``).
  So ``kinetix-bench leaderboard show`` means the same leaderboard from any folder.

Only the standard library is used; nothing here reads the files.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import sysconfig
from pathlib import Path, PurePosixPath

__all__ = [
    "HOME_ENV",
    "SHARE_DIR",
    "checkout_root",
    "installed_share_dir",
    "shipped_path",
    "project_home",
    "default_leaderboard_dir",
    "default_records_dir",
]

#: Overrides the project home (the leaderboard folder's parent).
HOME_ENV = "KINETIX_BENCH_HOME"
#: Where a wheel's data files go, relative to the install prefix.
SHARE_DIR = PurePosixPath("share/kinetix-bench")
_DIST = "kinetix-bench"
# harness/levels/home.py -> the folder holding harness/ (a checkout root, or site-packages)
_ROOT = Path(__file__).resolve().parents[2]


def checkout_root() -> Path | None:
    """The source checkout this code runs from, or None for a wheel install (its
    ``site-packages`` has no ``pyproject.toml``)."""
    return _ROOT if (_ROOT / "pyproject.toml").is_file() else None


@functools.cache
def installed_share_dir() -> Path | None:
    """``{prefix}/share/kinetix-bench`` of the installed distribution, or None when it ships
    no data files (a checkout's editable install may ship them too; the checkout wins)."""
    try:
        dist = importlib.metadata.distribution(_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    n = len(SHARE_DIR.parts)
    for f in dist.files or ():
        parts = PurePosixPath(f).parts
        for i in range(len(parts) - n):
            if parts[i : i + n] == SHARE_DIR.parts:
                base = Path(str(dist.locate_file(PurePosixPath(*parts[: i + n]))))
                if base.is_dir():
                    return base.resolve()
    fallback = Path(sysconfig.get_path("data")) / SHARE_DIR
    return fallback if fallback.is_dir() else None


def shipped_path(relative: str | os.PathLike) -> Path:
    """A shipped file or folder (``"datasets/kinetix-levels"``, ``"submissions/random"``): in
    the checkout if it is there, else in the wheel's data files; when neither has it, the
    checkout path (so an error message names where it was looked for)."""
    rel = Path(relative)
    root = checkout_root()
    if root is not None and (root / rel).exists():
        return root / rel
    share = installed_share_dir()
    if share is not None and (share / rel).exists():
        return share / rel
    return (root or _ROOT) / rel


def project_home() -> Path:
    """``$KINETIX_BENCH_HOME``, else the checkout root, else ``$XDG_DATA_HOME/kinetix-bench``
    (default ``~/.local/share/kinetix-bench``); an absolute path."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    root = checkout_root()
    if root is not None:
        return root
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join("~", ".local", "share")
    return (Path(xdg).expanduser() / "kinetix-bench").resolve()


def default_leaderboard_dir() -> Path:
    """``{project home}/leaderboard``: the default ``--root`` of the leaderboard commands."""
    return project_home() / "leaderboard"


def default_records_dir() -> Path:
    """``{project home}/leaderboard/records``: where ``eval`` and ``finetune`` write records by
    default."""
    return default_leaderboard_dir() / "records"
