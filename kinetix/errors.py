"""Exception types of the ``kinetix`` package.

Every message names the offending field (``joint[2].a_index``, ``env_state.polygon[4].vertices``)
and says what was expected.
"""

from __future__ import annotations

__all__ = [
    "KinetixError",
    "LevelError",
    "LevelValidationError",
    "LevelSizeError",
    "KinetixJSONError",
    "EnvConfigError",
]


class KinetixError(ValueError):
    """Base class of the errors raised by the ``kinetix`` package."""


class LevelError(KinetixError):
    """A level cannot be built, converted or used as asked."""


class LevelValidationError(LevelError):
    """A level's content is invalid (dangling references, bad polygons, NaN, bad roles...)."""


class LevelSizeError(LevelError):
    """A level does not fit the requested environment size (e.g. an L level into size S)."""


class KinetixJSONError(LevelError):
    """A Kinetix level JSON file is malformed (missing key, wrong type or length)."""


class EnvConfigError(KinetixError):
    """An environment configuration value is unknown or inconsistent."""
