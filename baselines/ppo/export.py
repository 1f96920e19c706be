"""Exporting a trained policy as a submission folder (``DESIGN.md`` §7).

``export_submission(out_dir, arch, arch_config, params, env_config, training_info)`` writes

* ``model.safetensors``: float32 tensors named ``params/<module path>/<leaf>`` (Kinetix's flat
  ``/``-joined names, ``kinetix_checkpoints.md`` §1.2);
* ``config.json``: ``architecture``, ``architecture_version``, ``arch_kwargs``, ``obs_type``,
  ``action_type``, ``env_size`` (``"any"`` for size-agnostic architectures; ``env_sizes`` lists
  the sizes trained on), ``kinetix_bench_version``, ``model`` (the options under Kinetix's key);
* ``README.md``: a model card with YAML front matter and the training compute.

The folder is written into a temporary sibling and renamed into place (an existing folder is
replaced only once the new one is complete).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["export_submission", "flatten_params", "package_version"]


def package_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("kinetix-bench")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def flatten_params(params) -> dict[str, np.ndarray]:
    """``{"params": {...}}`` (or the inner dict) -> ``{"params/a/b": float32 array}``."""
    if not (isinstance(params, dict) and set(params) == {"params"}):
        params = {"params": params}
    out = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k in sorted(node):
                walk(node[k], f"{prefix}/{k}" if prefix else str(k))
        else:
            out[prefix] = np.ascontiguousarray(np.asarray(node, np.float32))

    walk(params, "")
    return out


def _card(config: dict, info: dict) -> str:
    hp = info.get("hyperparameters", {})
    levels = info.get("levels", [])
    shown = ", ".join(map(str, levels[:20]))
    if len(levels) > 20:
        shown += f" (+{len(levels) - 20} more)"
    lines = [
        "---",
        "library_name: kinetix-bench",
        "license: apache-2.0",
        "tags:",
        "- kinetix-bench",
        "- reinforcement-learning",
        "- ppo",
        f"- {config['architecture']}",
    ]
    if info.get("datasets"):
        lines += ["datasets:"] + [f"- {d}" for d in info["datasets"]]
    lines += [
        "---",
        "",
        f"# {info.get('name', 'PPO policy')}",
        "",
        f"A `{config['architecture']}` policy ({config['obs_type']} observations, "
        f"{config['action_type']} actions) trained with PPO by `kinetix-bench train`.",
        "",
        "## Training compute",
        "",
        "| item | value |",
        "| --- | --- |",
        f"| env steps | {info.get('env_steps', 'n/a'):,} |"
        if isinstance(info.get("env_steps"), int)
        else f"| env steps | {info.get('env_steps', 'n/a')} |",
        f"| PPO updates | {info.get('updates', 'n/a')} |",
        f"| wall time (s) | {info.get('wall_seconds', 'n/a')} |",
        f"| hardware | {info.get('hardware', 'n/a')} |",
        f"| seed | {info.get('seed', 'n/a')} |",
        f"| env size | {info.get('env_size', 'n/a')} |",
        f"| levels | {info.get('level_source', '')}: {shown} |",
        "",
    ]
    if info.get("final"):
        lines += [
            "## Final training metrics",
            "",
            "```json",
            json.dumps(info["final"], indent=2),
            "```",
            "",
        ]
    if hp:
        lines += ["## Hyper-parameters", "", "```json", json.dumps(hp, indent=2), "```", ""]
    lines += [f"kinetix-bench {package_version()}", ""]
    return "\n".join(lines)


def export_submission(out_dir, arch, arch_config, params, env_config, training_info=None) -> Path:
    """Writes the submission folder ``out_dir`` (see the module doc); returns its path.

    ``env_config``: a :class:`kinetix.env.EnvConfig` (or any object with ``size``,
    ``obs_type``, ``action_type``); ``arch_config``: a dict or a network config object.
    """
    from safetensors.numpy import save_file

    from baselines.networks.registry import get_architecture

    info = dict(training_info or {})
    arch_obj = get_architecture(arch)
    kwargs = arch_config.to_dict() if hasattr(arch_config, "to_dict") else dict(arch_config or {})
    size = str(getattr(env_config.size, "name", env_config.size))
    name, _, version = arch.partition("@")
    config = {
        "architecture": arch,
        "architecture_version": version or None,
        "arch_kwargs": kwargs,
        "obs_type": env_config.obs_type,
        "action_type": env_config.action_type,
        "env_size": "any" if arch_obj.size_agnostic else size,
        "env_sizes": sorted(set(info.get("env_sizes", [size]))),
        "kinetix_bench_version": package_version(),
        "model": kwargs,
        "name": info.get("name", name),
    }
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        save_file(flatten_params(params), str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (tmp / "README.md").write_text(_card(config, info))
        from kinetix.atomic_io import replace_dir

        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
