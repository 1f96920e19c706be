"""The registry of hand-made levels: stable ids, descriptions, tags, sizes and builders.

A level is registered with the :func:`level` decorator on a function that fills a
:class:`~kinetix.authoring.LevelBuilder`::

    @level("s", "thrust_over_boulder", family="thrusters", difficulty="easy",
           description="Fly a box over a boulder onto the blue ball.")
    def _(b):
        ...

The id is ``handmade-{size}/{name}``: stable (never reuse or rename one; a changed level gets a
new name). Witnesses live in ``witnesses.json`` beside this module (see :mod:`.witnesses`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from kinetix.authoring import AuthoringError, LevelBuilder
from kinetix.level import Level

__all__ = [
    "HandmadeLevel",
    "FAMILIES",
    "DIFFICULTIES",
    "RELEASES",
    "REGISTRY",
    "level",
    "register",
]

#: The releases of the hand-made sets. ``v1`` is frozen (its level-set hashes are in the
#: benchmark registry); a level belongs to every release it names.
RELEASES = ("v1", "v2")

FAMILIES = ("thrusters", "vehicles", "balance", "manipulation", "locomotion", "puzzles")
DIFFICULTIES = ("easy", "medium", "hard")

#: id -> HandmadeLevel, in registration order (the family modules fill it on import).
REGISTRY: dict[str, HandmadeLevel] = {}


@dataclasses.dataclass(frozen=True)
class HandmadeLevel:
    """One hand-made level's metadata and builder."""

    name: str
    size: str
    family: str
    difficulty: str
    description: str
    builder: Callable[[LevelBuilder], None] = dataclasses.field(repr=False, compare=False)
    releases: tuple[str, ...] = ("v1",)

    @property
    def id(self) -> str:
        return f"handmade-{self.size}/{self.name}"

    @property
    def config(self) -> str:
        return f"handmade-{self.size}"

    @property
    def tags(self) -> tuple[str, ...]:
        return (self.family, self.difficulty)

    def build(self) -> Level:
        b = LevelBuilder(self.size, name=self.id)
        self.builder(b)
        return b.build()


def register(entry: HandmadeLevel) -> HandmadeLevel:
    if entry.size not in ("s", "m", "l"):
        raise AuthoringError(f"{entry.name}: size must be s, m or l, got {entry.size!r}")
    if entry.family not in FAMILIES:
        raise AuthoringError(
            f"{entry.name}: family must be one of {FAMILIES}, got {entry.family!r}"
        )
    if entry.difficulty not in DIFFICULTIES:
        raise AuthoringError(
            f"{entry.name}: difficulty must be one of {DIFFICULTIES}, got {entry.difficulty!r}"
        )
    if not entry.description or "\n" in entry.description:
        raise AuthoringError(f"{entry.name}: the description must be one non-empty line")
    if not entry.releases or any(r not in RELEASES for r in entry.releases):
        raise AuthoringError(
            f"{entry.name}: releases must be a non-empty subset of {RELEASES}, "
            f"got {entry.releases!r}"
        )
    if entry.id in REGISTRY:
        raise AuthoringError(f"duplicate hand-made level id {entry.id!r}")
    REGISTRY[entry.id] = entry
    return entry


def level(
    size: str,
    name: str,
    *,
    family: str,
    difficulty: str,
    description: str,
    releases: tuple[str, ...] = ("v1",),
):
    """Decorator registering ``fn(builder)`` as the hand-made level ``handmade-{size}/{name}``.

    ``releases``: the hand-made set releases the level belongs to (``v1`` is frozen: a new level
    names ``("v2",)``; a v1 level that meets v2's rules names ``("v1", "v2")``).
    """

    def deco(fn):
        register(HandmadeLevel(name, size, family, difficulty, description, fn, tuple(releases)))
        return fn

    return deco
