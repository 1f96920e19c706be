"""Evaluation protocols: declarative, versioned, and together with a benchmark id they fix every
seed and setting (DESIGN §8).

* ``zero-shot@v1``: per level 20 attempts, up to 256 agent steps, actions sampled from the
  policy, first episode only. Attempt keys of a level:
  ``split(fold_in(PRNGKey(seed), uint32(level_hash[:8], 16)), 20)``, so a level's attempts never
  depend on which other levels are in the run.
* ``finetune-<budget>@v1`` (budget in env steps, ``finetune-1e5``, ``finetune-2000000``): per
  level, PPO from the checkpoint for the budget with fixed hyper-parameters
  (``baselines.ppo.finetune``: kinetix_spec §8.2 except 64 envs, 64 steps, 4 minibatches) and 3
  training seeds, then the zero-shot evaluation on that level; the same budget from fresh weights
  is the from-scratch run recorded beside it.

* ``kinetix-zero-shot@v1``: Kinetix's own evaluation (``kinetix_spec.md`` §6.2), for numbers
  comparable with Kinetix's published ones: the attempts of ``zero-shot@v1`` (20 per level, 256
  agent steps, sampled actions, first episode only, levels padded to the benchmark's env size,
  which for an imported Kinetix folder is the largest level's size, as Kinetix's evaluation env
  is), always under the ``jax2d-compat`` physics setting (DESIGN §4), whatever the submission;
  reported as Kinetix reports it: per level the solve rate over attempts, per size group
  (Kinetix's ``s``/``m``/``l`` level folders) the mean over that group's levels, and ``all`` the
  mean over every level (not over groups: the published 0.22 of ``sfl-paper`` is
  (10 x 0.42 + 24 x 0.32 + 40 x 0.11) / 74).

:func:`parse_protocol` turns an id into a protocol object; unknown ids and versions are errors.
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

import numpy as np

# Kinetix's size groups of level ids are a property of the level sets (harness.levels); the
# names stay importable from here, beside the averages that report on them.
from harness.levels.registry import KINETIX_SIZE_GROUPS, kinetix_size_group

__all__ = [
    "ProtocolError",
    "ZeroShot",
    "KinetixZeroShot",
    "FineTune",
    "parse_protocol",
    "attempt_keys",
    "DEFAULT_PROTOCOL",
    "KINETIX_SIZE_GROUPS",
    "kinetix_size_group",
    "kinetix_averages",
]

DEFAULT_PROTOCOL = "zero-shot@v1"


class ProtocolError(ValueError):
    """An unknown or malformed protocol id."""


@dataclasses.dataclass(frozen=True)
class ZeroShot:
    """``zero-shot@v1``. Attributes are fixed by the version (never change a released one)."""

    attempts: int = 20
    max_steps: int = 256
    seed: int = 0
    action_mode: str = "sample"
    version: int = 1
    #: The physics setting the protocol imposes; None: the submission's own (Kinetix checkpoints
    #: run under ``jax2d-compat``, ours under ``default``; see ``harness.commands.eval``).
    physics_setting: ClassVar[str | None] = None

    @property
    def id(self) -> str:
        return f"zero-shot@v{self.version}"

    @property
    def name(self) -> str:
        return "zero-shot"

    def to_json(self) -> dict:
        return {
            "protocol_id": self.name,
            "protocol_version": self.version,
            "episodes_per_level": self.attempts,
            "max_steps": self.max_steps,
            "seed": self.seed,
            "action_mode": self.action_mode,
            "finetune": None,
        }

    def extra_metrics(self, level_ids, outcomes: dict) -> dict:
        """Protocol-specific entries for the record's ``metrics`` (none for ``zero-shot``)."""
        return {}


@dataclasses.dataclass(frozen=True)
class KinetixZeroShot(ZeroShot):
    """``kinetix-zero-shot@v1``: Kinetix's evaluation (see the module docstring).

    The attempts are those of :class:`ZeroShot` (same keys, same episode rules); the protocol adds
    the ``jax2d-compat`` physics and Kinetix's per-size reporting (:meth:`extra_metrics`).
    """

    physics_setting: ClassVar[str | None] = "jax2d-compat"

    @property
    def id(self) -> str:
        return f"kinetix-zero-shot@v{self.version}"

    @property
    def name(self) -> str:
        return "kinetix-zero-shot"

    def to_json(self) -> dict:
        d = super().to_json()
        d.update(
            protocol_id=self.name,
            physics_setting=self.physics_setting,
            aggregation="kinetix: per-level solve rate over attempts; per size group (s, m, l) "
            "the mean over its levels; all = the mean over every level",
        )
        return d

    def extra_metrics(self, level_ids, outcomes: dict) -> dict:
        """``{"by_size": kinetix_averages(...)}`` for the result record's ``metrics``."""
        return {"by_size": kinetix_averages(level_ids, outcomes)}


def kinetix_averages(level_ids, outcomes: dict) -> dict:
    """Kinetix's averages: ``{group: {"n_levels", "solve_rate", "return"}}`` for each size group
    present (``s``, ``m``, ``l``) and ``all`` (every level).

    ``outcomes`` holds (L, K) arrays ``solved`` and ``return`` (K attempts); a level's score is
    its mean over attempts, a group's the mean of its levels' scores (each level weighs the same).
    """
    ids = list(level_ids)
    solved = np.asarray(outcomes["solved"], np.float64).mean(axis=-1)
    ret = np.asarray(outcomes["return"], np.float64).mean(axis=-1)
    if solved.shape != (len(ids),):
        raise ValueError(f"kinetix_averages: {len(ids)} level ids, outcomes {solved.shape}")
    groups = [kinetix_size_group(i) for i in ids]
    out = {}
    for g in (*KINETIX_SIZE_GROUPS, "all"):
        pick = np.array([g == "all" or x == g for x in groups], bool)
        if pick.any():
            out[g] = {
                "n_levels": int(pick.sum()),
                "solve_rate": float(solved[pick].mean()),
                "return": float(ret[pick].mean()),
            }
    return out


@dataclasses.dataclass(frozen=True)
class FineTune:
    """``finetune-<budget>@v1``: PPO per level for ``budget`` env steps, then zero-shot."""

    budget: int
    train_seeds: tuple[int, ...] = (0, 1, 2)
    num_envs: int = 64
    num_steps: int = 64
    num_minibatches: int = 4
    evaluation: ZeroShot = ZeroShot()
    version: int = 1

    @property
    def name(self) -> str:
        return f"finetune-{_budget_text(self.budget)}"

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"

    def to_json(self) -> dict:
        d = self.evaluation.to_json()
        d.update(
            protocol_id=self.name,
            protocol_version=self.version,
            finetune={
                "algo": "ppo",
                "budget_env_steps": self.budget,
                "train_seeds": list(self.train_seeds),
                "num_envs": self.num_envs,
                "num_steps": self.num_steps,
                "num_minibatches": self.num_minibatches,
            },
        )
        return d


def _budget_text(n: int) -> str:
    """1e5 for 100000 when exact, else the integer."""
    e = len(str(n)) - 1
    if n >= 10 and n == 10**e:
        return f"1e{e}"
    return str(n)


_ID = re.compile(r"^(?P<name>[a-z0-9-]+?)(?:-(?P<budget>[0-9.e+]+))?@v(?P<v>\d+)$")


def parse_protocol(protocol_id: str):
    """``"zero-shot@v1"`` -> :class:`ZeroShot`; ``"finetune-1e5@v1"`` -> :class:`FineTune`."""
    m = _ID.match(protocol_id or "")
    if not m:
        raise ProtocolError(
            f"protocol {protocol_id!r}: expected NAME@vN, e.g. zero-shot@v1 or finetune-1e5@v1"
        )
    name, budget, version = m["name"], m["budget"], int(m["v"])
    if name == "zero-shot" and budget is None:
        if version != 1:
            raise ProtocolError(f"protocol {protocol_id!r}: zero-shot has version 1 only")
        return ZeroShot()
    if name == "kinetix-zero-shot" and budget is None:
        if version != 1:
            raise ProtocolError(f"protocol {protocol_id!r}: kinetix-zero-shot has version 1 only")
        return KinetixZeroShot()
    if name == "finetune" and budget is not None:
        if version != 1:
            raise ProtocolError(f"protocol {protocol_id!r}: finetune has version 1 only")
        try:
            value = float(budget)
        except ValueError:
            raise ProtocolError(f"protocol {protocol_id!r}: bad budget {budget!r}") from None
        if value != int(value) or value < 1 or value > 1e12:
            raise ProtocolError(
                f"protocol {protocol_id!r}: the budget must be a whole number of env steps "
                "between 1 and 1e12"
            )
        return FineTune(budget=int(value))
    raise ProtocolError(
        f"unknown protocol {protocol_id!r}; known: zero-shot@v1, kinetix-zero-shot@v1, "
        "finetune-<budget>@v1"
    )


def attempt_keys(level_hashes, protocol: ZeroShot):
    """(L, attempts, 2) uint32 keys, one row per level (see the module docstring)."""
    import jax

    seeds = np.array([int(h[:8], 16) for h in level_hashes], np.uint32)
    base = jax.random.PRNGKey(protocol.seed)

    def per_level(s):
        return jax.random.split(jax.random.fold_in(base, s), protocol.attempts)

    return jax.vmap(per_level)(seeds)
