"""A kinetix-bench weights file checked against its ``config.json``, then read (steps 4-6).

:func:`load_checked_weights` runs, on one ``model.safetensors`` (a single-seed submission's, or
one seed's of a multi-seed submission), the checks of :func:`harness.submissions.load_submission`
that concern the weights, in order: the safetensors structure from the header alone
(:func:`~harness.submissions.safetensors_check.check_safetensors_file`; ``__metadata__`` must not
contradict ``config.json``), every key, dtype and shape against ``abstract_params`` of the
registered architecture (all mismatches listed), and only then the tensors, which must all be
finite. Returns ``{"params": ...}`` of jax arrays.
"""

from __future__ import annotations

from pathlib import Path

from harness.submissions.config import ANY, ParsedConfig
from harness.submissions.errors import SubmissionError
from harness.submissions.safetensors_check import check_safetensors_file

__all__ = ["load_checked_weights", "load_finite"]


def load_checked_weights(weights: Path, parsed: ParsedConfig) -> dict:
    """``{"params": ...}`` of ``weights`` once it passed every check (module docstring)."""
    from baselines.networks import abstract_params, header_mismatches

    header, meta = check_safetensors_file(weights)
    if "architecture" in meta and meta["architecture"] not in (
        parsed.arch_id,
        parsed.arch_id.partition("@")[0],
    ):
        raise SubmissionError(
            f"{weights}: __metadata__ architecture {meta['architecture']!r} contradicts "
            f"config.json ({parsed.arch_id})"
        )
    size = "l" if parsed.env_size == ANY else parsed.env_size
    expected = abstract_params(
        parsed.arch_id, parsed.config, parsed.obs_type, parsed.action_type, size
    )
    problems = header_mismatches(header, expected)
    if problems:
        raise SubmissionError(
            f"{weights}: does not match {parsed.arch_id} ({parsed.obs_type}, "
            f"{parsed.action_type}, size {parsed.env_size}): " + "; ".join(problems)
        )
    return load_finite(weights)


def load_finite(weights: Path) -> dict:
    """The tensors of a structurally checked file, unflattened; non-finite values refused."""
    import jax.numpy as jnp
    import numpy as np
    from safetensors.numpy import load_file

    from baselines.networks import unflatten_params

    try:
        flat = load_file(str(weights))
    except Exception as e:  # structure was checked; anything left is a corrupt file
        raise SubmissionError(f"{weights}: cannot read tensors ({e})") from None
    bad = sorted(k for k, v in flat.items() if not np.all(np.isfinite(v)))
    if bad:
        raise SubmissionError(
            f"{weights}: non-finite (NaN or inf) values in tensor(s) {', '.join(map(repr, bad))}"
        )
    return unflatten_params({k: jnp.asarray(v) for k, v in flat.items()})
