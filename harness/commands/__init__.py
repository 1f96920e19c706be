"""Subcommands of the ``kinetix-bench`` CLI, one module per command group.

A command module exposes ``register(subparsers)``: it adds its parser(s) to the
``argparse`` sub-parsers object and sets ``func`` (``handler(args) -> int``, the exit code) as a
default on each runnable parser::

    def register(subparsers):
        p = subparsers.add_parser("levels", help="...", description="...")
        p.add_argument(...)
        add_json_flag(p)
        p.set_defaults(func=_run)

To add a command group, write ``harness/commands/<name>.py`` and add its module name to
``COMMAND_MODULES`` in :mod:`harness.cli` (one line).

A command parses its arguments, calls the library (:mod:`harness.levels`,
:mod:`harness.submissions`, :mod:`harness.scoring`, :mod:`harness.leaderboard`,
:mod:`harness.bench`, ``baselines``, ``kinetix``) and prints; what a command computes belongs in
the library. May import every ``harness`` subpackage but :mod:`harness.cli` and the ``harness``
package itself; nothing in the library imports a command (``tests/test_import_graph.py``).

Conventions:

* Import heavy modules (jax, datasets, ...) inside the handler, not at module level, so that
  ``kinetix-bench --help`` stays fast.
* Machine output: with ``--json`` print one JSON object per line on stdout and nothing else
  there; progress and chatter go to stderr.
* User errors (bad input, missing files, a scene that cannot be built) are ``ValueError``
  subclasses defined in our packages (:class:`CommandError`, ``jax2d.SceneError``, ...); the CLI
  prints them as one ``error: ...`` line and exits 2. Anything else is a bug and keeps its
  traceback.
* Exit 0 only on success.
"""

from __future__ import annotations

import argparse
import os

__all__ = [
    "CommandError",
    "DefaultsHelpFormatter",
    "add_distributed_flags",
    "add_json_flag",
    "distributed_config",
    "comma_list",
    "load_level_arg",
    "load_submission_arg",
    "positive_int",
    "run_distributed",
]


class CommandError(ValueError):
    """A command cannot do what was asked (the message says why and what to do)."""


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``ArgumentDefaultsHelpFormatter`` that appends ``(default: X)`` only where it says
    something: never when the help text already states its default (it mentions "default"),
    nor for a default of None or False (a flag, or "not given")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Adds the common ``--json`` flag (machine output: JSON lines on stdout)."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print machine-readable JSON lines on stdout (one object per result)",
    )


#: Environment variable giving ``--distributed`` a default (e.g. ``auto`` in a SLURM job script).
DISTRIBUTED_ENV = "KINETIX_BENCH_DISTRIBUTED"


def add_distributed_flags(parser: argparse.ArgumentParser) -> None:
    """Adds the flags that start a command as one of N cooperating processes
    (:mod:`kinetix.distributed`): ``--distributed``, ``--coordinator``, ``--num-processes``,
    ``--process-id`` and ``--distributed-timeout``. Use :func:`run_distributed` in the handler."""
    from kinetix.distributed import DEFAULT_TIMEOUT_S, DISTRIBUTED_MODES

    g = parser.add_argument_group(
        "several processes or hosts (jax.distributed; README 'Running on a cluster')"
    )
    g.add_argument(
        "--distributed",
        choices=DISTRIBUTED_MODES,
        default=os.environ.get(DISTRIBUTED_ENV) or None,
        help="off: one process (the default without the flags below); auto: join the other "
        "processes of a detected cluster job (SLURM, Open MPI, ...); explicit: the default when "
        f"--coordinator/--num-processes/--process-id are given (default: ${DISTRIBUTED_ENV})",
    )
    g.add_argument(
        "--coordinator",
        default=None,
        metavar="HOST:PORT",
        help="address of process 0's coordination service, the same for every process",
    )
    g.add_argument(
        "--num-processes",
        type=int,
        default=None,
        metavar="N",
        help="number of cooperating processes",
    )
    g.add_argument(
        "--process-id",
        type=int,
        default=None,
        metavar="I",
        help="this process's index in [0, N); process 0 writes every output",
    )
    g.add_argument(
        "--distributed-timeout",
        type=int,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="how long to wait for a missing, dead or silent process before the run fails",
    )


def distributed_config(args):
    """The :class:`kinetix.distributed.DistributedConfig` of :func:`add_distributed_flags`'
    flags (validated: a bad value raises ``DistributedError`` naming the flag)."""
    from kinetix.distributed import DistributedConfig

    explicit = (args.coordinator, args.num_processes, args.process_id)
    mode = args.distributed or ("explicit" if any(v is not None for v in explicit) else "off")
    return DistributedConfig(
        mode=mode,
        coordinator=args.coordinator,
        num_processes=args.num_processes,
        process_id=args.process_id,
        timeout_s=args.distributed_timeout,
    ).validate()


def run_distributed(args, handler) -> int:
    """Runs ``handler(args)`` as one of the cooperating processes the flags describe.

    One process (no flags): just ``handler(args)``. Several: joins them first; the other
    processes than 0 keep stdout quiet and show no progress bars (process 0 prints and writes
    everything). When another process dies, this one prints one ``error:`` line and exits 1 at
    once (the runtime's shutdown would wait for the lost process and then abort).
    """
    import sys

    from kinetix.distributed import ProcessLostError, guard, initialize, is_primary

    if not initialize(distributed_config(args)):
        return handler(args)
    if not is_primary():
        os.environ["TQDM_DISABLE"] = "1"
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the rest of the process)
    try:
        with guard(f"kinetix-bench {args.command}"):
            return handler(args)
    except ProcessLostError as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(1)


def comma_list(item_type, name: str):
    """An argparse ``type`` that splits ``"a,b"`` and converts each item with ``item_type``.

    Use with ``action="extend"`` so that the option may also be repeated.
    """

    def parse(text: str):
        items = [t.strip() for t in str(text).split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"empty {name} list")
        out = []
        for t in items:
            try:
                out.append(item_type(t))
            except (TypeError, ValueError, argparse.ArgumentTypeError) as e:
                raise argparse.ArgumentTypeError(f"invalid {name} {t!r}: {e}") from None
        return out

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def load_level_arg(path: str, dataset: str | None = None):
    """A level named on the command line: a Kinetix JSON file or a dataset level id."""
    from kinetix import load_kinetix_json

    if os.path.isfile(path):
        return load_kinetix_json(path)
    if "/" in path and not path.endswith(".json") and not os.path.isabs(path):
        from harness.levels.loading import find_level

        return find_level(path, dataset)[0]
    raise CommandError(
        f"level file not found: {path} (give the path of a Kinetix JSON or a dataset level id)"
    )


def load_submission_arg(spec: str, offline: bool = False):
    """A submission named on the command line (folder, ``noop`` / ``random``, ``hf://``)."""
    from harness.scoring.pipeline import resolve_submission
    from harness.submissions.loading import load_submission

    return load_submission(resolve_submission(spec), offline=offline or None)
