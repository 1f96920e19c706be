"""The project's one safetensors header parser: a file's structure from its header alone.

:func:`read_header` reads the 8-byte little-endian header length and the JSON header and checks,
before any tensor is read: the length is at most ``max_header_bytes`` (default
:data:`MAX_HEADER_BYTES`) and fits the file; the header is a JSON object; every entry has a known
dtype, a shape and ``data_offsets`` that fit the file, agree with the shape and tile the data
area without overlap or gap; ``__metadata__`` (if any) is a small str -> str map. A pickle (or
anything else) renamed ``.safetensors`` fails here and is never unpickled. Errors are
:class:`SafetensorsError` (a ``ValueError``) naming the file and the problem.

It lives in ``baselines`` because that is the lowest layer that reads parameter files
(:func:`baselines.networks.read_safetensors_header`, Kinetix checkpoints); the harness's
submission checks (:func:`harness.submissions.check_safetensors_file`) call it too and turn its
errors into ``SubmissionError``. Only the standard library is used.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

__all__ = ["SafetensorsError", "MAX_HEADER_BYTES", "TensorInfo", "read_header"]


class SafetensorsError(ValueError):
    """A file that is not a well-formed safetensors file (the message names the file and why)."""


TensorInfo = tuple[str, tuple[int, ...]]  # (safetensors dtype name, shape)


#: Cap on a safetensors JSON header (bytes).
MAX_HEADER_BYTES = 16 * 1024 * 1024
_MAX_METADATA_ENTRIES = 64
_MAX_METADATA_CHARS = 4096

#: Bytes per element of every safetensors dtype name.
_ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


# --------------------------------------------------------------------- safetensors structure
def _looks_like_pickle(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def read_header(
    path: str | os.PathLike, *, max_header_bytes: int = MAX_HEADER_BYTES
) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Checks a safetensors file's structure from its header alone (no tensor is read).

    Returns ``({name: (dtype, shape)}, metadata)``. Raises :class:`SafetensorsError` for a
    header length over ``max_header_bytes`` or beyond the file, a header that is not a JSON
    object, an entry with an unknown dtype, a bad shape, ``data_offsets`` outside the file or
    not matching the shape, overlapping or non-contiguous tensors, or a ``__metadata__`` that
    is not a small str -> str map.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{path}: not a safetensors file: {size} bytes is too short")
        (n,) = struct.unpack("<Q", head)
        pickle_hint = (
            " (it starts like a Python pickle, which is never loaded)"
            if _looks_like_pickle(head)
            else ""
        )
        if n > max_header_bytes:
            raise SafetensorsError(
                f"{path}: not a safetensors file: header length {n} exceeds the cap of "
                f"{max_header_bytes} bytes{pickle_hint}"
            )
        if n > size - 8:
            raise SafetensorsError(
                f"{path}: not a safetensors file: header length {n} exceeds the file size "
                f"{size}{pickle_hint}"
            )
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(
            f"{path}: not a safetensors file: header is not JSON ({e}){pickle_hint}"
        ) from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: safetensors header is not a JSON object")
    data_len = size - 8 - n
    metadata = header.pop("__metadata__", None)
    meta = _check_metadata(path, metadata)
    out: dict[str, TensorInfo] = {}
    spans = []
    for name, info in header.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"{where}: entry must have exactly dtype, shape, data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _ITEMSIZE:
            raise SafetensorsError(f"{where}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(_is_nat(d) for d in shape):
            raise SafetensorsError(f"{where}: shape {shape!r} is not a list of sizes")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_nat(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise SafetensorsError(f"{where}: data_offsets {offsets!r} is not [begin, end]")
        begin, end = offsets
        if end > data_len:
            raise SafetensorsError(
                f"{where}: data_offsets [{begin}, {end}] lie beyond the data "
                f"({data_len} bytes; truncated file?)"
            )
        nbytes = math.prod(shape) * _ITEMSIZE[dtype]
        if end - begin != nbytes:
            raise SafetensorsError(
                f"{where}: data_offsets [{begin}, {end}] hold {end - begin} bytes but "
                f"{dtype} {shape} needs {nbytes}"
            )
        spans.append((begin, end, name))
        out[name] = (dtype, tuple(shape))
    spans.sort()
    pos, prev = 0, None
    for begin, end, name in spans:
        if begin < pos:
            raise SafetensorsError(
                f"{path}: tensor {name!r} data_offsets [{begin}, {end}] overlap tensor {prev!r}"
            )
        if begin > pos:
            raise SafetensorsError(
                f"{path}: gap of {begin - pos} bytes before tensor {name!r} (data not contiguous)"
            )
        pos, prev = end, name
    if pos != data_len:
        raise SafetensorsError(
            f"{path}: {data_len - pos} bytes after the last tensor (data area {data_len} bytes)"
        )
    return out, meta


def _is_nat(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _check_metadata(path: Path, metadata) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsError(f"{path}: __metadata__ must map strings to strings")
    if len(metadata) > _MAX_METADATA_ENTRIES or any(
        len(k) + len(v) > _MAX_METADATA_CHARS for k, v in metadata.items()
    ):
        raise SafetensorsError(
            f"{path}: __metadata__ too large (at most {_MAX_METADATA_ENTRIES} entries of "
            f"{_MAX_METADATA_CHARS} characters)"
        )
    return dict(metadata)
