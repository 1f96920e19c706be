"""Releasing jax's compiled programs before a process runs out of memory mappings (issue 16)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from kinetix import compiled_programs as cp

pytestmark = pytest.mark.skipif(
    cp.memory_map_count() is None or cp.memory_map_limit() is None,
    reason="needs /proc/self/maps and vm.max_map_count (Linux)",
)


def _compile_distinct(n: int) -> list:
    fns = [jax.jit(lambda x, k=k: jnp.sin(x) * k + jnp.cumsum(x)) for k in range(n)]
    for k, f in enumerate(fns):
        f(jnp.ones(3 + k)).block_until_ready()
    return fns


def test_counts_are_positive_and_bounded():
    count, limit = cp.memory_map_count(), cp.memory_map_limit()
    assert 0 < count < limit


def test_compiled_programs_hold_mappings_and_release_frees_them():
    cp.release_compiled_programs()
    base = cp.memory_map_count()
    fns = _compile_distinct(24)
    held = cp.memory_map_count()
    # Each live CPU executable holds machine code in mappings of its own.
    assert held - base >= 24
    cp.release_compiled_programs()
    after = cp.memory_map_count()
    assert after - base < (held - base) / 2
    # Jitted functions stay usable: they compile again on their next call.
    assert float(fns[5](jnp.zeros(8)).sum()) == pytest.approx(0.0)
    assert float(fns[2](jnp.ones(4)).sum()) == pytest.approx(4 * 2 * 0.8414709848 + 10.0, rel=1e-5)


def test_release_only_past_the_fraction():
    assert cp.release_compiled_programs_if_needed(1.0) is False
    f = jax.jit(lambda x: x + 1)
    assert int(f(1)) == 2
    assert cp.release_compiled_programs_if_needed(1e-9) is True
    assert int(f(2)) == 3


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_fraction_outside_unit_interval_is_refused(fraction):
    with pytest.raises(ValueError, match="fraction"):
        cp.release_compiled_programs_if_needed(fraction)
