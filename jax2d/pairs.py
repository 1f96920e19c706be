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

__all__ = ["PairTable", "pair_table"]


@dataclasses.dataclass(frozen=True)
class PairTable:
    """Static pair tables for P polygons and C circles (numpy arrays, never traced).

    Attributes:
        a, b: (K,) global shape indices of each candidate pair.
        num_pp, num_cp, num_cc: pairs per class (they are listed in this order).
        rounds: (R, H) pair index per round slot; ``K`` marks an empty slot (a shape sitting out).
        round_perm: (R, 2H) shape order for each round: the ``a`` shapes of the round's slots,
            then the ``b`` shapes; ``N`` (a spare body) fills the empty slots.
        round_inverse: (R, N) inverse of ``round_perm`` restricted to the real shapes.
    """

    num_polygons: int
    num_circles: int
    a: np.ndarray
    b: np.ndarray
    num_pp: int
    num_cp: int
    num_cc: int
    rounds: np.ndarray
    round_perm: np.ndarray
    round_inverse: np.ndarray

    @property
    def num_pairs(self) -> int:
        return int(self.a.shape[0])

    @property
    def num_shapes(self) -> int:
        return self.num_polygons + self.num_circles


def _round_robin(n: int) -> list[list[tuple[int, int]]]:
    """Circle-method schedule: rounds of disjoint pairs covering every pair of ``range(n)`` once."""
    if n < 2:
        return []
    players = list(range(n)) + ([-1] if n % 2 else [])
    m = len(players)
    rounds = []
    for _ in range(m - 1):
        rnd = []
        for k in range(m // 2):
            x, y = players[k], players[m - 1 - k]
            if x >= 0 and y >= 0:
                rnd.append((min(x, y), max(x, y)))
        rounds.append(rnd)
        players = [players[0]] + [players[-1]] + players[1:-1]
    return rounds


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

    schedule = _round_robin(N)
    H = (N + 1) // 2
    R = len(schedule)
    rounds = np.full((R, H), K, np.int32)
    perm = np.full((R, 2 * H), N, np.int32)
    inverse = np.zeros((R, N), np.int32)
    for r, rnd in enumerate(schedule):
        for s, (x, y) in enumerate(rnd):
            k = index[frozenset((x, y))]
            rounds[r, s] = k
            perm[r, s], perm[r, H + s] = a[k], b[k]
        # Shapes sitting out this round (odd N) take the spare slots.
        used = set(perm[r][perm[r] < N].tolist())
        idle = [g for g in range(N) if g not in used]
        free_slots = [s for s in range(H) if rounds[r, s] == K]
        for g in idle:
            s = free_slots.pop(0) if free_slots else None
            if s is None:
                raise AssertionError("round-robin schedule left a shape without a slot")
            perm[r, s] = g
        for pos, g in enumerate(perm[r]):
            if g < N:
                inverse[r, g] = pos
    return PairTable(P, C, a, b, len(pp), len(cp), len(cc), rounds, perm, inverse)
