"""Helpers shared by the submission tests (test_submissions.py: loading, config.json,
compatibility and ``submit --dry-run``; test_submission_hostile.py: hostile and malformed weight
files).

* :data:`TINY`: a tiny flat MLP (depth 1, width 8; env size s, multi_discrete actions);
  :func:`make_tiny_params` its parameters, :func:`export_tiny` a kinetix-bench submission folder
  of it, :func:`write_tiny_kinetix` a Kinetix-format checkpoint of it;
* :data:`KEY`: the name of its first layer's kernel (``float32 [140, 8]`` at size s);
* :func:`model_path` and :func:`edit_tensors`: a submission's ``model.safetensors``, rewritten.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.numpy import load_file, save_file

TINY = {"actor_depth": 1, "critic_depth": 1, "actor_width": 8, "critic_width": 8}
KEY = "params/Dense_0/kernel"


def make_tiny_params():
    """``{"params": ...}`` of the tiny MLP (``init_params`` with PRNG key 0)."""
    import jax

    from baselines.networks import init_params

    return init_params("mlp-flat@v1", TINY, "flat", "multi_discrete", "s", jax.random.PRNGKey(0))


def export_tiny(out: Path, params) -> Path:
    """A kinetix-bench submission folder of the tiny MLP at ``out``."""
    from baselines.ppo.export import export_submission
    from kinetix.env import EnvConfig

    env = EnvConfig(size="s", obs_type="flat", action_type="multi_discrete")
    return export_submission(out, "mlp-flat@v1", TINY, params, env, {"name": "tiny"})


def write_tiny_kinetix(out: Path, params) -> Path:
    """A Kinetix-format checkpoint folder of the tiny MLP at ``out``."""
    from baselines.networks import write_kinetix_checkpoint

    write_kinetix_checkpoint(
        out,
        "mlp-flat@v1",
        TINY,
        params,
        obs_type="flat",
        action_type="multi_discrete",
        size="s",
    )
    return out


def model_path(d: Path) -> Path:
    return d / "model.safetensors"


def edit_tensors(d: Path, fn) -> None:
    flat = dict(load_file(str(model_path(d))))
    fn(flat)
    save_file(flat, str(model_path(d)))
