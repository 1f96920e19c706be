"""Regression tests from the physics fuzzer (``benchmarks/fuzz_physics.py``, issue 16).

``fixtures/fuzz_regressions.npz`` holds the 25 adversarial levels on which the fuzzer first found
NaN (made by ``fixtures/make_fuzz_regressions.py``). Two causes, two fixes:

* ``refused`` (11 levels): a dynamic shape lighter than the float32 solver resolves (a 0.1 mm
  disc at density 1e-4: inverse mass 1e11, inverse inertia 1e19). Validation now refuses it,
  naming the shape and the field.
* ``runs`` (14 levels, ordinary masses): constraints that cannot all hold (shapes sunk in the
  floor and jointed, joints locked outside their limits, motors and thrusters at 1e4-1e5 times
  the usual power) made the stored warm-start impulses grow every step until they overflowed;
  light-but-valid shapes lost the joint's effective-mass determinant to cancellation; rotations
  integrated from unclamped solver velocities reached 1e18 rad. Each now steps 256 agent steps
  with every value finite, under the setting and solver it failed under.

Plus: every adversarial family builds valid levels, and the engine's safeguards leave ordinary
values bit for bit unchanged.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax2d
import kinetix as kx
from jax2d.contact import ContactRows, bound_contact_impulses
from jax2d.joints import point_mass_determinant
from kinetix.adversarial import FAMILIES, make_adversarial
from kinetix.batch_generation import level_keys

FIXTURE = Path(__file__).parent / "fixtures" / "fuzz_regressions.npz"
HORIZON = 256


@functools.cache
def _fixture():
    return dict(np.load(FIXTURE))


def _levels(size: str):
    """(Level batch of ``size``, metadata dict) from the fixture."""
    data = _fixture()
    proto = kx.empty_level(size)
    paths, treedef = jax.tree_util.tree_flatten_with_path(proto)
    leaves = [data[f"{size}/level{jax.tree_util.keystr(p)}"] for p, _ in paths]
    batch = jax.tree_util.tree_unflatten(treedef, leaves)
    prefix = f"{size}/"
    meta = {
        k[len(prefix) :]: v
        for k, v in data.items()
        if k.startswith(prefix) and not k.startswith(prefix + "level.")
    }
    return batch, meta


def _row(batch, i):
    return jax.tree.map(lambda x: x[i], batch)


def _finite(tree):
    return jnp.all(
        jnp.stack(
            [
                jnp.all(jnp.isfinite(x))
                for x in jax.tree.leaves(tree)
                if jnp.issubdtype(x.dtype, jnp.inexact)
            ]
        )
    )


@functools.cache
def _rollout(size: str, setting: str, solver: str):
    """``f(levels (B,), keys (B, 2)) -> (B, HORIZON) bool``: agent steps with a non-finite scene,
    observation or reward, under uniformly random actions; resets at the end of an episode (and
    after a non-finite step), as the fuzzer does."""
    config = kx.EnvConfig(size=size, physics_setting=setting, solver=solver, auto_reset=False)
    params = kx.EnvParams()

    def one(level, key):
        _, fresh = kx.reset(key, level, config)

        def body(state, k):
            action = kx.random_action(k, config.action_type)
            obs, new, reward, done, _ = kx.step(k, state, action, config, params)
            ok = _finite(new.scene) & _finite(obs) & jnp.isfinite(reward)
            state = jax.tree.map(lambda a, b: jnp.where(done | ~ok, a, b), fresh, new)
            return state, ~ok

        _, bad = jax.lax.scan(body, fresh, jax.random.split(key, HORIZON))
        return bad

    return jax.jit(jax.vmap(one))


def test_fixture_covers_both_causes():
    cats = np.concatenate([_levels(s)[1]["category"] for s in ("s", "m", "l")])
    assert (cats == "refused").sum() == 11 and (cats == "runs").sum() == 14


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_too_light_levels_are_refused_by_validation(size):
    batch, meta = _levels(size)
    refused = np.flatnonzero(meta["category"] == "refused")
    assert refused.size, "every size has a refused level"
    for i in refused:
        with pytest.raises(kx.LevelValidationError, match=r"inverse_(mass|inertia): .* is above"):
            kx.validate_level(_row(batch, i))


def _group_params():
    out = []
    for size in ("m", "l"):
        _, meta = _levels(size)
        runs = meta["category"] == "runs"
        for setting, solver in sorted(set(zip(meta["setting"][runs], meta["solver"][runs]))):
            marks = [pytest.mark.slow] if size == "l" else []
            out.append(pytest.param(size, str(setting), str(solver), marks=marks))
    return out


@pytest.mark.parametrize("size,setting,solver", _group_params())
def test_fuzzed_levels_stay_finite(size, setting, solver):
    batch, meta = _levels(size)
    rows = np.flatnonzero(
        (meta["category"] == "runs") & (meta["setting"] == setting) & (meta["solver"] == solver)
    )
    for i in rows:
        kx.validate_level(_row(batch, i))
    levels = jax.tree.map(lambda x: jnp.asarray(x[rows]), batch)
    keys = jnp.asarray(meta["action_keys"][rows])
    bad = np.asarray(_rollout(size, setting, solver)(levels, keys))
    found = {int(meta["level_index"][i]): int(b.sum()) for i, b in zip(rows, bad)}
    assert not bad.any(), f"non-finite agent steps per level index: {found}"


@pytest.mark.parametrize("setting", ["default", "jax2d-compat"])
def test_every_adversarial_family_builds_valid_levels(setting):
    n = 2 * len(FAMILIES)
    idx = np.arange(n)
    batch = make_adversarial("s", setting)(level_keys(5, idx), jnp.asarray(idx % len(FAMILIES)))
    for i in range(n):
        kx.validate_level(jax.tree.map(lambda x: np.asarray(x[i]), batch))


def test_point_mass_determinant_is_positive_where_cancellation_loses_it():
    # A 0.1 mm disc jointed 0.5 m from its centre: ii r^2 / tot ~ 1e8, past float32's precision.
    tot, iia, iib = np.float32(3.2e7), np.float32(6.4e15), np.float32(25.0)
    rax, ray, rbx, rby = map(np.float32, (0.31, 0.4, -0.2, 0.05))
    k11 = tot + iia * ray * ray + iib * rby * rby
    k22 = tot + iia * rax * rax + iib * rbx * rbx
    k12 = -iia * rax * ray - iib * rbx * rby
    det = float(point_mass_determinant(tot, iia, iib, rax, ray, rbx, rby, k11, k22, k12))
    t, a, b = float(tot), float(iia), float(iib)
    exact = t * t + t * (a * (0.31**2 + 0.4**2) + b * (0.2**2 + 0.05**2))
    exact += a * b * (0.31 * 0.05 - 0.4 * -0.2) ** 2
    assert det == pytest.approx(exact, rel=1e-3)
    naive = float(np.float32(k11 * k22 - k12 * k12))
    assert abs(naive - exact) > 0.5 * exact  # the textbook form is wrong here


def test_point_mass_determinant_keeps_ordinary_values_bit_for_bit():
    rng = np.random.default_rng(0)
    tot, iia, iib = (rng.uniform(0.05, 5.0, 512).astype(np.float32) for _ in range(3))
    rax, ray, rbx, rby = (rng.uniform(-1.0, 1.0, 512).astype(np.float32) for _ in range(4))
    k11 = tot + iia * ray * ray + iib * rby * rby
    k22 = tot + iia * rax * rax + iib * rbx * rbx
    k12 = -iia * rax * ray - iib * rbx * rby
    det = np.asarray(point_mass_determinant(tot, iia, iib, rax, ray, rbx, rby, k11, k22, k12))
    np.testing.assert_array_equal(det, np.asarray(jnp.asarray(k11) * k22 - jnp.asarray(k12) * k12))


def test_stored_contact_impulses_are_bounded_and_ordinary_ones_kept():
    K = 3
    mass_n = jnp.full((K, 2), 0.5)
    rows = ContactRows(
        normal=jnp.zeros((K, 2)), r_a=jnp.zeros((K, 2, 2)), r_b=jnp.zeros((K, 2, 2)),
        mass_n=mass_n, mass_t=mass_n, k_nn=jnp.zeros((K, 3)), target=jnp.zeros((K, 2)),
        mu=jnp.ones((K,)), active=jnp.ones((K, 2), bool), inv_mass_a=jnp.ones((K,)),
        inv_mass_b=jnp.ones((K,)), inv_inertia_a=jnp.ones((K,)), inv_inertia_b=jnp.ones((K,)),
    )  # fmt: skip
    acc_n = jnp.array([[0.3, 2.0], [1e30, 0.0], [199.0, 201.0]])
    acc_t = jnp.array([[-0.1, 0.2], [-1e30, 1e30], [0.0, -250.0]])
    n, t = bound_contact_impulses(rows, acc_n, acc_t, 400.0)  # caps 0.5 kg * 400 m/s = 200 N s
    np.testing.assert_array_equal(n, np.float32([[0.3, 2.0], [200.0, 0.0], [199.0, 200.0]]))
    np.testing.assert_array_equal(t, np.float32([[-0.1, 0.2], [-200.0, 200.0], [0.0, -200.0]]))


def test_mass_limits_are_far_from_every_bundled_level():
    """Validation's mass floor refuses no level we ship: every dynamic shape of the bundled
    datasets is at least 1000 times heavier (and of larger inertia) than the limits."""
    import pyarrow.parquet as pq

    from kinetix.level_table import table_to_numpy_levels

    files = sorted((Path(__file__).parents[2] / "datasets" / "kinetix-levels").glob("*/*.parquet"))
    assert files
    for f in files:
        sc = table_to_numpy_levels(pq.read_table(f)).scene
        for b in (sc.polygon, sc.circle):
            act = np.asarray(b.active, bool)
            assert np.asarray(b.inverse_mass)[act].max() < 1e-3 * jax2d.MAX_INVERSE_MASS, f
            assert np.asarray(b.inverse_inertia)[act].max() < 1e-3 * jax2d.MAX_INVERSE_INERTIA, f
