"""The ``kinetix-bench`` command line: help, usage errors, error reporting, machine output."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import jax2d
from harness import cli
from harness.commands import CommandError

needs_step = pytest.mark.skipif(not hasattr(jax2d, "step"), reason="jax2d.step not written yet")


def run(capsys, *argv, modules=cli.COMMAND_MODULES):
    """(exit code, stdout, stderr) of the CLI run in this process."""
    try:
        code = cli.main(list(argv), modules=modules)
    except SystemExit as e:  # argparse: --help, --version, usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def fake_module(exc: BaseException):
    """A command module with one command, ``boom``, that raises ``exc``."""

    def boom(args):
        raise exc

    def register(subparsers):
        subparsers.add_parser("boom", help="raises").set_defaults(func=boom)

    return types.SimpleNamespace(register=register)


def test_help_lists_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name in ("demo", "bench"):
        assert name in out
    assert "examples:" in out


@pytest.mark.parametrize("argv", [["demo"], ["bench"], ["bench", "physics"]])
def test_command_help(capsys, argv):
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert out.startswith("usage: kinetix-bench " + " ".join(argv))


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.startswith("kinetix-bench ")


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], ["usage:"]),
        (["nonsense"], ["invalid choice", "nonsense"]),
        (["bench"], ["required", "TARGET"]),
        (["bench", "physics", "--size", "xl"], ["--size", "'xl'", "s, m, l"]),
        (["bench", "physics", "--batch", "0"], ["--batch", ">= 1"]),
        (["bench", "physics", "--batch", "256,abc"], ["--batch", "'abc'"]),
        (["bench", "physics", "--steps", "-3"], ["--steps"]),
        (["bench", "physics", "--setting", "box2d"], ["--setting", "jax2d-compat"]),
        (["demo", "--size", "q"], ["--size"]),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    for w in words:
        assert w in err


def test_user_error_is_one_line(capsys):
    exc = jax2d.SceneFullError("all 2 circle\n   slots are in use")
    code, out, err = run(capsys, "boom", modules=[fake_module(exc)])
    assert code == 2
    assert out == ""
    assert err == "error: all 2 circle slots are in use\n"


def test_command_error_is_a_user_error(capsys):
    code, _, err = run(capsys, "boom", modules=[fake_module(CommandError("no such level"))])
    assert (code, err) == (2, "error: no such level\n")


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(jax2d.SceneError):
        cli.main(["--debug", "boom"], modules=[fake_module(jax2d.SceneError("bad"))])


def test_bugs_keep_their_traceback():
    # A bare ValueError (or anything not ours) is a bug, not a user error.
    with pytest.raises(ValueError, match="oops"):
        cli.main(["boom"], modules=[fake_module(ValueError("oops"))])


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("kinetix-bench")
    if not script.exists():
        pytest.skip("kinetix-bench is not installed in this environment")
    res = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "bench" in res.stdout


@needs_step
def test_bench_physics_json(capsys):
    argv = ["bench", "physics", "--size", "s", "--batch", "2", "--steps", "2", "--json"]
    # keep the test quick, and leave the session's compilation cache alone
    argv += ["--min-reps", "1", "--min-time", "0", "--max-reps", "2", "--compilation-cache"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["what"] == "physics"
    assert (rec["size"], rec["batch"], rec["steps"], rec["setting"]) == ("s", 2, 2, "default")
    assert rec["steps_per_s"] > 0
    assert rec["compile_s"] >= rec["xla_compile_s"] > 0
    assert rec["finite"] is True
    for key in ("device", "jax", "backend", "best_s", "median_s", "reps"):
        assert key in rec


@needs_step
def test_demo(capsys):
    argv = ["demo", "--size", "s", "--batch", "3", "--seconds", "0.25"]
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    rec = json.loads(out)
    assert rec["what"] == "demo"
    assert rec["finite"] is True
    assert rec["steps"] == 15
    assert len(rec["scenes"]) == 3
    # S: one box, a ball and a wheel are dynamic; they fall (drop) and stay inside the arena
    for scene in rec["scenes"]:
        assert len(scene["bodies"]) == 3
        for body in scene["bodies"]:
            x, y = body["end"]
            assert 0.0 < x < jax2d.ARENA_SIZE and jax2d.FLOOR_TOP - 0.05 < y < jax2d.ARENA_SIZE

    code, out, _ = run(capsys, *argv)  # the human-readable table
    assert code == 0
    assert "steps/s" in out and "touching pairs" in out


def test_compilation_cache_folder_precedence(tmp_path):
    home = {"HOME": str(tmp_path)}
    mine = cli.compilation_cache_folder({**home, "JAX_COMPILATION_CACHE_DIR": "/x/jax"})
    assert mine == "/x/jax"  # jax's own setting wins
    assert cli.compilation_cache_folder({"KINETIX_BENCH_JAX_CACHE": "/y"}) == "/y"
    for off in ("off", "0", "none", "OFF"):
        assert cli.compilation_cache_folder({"KINETIX_BENCH_JAX_CACHE": off}) is None
    default = Path(cli.compilation_cache_folder({}))
    assert default.parent == Path("~/.cache/kinetix-bench/jax").expanduser()
    assert default.name.startswith("jaxlib-")  # one folder per jaxlib and CPU feature set


_TINY_COMMAND = """
import sys, types
from harness import cli

def tiny(args):
    import jax, jax.numpy as jnp
    print(float(jax.jit(lambda x: jnp.sin(x) * 2)(jnp.float32(1.0))))

mod = types.SimpleNamespace(
    register=lambda sp: sp.add_parser("tiny").set_defaults(func=tiny))
sys.exit(cli.main(["tiny"], modules=[mod]))
"""


@pytest.mark.parametrize("setting", [None, "off"])
def test_commands_keep_the_persistent_compilation_cache(tmp_path, setting):
    import os

    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.pop("KINETIX_BENCH_JAX_CACHE", None)
    env |= {"HOME": str(tmp_path), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    if setting:
        env["KINETIX_BENCH_JAX_CACHE"] = setting
    res = subprocess.run(
        [sys.executable, "-c", _TINY_COMMAND], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    cached = list((tmp_path / ".cache" / "kinetix-bench" / "jax").glob("jaxlib-*/*"))
    assert bool(cached) == (setting is None), cached
