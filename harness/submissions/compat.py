"""Whether a submission can run a benchmark: observation / action types and env size.

:func:`check_compatible` is the one rule (DESIGN §8): the submission's observation and action
types are among those the benchmark accepts, and its ``env_size`` equals the benchmark's unless
it is ``any`` (size-agnostic).
"""

from __future__ import annotations

from harness.submissions.config import ANY
from harness.submissions.errors import SubmissionError

__all__ = ["check_compatible"]


def _benchmark(benchmark):
    if isinstance(benchmark, str):
        from harness.levels.registry import get_benchmark

        return get_benchmark(benchmark)
    return benchmark


def check_compatible(submission, benchmark) -> None:
    """Raises :class:`SubmissionError` unless ``submission`` (a :class:`Submission` or anything
    with ``obs_type``, ``action_type``, ``env_size``) can run ``benchmark`` (an id or a
    :class:`harness.levels.registry.Benchmark`): its observation and action types are among those
    the benchmark accepts (every env type in v1, unless the entry says otherwise) and its
    ``env_size`` equals the benchmark's size unless it is ``any``."""
    from kinetix.actions import ACTION_TYPES
    from kinetix.observations import OBS_TYPES

    bench = _benchmark(benchmark)
    obs_ok = tuple(getattr(bench, "obs_types", None) or OBS_TYPES)
    act_ok = tuple(getattr(bench, "action_types", None) or ACTION_TYPES)
    sub = submission
    if sub.obs_type != ANY and sub.obs_type not in obs_ok:
        raise SubmissionError(
            f"config.json: obs_type {sub.obs_type!r} is not accepted by benchmark {bench.id} "
            f"({', '.join(obs_ok)})"
        )
    if sub.action_type != ANY and sub.action_type not in act_ok:
        raise SubmissionError(
            f"config.json: action_type {sub.action_type!r} is not accepted by benchmark "
            f"{bench.id} ({', '.join(act_ok)})"
        )
    if sub.env_size not in (ANY, bench.size):
        raise SubmissionError(
            f"config.json: env_size {sub.env_size!r} does not match benchmark {bench.id} "
            f"(size {bench.size!r}; only size-agnostic submissions may say 'any')"
        )
