"""Physics throughput and compile time of jax2d.step, as JSON lines.

    python benchmarks/physics.py [--size s,m,l] [--batch 256,4096] [--steps 128]
                                 [--setting default|jax2d-compat] [...]

The same measurement as ``kinetix-bench bench physics --json`` (it calls it; every option of
``kinetix-bench bench physics --help`` works here): one JSON line per (size, batch) on stdout.
"""

from __future__ import annotations

import sys

from harness.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "physics", *sys.argv[1:], "--json"]))
