"""harness.scoring.stats: point statistics, stratified bootstrap, probability of improvement,
profiles."""

from __future__ import annotations

import numpy as np
import pytest

from harness.scoring import stats
from harness.scoring.stats import (
    CI_METHODS,
    StatsError,
    aggregate,
    bootstrap_distribution,
    finetune_gain,
    iqm,
    level_means,
    mean,
    median,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    stratified_bootstrap_ci,
)


def _trimmed_mean_25(x: np.ndarray) -> float:
    """Hand-written 25% trimmed mean: drop floor(n/4) values from each end."""
    xs = sorted(float(v) for v in x)
    k = len(xs) // 4
    kept = xs[k : len(xs) - k]
    return sum(kept) / len(kept)


def _binary_scores(rng: np.random.Generator, p: np.ndarray, k: int) -> np.ndarray:
    return (rng.random((p.size, k)) < p[:, None]).astype(np.float64)


# ----------------------------------------------------------------------------- point statistics


def test_iqm_hand_checked():
    assert iqm(np.arange(1.0, 9.0)) == pytest.approx(4.5)  # middle 3, 4, 5, 6
    assert iqm([8.0, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx(4.5)  # order does not matter
    assert iqm([1.0, 2, 3, 100]) == pytest.approx(2.5)
    assert iqm([0.3]) == pytest.approx(0.3)  # L = 1
    assert iqm([0.2, 0.6]) == pytest.approx(0.4)  # L = 2: the mean
    assert iqm([0.0, 1.0, 10.0]) == pytest.approx((0 + 4 * 1 + 10) / 6)  # weights (1, 4, 1) / 6
    # L = 5: weights (0, 0.15, 0.2, 0.15, 0) / 0.5
    assert iqm([1.0, 2, 3, 4, 100]) == pytest.approx((0.15 * 2 + 0.2 * 3 + 0.15 * 4) / 0.5)
    # L = 6: weights (0, 1, 2, 2, 1, 0) / 6
    assert iqm([-50.0, 2, 3, 4, 5, 100]) == pytest.approx((2 + 2 * 3 + 2 * 4 + 5) / 6)
    assert iqm(np.full(7, 0.25)) == pytest.approx(0.25)


@pytest.mark.parametrize("n", [4, 8, 12, 40, 100])
def test_iqm_equals_trimmed_mean_for_multiples_of_4(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        x = rng.random(n)
        assert iqm(x) == pytest.approx(_trimmed_mean_25(x), rel=1e-12, abs=1e-12)


def test_iqm_matches_scipy_when_available():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for n in (4, 8, 20, 40, 400):
        x = rng.random((3, n))
        np.testing.assert_allclose(iqm(x), scipy_stats.trim_mean(x, 0.25, axis=-1), rtol=1e-12)


def test_iqm_batched_and_bounded_by_quartile_trims():
    rng = np.random.default_rng(2)
    x = rng.random((4, 3, 7))
    out = iqm(x)
    assert out.shape == (4, 3)
    flat = x.reshape(-1, 7)
    np.testing.assert_allclose(out.reshape(-1), [iqm(row) for row in flat])
    for row, v in zip(flat, out.reshape(-1), strict=True):
        xs = np.sort(row)
        assert xs[1] <= v <= xs[-2]  # fractional weights only on the 2nd..6th of 7


def test_mean_median_optimality_gap():
    x = np.array([0.2, 1.0, 0.5])
    assert mean(x) == pytest.approx(1.7 / 3)
    assert median(x) == pytest.approx(0.5)
    assert optimality_gap(x) == pytest.approx((0.8 + 0.0 + 0.5) / 3)
    assert optimality_gap(x, gamma=0.5) == pytest.approx(0.3 / 3)
    np.testing.assert_allclose(mean(np.ones((2, 5))), [1.0, 1.0])


# ----------------------------------------------------------------------------- score matrices


def test_level_means_ragged_list_equals_nan_padding():
    ragged = [[1.0, 0.0, 1.0], [0.5], [0.0, 0.25]]
    padded = np.array([[1.0, 0.0, 1.0], [np.nan, 0.5, np.nan], [0.0, np.nan, 0.25]])
    np.testing.assert_allclose(level_means(ragged), [2 / 3, 0.5, 0.125])
    np.testing.assert_allclose(level_means(padded), [2 / 3, 0.5, 0.125])
    a = aggregate(ragged, reps=500, seed=3)
    b = aggregate(padded, reps=500, seed=3)
    assert a == b


def test_aggregate_values_and_intervals():
    rng = np.random.default_rng(4)
    p = rng.random(40)
    scores = _binary_scores(rng, p, 20)
    out = aggregate(scores, reps=2000, seed=0)
    assert set(out) == {"mean", "median", "iqm", "optimality_gap"}
    lm = scores.mean(axis=1)
    assert out["mean"]["value"] == pytest.approx(lm.mean())
    assert out["median"]["value"] == pytest.approx(np.median(lm))
    assert out["iqm"]["value"] == pytest.approx(_trimmed_mean_25(lm))
    assert out["optimality_gap"]["value"] == pytest.approx(1 - lm.mean())
    for k, d in out.items():
        assert set(d) == {"value", "ci_low", "ci_high"}
        assert d["ci_low"] < d["ci_high"], k
        if k != "median":
            assert d["ci_low"] <= d["value"] <= d["ci_high"], k
    # The optimality gap's interval mirrors the mean's for scores in [0, 1].
    assert out["optimality_gap"]["ci_low"] == pytest.approx(1 - out["mean"]["ci_high"])
    # All metrics share the resamples: stratified_bootstrap_ci on one metric agrees.
    assert stratified_bootstrap_ci(scores, "iqm", reps=2000, seed=0) == out["iqm"]


def test_bootstrap_deterministic_and_chunk_invariant(monkeypatch):
    rng = np.random.default_rng(5)
    scores = _binary_scores(rng, rng.random(12), 20)
    a = bootstrap_distribution(scores, "iqm", reps=3000, seed=7)
    b = bootstrap_distribution(scores, "iqm", reps=3000, seed=7)
    c = bootstrap_distribution(scores, "iqm", reps=3000, seed=8)
    assert a.shape == (3000,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", 12 * 20 * 7)  # chunks of 7 reps
    np.testing.assert_array_equal(bootstrap_distribution(scores, "iqm", reps=3000, seed=7), a)
    ci = stratified_bootstrap_ci(scores, "mean", reps=3000, seed=7)
    monkeypatch.undo()
    assert stratified_bootstrap_ci(scores, "mean", reps=3000, seed=7) == ci


def test_bootstrap_resamples_within_levels_only():
    # Constant levels (or one attempt per level) leave nothing to resample: a zero-width CI.
    scores = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5]])
    assert stratified_bootstrap_ci(scores, "mean", reps=200) == {
        "value": 0.5,
        "ci_low": 0.5,
        "ci_high": 0.5,
    }
    one = np.array([[0.1], [0.9], [0.3]])
    d = stratified_bootstrap_ci(one, "iqm", reps=200)
    assert d["ci_low"] == d["value"] == d["ci_high"]
    # A single level of 0/1 attempts: the replicates are k/K with a binomial spread.
    dist = bootstrap_distribution([[1.0, 0.0, 0.0, 1.0]], "mean", reps=20_000, seed=0)
    assert set(np.unique(dist)) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert dist.mean() == pytest.approx(0.5, abs=0.01)
    assert dist.var() == pytest.approx(0.25 / 4, rel=0.05)


def test_callable_statistic():
    scores = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 1.0]])
    d = stratified_bootstrap_ci(scores, lambda x: x.max(axis=-1), reps=300)
    assert d["value"] == 1.0 and d["ci_high"] == 1.0
    with pytest.raises(StatsError, match="reduce the last axis"):
        stratified_bootstrap_ci(scores, lambda x: x, reps=10)


def test_ci_coverage_in_simulation():
    rng = np.random.default_rng(2024)
    p = rng.uniform(0.05, 0.95, size=20)  # true per-level success probabilities
    truth = p.mean()
    covered = 0
    n_exp = 200
    for i in range(n_exp):
        scores = _binary_scores(rng, p, 20)
        d = stratified_bootstrap_ci(scores, "mean", reps=400, seed=i)
        covered += d["ci_low"] <= truth <= d["ci_high"]
    assert 0.88 <= covered / n_exp <= 0.99


@pytest.mark.parametrize(
    "zeros, ones",
    [(0.55, 0.10), (0.0, 0.0)],
    ids=["procedural-many-zeros", "no-mass-at-the-ends"],
)
def test_iqm_ci_coverage_in_simulation(zeros, ones):
    """The IQM interval covers the true IQM of the levels' success probabilities also when most
    levels are never solved: the regime where the percentile interval fails (it lies below the
    point estimate and covered ~20% in this simulation); CI_METHODS gives the IQM a basic one."""
    rng = np.random.default_rng(7)
    u = rng.random(200)
    p = np.where(u < zeros, 0.0, np.where(u < zeros + ones, 1.0, rng.beta(1, 2, 200)))
    truth = iqm(p)
    n_exp, covered = 80, 0
    for i in range(n_exp):
        d = stratified_bootstrap_ci(_binary_scores(rng, p, 20), "iqm", reps=400, seed=i)
        covered += d["ci_low"] <= truth <= d["ci_high"]
    assert covered / n_exp >= 0.85


def test_basic_interval_reflects_percentile_around_value():
    rng = np.random.default_rng(3)
    scores = _binary_scores(rng, rng.uniform(0.1, 0.9, size=30), 20)
    pct = stratified_bootstrap_ci(scores, "iqm", reps=500, method="percentile")
    basic = stratified_bootstrap_ci(scores, "iqm", reps=500)  # the IQM's default
    assert basic["value"] == pct["value"]
    assert basic["ci_low"] == pytest.approx(2 * pct["value"] - pct["ci_high"])
    assert basic["ci_high"] == pytest.approx(2 * pct["value"] - pct["ci_low"])
    assert CI_METHODS["iqm"] == "basic" and CI_METHODS["median"] == "percentile"
    with pytest.raises(StatsError, match="method"):
        stratified_bootstrap_ci(scores, "iqm", reps=10, method="bca")
    # clipped to [0, 1]: every level always solved but one, never solved
    edge = np.ones((8, 20))
    edge[0] = 0.0
    d = stratified_bootstrap_ci(edge, "iqm", reps=200)
    assert 0.0 <= d["ci_low"] <= d["ci_high"] <= 1.0


# ----------------------------------------------------------------------------- comparisons


def test_probability_of_improvement_extremes():
    rng = np.random.default_rng(6)
    y = rng.uniform(0.0, 0.4, size=(10, 5))
    x = rng.uniform(0.6, 1.0, size=(10, 7))
    assert probability_of_improvement(x, y, reps=300) == {
        "value": 1.0,
        "ci_low": 1.0,
        "ci_high": 1.0,
    }
    assert probability_of_improvement(y, x, reps=300)["value"] == 0.0
    z = _binary_scores(rng, rng.random(10), 8)
    d = probability_of_improvement(z, z, reps=1000)
    assert d["value"] == 0.5
    assert d["ci_low"] < 0.5 < d["ci_high"]


def test_probability_of_improvement_hand_checked_and_symmetric():
    # Pairs (1,0) (1,0) (0,0) (0,0): 1 + 1 + 1/2 + 1/2 over 4.
    assert probability_of_improvement([[1.0, 0.0]], [[0.0, 0.0]], reps=10)["value"] == 0.75
    # Ragged: level 0 as above, level 1 X = [0.5] vs Y = [0.5, 1.0, 0.0] -> (1/2 + 0 + 1) / 3.
    x = [[1.0, 0.0], [0.5]]
    y = [[0.0, 0.0], [0.5, 1.0, 0.0]]
    assert probability_of_improvement(x, y, reps=10)["value"] == pytest.approx((0.75 + 0.5) / 2)
    rng = np.random.default_rng(7)
    for _ in range(5):
        a = _binary_scores(rng, rng.random(15), 20)
        b = _binary_scores(rng, rng.random(15), 20)
        pab = probability_of_improvement(a, b, reps=200, seed=1)
        pba = probability_of_improvement(b, a, reps=200, seed=1)
        assert pab["value"] + pba["value"] == pytest.approx(1.0)
        assert pab["ci_low"] <= pab["value"] <= pab["ci_high"]


def test_finetune_gain():
    rng = np.random.default_rng(8)
    p = rng.random(16)
    scratch = np.clip(p[:, None] + rng.normal(0, 0.05, (16, 3)), 0, 1)
    finetuned = np.clip(p[:, None] + 0.2 + rng.normal(0, 0.05, (16, 3)), 0, 1)
    out = finetune_gain(finetuned, scratch, reps=2000, seed=0)
    assert set(out) == {"iqm", "mean"}
    lf, ls = finetuned.mean(axis=1), scratch.mean(axis=1)
    assert out["iqm"]["value"] == pytest.approx(_trimmed_mean_25(lf) - _trimmed_mean_25(ls))
    assert out["mean"]["value"] == pytest.approx(lf.mean() - ls.mean())
    assert 0 < out["mean"]["ci_low"] <= out["mean"]["value"] <= out["mean"]["ci_high"]
    same = finetune_gain(scratch, scratch, reps=2000, seed=0, stats=("iqm",))
    assert set(same) == {"iqm"}
    assert same["iqm"]["value"] == 0.0
    assert same["iqm"]["ci_low"] < 0 < same["iqm"]["ci_high"]
    assert finetune_gain(finetuned, scratch, reps=2000, seed=0) == out


def test_performance_profile():
    rng = np.random.default_rng(9)
    scores = _binary_scores(rng, rng.random(30), 10)
    taus = np.linspace(-0.1, 1.0, 45)
    prof = performance_profile(scores, taus)
    assert set(prof) == {"taus", "value"}
    v = prof["value"]
    assert v[0] == 1.0 and v[-1] == 0.0
    assert np.all(np.diff(v) <= 0)
    lm = scores.mean(axis=1)
    assert v[20] == pytest.approx(np.mean(lm > taus[20]))
    band = performance_profile(scores, taus, reps=500, seed=1)
    np.testing.assert_array_equal(band["value"], v)
    assert np.all(band["ci_low"] <= band["ci_high"])
    assert np.all(np.diff(band["ci_low"]) <= 0) and np.all(np.diff(band["ci_high"]) <= 0)
    again = performance_profile(scores, taus, reps=500, seed=1)
    np.testing.assert_array_equal(again["ci_low"], band["ci_low"])


# ----------------------------------------------------------------------------- errors


def test_stats_error_is_value_error():
    assert issubclass(StatsError, ValueError)


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        ([], "no levels"),
        (np.zeros((0, 5)), "no levels"),
        ([[0.5], []], "level 1 has no values"),
        (np.array([[0.5, 0.5], [np.nan, np.nan]]), "level 1 has no values"),
        ([[0.5, np.nan]], "contains NaN"),
        (np.array([[0.5, np.inf]]), "infinity"),
        (np.array([[0.5, 1.5]]), r"outside \[0, 1\]"),
        (np.array([[-0.1, 0.5]]), r"outside \[0, 1\]"),
        (np.array([0.5, 0.5]), r"shape \(L, K\)"),
        ([[[0.5]]], "1-D"),
    ],
)
def test_score_matrix_errors(scores, match):
    with pytest.raises(StatsError, match=match):
        aggregate(scores, reps=10)


def test_other_errors():
    ok = np.array([[0.5, 1.0], [0.0, 0.5]])
    assert aggregate(np.array([[2.0, 3.0]]), reps=10, bounded=False)["mean"]["value"] == 2.5
    for bad in (0, -3, 1.5, True):
        with pytest.raises(StatsError, match="reps"):
            aggregate(ok, reps=bad)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(StatsError, match="alpha"):
            stratified_bootstrap_ci(ok, "mean", reps=10, alpha=bad)
    with pytest.raises(StatsError, match="unknown statistic"):
        stratified_bootstrap_ci(ok, "max", reps=10)
    with pytest.raises(StatsError, match="2 levels but"):
        probability_of_improvement(ok, ok[:1], reps=10)
    with pytest.raises(StatsError, match="2 levels but"):
        finetune_gain(ok, np.ones((3, 2)), reps=10)
    with pytest.raises(StatsError, match="scratch"):
        finetune_gain(ok, np.array([[0.5, np.inf], [0.1, 0.2]]), reps=10)
    for fn in (mean, median, iqm, optimality_gap):
        with pytest.raises(StatsError, match="NaN"):
            fn([0.5, np.nan])
        with pytest.raises(StatsError, match="L >= 1"):
            fn([])
    with pytest.raises(StatsError, match="taus"):
        performance_profile(ok, [])
    with pytest.raises(StatsError, match="taus"):
        performance_profile(ok, [0.5, np.nan])
