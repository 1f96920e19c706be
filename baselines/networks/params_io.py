"""Parameter trees as flat ``/``-joined keys, and safetensors files read header-first.

A parameter tree ``{"params": {"Dense_0": {"kernel": ...}}}`` flattens to
``{"params/Dense_0/kernel": array}`` (Kinetix's checkpoint naming). :func:`read_safetensors_header`
reads only the JSON header (names, dtypes, shapes; the parser of
:mod:`baselines.networks.safetensors_header`), so a file can be checked against
:func:`baselines.networks.abstract_params` with :func:`header_mismatches` before any tensor data
is read.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np

from baselines.networks.safetensors_header import TensorInfo, read_header

__all__ = [
    "TensorInfo",
    "flatten_params",
    "unflatten_params",
    "read_safetensors_header",
    "expected_tensors",
    "header_mismatches",
    "load_safetensors",
    "save_safetensors",
    "SAFETENSORS_DTYPES",
    "dtype_name",
]

#: safetensors dtype names of the numpy dtypes we read and write.
SAFETENSORS_DTYPES = {
    "F16": np.float16, "BF16": None, "F32": np.float32, "F64": np.float64,
    "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "U8": np.uint8,
    "BOOL": np.bool_,
}  # fmt: skip
_NAME_OF = {np.dtype(v): k for k, v in SAFETENSORS_DTYPES.items() if v is not None}
# A header longer than this is not a parameter file of ours (a safetensors header is small JSON).
_MAX_HEADER_BYTES = 100 * 1024 * 1024


def flatten_params(tree: dict, sep: str = "/") -> dict[str, Any]:
    """Nested dicts -> ``{"a/b/c": leaf}`` (keys in depth-first insertion order)."""
    out: dict[str, Any] = {}

    def walk(prefix, node):
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str) or sep in k:
                    raise ValueError(f"parameter key {k!r} under {prefix!r} is not a plain name")
                walk(f"{prefix}{sep}{k}" if prefix else k, v)
        else:
            out[prefix] = node

    walk("", tree)
    return out


def unflatten_params(flat: dict[str, Any], sep: str = "/") -> dict:
    """``{"a/b/c": leaf}`` -> nested dicts."""
    tree: dict = {}
    for key, value in flat.items():
        parts = key.split(sep)
        node = tree
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ValueError(f"key {key!r} nests under the tensor {p!r}")
            node = nxt
        if parts[-1] in node:
            raise ValueError(f"key {key!r} clashes with a sub-tree of the same name")
        node[parts[-1]] = value
    return tree


def read_safetensors_header(path: str | os.PathLike) -> dict[str, TensorInfo]:
    """``{name: (dtype, shape)}`` from a safetensors file's header only (``__metadata__``
    skipped): :func:`baselines.networks.safetensors_header.read_header`, whose structural checks
    it inherits. Raises :class:`~baselines.networks.safetensors_header.SafetensorsError` (a
    ``ValueError``) for a file that is not safetensors."""
    return read_header(path, max_header_bytes=_MAX_HEADER_BYTES)[0]


def dtype_name(dtype) -> str:
    """The safetensors name of a numpy/jax dtype (``"F32"``); ``str(dtype)`` if it has none."""
    return _NAME_OF.get(np.dtype(dtype), str(dtype))


def expected_tensors(abstract: dict) -> dict[str, TensorInfo]:
    """``{name: (dtype, shape)}`` of an (abstract) parameter tree."""
    return {k: (dtype_name(v.dtype), tuple(v.shape)) for k, v in flatten_params(abstract).items()}


def header_mismatches(
    header: dict[str, TensorInfo], abstract: dict, *, ignore_outside: str | None = None
) -> list[str]:
    """Every difference between a file's tensors and the expected parameter tree, one line each
    (missing key, unexpected key, dtype, shape), each naming the key; ``[]`` when they match.

    ``ignore_outside``: a prefix (``"params/"``); keys not starting with it are ignored (Kinetix
    checkpoints may carry other collections)."""
    expected = expected_tensors(abstract)
    if ignore_outside is not None:
        header = {k: v for k, v in header.items() if k.startswith(ignore_outside)}
    problems = []
    for k in sorted(set(expected) | set(header)):
        if k not in header:
            dt, shape = expected[k]
            problems.append(f"missing key {k!r} (expected {dt} {list(shape)})")
        elif k not in expected:
            problems.append(f"unexpected key {k!r} ({header[k][0]} {list(header[k][1])})")
        else:
            (dt, shape), (edt, eshape) = header[k], expected[k]
            if dt != edt:
                problems.append(f"key {k!r}: dtype {dt}, expected {edt}")
            if shape != eshape:
                problems.append(f"key {k!r}: shape {list(shape)}, expected {list(eshape)}")
    return problems


def load_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file as numpy arrays (flat keys)."""
    from safetensors.numpy import load_file

    return load_file(os.fspath(path))


def save_safetensors(flat: dict[str, Any], path: str | os.PathLike) -> None:
    """Writes flat ``{key: array}`` as safetensors (contiguous little-endian numpy copies)."""
    from safetensors.numpy import save_file

    arrays = {k: np.ascontiguousarray(np.asarray(jax.device_get(v))) for k, v in flat.items()}
    save_file(arrays, os.fspath(path))
