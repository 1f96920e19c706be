"""Fine-tuning protocol throughput: the vmapped cell program against the sequential path.

Both sides run the same ``finetune-<budget>@v1`` cells (levels x training seeds, one start) with
empty result caches, one after the other in ONE process on the same machine, and must agree
(identical solved/died per attempt, returns to 1e-3)::

    nice -n 5 .venv/bin/python benchmarks/finetuning.py --benchmark handmade-s-v1 --levels 2 \\
        --out benchmarks/results/finetuning-cpu.json

``--levels N`` takes the first N levels (the sequential side costs about 3 minutes per cell at
1e5 on two CPU cores, so the whole of ``handmade-s-v1`` sequentially is about 2 hours);
``--start scratch`` (default) trains from fresh weights, ``--start SUBMISSION`` from a
submission's. Prints one JSON object: wall seconds of each side (compilation included, as a
user pays it), env steps trained, env steps/s and the speed-up, and whether outcomes agree.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="handmade-s-v1")
    ap.add_argument("--levels", type=int, default=0, help="first N levels (0: all)")
    ap.add_argument("--budget", type=float, default=1e5)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--start", default="scratch", help="scratch or a submission folder")
    ap.add_argument("--chunk", type=int, default=36)
    ap.add_argument("--skip-sequential", action="store_true", help="time the cell program only")
    ap.add_argument("--out", default=None, help="also write the JSON result here")
    args = ap.parse_args(argv)

    import jax
    import numpy as np

    from harness.levels.loading import load_benchmark
    from harness.scoring.finetuning import scratch_owner, train_and_evaluate_cells
    from harness.scoring.protocols import FineTune
    from kinetix import EnvConfig

    loaded = load_benchmark(args.benchmark, offline=True)
    n = args.levels or len(loaded.level_ids)
    levels = jax.tree.map(lambda x: np.asarray(x)[:n], loaded.levels)
    hashes = list(loaded.level_hashes[:n])
    seeds = tuple(int(s) for s in args.seeds.split(","))
    protocol = FineTune(budget=int(args.budget), train_seeds=seeds)
    arch, arch_config, params, owner = "entity-transformer@v1", None, None, None
    if args.start != "scratch":
        from harness.submissions import load_submission

        sub = load_submission(args.start)
        arch, arch_config, params, owner = (
            sub.architecture,
            sub.arch_config,
            sub.params,
            sub.sha256,
        )
    owner = owner or scratch_owner(arch, arch_config or {})
    env = EnvConfig(size=loaded.benchmark.size)
    cells = n * len(seeds)
    per_update = protocol.num_envs * protocol.num_steps
    steps = cells * max(1, protocol.budget // per_update) * per_update

    def timed(sequential: bool):
        with tempfile.TemporaryDirectory() as cache:
            t = time.perf_counter()
            out = train_and_evaluate_cells(
                arch,
                arch_config,
                params,
                levels,
                hashes,
                protocol,
                env,
                owner=owner,
                start=args.start,
                cache_dir=cache,
                chunk=args.chunk,
                sequential=sequential,
            )
            return out, time.perf_counter() - t

    result = {
        "benchmark": args.benchmark,
        "levels": n,
        "seeds": list(seeds),
        "cells": cells,
        "protocol": protocol.id,
        "start": args.start,
        "env_steps": int(steps),
        "chunk": args.chunk,
        "hardware": f"{len(jax.devices())} x {jax.devices()[0].device_kind}",
    }
    vm, t_vm = timed(False)
    result["cells_wall_s"] = round(t_vm, 1)
    result["cells_env_steps_per_s"] = round(steps / t_vm, 1)
    if not args.skip_sequential:
        seq, t_seq = timed(True)
        result["sequential_wall_s"] = round(t_seq, 1)
        result["sequential_env_steps_per_s"] = round(steps / t_seq, 1)
        result["speedup"] = round(t_seq / t_vm, 2)
        result["solved_identical"] = bool(np.array_equal(vm["solved"], seq["solved"]))
        result["died_identical"] = bool(np.array_equal(vm["died"], seq["died"]))
        result["max_return_diff"] = float(np.max(np.abs(vm["return"] - seq["return"])))
    result["cells_solve_rate"] = float(vm["solved"].mean())
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        from kinetix.atomic_io import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
