"""kinetix.batch_generation: chunked, device-sharded, no-op-filtered level generation.

``generate_levels(seed, indices, size)`` must equal ``make_generator(size, params, filter)`` on
the keys ``level_keys(seed, indices)`` level for level (compared by level hash), whatever the
chunk size (chunks are padded) and the number of devices (checked in a subprocess with 4 host
CPU devices).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import kinetix as kx
from kinetix.batch_generation import generate_levels, level_keys

SEED = 3
N = 24  # with chunk=16: one full chunk and one padded one
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def filtered():
    """The 24 no-op-filtered S levels of stream 3, chunk 16, with the progress calls."""
    calls = []
    levels = generate_levels(
        SEED, np.arange(N), "s", noop_filter=kx.NoopFilter(), chunk=16, progress=calls.append
    )
    return levels, calls


def test_level_keys_are_fold_in():
    keys = np.asarray(level_keys(5, [0, 7, 2**32 - 1]))
    base = jax.random.PRNGKey(5)
    for row, i in zip(keys, [0, 7, 2**32 - 1], strict=True):
        np.testing.assert_array_equal(row, np.asarray(jax.random.fold_in(base, i)))


def test_unfiltered_equals_make_generator():
    idx = np.arange(N)
    got = generate_levels(SEED, idx, "s", chunk=16)
    assert isinstance(got.polygon_roles, np.ndarray)
    assert got.polygon_roles.shape == (N, kx.env_size("s").num_polygons)
    want = kx.make_generator("s")(level_keys(SEED, idx))
    assert kx.level_hashes(got) == kx.level_hashes(want)
    # arbitrary indices (same compiled bucket), up to the largest one
    odd = [17, 2**32 - 1, 5]
    got = generate_levels(SEED, odd, "s", chunk=16)
    assert kx.level_hashes(got) == kx.level_hashes(kx.make_generator("s")(level_keys(SEED, odd)))


def test_filtered_equals_make_generator(filtered):
    levels, calls = filtered
    assert sum(calls) == N and calls == [16, 8]
    want = kx.make_generator("s", noop_filter=kx.NoopFilter())(level_keys(SEED, np.arange(N)))
    assert kx.level_hashes(levels) == kx.level_hashes(want)
    # the filter did something: some raw levels of this stream are solved by the no-op policy
    raw = kx.make_generator("s")(level_keys(SEED, np.arange(N)))
    assert kx.level_hashes(raw) != kx.level_hashes(levels)


def test_result_does_not_depend_on_chunk(filtered):
    levels, _ = filtered
    other = generate_levels(SEED, np.arange(N), "s", noop_filter=kx.NoopFilter(), chunk=8)
    assert kx.level_hashes(other) == kx.level_hashes(levels)
    for a, b in zip(jax.tree.leaves(other), jax.tree.leaves(levels), strict=True):
        np.testing.assert_array_equal(a, b)


def test_pool_segments_and_attempts_do_not_change_levels():
    """A rollout length that is not a multiple of the pool's segment (13 = 8 + 5), 3 attempts,
    and the single-attempt filter (no rollout: the first candidate is kept)."""
    keys = level_keys(SEED, np.arange(N))
    flt = kx.NoopFilter(attempts=3, steps=13)
    got = generate_levels(SEED, np.arange(N), "s", noop_filter=flt, chunk=16)
    want = kx.make_generator("s", noop_filter=flt)(keys)
    assert kx.level_hashes(got) == kx.level_hashes(want)
    one = generate_levels(SEED, np.arange(N), "s", noop_filter=kx.NoopFilter(attempts=1), chunk=16)
    assert kx.level_hashes(one) == kx.level_hashes(kx.make_generator("s")(keys))


@pytest.mark.parametrize(
    "indices, match",
    [
        ([], "non-empty"),
        ([[0, 1], [2, 3]], "1-D"),
        ([0, -1], r"\[0, 2\*\*32\)"),
        ([2**32], r"\[0, 2\*\*32\)"),
    ],
)
def test_bad_indices(indices, match):
    with pytest.raises(ValueError, match=match):
        generate_levels(0, indices, "s")


def test_bad_size():
    with pytest.raises(kx.GeneratorError):
        generate_levels(0, [0], "xl")


_SCRIPT = """
import jax, kinetix as kx
from kinetix.batch_generation import generate_levels
assert jax.local_device_count() == 4, jax.local_devices()
lv = generate_levels(3, range(8), "s", noop_filter=kx.NoopFilter(), chunk=8)
print("\\n".join(kx.level_hashes(lv)))
"""


@pytest.mark.slow
def test_four_devices_give_the_same_levels():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = proc.stdout.split()
    want = generate_levels(SEED, range(8), "s", noop_filter=kx.NoopFilter(), chunk=8)
    assert got == kx.level_hashes(want)
