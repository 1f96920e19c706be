"""Policy submissions: formats, safe loading, safetensors checks, Hub references, policies (§7).

* :mod:`~harness.submissions.loading`: the submission formats (our folder, a Kinetix checkpoint,
  the parameter-free policies) and :func:`load_submission`, every safety check in order; it
  returns a :class:`Submission` (:mod:`~harness.submissions.submission`);
* :mod:`~harness.submissions.config`: ``config.json`` of our format (:func:`parse_config`);
  :mod:`~harness.submissions.compat`: :func:`check_compatible` with a benchmark;
  :mod:`~harness.submissions.files`: file names, size caps and the safe readers;
  :mod:`~harness.submissions.weights`: one weights file checked against ``config.json``;
* :mod:`~harness.submissions.seeds`: multi-seed submissions (``seeds.json``, one checkpoint per
  training seed); :mod:`~harness.submissions.seeds_combine`: :func:`combine_seeds` writes one
  from single-seed folders;
* :mod:`~harness.submissions.safetensors_check`: :func:`check_safetensors_file`, the structure of
  a weights file from its header alone (the parser is
  :mod:`baselines.networks.safetensors_header`, the project's only one);
* :mod:`~harness.submissions.refs`: ``hf://OWNER/REPO[/SUBFOLDER][@REVISION]`` references,
  fetched at a pinned commit through the Hub cache;
* :mod:`~harness.submissions.policies`: ``policy(key, obs) -> action`` for a loaded submission,
  and writing parameter-free submission folders;
* :mod:`~harness.submissions.exported` (with :mod:`~harness.submissions.exported_checks`): the
  exported-program submission kind (``policy.jax_exported``), loaded with every check before
  anything of it runs; :mod:`~harness.submissions.export`: :func:`export_policy` and
  :func:`export_registered` write such folders; :mod:`~harness.submissions.interface`: the
  program's calling convention and :class:`BatchedPolicy`;
* :mod:`~harness.submissions.errors`: :class:`SubmissionError`, shared by all of them.

May import: ``jax2d``, ``kinetix``, ``baselines`` and :mod:`harness.levels` (benchmark
compatibility, offline mode); nothing above it in ``harness``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it (imported on first use, so importing the package
#: stays cheap)
_EXPORTS = {
    "SubmissionError": "harness.submissions.errors",
    "check_safetensors_file": "harness.submissions.safetensors_check",
    "MAX_HEADER_BYTES": "harness.submissions.safetensors_check",
    "HF_SCHEME": "harness.submissions.refs",
    "HUB_FILES": "harness.submissions.refs",
    "HubRef": "harness.submissions.refs",
    "ResolvedSubmission": "harness.submissions.refs",
    "parse_hub_ref": "harness.submissions.refs",
    "pinned_reference": "harness.submissions.refs",
    "resolve_submission": "harness.submissions.refs",
    "Submission": "harness.submissions.submission",
    "SeedCheckpoint": "harness.submissions.submission",
    "SEEDS_FILE": "harness.submissions.seeds",
    "SEEDS_FORMAT": "harness.submissions.seeds",
    "MIN_SEEDS": "harness.submissions.seeds",
    "MAX_SEEDS": "harness.submissions.seeds",
    "seed_file": "harness.submissions.seeds",
    "parse_seeds_manifest": "harness.submissions.seeds",
    "combine_seeds": "harness.submissions.seeds_combine",
    "load_submission": "harness.submissions.loading",
    "check_compatible": "harness.submissions.compat",
    "parse_config": "harness.submissions.config",
    "MAX_MODEL_BYTES": "harness.submissions.files",
    "MAX_TEXT_BYTES": "harness.submissions.files",
    "ENV_SIZES": "harness.submissions.config",
    "ANY": "harness.submissions.config",
    "MODEL_FILE": "harness.submissions.files",
    "KINETIX_PARAMS_FILE": "harness.submissions.files",
    "CONFIG_FILE": "harness.submissions.files",
    "CARD_FILE": "harness.submissions.files",
    "EXPORTED_KIND": "harness.submissions.exported",
    "PROGRAM_FILE": "harness.submissions.exported",
    "MAX_PROGRAM_BYTES": "harness.submissions.exported",
    "ExportedProgram": "harness.submissions.exported",
    "ExportedSpec": "harness.submissions.exported",
    "exported_batched_policy": "harness.submissions.exported",
    "STABLE_CUSTOM_CALLS": "harness.submissions.exported_checks",
    "custom_call_targets": "harness.submissions.exported_checks",
    "DEFAULT_PLATFORMS": "harness.submissions.export",
    "export_policy": "harness.submissions.export",
    "export_registered": "harness.submissions.export",
    "registered_policy_fn": "harness.submissions.export",
    "BatchedPolicy": "harness.submissions.interface",
    "observation_avals": "harness.submissions.interface",
    "action_avals": "harness.submissions.interface",
    "key_avals": "harness.submissions.interface",
    "policy_for": "harness.submissions.policies",
    "recurrent_policy_for": "harness.submissions.policies",
    "write_parameter_free_submission": "harness.submissions.policies",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
