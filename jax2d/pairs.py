"""Static tables of candidate shape pairs and the solver's schedule (built with numpy).

Every unordered pair of distinct shapes is a candidate. Pairs are listed by class, in the order
Kinetix's reward code expects them:

* polygon-polygon ``(i, j)``, ``i < j``, row-major (``a`` = lower polygon index);
* circle-polygon ``(circle i, polygon j)``, circle-major (``a`` = the circle);
* circle-circle ``(i, j)``, ``i < j``, row-major.

``a`` and ``b`` are global shape indices (polygons first, then circles). Contact normals point
from ``a`` to ``b``.

The solver visits pairs in *rounds*: a round-robin tournament schedule over the N shapes, in
which each round is a perfect matching (no shape appears twice). Inside a round the pairs are
solved in parallel, which is then exactly Gauss-Seidel; rounds run one after another.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

__all__ = ["PairTable", "pair_table", "rotate_players"]


@dataclasses.dataclass(frozen=True)
class PairTable:
    """Static pair tables for P polygons and C circles (numpy arrays, never traced).

    Attributes:
        a, b: (K,) global shape indices of each candidate pair.
        num_pp, num_cp, num_cc: pairs per class (they are listed in this order).
        rounds: (R, H) pair index solved in each slot of each round; ``K`` marks an empty slot.
        swapped: (R, H) bool; the slot's first body is the pair's ``b`` (not its ``a``).
        incidence: (N, N-1) for each shape, where its pairs' per-side values sit in the
            concatenation ``[values for side a (K), values for side b (K)]``: summing
            ``concat[incidence]`` over the last axis adds up every pair's effect on each shape
            (a gather and a reduction, no scatter).

    The schedule is the circle method on M = 2H "players" (the N shapes plus one spare when N is
    odd). In round r the player order is the base order ``0 .. M-1`` with its last M-1 entries
    rotated right r times; slot k pairs the k-th player with the (M-1-k)-th. So a solver can keep
    body arrays in player order and move to the next round with a fixed rotation, no gathers.
    """

    num_polygons: int
    num_circles: int
    a: np.ndarray
    b: np.ndarray
    num_pp: int
    num_cp: int
    num_cc: int
    rounds: np.ndarray
    swapped: np.ndarray
    incidence: np.ndarray

    @property
    def num_pairs(self) -> int:
        return int(self.a.shape[0])

    @property
    def num_shapes(self) -> int:
        return self.num_polygons + self.num_circles

    @property
    def num_players(self) -> int:
        return 2 * self.rounds.shape[1]


def rotate_players(x):
    """Next round's player order along axis 0: keep entry 0, rotate the rest right by one.

    Works on numpy and jax arrays (static slices only, so it compiles to no gather).
    """
    parts = [x[:1], x[-1:], x[1:-1]]
    if isinstance(x, np.ndarray):
        return np.concatenate(parts, axis=0)
    import jax.numpy as jnp

    return jnp.concatenate(parts, axis=0)


@functools.cache
def pair_table(num_polygons: int, num_circles: int) -> PairTable:
    """Builds (and caches) the pair tables for a scene with the given shape capacities."""
    P, C = num_polygons, num_circles
    pp = [(i, j) for i in range(P) for j in range(i + 1, P)]
    cp = [(P + i, j) for i in range(C) for j in range(P)]
    cc = [(P + i, P + j) for i in range(C) for j in range(i + 1, C)]
    pairs = pp + cp + cc
    K, N = len(pairs), P + C
    index = {frozenset(p): k for k, p in enumerate(pairs)}
    a = np.array([p[0] for p in pairs], np.int32).reshape(K)
    b = np.array([p[1] for p in pairs], np.int32).reshape(K)
    H = (N + 1) // 2
    M = 2 * H
    R = M - 1 if N >= 2 else 0
    rounds = np.full((R, H), K, np.int32)
    swapped = np.zeros((R, H), bool)
    players = np.arange(M)
    for r in range(R):
        for k in range(H):
            x, y = int(players[k]), int(players[M - 1 - k])
            if x < N and y < N:
                p = index[frozenset((x, y))]
                rounds[r, k] = p
                swapped[r, k] = bool(a[p] == y)
        players = rotate_players(players)
    incidence = np.zeros((N, max(N - 1, 0)), np.int32)
    fill = np.zeros(N, np.int32)
    for k in range(K):
        incidence[a[k], fill[a[k]]] = k
        fill[a[k]] += 1
        incidence[b[k], fill[b[k]]] = K + k
        fill[b[k]] += 1
    return PairTable(P, C, a, b, len(pp), len(cp), len(cc), rounds, swapped, incidence)
