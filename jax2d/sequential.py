"""The sequential (Gauss-Seidel) solver: joints one at a time, then contacts in rounds.

Contact pairs are visited in the rounds of :func:`jax2d.pairs.pair_table`'s round-robin
schedule. The pairs of one round share no shape, so solving a round in parallel is exactly a
sequential pass over it. Body arrays are kept in the round's player order; moving to the next
round is a fixed rotation (static slices, no gathers).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jax2d.contact import solve_round
from jax2d.joints import solve_joints
from jax2d.pairs import pair_table, rotate_players

__all__ = ["sequential_iterations"]


def _pad_rows(x, n):
    if n == 0:
        return x
    return jnp.concatenate([x, jnp.zeros((n, *x.shape[1:]), x.dtype)], axis=0)


@functools.cache
def _pair_positions(P: int, C: int):
    """Flat round-major position of each pair slot (for reading results back in pair order)."""
    table = pair_table(P, C)
    where = np.zeros(table.num_pairs, np.int32)
    R, H = table.rounds.shape
    for r in range(R):
        for s in range(H):
            k = table.rounds[r, s]
            if k < table.num_pairs:
                where[k] = r * H + s
    return where


def sequential_iterations(
    table, config, params, joint, frame, pos, vel, ang, rows, acc_n, acc_t, acc_p, acc_l
):
    """Runs ``config.num_solver_iterations`` Gauss-Seidel iterations on one scene.

    Returns (position, velocity, angular_velocity, acc_n, acc_t, acc_p, acc_l, joint_points);
    contact impulses (K, 2) in pair order.
    """
    J = joint.active.shape[0]
    N = pos.shape[0]
    K = table.num_pairs
    mass_matrix = config.setting.joint_mass_matrix
    if K:
        R, H = table.rounds.shape
        M = 2 * H
        flat = table.rounds.reshape(-1)
        round_rows = jax.tree_util.tree_map(
            lambda x: _pad_rows(x, 1)[flat].reshape(R, H, *x.shape[1:]), rows
        )
        acc_n = _pad_rows(acc_n, 1)[flat].reshape(R, H, 2)
        acc_t = _pad_rows(acc_t, 1)[flat].reshape(R, H, 2)
        swapped = jnp.asarray(table.swapped)

        def one_round(carry, xs):
            v, w = carry  # bodies in this round's player order (M rows)
            rr, an, at, sw = xs
            v1, w1 = v[:H], w[:H]
            v2, w2 = jnp.flip(v[H:], 0), jnp.flip(w[H:], 0)
            s2 = sw[:, None]
            va, vb = jnp.where(s2, v2, v1), jnp.where(s2, v1, v2)
            wa, wb = jnp.where(sw, w2, w1), jnp.where(sw, w1, w2)
            an, at, va, wa, vb, wb = solve_round(rr, an, at, va, wa, vb, wb)
            v1, v2 = jnp.where(s2, vb, va), jnp.where(s2, va, vb)
            w1, w2 = jnp.where(sw, wb, wa), jnp.where(sw, wa, wb)
            v = rotate_players(jnp.concatenate([v1, jnp.flip(v2, 0)]))
            w = rotate_players(jnp.concatenate([w1, jnp.flip(w2, 0)]))
            return (v, w), (an, at)

        def contact_pass(vel, ang, acc_n, acc_t):
            carry = (_pad_rows(vel, M - N), _pad_rows(ang, M - N))
            (v, w), (acc_n, acc_t) = jax.lax.scan(
                one_round, carry, (round_rows, acc_n, acc_t, swapped)
            )
            return v[:N], w[:N], acc_n, acc_t

    def iteration(_, carry):
        pos, vel, ang, acc_p, acc_l, jp, acc_n, acc_t = carry
        if J:
            pos, vel, ang, acc_p, acc_l, jp = solve_joints(
                joint, frame, pos, vel, ang, acc_p, acc_l, params, mass_matrix
            )
        if K:
            vel, ang, acc_n, acc_t = contact_pass(vel, ang, acc_n, acc_t)
        return pos, vel, ang, acc_p, acc_l, jp, acc_n, acc_t

    carry = (pos, vel, ang, acc_p, acc_l, joint.position, acc_n, acc_t)
    carry = jax.lax.fori_loop(0, config.num_solver_iterations, iteration, carry)
    pos, vel, ang, acc_p, acc_l, points, acc_n, acc_t = carry
    if K:
        where = _pair_positions(table.num_polygons, table.num_circles)
        acc_n, acc_t = acc_n.reshape(-1, 2)[where], acc_t.reshape(-1, 2)[where]
    return pos, vel, ang, acc_n, acc_t, acc_p, acc_l, points
