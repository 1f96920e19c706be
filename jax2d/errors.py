"""Exception types of the engine."""

__all__ = ["SceneError", "SceneFullError", "InvalidShapeError"]


class SceneError(ValueError):
    """A scene cannot be built or modified as asked (the message names the field and problem)."""


class SceneFullError(SceneError):
    """Every slot of the requested kind is already in use."""


class InvalidShapeError(SceneError):
    """A shape is degenerate, non-convex, too large for its slots, or holds NaN/inf values."""
