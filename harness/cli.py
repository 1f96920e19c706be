"""The ``kinetix-bench`` command line.

Subcommands live in :mod:`harness.commands`, one module per command group; this file only
collects them, parses arguments and turns our errors into exit codes:

* 0: success;
* 1: the command ran and reports failure (e.g. a simulation produced NaN), or a bug (traceback);
* 2: bad usage or a user error (a ``ValueError`` subclass defined in our packages, printed as one
  ``error: ...`` line; ``--debug`` shows the traceback);
* 130: interrupted.

Every command keeps jax's persistent compilation cache (:func:`use_compilation_cache`), so a
command run again does not compile its programs again.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = [
    "COMMAND_MODULES",
    "build_parser",
    "compilation_cache_folder",
    "main",
    "use_compilation_cache",
]

#: Command-group modules, in the order ``--help`` lists them. Adding a group is one line here.
COMMAND_MODULES: tuple[str, ...] = (
    "harness.commands.demo",
    "harness.commands.bench",
    "harness.commands.env",
    "harness.commands.bench_env",
    "harness.commands.render",
    "harness.commands.levels",
    "harness.commands.train",
    "harness.commands.submit",
    "harness.commands.submission",
    "harness.commands.queue",
    "harness.commands.eval",
    "harness.commands.leaderboard",
)

#: Top-level packages whose ValueError subclasses are user errors (printed without traceback).
OUR_PACKAGES = frozenset({"jax2d", "kinetix", "baselines", "harness"})

EPILOG = """\
examples:
  kinetix-bench demo                                   simulate a batch of scenes for 2 s
  kinetix-bench bench physics --size s --batch 256     physics steps/s and compile time
  kinetix-bench bench physics --json                   all sizes and batches, JSON lines
run `kinetix-bench COMMAND --help` for a command's options."""


def _version() -> str:
    try:
        return importlib.metadata.version("kinetix-bench")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout, not installed
        return "unknown"


def build_parser(modules: Sequence[str | ModuleType] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The full parser: global options plus every command module's ``register``."""
    parser = argparse.ArgumentParser(
        prog="kinetix-bench",
        description="kinetix-bench: a benchmark for general physical-control agents "
        "(2D rigid-body tasks in the spirit of Kinetix) on a JAX physics engine.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--debug",
        action="store_true",
        default=bool(os.environ.get("KINETIX_BENCH_DEBUG")),
        help="show full tracebacks for errors (also: KINETIX_BENCH_DEBUG=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in modules:
        if isinstance(module, str):
            module = importlib.import_module(module)
        module.register(subparsers)
    return parser


def _is_user_error(exc: BaseException) -> bool:
    """A ValueError subclass defined in one of our packages (not a bare ValueError)."""
    for cls in type(exc).__mro__:
        if cls is ValueError:
            return False
        if cls.__module__.split(".")[0] in OUR_PACKAGES and issubclass(cls, ValueError):
            return True
    return False


#: Values of ``KINETIX_BENCH_JAX_CACHE`` that turn the persistent compilation cache off.
_CACHE_OFF = frozenset({"0", "off", "no", "false", "none"})


def _host_tag() -> str:
    """jaxlib's version and a digest of this CPU's architecture and instruction-set flags: a
    compiled XLA:CPU program is only valid for the jaxlib and the CPU features it was built for."""
    import hashlib
    import platform

    try:
        jaxlib = importlib.metadata.version("jaxlib")
    except importlib.metadata.PackageNotFoundError:
        jaxlib = "unknown"
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        pass
    digest = hashlib.sha256(f"{platform.machine()} {platform.processor()} {flags}".encode())
    return f"jaxlib-{jaxlib}-{digest.hexdigest()[:12]}"


def compilation_cache_folder(environ=os.environ) -> str | None:
    """The folder of jax's persistent compilation cache for CLI commands, or None (off).

    ``$JAX_COMPILATION_CACHE_DIR`` when set (jax's own setting wins); else
    ``$KINETIX_BENCH_JAX_CACHE``; else ``~/.cache/kinetix-bench/jax/<jaxlib>-<cpu>`` (one folder
    per jaxlib version and CPU feature set, so a cache shared between hosts never serves a
    program built for another CPU). ``KINETIX_BENCH_JAX_CACHE=off`` turns it off."""
    if environ.get("JAX_COMPILATION_CACHE_DIR"):
        return environ["JAX_COMPILATION_CACHE_DIR"]
    choice = environ.get("KINETIX_BENCH_JAX_CACHE", "").strip()
    if choice.lower() in _CACHE_OFF and choice:
        return None
    if choice:
        return choice
    return os.path.join(os.path.expanduser("~"), ".cache", "kinetix-bench", "jax", _host_tag())


def use_compilation_cache() -> str | None:
    """Turns on jax's persistent compilation cache for this process at
    :func:`compilation_cache_folder`; returns the folder (None: off). jax's thresholds apply
    (only compiles of at least a second are stored). ``bench`` commands switch it off again
    unless ``--compilation-cache``, so that they time real compiles."""
    folder = compilation_cache_folder()
    if folder is None:
        return None
    if "jax" in sys.modules:
        sys.modules["jax"].config.update("jax_compilation_cache_dir", folder)
    else:  # read by jax when it is imported (and by the workers this process starts)
        os.environ["JAX_COMPILATION_CACHE_DIR"] = folder
    return folder


def main(argv: Sequence[str] | None = None, *, modules=COMMAND_MODULES) -> int:
    """Runs the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser(modules)
    args = parser.parse_args(argv)  # exits 2 with a usage message on bad arguments
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    use_compilation_cache()
    try:
        code = func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug or not _is_user_error(e):
            raise
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
