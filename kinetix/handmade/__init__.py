"""The original hand-made level set (held out for evaluation).

One module per family (:mod:`.thrusters`, :mod:`.vehicles`, :mod:`.balance`,
:mod:`.manipulation`, :mod:`.locomotion`, :mod:`.puzzles`) registers its levels in
:data:`REGISTRY` (id -> :class:`HandmadeLevel`); witnesses (action sequences that solve each
level) live in ``witnesses.json`` (:mod:`.witnesses`). Only levels with a witness are in the set
(:func:`certified_levels`).
"""

from __future__ import annotations

from kinetix.handmade import balance, locomotion, manipulation, puzzles, thrusters, vehicles
from kinetix.handmade.registry import DIFFICULTIES, FAMILIES, REGISTRY, HandmadeLevel, level
from kinetix.handmade.witnesses import (
    WITNESS_PATH,
    certified_levels,
    load_witnesses,
    save_witnesses,
)

del balance, locomotion, manipulation, puzzles, thrusters, vehicles

__all__ = [
    "DIFFICULTIES",
    "FAMILIES",
    "REGISTRY",
    "WITNESS_PATH",
    "HandmadeLevel",
    "all_levels",
    "certified_levels",
    "get",
    "level",
    "load_witnesses",
    "save_witnesses",
]


def all_levels(size: str | None = None) -> list[HandmadeLevel]:
    """Registered levels (optionally of one size), in registration order."""
    return [e for e in REGISTRY.values() if size is None or e.size == size]


def get(level_id: str) -> HandmadeLevel:
    """The registered level ``level_id`` (e.g. ``handmade-s/lift_to_shelf``)."""
    from kinetix.authoring import AuthoringError

    try:
        return REGISTRY[level_id]
    except KeyError:
        raise AuthoringError(f"unknown hand-made level id {level_id!r}") from None
