"""A wheel install works away from the checkout: bundled levels and committed submissions ship
as data files (:mod:`harness.levels.home`), and no default is relative to the current folder.

The slow test builds the wheel from a copy of the source (``pip wheel --no-deps
--no-build-isolation --no-index``: no network), installs it with ``--no-deps`` into a fresh venv
whose dependencies come from this venv's ``site-packages`` (a ``.pth`` path line: this venv's
own ``.pth`` files, the editable install of the checkout among them, are not run), and scores
``random`` on ``handmade-s-v1`` offline from a folder outside the checkout.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from harness.cli import main
from harness.levels import home
from harness.levels.loading import bundled_levels_dir

ROOT = Path(__file__).resolve().parents[2]
_SHIPPED = ("datasets/kinetix-levels", "submissions")


def _data_files() -> dict[str, list[str]]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return cfg["tool"]["setuptools"]["data-files"]


def test_every_shipped_file_is_a_data_file_of_the_wheel():
    covered = {
        Path(f).resolve()
        for patterns in _data_files().values()
        for pattern in patterns
        for f in glob.glob(str(ROOT / pattern))
    }
    for target, patterns in _data_files().items():
        for pattern in patterns:  # each lands under share/kinetix-bench/ at its checkout path
            rel = Path(pattern).parent.as_posix()
            assert target == f"share/kinetix-bench/{rel}", (target, pattern)
    shipped = {
        p.resolve()
        for top in _SHIPPED
        for p in (ROOT / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }
    missing = sorted(p.relative_to(ROOT).as_posix() for p in shipped - covered)
    assert not missing, f"add these to [tool.setuptools.data-files] in pyproject.toml: {missing}"
    assert not (ROOT / "datasets" / "__init__.py").exists()


def test_defaults_are_absolute_and_follow_the_home(tmp_path, monkeypatch):
    monkeypatch.delenv(home.HOME_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert home.checkout_root() == ROOT and home.project_home() == ROOT
    assert home.default_records_dir() == ROOT / "leaderboard" / "records"
    assert bundled_levels_dir() == ROOT / "datasets" / "kinetix-levels"
    assert home.shipped_path("submissions/random") == ROOT / "submissions" / "random"
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "h"))
    assert home.default_leaderboard_dir() == tmp_path / "h" / "leaderboard"


def test_leaderboard_show_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(home.HOME_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", "show", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(r["what"] == "leaderboard-row" for r in rows)


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{cmd}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


@pytest.mark.slow
def test_wheel_scores_random_offline_outside_the_checkout(tmp_path):
    pytest.importorskip("setuptools", reason="building offline needs setuptools in this venv")
    pytest.importorskip("wheel", reason="building offline needs wheel (the test extra has it)")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "jax2d", "kinetix", "baselines", "harness"):
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(p, src / name)
    for top in _SHIPPED:
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    wheel_cmd = ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist)]
    _run([sys.executable, "-m", "pip", *wheel_cmd, str(src)])
    (wheel,) = (tmp_path / "dist").glob("kinetix_bench-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])  # its pip from ensurepip: offline
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)])
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(_run([str(py), "-c", purelib]).stdout.strip())
    (site / "zz_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KINETIX_BENCH", "PYTHON"))}
    env.update(
        JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax-cache"),
        KINETIX_BENCH_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        HF_HOME=str(tmp_path / "hf"),
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        JAX_PLATFORMS="cpu",
    )  # fmt: skip
    where = _run(
        [str(py), "-c", "import harness, harness.levels.loading as l; "
         "print(harness.__file__); print(l.bundled_levels_dir())"],
        cwd=work, env=env,
    ).stdout.split()  # fmt: skip
    assert all(Path(w).resolve().is_relative_to(venv.resolve()) for w in where), where
    _run([str(venv / "bin" / "kinetix-bench"), "eval", "random", "--benchmark", "handmade-s-v1",
          "--no-cache", "--bootstrap-reps", "200", "--json"], cwd=work, env=env)  # fmt: skip
    records = tmp_path / "xdg" / "kinetix-bench" / "leaderboard" / "records"
    rec = json.loads((records / "random" / "handmade-s-v1__zero-shot_v1.json").read_text())
    assert rec["benchmark"]["dataset_origin"] == "bundled"
    assert rec["benchmark"]["dataset_commit"].startswith("bundled:")
    assert not any(work.iterdir())  # nothing written relative to the current folder
    show = _run([str(venv / "bin" / "kinetix-bench"), "leaderboard", "show"], cwd=work, env=env)
    assert "random" in show.stdout and "handmade-s-v1" in show.stdout
