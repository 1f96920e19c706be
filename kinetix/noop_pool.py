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
leading axis N. The pool's env states stay on the device; per call only the slots' flags
(``alive``, ``solved``, steps run) cross to the host, and each drawn bucket once.
"""

from __future__ import annotations

import dataclasses
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
    """The pool's compiled programs (one set per size, params, filter and segment).

    ``draw(keys (B, 2), attempts (B,)) -> Level``: candidate ``attempts`` of each key;
    ``insert(state, cand, src (B,), dst (B,)) -> state``: slot ``dst[i]`` starts the episode
    of candidate ``src[i]`` (``dst[i] == B`` is dropped);
    ``advance(state, alive, solved, t) -> (state, alive, solved)``: ``segment`` no-op agent
    steps of every slot (slot ``t`` is the number of steps it has run).
    """
    from kinetix.actions import noop_action
    from kinetix.env import EnvConfig, KinetixEnv

    config = flt.env_config if flt.env_config is not None else EnvConfig(size=size)
    env = KinetixEnv(config)

    def draw(key, a):
        k = jnp.where(a == 0, key, jax.random.fold_in(key, a))
        return generate_level(k, size, params)

    def insert(state, cand, src, dst):
        new = _start_states(jax.tree.map(lambda x: x[src], cand), jnp)
        return jax.tree.map(lambda s, v: s.at[dst].set(v, mode="drop"), state, new)

    def advance(state, alive, solved, t):
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

    return jax.jit(jax.vmap(draw)), jax.jit(insert), jax.jit(jax.vmap(advance))


def _start_states(levels: Level, xp=np):
    """``env.reset`` of a level batch (the state starts at the level's own scene)."""
    from kinetix.env import EnvState

    n = levels.polygon_roles.shape[0]
    return EnvState(
        scene=levels.scene,
        level=levels,
        timestep=xp.zeros(n, xp.int32),
        last_distance=xp.full(n, -1.0, xp.float32),
        episode_return=xp.zeros(n, xp.float32),
    )


@dataclasses.dataclass
class _Batch:
    """One drawn bucket of candidates: on the device (``dev``) and on the host (``host``)."""

    rows: np.ndarray  # (m,) output row of each candidate
    attempts: np.ndarray  # (m,) its attempt
    dev: Level
    host: Level
    next: int = 0  # candidates before this one have a slot


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
    draw, insert, advance = _programs(size, params, flt, segment)

    def draw_batch(rows, attempts) -> _Batch:
        m, pad = rows.size, pool - rows.size
        r = np.concatenate([rows, np.repeat(rows[-1:], pad)]) if pad else rows
        a = np.concatenate([attempts, np.repeat(attempts[-1:], pad)]) if pad else attempts
        dev = draw(put(jnp.asarray(keys[r])), put(jnp.asarray(a, jnp.int32)))
        host = jax.tree.map(lambda x: np.asarray(x)[:m], dev)
        return _Batch(rows, attempts.astype(np.int32), dev, host)

    if flt.attempts == 1:  # the first candidate is kept whatever its outcome
        parts = []
        for lo in range(0, n, pool):
            rows = np.arange(lo, min(lo + pool, n))
            parts.append(draw_batch(rows, np.zeros(rows.size, np.int32)).host)
            if progress is not None:
                progress(rows.size)
        return jax.tree.map(lambda *xs: np.concatenate(xs), *parts)

    out = None  # the kept levels, filled as candidates are decided
    fresh = 0  # next level not drawn yet
    redraw: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, next attempts) of solved ones
    waiting: list[_Batch] = []  # drawn batches with candidates still waiting for a slot
    slot_row = np.full(pool, -1, np.int64)  # output row of each slot's candidate, -1 empty
    slot_att = np.zeros(pool, np.int32)
    slot_batch: list[_Batch | None] = [None] * pool
    slot_src = np.zeros(pool, np.int64)  # its index in slot_batch
    t = np.zeros(pool, np.int32)
    alive = np.zeros(pool, bool)
    solved = np.zeros(pool, bool)
    state = None
    finished = emitted = 0

    def take_work():
        nonlocal fresh
        rows = [r for r, _ in redraw]
        att = [a for _, a in redraw]
        redraw.clear()
        m = pool - sum(r.size for r in rows)
        if m > 0 and fresh < n:
            hi = min(n, fresh + m)
            rows.append(np.arange(fresh, hi))
            att.append(np.zeros(hi - fresh, np.int32))
            fresh = hi
        if not rows:
            return None
        rows, att = np.concatenate(rows), np.concatenate(att)
        if rows.size > pool:  # keep the rest for the next draw
            redraw.append((rows[pool:], att[pool:]))
            rows, att = rows[:pool], att[:pool]
        return rows, att

    while True:
        empty = np.flatnonzero(slot_row < 0)
        queued = sum(b.rows.size - b.next for b in waiting)
        if empty.size > queued:
            work = take_work()
            if work is not None:
                waiting.append(draw_batch(*work))
        while empty.size and waiting:
            b = waiting[0]
            k = min(empty.size, b.rows.size - b.next)
            slots, src = empty[:k], np.arange(b.next, b.next + k)
            if state is None:  # the pool starts as the first bucket (empty slots are ignored)
                state = _start_states(b.dev, jnp)
            dst = np.full(pool, pool, np.int32)
            dst[:k] = slots
            state = insert(
                state, b.dev, put(jnp.asarray(np.resize(src, pool), jnp.int32)), put(dst)
            )
            slot_row[slots], slot_att[slots] = b.rows[src], b.attempts[src]
            for s in slots:
                slot_batch[s] = b
            slot_src[slots] = src
            t[slots], alive[slots], solved[slots] = 0, True, False
            b.next += k
            empty = empty[k:]
            if b.next == b.rows.size:
                waiting.pop(0)
        busy = slot_row >= 0
        if not busy.any():
            break
        state, a_dev, s_dev = advance(
            state, put(jnp.asarray(alive)), put(jnp.asarray(solved)), put(jnp.asarray(t))
        )
        alive, solved = np.array(a_dev), np.array(s_dev)
        t += segment
        done = np.flatnonzero(busy & (~alive | (t >= flt.steps)))
        again = solved[done] & (slot_att[done] < flt.attempts - 1)
        if again.any():
            redraw.append((slot_row[done[again]], slot_att[done[again]] + 1))
        keep = done[~again]
        if keep.size:
            if out is None:
                proto = slot_batch[keep[0]].host
                out = jax.tree.map(lambda x: np.zeros((n, *x.shape[1:]), x.dtype), proto)
            for batch in {id(slot_batch[s]): slot_batch[s] for s in keep}.values():
                sel = keep[[slot_batch[s] is batch for s in keep]]
                rows, src = slot_row[sel], slot_src[sel]
                for o, h in zip(jax.tree.leaves(out), jax.tree.leaves(batch.host), strict=True):
                    o[rows] = h[src]
        for s in done:
            slot_batch[s] = None
        slot_row[done] = -1
        finished += keep.size
        while progress is not None and finished - emitted >= report:
            progress(report)
            emitted += report
    if progress is not None and finished > emitted:
        progress(finished - emitted)
    return out
