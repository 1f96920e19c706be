"""Several cooperating processes (hosts) through JAX's multi-controller runtime.

Every batch command of the project (evaluation, fine-tuning, training, dataset builds) may run as
N processes, one per host or several per host, each driving its local devices. They are started
the ordinary ways of :func:`jax.distributed.initialize`:

* explicitly: ``DistributedConfig(mode="explicit", coordinator="HOST:PORT", num_processes=N,
  process_id=I)`` (the CLI's ``--coordinator --num-processes --process-id``);
* by cluster auto-detection (SLURM, Open MPI, Kubernetes, Cloud TPU, ...):
  ``DistributedConfig(mode="auto")`` (``--distributed auto``; what is not given is detected);
* not at all (``mode="off"``, the default): one process, exactly as before.

Each process runs the same Python program (SPMD, multi-controller). Data every process can
compute or load by itself (levels, keys, configs) is computed by every process; work is split in
one of two ways:

* one program over the *global* mesh (:func:`global_mesh`: every device of every process), with
  host data turned into global arrays by :func:`put_global` and results brought back by
  :func:`gather` (evaluation chunks, PPO's data-parallel update);
* contiguous blocks of an index range per process (:func:`process_block`, :func:`gather_rows`):
  independent items such as procedural levels, reference outcomes or fine-tuning cells.

Only the primary process (:func:`is_primary`, process 0) writes files; it writes after the
gathering, so a lost process stops the run before anything is written. A process that dies or
is killed makes the others fail: a collective with it fails at once (CPU, gloo: "connection
closed by peer") or when its heartbeats stop for ``timeout_s`` seconds (the coordination
service then terminates the survivors). :func:`guard` turns such runtime errors into
:class:`ProcessLostError`.

On CPU, cross-process collectives use gloo (``jax_cpu_collectives_implementation``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator

import numpy as np

from kinetix.errors import KinetixError

__all__ = [
    "DistributedConfig",
    "DistributedError",
    "ProcessLostError",
    "DISTRIBUTED_MODES",
    "DEFAULT_TIMEOUT_S",
    "initialize",
    "is_initialized",
    "process_index",
    "process_count",
    "is_primary",
    "global_mesh",
    "put_global",
    "gather",
    "broadcast",
    "broadcast_json",
    "primary_result",
    "barrier",
    "process_block",
    "gather_rows",
    "guard",
]

#: ``off``: one process; ``auto``: cluster auto-detection; ``explicit``: coordinator and ids given.
DISTRIBUTED_MODES = ("off", "auto", "explicit")
#: Seconds a process waits for a missing or silent peer (joining, heartbeats, shutdown).
DEFAULT_TIMEOUT_S = 120
#: Seconds a process waits at a rendezvous for live peers that are still busy (e.g. compiling
#: what another process read from its compilation cache); a dead peer fails it sooner, once
#: its heartbeats stop for the timeout above.
RENDEZVOUS_TIMEOUT_S = 1800

_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


class DistributedError(KinetixError, ValueError):
    """A distributed launch that cannot work as asked (the message names the flag)."""


class ProcessLostError(DistributedError):
    """Another process failed, was killed or stopped answering; the run stopped."""


@dataclasses.dataclass(frozen=True)
class DistributedConfig:
    """How this process joins the others (the fields mirror the CLI flags).

    Attributes:
        mode: one of :data:`DISTRIBUTED_MODES` (``--distributed``).
        coordinator: ``HOST:PORT`` of process 0's coordination service (``--coordinator``).
        num_processes: N, the number of processes (``--num-processes``).
        process_id: this process, in [0, N) (``--process-id``).
        timeout_s: seconds to wait for a missing or silent process before failing
            (``--distributed-timeout``): the join, the heartbeat timeout and the shutdown.
    """

    mode: str = "off"
    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    timeout_s: int = DEFAULT_TIMEOUT_S

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def validate(self) -> DistributedConfig:
        """Checks the fields; returns ``self`` (raises :class:`DistributedError`)."""
        if self.mode not in DISTRIBUTED_MODES:
            raise DistributedError(
                f"--distributed: {self.mode!r} is not one of {', '.join(DISTRIBUTED_MODES)}"
            )
        given = {
            "--coordinator": self.coordinator,
            "--num-processes": self.num_processes,
            "--process-id": self.process_id,
        }
        if self.mode == "off" and any(v is not None for v in given.values()):
            flag = next(k for k, v in given.items() if v is not None)
            raise DistributedError(f"{flag}: given without --distributed explicit or auto")
        if self.mode == "explicit":
            missing = [k for k, v in given.items() if v is None]
            if missing:
                raise DistributedError(
                    f"{missing[0]}: needed to start several processes explicitly (give "
                    "--coordinator HOST:PORT, --num-processes N and --process-id I, or use "
                    "--distributed auto on a cluster)"
                )
        if self.coordinator is not None:
            m = _HOST_PORT.match(self.coordinator)
            if not m or not 0 < int(m.group(2)) < 65536:
                raise DistributedError(
                    f"--coordinator: {self.coordinator!r} is not HOST:PORT (e.g. node01:12345)"
                )
        if self.num_processes is not None and self.num_processes < 1:
            raise DistributedError(f"--num-processes: must be >= 1, got {self.num_processes}")
        if self.process_id is not None:
            n = self.num_processes
            if self.process_id < 0 or (n is not None and self.process_id >= n):
                raise DistributedError(
                    f"--process-id: must be in [0, {n if n is not None else 'N'}), got "
                    f"{self.process_id}"
                )
        if self.timeout_s < 1:
            raise DistributedError(f"--distributed-timeout: must be >= 1 s, got {self.timeout_s}")
        return self


_STATE = {"initialized": False}


def is_initialized() -> bool:
    """Whether :func:`initialize` joined this process to others."""
    return _STATE["initialized"]


def initialize(config: DistributedConfig) -> bool:
    """Joins the other processes (call before any JAX computation); True when it did.

    ``mode="off"`` does nothing. A second call is a no-op. On CPU the cross-process
    collectives are gloo's.
    """
    config.validate()
    if not config.enabled or _STATE["initialized"]:
        return _STATE["initialized"]
    import jax

    if jax.config.jax_cpu_collectives_implementation is None:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    timeout = int(config.timeout_s)
    try:
        jax.distributed.initialize(
            coordinator_address=config.coordinator,
            num_processes=config.num_processes,
            process_id=config.process_id,
            initialization_timeout=timeout,
            heartbeat_timeout_seconds=timeout,
            shutdown_timeout_seconds=timeout,
        )
    except (ValueError, RuntimeError) as e:  # nothing detected, or no coordinator in time
        hint = "--coordinator/--num-processes/--process-id" if config.mode == "auto" else ""
        raise DistributedError(
            f"--distributed {config.mode}: cannot join the other processes ({e})"
            + (f"; outside a detected cluster give {hint}" if hint else "")
        ) from None
    _STATE["initialized"] = True
    return True


def process_index() -> int:
    """This process's index in [0, :func:`process_count`)."""
    import jax

    return jax.process_index()


def process_count() -> int:
    import jax

    return jax.process_count()


def is_primary() -> bool:
    """Process 0: the one that writes records, datasets and checkpoints."""
    return process_index() == 0


def global_mesh(axis: str = "d"):
    """A 1-D :class:`jax.sharding.Mesh` over every device of every process (axis ``axis``),
    ordered by process then local device (``jax.devices()``' order)."""
    import jax
    from jax.sharding import Mesh

    return Mesh(np.asarray(jax.devices()), (axis,))


def put_global(tree, shardings):
    """Host values, the same on every process, as arrays with ``shardings`` (one sharding or a
    matching pytree): each process places only its addressable shards. Works for one process
    too (a plain :func:`jax.device_put`); PRNG key arrays keep their key type."""
    import jax

    if process_count() == 1:
        return jax.device_put(tree, shardings)

    def put(x, sh):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            impl = jax.random.key_impl(x)
            data = put(np.asarray(jax.random.key_data(x)), sh)
            return jax.random.wrap_key_data(data, impl=impl)
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return jax.device_put(x, sh)  # already global: reshard
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sh, lambda idx: host[idx])

    if isinstance(shardings, jax.sharding.Sharding):
        return jax.tree.map(lambda x: put(x, shardings), tree)
    return jax.tree.map(put, tree, shardings)


def gather(tree):
    """The full value of every (possibly global) array as numpy, on every process.

    A collective when an array spans processes: every process must call it."""
    import jax
    from jax.experimental import multihost_utils

    def spans(x):
        return isinstance(x, jax.Array) and not (x.is_fully_addressable or x.is_fully_replicated)

    if any(spans(x) for x in jax.tree.leaves(tree)):
        barrier("gather")

    def one(x):
        if not isinstance(x, jax.Array):
            return np.asarray(x)
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        if x.is_fully_addressable or x.is_fully_replicated:
            return np.asarray(x)
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree.map(one, tree)


def broadcast(tree):
    """Process 0's value of a host pytree on every process (shapes must agree); a no-op for
    one process. Used where only process 0 may look (its cache decides what is left to do)."""
    if process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    barrier("broadcast")
    return jax_tree_numpy(multihost_utils.broadcast_one_to_all(tree))


def broadcast_json(value):
    """Process 0's JSON-serialisable ``value`` on every process (the others pass anything)."""
    import json

    if process_count() == 1:
        return value
    data = json.dumps(value).encode() if is_primary() else b""
    n = int(broadcast(np.int64(len(data))))
    buf = np.frombuffer(data, np.uint8) if is_primary() else np.zeros(n, np.uint8)
    return json.loads(bytes(broadcast(buf).astype(np.uint8)).decode())


def primary_result(fn):
    """``fn()`` run on process 0 only (it reads process 0's disk), its JSON-serialisable result
    returned on every process; a ``ValueError`` it raises is raised on every process (process 0
    re-raises its own, the others a :class:`DistributedError` with its message), so all stop
    together. One process: just ``fn()``."""
    if process_count() == 1:
        return fn()
    error, value = None, None
    if is_primary():
        try:
            value = fn()
        except ValueError as e:
            error = e
    msg = broadcast_json({"error": str(error)} if error is not None else {"value": value})
    if error is not None:
        raise error
    if "error" in msg:
        raise DistributedError(f"process 0: {msg['error']}")
    return msg["value"]


def jax_tree_numpy(tree):
    import jax

    return jax.tree.map(np.asarray, tree)


def barrier(name: str) -> None:
    """Waits until every process reaches ``barrier(name)`` (no-op for one process).

    A barrier of the coordination service, not a collective: every host-level collective
    here (:func:`gather`, :func:`broadcast`, :func:`gather_rows`) passes one first, because
    gloo gives the processes only 30 s to meet when a collective first connects them, and a
    process that compiled from scratch can be further behind one that read its programs from
    the persistent compilation cache (JAX writes that cache from process 0 only, and on CPU the
    keys differ between processes, so process 1 compiles its programs every time; measured on
    2 CPU processes: local programs and the PPO update over both processes' devices alike)."""
    if process_count() == 1:
        return
    from jax._src import distributed  # the coordination client (as jax's own tests use it)

    _STATE["barriers"] = _STATE.get("barriers", 0) + 1
    distributed.global_state.client.wait_at_barrier(
        f"kinetix:{_STATE['barriers']}:{name}", RENDEZVOUS_TIMEOUT_S * 1000
    )


def _block_rows(n: int, count: int, unit: int) -> int:
    """Rows per process block: ``ceil(n / N)`` rounded up to whole units of ``unit`` rows."""
    if unit < 1:
        raise ValueError(f"process_block: unit {unit} < 1")
    units = -(-n // unit)
    return -(-units // count) * unit if n else 0


def process_block(
    n: int, index: int | None = None, count: int | None = None, *, unit: int = 1
) -> range:
    """This process's contiguous share of ``range(n)``: blocks of ``ceil(n / N)`` rows, rounded
    up to whole units of ``unit`` rows, so every block starts at a multiple of ``unit`` (the
    last blocks may be shorter or empty). ``index``/``count`` default to this process and N.

    ``unit`` keeps batch boundaries independent of N: work done in fixed chunks of ``unit``
    rows sees the same chunks in any number of processes."""
    index = process_index() if index is None else index
    count = process_count() if count is None else count
    per = _block_rows(n, count, unit)
    return range(min(n, index * per), min(n, (index + 1) * per))


def gather_rows(tree, n: int, *, unit: int = 1):
    """Concatenates every process's rows of ``range(n)`` (its :func:`process_block` with the
    same ``unit``) into the full (n, ...) host arrays, on every process; ``tree`` holds this
    process's rows (leading axis = its block length). A no-op for one process."""
    count = process_count()
    if count == 1:
        return jax_tree_numpy(tree)
    import jax
    from jax.experimental import multihost_utils

    per = _block_rows(n, count, unit)
    mine = len(process_block(n, unit=unit))

    def pad(x):
        x = np.asarray(x)
        if x.shape[0] != mine:
            raise ValueError(f"gather_rows: {x.shape[0]} rows for a block of {mine}")
        widths = [(0, per - mine)] + [(0, 0)] * (x.ndim - 1)
        return np.pad(x, widths)

    padded = jax.tree.map(pad, tree)
    barrier("gather_rows")
    stacked = multihost_utils.process_allgather(padded, tiled=False)
    return jax.tree.map(lambda x: np.asarray(x).reshape(count * per, *x.shape[2:])[:n], stacked)


@contextlib.contextmanager
def guard(what: str = "the run") -> Iterator[None]:
    """Turns a runtime error of a multi-process run (a collective with a dead process, the
    coordination service reporting a lost task) into :class:`ProcessLostError`."""
    try:
        yield
    except Exception as e:
        if not is_initialized() or not _is_runtime_failure(e):
            raise
        text = " ".join(str(e).split())
        raise ProcessLostError(
            f"{what} stopped on process {process_index()} of {process_count()}: another process "
            f"failed, was killed or stopped answering ({text[:300]}); nothing was written; "
            "start all processes again to resume from the caches"
        ) from e


def _is_runtime_failure(e: BaseException) -> bool:
    import jax

    return isinstance(e, jax.errors.JaxRuntimeError) or type(e).__name__ == "XlaRuntimeError"
