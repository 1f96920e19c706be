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

:func:`parse_protocol` turns an id into a protocol object; unknown ids and versions are errors.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

__all__ = [
    "ProtocolError",
    "ZeroShot",
    "FineTune",
    "parse_protocol",
    "attempt_keys",
    "DEFAULT_PROTOCOL",
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
        f"unknown protocol {protocol_id!r}; known: zero-shot@v1, finetune-<budget>@v1"
    )


def attempt_keys(level_hashes, protocol: ZeroShot):
    """(L, attempts, 2) uint32 keys, one row per level (see the module docstring)."""
    import jax

    seeds = np.array([int(h[:8], 16) for h in level_hashes], np.uint32)
    base = jax.random.PRNGKey(protocol.seed)

    def per_level(s):
        return jax.random.split(jax.random.fold_in(base, s), protocol.attempts)

    return jax.vmap(per_level)(seeds)
