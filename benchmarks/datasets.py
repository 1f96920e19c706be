"""Level dataset benchmark: generating into Parquet, and reading Parquet onto the device.

Prints one JSON line per measurement::

    python benchmarks/datasets.py write --size m --count 100000           # generate+filter+write
    python benchmarks/datasets.py read --size m --count 100000            # Parquet -> device

``write``: levels ``0..count-1`` of one stream drawn with :func:`kinetix.batch_generation.
generate_levels` (``--filter noop``: Kinetix's no-op filter, 4 attempts x 64 agent steps),
hashed, turned into an Arrow table and written as zstd Parquet (one file). Compile time is
measured apart (a warm-up: one pool of the filter, or one chunk); ``levels_per_s`` counts the
timed part only, ``total_s`` everything; ``*_cpu_s`` are process CPU times (both cores).
``--noop-outcome`` also runs the 256-step no-op episode per level (the dataset's
``noop_solved`` column), as ``levels build`` does.

``read``: writes ``count`` levels first (tiling a generated block of ``--block`` levels with
distinct ids, since reading cost does not depend on content), then times
``read_level_parquet(path)`` (validation of every row included) until the batch is on the
device (``block_until_ready``), best of ``--reps``.

Targets (issue 5, 2-core CPU): 100,000 random M levels generated and filtered into Parquet in
under 5 minutes; 100,000 levels read onto the device in under 5 seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import jax
import numpy as np


def _env() -> dict:
    return {
        "device": jax.devices()[0].device_kind,
        "backend": jax.default_backend(),
        "num_devices": jax.local_device_count(),
        "cpu_count": os.cpu_count(),
        "host_cpu": platform.processor() or platform.machine(),
        "jax": jax.__version__,
        "loadavg1": round(os.getloadavg()[0], 2),
    }


def _table(levels, ids, generator_seed=None):
    from kinetix.hashing import level_hashes
    from kinetix.level_table import levels_to_table

    t = time.perf_counter()
    hashes = level_hashes(levels)
    hash_s = time.perf_counter() - t
    n = len(ids)
    meta = {"level_id": ids, "level_hash": hashes, "source": ["random"] * n}
    if generator_seed is not None:
        meta["generator_seed"] = [generator_seed] * n
        meta["generator_index"] = list(range(n))
    return levels_to_table(levels, meta), hash_s


def run_write(args) -> dict:
    from kinetix.batch_generation import CPU_POOL, generate_levels
    from kinetix.generator import NoopFilter
    from kinetix.level_files import write_level_parquet
    from kinetix.outcomes import reference_outcomes

    flt = NoopFilter() if args.filter == "noop" else None
    opts = {"noop_filter": flt, "chunk": args.chunk, "pool": args.pool}
    t0, c0 = time.perf_counter(), time.process_time()
    # warm-up: compiles the programs the timed run uses (the pool's, or one chunk's)
    warm = args.chunk if flt is None else min(args.chunk, args.pool or CPU_POOL)
    generate_levels(args.seed, np.arange(warm), args.size, **opts)
    compile_s = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    levels = generate_levels(args.seed, np.arange(args.count), args.size, **opts)
    gen_s, gen_cpu_s = time.perf_counter() - t1, time.process_time() - c1
    outcome_s = 0.0
    if args.noop_outcome:
        from kinetix.hashing import level_hashes

        t = time.perf_counter()
        reference_outcomes(levels, level_hashes(levels), random_episodes=0, chunk=args.chunk)
        outcome_s = time.perf_counter() - t
    t2 = time.perf_counter()
    ids = [f"random-{args.size}/train/{i:07d}" for i in range(args.count)]
    table, hash_s = _table(levels, ids, args.seed)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "train-00000-of-00001.parquet")
        write_level_parquet(table, path)
        nbytes = os.path.getsize(path)
    write_s = time.perf_counter() - t2
    timed = gen_s + outcome_s + write_s
    return {
        "what": "dataset-write",
        "size": args.size,
        "count": args.count,
        "filter": args.filter,
        "noop_outcome": args.noop_outcome,
        "chunk": args.chunk,
        "pool": args.pool,
        "compile_s": round(compile_s, 2),
        "compile_cpu_s": round(c1 - c0, 2),
        "generate_s": round(gen_s, 2),
        "generate_cpu_s": round(gen_cpu_s, 2),
        "outcome_s": round(outcome_s, 2),
        "hash_s": round(hash_s, 2),
        "table_and_write_s": round(write_s, 2),
        "timed_s": round(timed, 2),
        "total_s": round(time.perf_counter() - t0, 2),
        "total_cpu_s": round(time.process_time() - c0, 2),
        "levels_per_s": round(args.count / timed, 1),
        "parquet_bytes": nbytes,
        **_env(),
    }


def run_read(args) -> dict:
    from kinetix.batch_generation import generate_levels
    from kinetix.level_files import read_level_parquet, write_level_parquet

    block = generate_levels(args.seed, np.arange(args.block), args.size, chunk=args.block)
    reps = -(-args.count // args.block)
    levels = jax.tree.map(lambda x: np.concatenate([x] * reps)[: args.count], block)
    ids = [f"random-{args.size}/train/{i:07d}" for i in range(args.count)]
    table, _ = _table(levels, ids, args.seed)
    times = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "train-00000-of-00001.parquet")
        write_level_parquet(table, path)
        nbytes = os.path.getsize(path)
        del table, levels
        for _ in range(args.reps):
            t = time.perf_counter()
            lv, tb = read_level_parquet(path)
            jax.block_until_ready(lv)
            times.append(time.perf_counter() - t)
            del lv, tb
    return {
        "what": "dataset-read",
        "size": args.size,
        "count": args.count,
        "best_s": round(min(times), 3),
        "median_s": round(float(np.median(times)), 3),
        "levels_per_s": round(args.count / min(times), 1),
        "parquet_bytes": nbytes,
        "reps": args.reps,
        **_env(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("write", "read"))
    p.add_argument("--size", default="m", choices=("s", "m", "l"))
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--filter", default="noop", choices=("none", "noop"))
    p.add_argument("--noop-outcome", action="store_true")
    p.add_argument("--chunk", type=int, default=2048)
    p.add_argument(
        "--pool", type=int, default=None, help="no-op filter rollouts per call (default: CPU_POOL)"
    )
    p.add_argument("--block", type=int, default=2048)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    record = run_write(args) if args.mode == "write" else run_read(args)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
