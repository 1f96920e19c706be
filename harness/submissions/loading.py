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
   ``params.safetensors``, not both; ``README.md`` for our format). Nothing else in the folder is
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

``harness.submissions.policies.policy_for(submission, env_config)`` gives
``policy(key, obs) -> action`` for ONE env.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from harness.submissions.errors import SubmissionError
from harness.submissions.refs import HUB_FILES, resolve_submission
from harness.submissions.safetensors_check import MAX_HEADER_BYTES, check_safetensors_file

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

MODEL_FILE = "model.safetensors"
KINETIX_PARAMS_FILE = "params.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"

#: Default cap on the weights file (bytes).
MAX_MODEL_BYTES = 512 * 1024 * 1024
#: Cap on ``config.json`` and ``README.md`` (bytes).
MAX_TEXT_BYTES = 1024 * 1024

ENV_SIZES = ("s", "m", "l", "any")
ANY = "any"


_REQUIRED_KEYS = ("architecture", "obs_type", "action_type", "env_size")
_OPTIONAL_KEYS = (
    "architecture_version",
    "arch_kwargs",
    "env_sizes",
    "kinetix_bench_version",
    "model",
    "name",
    "description",
    "param_dtype",
)


@dataclasses.dataclass(frozen=True)
class Submission:
    """A loaded, checked submission.

    Attributes:
        id: the folder name, or ``OWNER/REPO[/SUBFOLDER]@REVISION`` for a Hub reference.
        path: the local folder read.
        architecture: registered architecture id (``mlp-flat@v1``, ``noop``, ...).
        arch_config: its config (a :class:`baselines.networks.NetworkConfig`).
        obs_type: ``entity``, ``flat``, ``pixels`` (``any`` for parameter-free policies).
        action_type: ``multi_discrete``, ``discrete``, ``continuous`` (or ``any``).
        env_size: ``s``, ``m``, ``l`` or ``any``.
        params: ``{"params": ...}`` (jax arrays), ``None`` for parameter-free policies.
        sha256: hex sha256 of the weights file (``config.json`` for parameter-free ones).
        kind: ``kinetix-bench`` (our format) or ``kinetix`` (a Kinetix checkpoint folder).
        model_card: the text of ``README.md`` (``""`` when a Kinetix folder has none).
        files: ``{file name: bytes}`` of the files read.
        raw_config: the parsed ``config.json``.
        assumed_options: Kinetix checkpoints: ``{option: value}`` of what ``config.json`` did
            not state, filled with the paper model's values (``{}``: nothing assumed); ``None``
            for our format.
        source: Hub references: ``{"repo", "subfolder", "revision", "commit"}`` (the commit
            sha the revision resolved to); ``None`` for a local folder.
        key_names: Kinetix checkpoints: ``"3.x"`` or ``"v0.1.0"`` (paper-era names, renamed on
            load); ``None`` for our format.
        program: exported policies: the checked
            :class:`~harness.submissions.exported.ExportedProgram` (``architecture`` is then the
            config's free label or ``jax-exported``, ``arch_config`` None, ``params`` the
            program's parameter tree); ``None`` otherwise.
    """

    id: str
    path: Path
    architecture: str
    arch_config: Any
    obs_type: str
    action_type: str
    env_size: str
    params: dict | None
    sha256: str
    kind: str
    model_card: str
    files: dict[str, int]
    raw_config: dict
    assumed_options: dict | None = None
    source: dict | None = None
    key_names: str | None = None
    program: Any = None

    @property
    def parameter_free(self) -> bool:
        return self.params is None

    @property
    def exported(self) -> bool:
        """An exported program (``kind == "jax-exported"``): no registered architecture, scored
        zero-shot only."""
        return self.program is not None

    @property
    def param_count(self) -> int:
        if self.params is None:
            return 0
        from baselines.networks import param_count

        return param_count(self.params)

    def summary(self) -> dict:
        """JSON-ready description (no parameters)."""
        return {
            "id": self.id,
            "path": str(self.path),
            "kind": self.kind,
            "architecture": self.architecture,
            "arch_config": {} if self.arch_config is None else self.arch_config.to_dict(),
            "obs_type": self.obs_type,
            "action_type": self.action_type,
            "env_size": self.env_size,
            "param_count": self.param_count,
            "sha256": self.sha256,
            "files": dict(self.files),
            **{
                k: getattr(self, k)
                for k in ("assumed_options", "key_names", "source")
                if getattr(self, k) is not None
            },
            **({"program": self.program.summary()} if self.program is not None else {}),
        }


# ------------------------------------------------------------------------------ small helpers
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{path}: not UTF-8 text ({e})") from None


def _read_json(path: Path) -> dict:
    text = _read_text(path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise SubmissionError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise SubmissionError(f"{path}: must be a JSON object, got {type(raw).__name__}")
    return raw


def _check_size(path: Path, cap: int, what: str) -> int:
    n = path.stat().st_size
    if n > cap:
        raise SubmissionError(f"{path}: {n} bytes exceeds the {what} cap of {cap} bytes")
    return n


# ---------------------------------------------------------------------------- config.json
@dataclasses.dataclass(frozen=True)
class _Parsed:
    arch_id: str
    config: Any
    obs_type: str
    action_type: str
    env_size: str


def _parse_config(raw: dict, path: Path) -> _Parsed:
    from baselines.networks import NetworkConfigError, get_architecture, make_config
    from kinetix.actions import ACTION_TYPES
    from kinetix.observations import OBS_TYPES

    unknown = sorted(set(raw) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        raise SubmissionError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)}"
        )
    missing = [k for k in _REQUIRED_KEYS if k not in raw]
    if missing:
        raise SubmissionError(f"{path}: missing key(s) {', '.join(map(repr, missing))}")
    arch_id, version = raw["architecture"], raw.get("architecture_version")
    if not isinstance(arch_id, str) or not (version is None or isinstance(version, str)):
        raise SubmissionError(f"{path}: 'architecture' and 'architecture_version' must be strings")
    if "@" in arch_id:
        if version is not None and arch_id.partition("@")[2] != version:
            raise SubmissionError(
                f"{path}: architecture_version {version!r} contradicts architecture {arch_id!r}"
            )
    elif version:
        arch_id = f"{arch_id}@{version}"
    try:
        arch = get_architecture(arch_id)
    except NetworkConfigError as e:
        raise SubmissionError(f"{path}: architecture: {e}") from None
    kwargs = raw.get("arch_kwargs", {})
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise SubmissionError(f"{path}: 'arch_kwargs' must be an object")
    if "model" in raw and raw["model"] != kwargs:
        raise SubmissionError(f"{path}: 'model' differs from 'arch_kwargs' (it must be a copy)")
    try:
        config = make_config(arch_id, kwargs)
    except NetworkConfigError as e:
        raise SubmissionError(f"{path}: arch_kwargs: {e}") from None
    obs, act, size = raw["obs_type"], raw["action_type"], raw["env_size"]
    free = arch.parameter_free
    if not (free and obs == ANY):
        if obs not in OBS_TYPES:
            raise SubmissionError(
                f"{path}: obs_type {obs!r} is not an observation type of the env "
                f"({', '.join(OBS_TYPES)}{', any' if free else ''})"
            )
        if obs not in arch.obs_types:
            raise SubmissionError(
                f"{path}: obs_type {obs!r} is not supported by {arch_id} "
                f"(expects {', '.join(arch.obs_types)})"
            )
    if not (free and act == ANY):
        if act not in ACTION_TYPES or act not in arch.action_types:
            raise SubmissionError(
                f"{path}: action_type {act!r} is not an action type of {arch_id} "
                f"({', '.join(arch.action_types)}{', any' if free else ''})"
            )
    if size not in ENV_SIZES:
        raise SubmissionError(f"{path}: env_size {size!r} is not one of {', '.join(ENV_SIZES)}")
    if size == ANY and not arch.size_agnostic:
        raise SubmissionError(
            f"{path}: env_size 'any' but {arch_id} depends on the env size (give s, m or l)"
        )
    sizes = raw.get("env_sizes")
    if sizes is not None and (
        not isinstance(sizes, list) or not all(s in ("s", "m", "l") for s in sizes)
    ):
        raise SubmissionError(f"{path}: 'env_sizes' must be a list of s, m, l")
    for key in ("name", "description", "kinetix_bench_version"):
        if key in raw and not isinstance(raw[key], str):
            raise SubmissionError(f"{path}: {key!r} must be a string")
    if raw.get("param_dtype", "float32") != "float32":
        raise SubmissionError(f"{path}: param_dtype {raw['param_dtype']!r}; only float32")
    return _Parsed(arch_id, config, obs, act, size)


# ------------------------------------------------------------------------------ compatibility
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

    if is_exported_folder(folder):
        return _load_exported(folder, sub_id, config_path, max_bytes, benchmark)
    ours, theirs = folder / MODEL_FILE, folder / KINETIX_PARAMS_FILE
    if ours.exists() and theirs.exists():
        raise SubmissionError(
            f"{folder}: holds both {MODEL_FILE} and {KINETIX_PARAMS_FILE}; keep one"
        )
    kind = "kinetix" if theirs.exists() else "kinetix-bench"
    weights = theirs if kind == "kinetix" else (ours if ours.exists() else None)
    if weights is not None and not weights.is_file():
        raise SubmissionError(f"{weights}: not a regular file")
    card_path = folder / CARD_FILE
    if kind == "kinetix-bench" and not card_path.is_file():
        raise SubmissionError(f"{folder}: missing {CARD_FILE} (the model card)")
    # 2. size caps
    files = {CONFIG_FILE: _check_size(config_path, MAX_TEXT_BYTES, "config.json")}
    if card_path.is_file():
        files[CARD_FILE] = _check_size(card_path, MAX_TEXT_BYTES, "model card")
    if weights is not None:
        files[weights.name] = _check_size(weights, max_bytes, "weights file")
    # 3. config.json
    raw = _read_json(config_path)
    card = _read_text(card_path) if card_path.is_file() else ""
    if kind == "kinetix":
        return _load_kinetix(folder, sub_id, raw, weights, files, card, benchmark)
    parsed = _parse_config(raw, config_path)
    if benchmark is not None:
        check_compatible(parsed, benchmark)
    from baselines.networks import get_architecture

    if get_architecture(parsed.arch_id).parameter_free:
        if weights is not None:
            raise SubmissionError(
                f"{weights}: {parsed.arch_id} has no parameters; remove {MODEL_FILE}"
            )
        return Submission(
            sub_id, folder, parsed.arch_id, parsed.config, parsed.obs_type, parsed.action_type,
            parsed.env_size, None, _sha256(config_path), kind, card, files, raw,
        )  # fmt: skip
    if weights is None:
        raise SubmissionError(f"{folder}: missing {MODEL_FILE} ({parsed.arch_id} has parameters)")
    # 4. structure
    header, meta = check_safetensors_file(weights)
    if "architecture" in meta and meta["architecture"] not in (
        parsed.arch_id,
        parsed.arch_id.partition("@")[0],
    ):
        raise SubmissionError(
            f"{weights}: __metadata__ architecture {meta['architecture']!r} contradicts "
            f"config.json ({parsed.arch_id})"
        )
    # 5. keys, dtypes, shapes
    from baselines.networks import abstract_params, header_mismatches

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
    # 6. tensors
    params = _load_finite(weights)
    return Submission(
        sub_id, folder, parsed.arch_id, parsed.config, parsed.obs_type, parsed.action_type,
        parsed.env_size, params, _sha256(weights), kind, card, files, raw,
    )  # fmt: skip


def _load_exported(folder: Path, sub_id: str, config_path: Path, max_bytes: int, benchmark):
    """An exported program folder (:mod:`harness.submissions.exported`, which runs the checks)."""
    from harness.submissions.exported import EXPORTED_KIND, load_exported, parse_exported_config

    card_path = folder / CARD_FILE
    if not card_path.is_file():
        raise SubmissionError(f"{folder}: missing {CARD_FILE} (the model card)")
    sizes = {
        CONFIG_FILE: _check_size(config_path, MAX_TEXT_BYTES, "config.json"),
        CARD_FILE: _check_size(card_path, MAX_TEXT_BYTES, "model card"),
    }
    raw = _read_json(config_path)
    card = _read_text(card_path)
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


def _load_finite(weights: Path) -> dict:
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
        ckpt.params, _sha256(weights), "kinetix", card, files, raw,
        assumed_options=dict(ckpt.assumed_options), key_names=ckpt.key_names,
    )  # fmt: skip
    if benchmark is not None:
        check_compatible(sub, benchmark)
    return sub


# ---------------------------------------------------------------------------------- policies
