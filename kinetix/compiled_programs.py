"""Keeping a long-lived process's compiled XLA programs within the kernel's memory-map limit.

jax keeps every program it compiles for the life of the process (its jit and lowering caches
hold the executables, even for functions that are otherwise unreachable). On the CPU backend each
executable holds its machine code in memory mappings of its own: measured with jax 0.10.2 on
x86-64 Linux, 6 to 24 mappings per executable (more for programs with more kernels). Linux caps
the mappings of one process at ``vm.max_map_count`` (65,530 by default). A process that compiles
a few thousand programs, such as a test session or a worker that scores many submissions, reaches
the cap; the next ``mmap`` fails inside XLA or LLVM, which abort the process (SIGABRT, often while
serialising an executable for the persistent compilation cache, which maps fresh memory).

:func:`release_compiled_programs_if_needed` drops jax's in-process caches (``jax.clear_caches``)
once the process holds more than a given fraction of the limit. Nothing is lost but time: a
program used again is traced again and loaded from the persistent compilation cache when one is
configured (compiled otherwise). Arrays and jitted function objects stay valid.

On systems without ``/proc`` (macOS, Windows) the counts are ``None`` and nothing is released.
"""

from __future__ import annotations

import gc

__all__ = [
    "DEFAULT_RELEASE_FRACTION",
    "memory_map_count",
    "memory_map_limit",
    "release_compiled_programs",
    "release_compiled_programs_if_needed",
]

DEFAULT_RELEASE_FRACTION = 0.5
"""Release when the process holds more than this fraction of ``vm.max_map_count`` mappings."""

_MAPS = "/proc/self/maps"
_LIMIT = "/proc/sys/vm/max_map_count"


def memory_map_count() -> int | None:
    """The number of memory mappings this process holds (lines of ``/proc/self/maps``), or
    ``None`` where the system does not expose them."""
    try:
        with open(_MAPS, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None


def memory_map_limit() -> int | None:
    """The kernel's cap on the mappings of one process (``vm.max_map_count``), or ``None``."""
    try:
        with open(_LIMIT) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def release_compiled_programs() -> None:
    """Drops every compiled program jax holds in this process (``jax.clear_caches()``) and
    collects the garbage that kept executables alive."""
    import jax

    jax.clear_caches()
    gc.collect()


def release_compiled_programs_if_needed(fraction: float = DEFAULT_RELEASE_FRACTION) -> bool:
    """Releases jax's compiled programs when this process holds more than ``fraction`` of the
    kernel's memory-map limit. Returns whether it released them.

    Cheap enough to call between units of work (a test, a submission): one read of
    ``/proc/self/maps`` (about 1 ms per 10,000 mappings).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    limit = memory_map_limit()
    if limit is None:
        return False
    count = memory_map_count()
    if count is None or count <= fraction * limit:
        return False
    release_compiled_programs()
    return True
