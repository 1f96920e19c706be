"""The error of the submissions package: :class:`SubmissionError`.

Its own module because every other one raises it (the safetensors check, Hub references, the
loader, the policies) and none of them should import another just for the error.
"""

from __future__ import annotations

__all__ = ["SubmissionError"]


class SubmissionError(ValueError):
    """A submission that cannot be loaded or used (the message names the file/key and why)."""
