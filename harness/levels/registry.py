"""The benchmark registry: benchmark ids -> pinned level sets (``DESIGN.md`` §6, §8).

A benchmark id (``handmade-s-v1``, ``random-m-test-v1``, ...) names a fixed set of levels: one
or more configs of the level dataset, a split, a release revision and the level-set hash
(sha256 of the sorted level hashes). :data:`BENCHMARKS` holds every registered id;
:func:`get_benchmark` looks one up. Finding, checking and loading a benchmark's levels is
:mod:`harness.levels.loading`.

Imported benchmarks (``Benchmark.imported``, :data:`KINETIX_ORIGINAL`) ship no data; their
pinned Kinetix size groups are read from level ids with :func:`kinetix_size_group`.
"""

from __future__ import annotations

import dataclasses
import re

from harness.levels.manifest import DatasetError

__all__ = [
    "RELEASE",
    "Benchmark",
    "BENCHMARKS",
    "KINETIX_ORIGINAL",
    "KINETIX_SIZE_GROUPS",
    "get_benchmark",
    "kinetix_size_group",
]

#: Kinetix's size groups, in its reporting order (its level folders ``s/``, ``m/``, ``l/``).
KINETIX_SIZE_GROUPS = ("s", "m", "l")

RELEASE = "v1.0.0"


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A pinned level set.

    Attributes:
        id: ``{name}-v{major}``; a content change is a new major (a new id).
        configs: dataset configs holding the levels (``handmade-s``, ...).
        split: the split of every config.
        size: env size the levels are padded to (``"s"``, ``"m"``, ``"l"``).
        level_set_hash: sha256 of the sorted hex level hashes joined by newlines.
        num_levels: number of levels.
        revision: the dataset release tag.
        repo: the Hub dataset repo (None: the project default, see ``harness.levels.hub``).
        description: one line.
        imported: no Hub or bundled data; the levels come from ``levels import-kinetix``
            (found by level-set hash in the local import registry, :mod:`harness.levels.imports`).
        obs_types: observation types a submission may use (``kinetix.observations.OBS_TYPES``).
        action_types: action types a submission may use (``kinetix.actions.ACTION_TYPES``).
        leaderboard: scored on the leaderboard. False for the validation splits: they exist
            for checkpoint selection and tuning, and a score on them says nothing held out.
        groups: pinned sub-sets ``((name, level_set_hash, num_levels), ...)``: Kinetix's size
            groups (``s``, ``m``, ``l``, from the level ids) that per-size averages report on.
    """

    id: str
    configs: tuple[str, ...]
    split: str
    size: str
    level_set_hash: str
    num_levels: int
    revision: str = RELEASE
    repo: str | None = None
    description: str = ""
    imported: bool = False
    groups: tuple[tuple[str, str, int], ...] = ()
    obs_types: tuple[str, ...] = ("entity", "flat", "pixels")
    action_types: tuple[str, ...] = ("multi_discrete", "discrete", "continuous")
    leaderboard: bool = True


def _b(id, configs, split, size, h, n, description):
    return Benchmark(
        id,
        tuple(configs),
        split,
        size,
        h,
        n,
        description=description,
        leaderboard=split != "validation",
    )


_HM = ("handmade-s", "handmade-m", "handmade-l")

#: The registry. Hashes are those of the v1.0.0 release (the bundled copy is built from the
#: same recipe, ``datasets/recipes/kinetix-levels.toml``); a test keeps the two in agreement.
BENCHMARKS: dict[str, Benchmark] = {
    b.id: b
    for b in (
        _b(
            "handmade-s-v1",
            _HM[:1],
            "test",
            "s",
            "16851e31d8094ba658feaa345a6d89b051bb47c5a43a0a1cd3f47fd6c1316aa5",
            12,
            "hand-made S levels (held out)",
        ),
        _b(
            "handmade-m-v1",
            _HM[1:2],
            "test",
            "m",
            "45ed234f424099750ec61dbe6e160042d1fb35a9c4110ce724e3340ca9fb0209",
            17,
            "hand-made M levels (held out)",
        ),
        _b(
            "handmade-l-v1",
            _HM[2:],
            "test",
            "l",
            "34c85250b3ea9921f6b8b5b60ca95576589a26ca307ea5cbf2213c4ce097a4cf",
            21,
            "hand-made L levels (held out)",
        ),
        _b(
            "handmade-all-v1",
            _HM,
            "test",
            "l",
            "73bf2bcd1b12d7c6100adba2dbe800e541978d43c5f7eb7155316328541c4161",
            50,
            "every hand-made level, padded to L",
        ),
        _b(
            "random-s-test-v1",
            ["random-s"],
            "test",
            "s",
            "367948b03192266aad20e72984766ba60353d3eca8655f9abe451c049bf47e42",
            1000,
            "procedural S test levels",
        ),
        _b(
            "random-m-test-v1",
            ["random-m"],
            "test",
            "m",
            "aed62e4ae7794aa0b968bdaef2c2fc7d0362051aa95ad6603477201ede0aac91",
            1000,
            "procedural M test levels",
        ),
        _b(
            "random-l-test-v1",
            ["random-l"],
            "test",
            "l",
            "d63082c791a51a0f29ee7c906e1a07b3b47a8b6b2f0fb2724311583069783b03",
            1000,
            "procedural L test levels",
        ),
        _b(
            "random-s-validation-v1",
            ["random-s"],
            "validation",
            "s",
            "0692aa26395d34c70212a0643ab54fc4188f21cc194c7c3ef7ff7b3ddf3dbc5c",
            1000,
            "procedural S validation levels (checkpoint selection; not on the leaderboard)",
        ),
        _b(
            "random-m-validation-v1",
            ["random-m"],
            "validation",
            "m",
            "08dac325d2b6d0d1c881d354ab2c62003f0abb15171a62c4350f5b27e780f1a3",
            1000,
            "procedural M validation levels (checkpoint selection; not on the leaderboard)",
        ),
        _b(
            "random-l-validation-v1",
            ["random-l"],
            "validation",
            "l",
            "8abf6d9578ea536a9132ce02be5f5ebed21c7c3f747aad29eb37866dfa89ed7d",
            1000,
            "procedural L validation levels (checkpoint selection; not on the leaderboard)",
        ),
    )
}

#: The 74 levels that Kinetix ships (kinetix-env 3.0.2, ``kinetix/levels/{s,m,l}``) as imported by
#: ``levels import-kinetix`` (size L, as Kinetix's evaluation env on all of them): the hashes are
#: those of that import, per size folder and overall. Never bundled (the levels are Kinetix's).
KINETIX_ORIGINAL = Benchmark(
    "kinetix-original-v1",
    ("kinetix-l",),
    "test",
    "l",
    "5ab7ff664697b5123fa367e9bffc3d0b46a5d240c5c98fce5be5f3c84f72c825",
    74,
    revision="import",
    repo="local import (kinetix-bench levels import-kinetix)",
    description="the 74 original Kinetix levels, imported from your own Kinetix copy",
    imported=True,
    groups=(
        ("s", "0753476c3da8ef4e6126be187ff69f3a6d77a8080969754db31ce7547334ed6f", 10),
        ("m", "ac13e4d1ef21674a3dc6216259c19c2761f44601d5a07ed3926e0ad7b0cce2be", 24),
        ("l", "b3fc0711deda6191b092332c1a5d9be15e5cf7389a000bd8bb139d5cb710c222", 40),
    ),
)
BENCHMARKS[KINETIX_ORIGINAL.id] = KINETIX_ORIGINAL


def get_benchmark(bench_id: str) -> Benchmark:
    try:
        return BENCHMARKS[bench_id]
    except KeyError:
        raise DatasetError(
            f"unknown benchmark id {bench_id!r}; known: {', '.join(BENCHMARKS)} "
            "(or give a local dataset folder, PATH or PATH::ID)"
        ) from None


def kinetix_size_group(level_id: str) -> str | None:
    """Kinetix's size group of a level from its dataset id, or None when the id does not say.

    ``kinetix-l/s/h0_weak_thrust`` (a level imported from Kinetix's ``levels/s/`` folder) -> ``s``;
    ``handmade-m/arm_reach`` (a config of one size) -> ``m``; ``kinetix-l/my_level`` -> None.
    """
    parts = level_id.split("/")
    if len(parts) >= 3 and parts[1] in KINETIX_SIZE_GROUPS:
        return parts[1]
    m = re.fullmatch(r"(?:handmade|random)-([sml])", parts[0])
    return m[1] if m else None
