"""Structural checks of a submission's safetensors file, read from its header alone.

:func:`check_safetensors_file` is :func:`baselines.networks.safetensors_header.read_header` (the
project's one safetensors header parser: header length cap, JSON object, dtypes, shapes,
``data_offsets`` tiling the data area, a small ``__metadata__``) with its errors as
:class:`SubmissionError`, naming the file and the problem. Nothing is loaded or unpickled.
"""

from __future__ import annotations

import os

from baselines.networks.safetensors_header import (
    MAX_HEADER_BYTES,
    SafetensorsError,
    TensorInfo,
    read_header,
)
from harness.submissions.errors import SubmissionError

__all__ = ["SubmissionError", "MAX_HEADER_BYTES", "check_safetensors_file"]


def check_safetensors_file(
    path: str | os.PathLike, *, max_header_bytes: int = MAX_HEADER_BYTES
) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Checks a safetensors file's structure from its header alone (no tensor is read).

    Returns ``({name: (dtype, shape)}, metadata)``; raises :class:`SubmissionError` with the
    message of :func:`~baselines.networks.safetensors_header.read_header`.
    """
    try:
        return read_header(path, max_header_bytes=max_header_bytes)
    except SafetensorsError as e:
        raise SubmissionError(str(e)) from None
