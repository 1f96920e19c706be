"""Policy submissions: safe loading, checking and policies (``DESIGN.md`` §7).

A submission is a folder, or a folder of a Hub model repo,
``hf://OWNER/REPO[/SUBFOLDER][@REVISION]`` (or ``OWNER/REPO[@REVISION]``), fetched at a pinned
commit through the Hub cache (:mod:`harness.submissions.refs`), with the same files:

* ``model.safetensors``: float32 tensors named ``params/<module path>/<leaf>``;
* ``config.json``: ``architecture`` (a registered id, ``entity-transformer@v1``; or the bare
  name with ``architecture_version``), ``arch_kwargs``, ``obs_type``, ``action_type``,
  ``env_size`` (``s``, ``m``, ``l`` or ``any``). ``baselines.ppo.export_submission`` also writes
  ``env_sizes``, ``kinetix_bench_version``, ``model`` (a copy of ``arch_kwargs``) and ``name``;
  these are accepted, every other key is an error;
* ``README.md``: the model card (YAML front matter).

Parameter-free policies (``noop``, ``random``) ship ``config.json`` and ``README.md`` only; their
``obs_type`` / ``action_type`` may be ``any``. A Kinetix checkpoint folder (``params.safetensors``
+ ``config.json`` with ``"model"``, ``kinetix_checkpoints.md`` §1) is accepted as well, through
:func:`baselines.networks.read_kinetix_checkpoint` (its ``README.md`` is optional): 3.x or
paper-era (v0.1.0) key names; options its ``"model"`` block does not state take the paper
model's values and are listed in :attr:`Submission.assumed_options`; keys outside ``params/``
are ignored (their header entries are still checked, their data never read).

:func:`load_submission` runs these checks in order; the first failing one raises
:class:`SubmissionError` naming the file or key and the problem:

1. the folder exists and holds the expected files (``config.json``; ``model.safetensors`` or
   ``params.safetensors``, not both, or for a multi-seed submission ``seeds.json`` and
   ``seeds/<seed>/model.safetensors``, :mod:`harness.submissions.seeds`; ``README.md`` for our
   format). Nothing else in the folder is
   ever read; nothing is unpickled, no code from a submission is imported or run;
2. size caps: the weights file (``max_bytes``), ``config.json`` and ``README.md`` (1 MB each);
3. ``config.json``: UTF-8 JSON object with known keys, a registered architecture, its options,
   observation / action types the architecture supports, a valid ``env_size``; then, when
   ``benchmark`` is given, compatibility with it (:func:`check_compatible`);
4. the safetensors structure, read from the first bytes only: an 8-byte header length no larger
   than :data:`MAX_HEADER_BYTES` nor the file, a JSON-object header, every entry with a known
   dtype, a shape and ``data_offsets`` that fit the file, agree with the shape and tile the data
   area without overlap or gap; ``__metadata__`` (if any) a small str -> str map that does not
   contradict ``config.json``. A pickle (or anything else) renamed ``.safetensors`` fails here;
5. every key, dtype and shape against ``abstract_params`` of the registered architecture (all
   mismatches listed: missing, unexpected, dtype, shape);
6. only then the tensors are read (``safetensors.numpy``) and must all be finite.

A multi-seed submission runs steps 4-6 on every seed's weights file, after ``seeds.json`` is
checked (each seed's file must hash to the sha256 the manifest gives it).

``harness.submissions.policies.policy_for(submission, env_config)`` gives
``policy(key, obs) -> action`` for ONE env.

This module runs the checks in order; the pieces live by concept beside it and are re-exported
here: the :class:`Submission` it returns (:mod:`~harness.submissions.submission`), ``config.json``
(:mod:`~harness.submissions.config`), benchmark compatibility (:mod:`~harness.submissions.compat`),
file names, caps and readers (:mod:`~harness.submissions.files`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from harness.submissions.compat import check_compatible
from harness.submissions.config import ANY, ENV_SIZES, parse_config
from harness.submissions.errors import SubmissionError
from harness.submissions.files import (
    CARD_FILE,
    CONFIG_FILE,
    KINETIX_PARAMS_FILE,
    MAX_MODEL_BYTES,
    MAX_TEXT_BYTES,
    MODEL_FILE,
    check_size,
    read_json,
    read_text,
    sha256_file,
)
from harness.submissions.refs import HUB_FILES, resolve_submission
from harness.submissions.safetensors_check import MAX_HEADER_BYTES, check_safetensors_file
from harness.submissions.seeds import SEEDS_DIR, SEEDS_FILE, is_multi_seed_folder, load_seeds
from harness.submissions.submission import Submission
from harness.submissions.weights import load_checked_weights

__all__ = [
    "SubmissionError",
    "Submission",
    "load_submission",
    "check_safetensors_file",
    "check_compatible",
    "MAX_MODEL_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_HEADER_BYTES",
    "HUB_FILES",
    "ENV_SIZES",
    "ANY",
    "MODEL_FILE",
    "KINETIX_PARAMS_FILE",
    "CONFIG_FILE",
    "CARD_FILE",
]


# ----------------------------------------------------------------------------------- loading
def load_submission(
    path_or_repo: str | os.PathLike,
    *,
    max_bytes: int = MAX_MODEL_BYTES,
    benchmark=None,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
) -> Submission:
    """Loads and checks a submission folder or Hub reference (see the module doc for the
    checks, in order). ``benchmark``: an id or :class:`~harness.levels.registry.Benchmark` to check
    compatibility with; ``cache_dir``: the Hub cache for Hub references (default
    ``$HF_HUB_CACHE``); ``offline``: read only that cache (``None``: ``$KINETIX_BENCH_OFFLINE``
    or ``$HF_HUB_OFFLINE``)."""
    where = resolve_submission(path_or_repo, cache_dir, offline=offline)
    sub = _load_folder(where.folder, where.id, max_bytes, benchmark)
    return dataclasses.replace(sub, source=where.source) if where.source else sub


def _load_folder(folder: Path, sub_id: str, max_bytes: int, benchmark) -> Submission:
    # 1. files
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise SubmissionError(f"{folder}: missing {CONFIG_FILE}")
    from harness.submissions.exported import is_exported_folder

    multi = is_multi_seed_folder(folder)
    if is_exported_folder(folder):
        if multi:
            raise SubmissionError(
                f"{folder}: holds a program (policy.jax_exported) and {SEEDS_FILE}; an exported "
                "program is one seed (combine kinetix-bench folders for several seeds)"
            )
        return _load_exported(folder, sub_id, config_path, max_bytes, benchmark)
    ours, theirs = folder / MODEL_FILE, folder / KINETIX_PARAMS_FILE
    if ours.exists() and theirs.exists():
        raise SubmissionError(
            f"{folder}: holds both {MODEL_FILE} and {KINETIX_PARAMS_FILE}; keep one"
        )
    if multi and (ours.exists() or theirs.exists()):
        raise SubmissionError(
            f"{folder}: holds both {(ours if ours.exists() else theirs).name} and {SEEDS_FILE}; "
            f"a multi-seed submission keeps one {MODEL_FILE} per seed under "
            f"{SEEDS_DIR}/<seed>/ and none at the top"
        )
    kind = "kinetix" if theirs.exists() else "kinetix-bench"
    weights = theirs if kind == "kinetix" else (ours if ours.exists() else None)
    if weights is not None and not weights.is_file():
        raise SubmissionError(f"{weights}: not a regular file")
    card_path = folder / CARD_FILE
    if kind == "kinetix-bench" and not card_path.is_file():
        raise SubmissionError(f"{folder}: missing {CARD_FILE} (the model card)")
    # 2. size caps
    files = {CONFIG_FILE: check_size(config_path, MAX_TEXT_BYTES, "config.json")}
    if card_path.is_file():
        files[CARD_FILE] = check_size(card_path, MAX_TEXT_BYTES, "model card")
    if weights is not None:
        files[weights.name] = check_size(weights, max_bytes, "weights file")
    # 3. config.json
    raw = read_json(config_path)
    card = read_text(card_path) if card_path.is_file() else ""
    if kind == "kinetix":
        return _load_kinetix(folder, sub_id, raw, weights, files, card, benchmark)
    parsed = parse_config(raw, config_path)
    if benchmark is not None:
        check_compatible(parsed, benchmark)
    from baselines.networks import get_architecture

    if multi:  # 4.-6. for every seed of seeds.json
        if get_architecture(parsed.arch_id).parameter_free:
            raise SubmissionError(
                f"{folder / SEEDS_FILE}: {parsed.arch_id} has no parameters, so no training "
                f"seeds; remove {SEEDS_FILE} and {SEEDS_DIR}/"
            )
        seeds, sha, seed_files = load_seeds(folder, parsed, max_bytes)
        return Submission(
            sub_id, folder, parsed.arch_id, parsed.config, parsed.obs_type, parsed.action_type,
            parsed.env_size, seeds[0].params, sha, kind, card, {**files, **seed_files}, raw,
            seeds=seeds,
        )  # fmt: skip
    if get_architecture(parsed.arch_id).parameter_free:
        if weights is not None:
            raise SubmissionError(
                f"{weights}: {parsed.arch_id} has no parameters; remove {MODEL_FILE}"
            )
        return Submission(
            sub_id, folder, parsed.arch_id, parsed.config, parsed.obs_type, parsed.action_type,
            parsed.env_size, None, sha256_file(config_path), kind, card, files, raw,
        )  # fmt: skip
    if weights is None:
        raise SubmissionError(f"{folder}: missing {MODEL_FILE} ({parsed.arch_id} has parameters)")
    # 4.-6. structure, keys / dtypes / shapes, finite tensors
    params = load_checked_weights(weights, parsed)
    return Submission(
        sub_id, folder, parsed.arch_id, parsed.config, parsed.obs_type, parsed.action_type,
        parsed.env_size, params, sha256_file(weights), kind, card, files, raw,
    )  # fmt: skip


def _load_exported(folder: Path, sub_id: str, config_path: Path, max_bytes: int, benchmark):
    """An exported program folder (:mod:`harness.submissions.exported`, which runs the checks)."""
    from harness.submissions.exported import EXPORTED_KIND, load_exported, parse_exported_config

    card_path = folder / CARD_FILE
    if not card_path.is_file():
        raise SubmissionError(f"{folder}: missing {CARD_FILE} (the model card)")
    sizes = {
        CONFIG_FILE: check_size(config_path, MAX_TEXT_BYTES, "config.json"),
        CARD_FILE: check_size(card_path, MAX_TEXT_BYTES, "model card"),
    }
    raw = read_json(config_path)
    card = read_text(card_path)
    if raw.get("kind") != EXPORTED_KIND:
        raise SubmissionError(
            f"{config_path}: the folder holds a program ({folder.name}/policy.jax_exported) but "
            f"config.json kind is {raw.get('kind')!r}, not {EXPORTED_KIND!r}"
        )
    if benchmark is not None:  # compatibility first, before the program is read
        check_compatible(parse_exported_config(raw, config_path), benchmark)
    spec, program, params, sha, files = load_exported(folder, raw, config_path, max_bytes)
    label = raw.get("architecture")
    return Submission(
        sub_id, folder, f"{EXPORTED_KIND}:{label}" if label else EXPORTED_KIND, None,
        spec.obs_type, spec.action_type, spec.env_size, params, sha, EXPORTED_KIND, card,
        {**sizes, **files}, raw, program=program,
    )  # fmt: skip


def _load_kinetix(folder, sub_id, raw, weights, files, card, benchmark) -> Submission:
    from baselines.networks import KinetixCheckpointError, read_kinetix_checkpoint

    if "model" not in raw:
        raise SubmissionError(
            f"{folder / CONFIG_FILE}: a Kinetix checkpoint's config.json needs 'model' options"
        )
    check_safetensors_file(weights)  # every entry, params/ or not
    try:
        ckpt = read_kinetix_checkpoint(folder, check_finite=True)
    except KinetixCheckpointError as e:
        raise SubmissionError(f"{folder} (Kinetix checkpoint): {e}") from None
    env_size = ANY if ckpt.size is None else ckpt.size.name
    sub = Submission(
        sub_id, folder, ckpt.arch_id, ckpt.config, ckpt.obs_type, ckpt.action_type, env_size,
        ckpt.params, sha256_file(weights), "kinetix", card, files, raw,
        assumed_options=dict(ckpt.assumed_options), key_names=ckpt.key_names,
    )  # fmt: skip
    if benchmark is not None:
        check_compatible(sub, benchmark)
    return sub
