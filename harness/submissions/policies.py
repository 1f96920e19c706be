"""Running a loaded submission: its policy function for an env, and the parameter-free ones.

* :func:`policy_for` / :func:`recurrent_policy_for`: the policy of a
  :class:`~harness.submissions.Submission` for ONE env of a :class:`kinetix.env.EnvConfig`
  (types and size checked against the submission's ``config.json``);
* :func:`write_parameter_free_submission`: the ``noop`` / ``random`` submission folders.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.submissions.errors import SubmissionError
from harness.submissions.loading import ANY, CARD_FILE, CONFIG_FILE, Submission

__all__ = ["policy_for", "recurrent_policy_for", "write_parameter_free_submission"]


def _check_env(submission: Submission, env_config) -> None:
    if getattr(submission, "program", None) is not None:
        raise SubmissionError(
            f"{submission.id}: an exported program runs over a batch of envs, not one: use "
            "harness.submissions.exported_batched_policy (the engine of harness.scoring.batched)"
        )
    size = env_config.size.name
    if submission.env_size not in (ANY, size):
        raise SubmissionError(
            f"{submission.id}: env_size {submission.env_size!r} but the env has size {size!r}"
        )
    for field in ("obs_type", "action_type"):
        mine, env = getattr(submission, field), getattr(env_config, field)
        if mine not in (ANY, env):
            raise SubmissionError(f"{submission.id}: {field} {mine!r} but the env uses {env!r}")


def policy_for(submission: Submission, env_config, deterministic: bool = False):
    """``policy(key, obs) -> action`` for ONE env of ``env_config`` (a
    :class:`kinetix.env.EnvConfig` matching the submission's types and size).

    Parameter-free submissions give kinetix's ``noop`` / ``random`` policies. Recurrent networks
    (``recurrent_model: true``) need the stateful variant, :func:`recurrent_policy_for`; asking
    for a stateless policy for one is a :class:`SubmissionError`.
    """
    from baselines.networks import make_policy_fn

    _check_env(submission, env_config)
    if getattr(submission.arch_config, "recurrent_model", False):
        raise SubmissionError(
            f"{submission.id}: {submission.architecture} is recurrent (recurrent_model=true): "
            "use recurrent_policy_for, which carries the hidden state"
        )
    return make_policy_fn(
        submission.architecture,
        submission.arch_config,
        submission.params,
        env_config,
        deterministic=deterministic,
    )


def recurrent_policy_for(submission: Submission, env_config, deterministic: bool = False):
    """The stateful policy (:class:`baselines.networks.RecurrentPolicy`) for ONE env: works for
    every submission, recurrent or not."""
    from baselines.networks import make_recurrent_policy

    _check_env(submission, env_config)
    return make_recurrent_policy(
        submission.architecture,
        submission.arch_config,
        submission.params,
        env_config,
        deterministic=deterministic,
    )


# ----------------------------------------------------------------------- parameter-free ones
_FREE_DESCRIPTIONS = {
    "noop": "always takes the no-op action (every motor and thruster off)",
    "random": "samples every action uniformly at random",
}


def write_parameter_free_submission(out: str | os.PathLike, name: str) -> Path:
    """Writes the parameter-free submission ``name`` (``noop`` or ``random``) into ``out``:
    ``config.json`` (types and size ``any``) and a ``README.md`` model card."""
    if name not in _FREE_DESCRIPTIONS:
        raise SubmissionError(
            f"{name!r} is not a parameter-free policy ({', '.join(_FREE_DESCRIPTIONS)})"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "architecture": name,
        "architecture_version": None,
        "arch_kwargs": {},
        "obs_type": ANY,
        "action_type": ANY,
        "env_size": ANY,
        "name": name,
    }
    card = "\n".join(
        [
            "---",
            "library_name: kinetix-bench",
            "license: apache-2.0",
            "pipeline_tag: reinforcement-learning",
            "tags:",
            "- kinetix-bench",
            "- reinforcement-learning",
            "- baseline",
            f"- {name}",
            "---",
            "",
            f"# {name}",
            "",
            f"A parameter-free reference policy: it {_FREE_DESCRIPTIONS[name]}. It works with "
            "every observation type, action type and env size, and has no `model.safetensors`.",
            "",
            "## Training compute",
            "",
            "None: this policy is not trained.",
            "",
            "## Use",
            "",
            "```bash",
            f"kinetix-bench submit --dry-run submissions/{name}",
            "```",
            "",
        ]
    )
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / CARD_FILE).write_text(card, encoding="utf-8")
    return out
