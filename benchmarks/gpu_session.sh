#!/usr/bin/env bash
# The prepared work for a lent GPU (the `device` tool; about 15 minutes of device time per
# session, 10 per command). Never in CI. From the repository root, on the GPU machine:
#
#   bash benchmarks/gpu_session.sh
#
# What it does, in order, each step cut off by its own time limit so the results come back:
#  1. prints the device and the versions (the machine's own python3 with its CUDA jax; the
#     project runs from the checkout through PYTHONPATH, nothing is installed);
#  2. `levels calibrate` of the hand-made v2 candidates (issue 18): the policy-free
#     measurements and from-scratch PPO at 1e5 env steps, then 1e6 where 1e5 is below 0.8, the
#     (level, seed) cells trained as one vmapped program per chunk (the GPU path of
#     `train_and_evaluate_cells`). Every finished chunk is cached per cell, so a cut-off run
#     loses only the chunk in flight, and the next session resumes from the returned cache.
#
# Resume: before calling, copy the local calibration cache into `gpu-carry/cal` (ignored by git
# through .git/info/exclude) and name `gpu-carry` in the call's carry. What comes back under $OUT:
# cal-cache.tgz (the whole cache; unpack it over the local one and rerun `levels calibrate` here
# to merge the rows into the committed store), measurements.json (the rows), calibrate.log and
# versions.txt.
#
# Knobs (environment): PY (python, default python3), LIMIT (seconds for step 2, default 480),
# LEVELS (space-separated level ids, default every v2 candidate), BUDGETS (default 1e5,1e6),
# CHUNK (cells per program, default 36).
set -uo pipefail
OUT=${OUT:-/tmp/gpu-session-out}
PY=${PY:-python3}
LIMIT=${LIMIT:-480}
BUDGETS=${BUDGETS:-1e5,1e6}
CHUNK=${CHUNK:-36}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/kinetix-bench-jax-cache}
CACHE="$OUT/cal"
mkdir -p "$CACHE"
if [ -d gpu-carry/cal ]; then
  cp -r gpu-carry/cal/. "$CACHE/"
fi

"$PY" - <<'EOF' 2>&1 | tee "$OUT/versions.txt"
import platform

import jax
import jaxlib

print("python", platform.python_version(), "jax", jax.__version__, "jaxlib", jaxlib.__version__)
print("devices", jax.devices())
EOF

if [ -z "${LEVELS:-}" ]; then
  LEVELS=$("$PY" -c '
import kinetix.handmade as hm
print(" ".join(e.id for s in "sml" for e, _, _ in hm.certified_levels(s, release="v2")))
')
fi
args=()
for id in $LEVELS; do
  args+=(--level "$id")
done
echo "calibrating $((${#args[@]} / 2)) levels at budgets $BUDGETS (limit ${LIMIT} s)" | tee "$OUT/calibrate.log"
t0=$(date +%s)
timeout "$LIMIT" "$PY" -m harness.cli levels calibrate "${args[@]}" --budget "$BUDGETS" \
  --chunk "$CHUNK" --store "$OUT/measurements.json" --cache-dir "$CACHE" --no-progress \
  2>&1 | tee -a "$OUT/calibrate.log"
echo "calibrate: exit ${PIPESTATUS[0]} after $(($(date +%s) - t0)) s" | tee -a "$OUT/calibrate.log"
tar czf "$OUT/cal-cache.tgz" -C "$OUT" cal && rm -rf "$CACHE"
ls -la "$OUT"
