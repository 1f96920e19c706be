"""The no-op filter as a pool of rollouts: each candidate leaves as soon as it is decided.

:func:`noop_filtered` computes exactly what :func:`kinetix.generator.make_generator` with a
:class:`~kinetix.generator.NoopFilter` computes for each key (candidate ``a`` of a level is drawn
from ``fold_in(key, a)``, attempt 0 from ``key`` itself; the first candidate the no-op policy
does not solve within ``steps`` agent steps is kept, the last one when every attempt is solved),
but it spends far fewer env steps:

* a fixed pool of ``pool`` rollouts advances ``segment`` agent steps per compiled call; a
  candidate whose first episode has ended (solved, died, NaN) or that has run ``steps`` agent
  steps leaves the pool at the end of that call, and its slot takes the next candidate;
* a solved candidate is re-drawn (next attempt) into the same queue as fresh levels, so every
  call runs a full pool (no padded re-draw buckets) until the last candidates drain.

The outcome of a candidate depends on its own rollout only (rows of a ``vmap`` never mix), the
env step ignores its key and the no-op policy its observation, so splitting the ``steps``-step
rollout into segments and mixing candidates of different levels and attempts in one batch
changes no level: ``tests/kinetix/test_batch_generation.py`` compares against the fused filter.

Shapes: ``keys`` (N, 2) uint32; the result is a stacked numpy :class:`~kinetix.level.Level` with
leading axis N. Host memory holds the pool's env states (numpy) between calls; each call moves
the pool (about ``pool`` x 6 KB for M levels) to the device and back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from kinetix.generator import GeneratorParams, NoopFilter, generate_level
from kinetix.level import Level
from kinetix.sizes import EnvSize

__all__ = ["SEGMENT_STEPS", "noop_filtered"]

#: Agent steps per compiled pool call (a decided candidate waits at most this long to leave).
SEGMENT_STEPS = 8


@functools.cache
def _programs(size: EnvSize, params: GeneratorParams, flt: NoopFilter, segment: int):
    """``draw(keys (B,2), attempts (B,)) -> Level`` and ``advance(state, alive, solved, t)``."""
    from kinetix.actions import noop_action
    from kinetix.env import EnvConfig, KinetixEnv

    config = flt.env_config if flt.env_config is not None else EnvConfig(size=size)
    env = KinetixEnv(config)

    def draw(key, a):
        k = jnp.where(a == 0, key, jax.random.fold_in(key, a))
        return generate_level(k, size, params)

    def advance(state, alive, solved, t):
        """``segment`` no-op agent steps of one rollout that has run ``t`` steps so far."""
        action = noop_action(config.action_type)
        key = jax.random.PRNGKey(0)  # the env step ignores its key

        def body(carry, i):
            state, alive, solved = carry
            _, state, _, done, info = env.step(key, state, action)
            ended = alive & (t + i < flt.steps) & done
            return (state, alive & ~ended, solved | (ended & info["solved"])), None

        steps = jnp.arange(segment, dtype=jnp.int32)
        (state, alive, solved), _ = jax.lax.scan(body, (state, alive, solved), steps)
        return state, alive, solved

    return jax.jit(jax.vmap(draw)), jax.jit(jax.vmap(advance))


def _start_states(levels: Level):
    """Host-side ``env.reset`` of a numpy level batch (the state is the level's own scene)."""
    from kinetix.env import EnvState

    n = levels.polygon_roles.shape[0]
    return EnvState(
        scene=levels.scene,
        level=levels,
        timestep=np.zeros(n, np.int32),
        last_distance=np.full(n, -1.0, np.float32),
        episode_return=np.zeros(n, np.float32),
    )


def _host(tree):
    return jax.tree.map(lambda x: np.array(x), tree)


def noop_filtered(
    keys: np.ndarray,
    size: EnvSize,
    params: GeneratorParams,
    flt: NoopFilter,
    *,
    pool: int,
    put: Callable = lambda x: x,
    progress: Callable[[int], None] | None = None,
    report: int = 1,
    segment: int = SEGMENT_STEPS,
) -> Level:
    """The filtered level of every key (see the module doc); a stacked numpy batch.

    ``pool`` rollouts run per call (a multiple of the device count), ``put`` places a host
    array on the devices (sharding), ``progress(n)`` is called each time another ``report``
    levels are finished (the remainder at the end).
    """
    keys = np.asarray(keys)
    n = keys.shape[0]
    segment = max(1, min(segment, flt.steps))
    draw, advance = _programs(size, params, flt, segment)

    def draw_items(rows, attempts):
        m = rows.size
        pad = pool - m
        r = np.concatenate([rows, np.repeat(rows[-1:], pad)]) if pad else rows
        a = np.concatenate([attempts, np.repeat(attempts[-1:], pad)]) if pad else attempts
        lv = draw(put(jnp.asarray(keys[r])), put(jnp.asarray(a, jnp.int32)))
        return jax.tree.map(lambda x: np.asarray(x)[:m], lv)

    if flt.attempts == 1:  # the first candidate is kept whatever its outcome
        parts = []
        for lo in range(0, n, pool):
            rows = np.arange(lo, min(lo + pool, n))
            parts.append(draw_items(rows, np.zeros(rows.size, np.int32)))
            if progress is not None:
                progress(rows.size)
        return jax.tree.map(lambda *xs: np.concatenate(xs), *parts)

    out = None  # the kept levels, filled as candidates are decided
    fresh = 0  # next level not drawn yet
    redraw_rows: list[np.ndarray] = []  # levels whose candidate was solved, with next attempt
    redraw_att: list[np.ndarray] = []
    buf = None  # drawn candidates waiting for a slot: (rows, attempts, levels)
    slot_row = np.full(pool, -1, np.int64)
    slot_att = np.zeros(pool, np.int32)
    t = np.zeros(pool, np.int32)
    alive = np.zeros(pool, bool)
    solved = np.zeros(pool, bool)
    state = None
    finished = emitted = 0

    def take_work(k):
        nonlocal fresh
        rows, att = [], []
        if redraw_rows:
            rr, aa = np.concatenate(redraw_rows), np.concatenate(redraw_att)
            rows.append(rr[:k])
            att.append(aa[:k])
            redraw_rows[:] = [rr[k:]] if rr.size > k else []
            redraw_att[:] = [aa[k:]] if aa.size > k else []
        m = k - sum(r.size for r in rows)
        if m > 0 and fresh < n:
            hi = min(n, fresh + m)
            rows.append(np.arange(fresh, hi))
            att.append(np.zeros(hi - fresh, np.int32))
            fresh = hi
        if not rows:
            return None
        return np.concatenate(rows), np.concatenate(att).astype(np.int32)

    while True:
        empty = np.flatnonzero(slot_row < 0)
        if empty.size and (buf is None or buf[0].size < empty.size):
            work = take_work(pool)
            if work is not None:
                lv = draw_items(*work)
                if out is None:
                    out = jax.tree.map(lambda x: np.zeros((n, *x.shape[1:]), x.dtype), lv)
                if buf is None:
                    buf = (work[0], work[1], lv)
                else:
                    buf = (
                        np.concatenate([buf[0], work[0]]),
                        np.concatenate([buf[1], work[1]]),
                        jax.tree.map(lambda a, b: np.concatenate([a, b]), buf[2], lv),
                    )
        if empty.size and buf is not None and buf[0].size:
            k = min(empty.size, buf[0].size)
            slots = empty[:k]
            new = _start_states(jax.tree.map(lambda x, k=k: x[:k], buf[2]))
            if state is None:  # every slot starts as a copy of the first candidate
                state = jax.tree.map(lambda x: np.repeat(x[:1], pool, axis=0), new)
            for s, v in zip(jax.tree.leaves(state), jax.tree.leaves(new), strict=True):
                s[slots] = v
            slot_row[slots], slot_att[slots] = buf[0][:k], buf[1][:k]
            t[slots], alive[slots], solved[slots] = 0, True, False
            buf = (buf[0][k:], buf[1][k:], jax.tree.map(lambda x, k=k: x[k:], buf[2]))
        busy = slot_row >= 0
        if not busy.any():
            break
        state, alive, solved = _host(
            advance(
                jax.tree.map(lambda x: put(jnp.asarray(x)), state),
                put(jnp.asarray(alive)),
                put(jnp.asarray(solved)),
                put(jnp.asarray(t)),
            )
        )
        t += segment
        done = np.flatnonzero(busy & (~alive | (t >= flt.steps)))
        again = solved[done] & (slot_att[done] < flt.attempts - 1)
        keep = done[~again]
        rows = slot_row[keep]
        for o, s in zip(jax.tree.leaves(out), jax.tree.leaves(state.level), strict=True):
            o[rows] = s[keep]
        if again.any():
            redraw_rows.append(slot_row[done[again]])
            redraw_att.append(slot_att[done[again]] + 1)
        slot_row[done] = -1
        finished += keep.size
        while progress is not None and finished - emitted >= report:
            progress(report)
            emitted += report
    if progress is not None and finished > emitted:
        progress(finished - emitted)
    return out
