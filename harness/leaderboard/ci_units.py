"""What a leaderboard row's confidence intervals resample, in words (the ``ci_unit`` column).

A record's ``metrics.solve_rate.ci_unit`` (:data:`harness.scoring.records.CI_UNITS`) says what its
stratified bootstrap resamples within each level: the episodes of one policy
(``eval_episode``: zero-shot of a single-seed submission, so the CI shows evaluation noise only),
the fine-tuning protocol's seeds (``train_seed``), or the submission's training seeds
(``submission_seed``, ``submission_seed_x_train_seed``: a multi-seed submission, so the CI also
shows how much the method depends on its training seed). Rows with **seed CIs** are those whose
unit is the submission's training seeds (:func:`has_seed_ci`); the Markdown, the page and
``leaderboard show`` label every row with :func:`ci_label`.
"""

from __future__ import annotations

__all__ = ["SEED_UNITS", "CI_LEGEND", "has_seed_ci", "ci_label", "ci_title"]

#: Units over the submission's training seeds.
SEED_UNITS = ("submission_seed", "submission_seed_x_train_seed")

#: One sentence for the legend of a table that shows the column.
CI_LEGEND = (
    "**CI over** says what each 95% CI resamples within every level: *episodes* (one trained "
    "policy; the CI shows evaluation noise only), *fine-tuning seeds*, or the submission's "
    "*training seeds* (a multi-seed submission: rliable's stratified bootstrap over seeds x "
    "levels, so the CI also shows how much the method depends on its training seed)."
)


def has_seed_ci(unit: str) -> bool:
    """The unit resamples the submission's training seeds."""
    return str(unit) in SEED_UNITS


def ci_label(unit: str, n_seeds: int = 1) -> str:
    """A short cell label: ``episodes``, ``fine-tuning seeds``, ``3 training seeds``,
    ``3 training x fine-tuning seeds``."""
    n = int(n_seeds) if n_seeds == n_seeds else 1  # NaN from an older table: one seed
    return {
        "eval_episode": "episodes",
        "train_seed": "fine-tuning seeds",
        "submission_seed": f"{n} training seeds",
        "submission_seed_x_train_seed": f"{n} training x fine-tuning seeds",
    }.get(str(unit), str(unit))


def ci_title(unit: str) -> str:
    """The long form (a tooltip): :data:`harness.scoring.records.CI_UNITS`'s text."""
    from harness.scoring.records import CI_UNITS

    return CI_UNITS.get(str(unit), str(unit))
