"""A loaded, checked submission: :class:`Submission` (what every loader returns), and
:class:`SeedCheckpoint`, one training seed of a multi-seed submission."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

__all__ = ["Submission", "SeedCheckpoint"]


@dataclasses.dataclass(frozen=True)
class SeedCheckpoint:
    """One training seed of a multi-seed submission (``seeds.json``,
    :mod:`harness.submissions.seeds`).

    Attributes:
        seed: the training seed (an integer >= 0, the label ``seeds.json`` gives it).
        file: its weights file, relative to the submission folder
            (``seeds/<seed>/model.safetensors``).
        sha256: hex sha256 of that file (checked against ``seeds.json``).
        params: ``{"params": ...}`` (jax arrays), checked like a single-seed submission's.
    """

    seed: int
    file: str
    sha256: str
    params: Any = None

    def summary(self) -> dict:
        """JSON-ready description (no parameters)."""
        return {"seed": self.seed, "file": self.file, "sha256": self.sha256}


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
        params: ``{"params": ...}`` (jax arrays), ``None`` for parameter-free policies; for a
            multi-seed submission the first listed seed's.
        sha256: hex sha256 of the weights file (``config.json`` for parameter-free ones,
            ``seeds.json`` for a multi-seed submission: it lists every seed's sha256).
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
        seeds: a multi-seed submission (``seeds.json``): its :class:`SeedCheckpoint` s, in
            the manifest's order (at least 2); ``None`` for a single-seed submission.
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
    seeds: tuple[SeedCheckpoint, ...] | None = None

    @property
    def n_seeds(self) -> int:
        """The number of training seeds (1 unless the submission has ``seeds.json``)."""
        return 1 if self.seeds is None else len(self.seeds)

    @property
    def seed_ids(self) -> list[int] | None:
        """The training seeds of a multi-seed submission; ``None`` for a single seed."""
        return None if self.seeds is None else [s.seed for s in self.seeds]

    def seed_views(self) -> list[Submission]:
        """One single-seed :class:`Submission` per training seed (that seed's ``params`` and
        ``sha256``, ``seeds=None``), in order; ``[self]`` for a single-seed submission. What
        scoring evaluates (or fine-tunes) seed by seed."""
        if self.seeds is None:
            return [self]
        return [
            dataclasses.replace(self, params=s.params, sha256=s.sha256, seeds=None)
            for s in self.seeds
        ]

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
            **({"seeds": [s.summary() for s in self.seeds]} if self.seeds is not None else {}),
        }
