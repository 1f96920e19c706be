"""One safetensors header parser for the project (``baselines.networks.safetensors_header``)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from baselines.networks.params_io import read_safetensors_header, save_safetensors
from baselines.networks.safetensors_header import SafetensorsError, read_header
from harness.submissions import SubmissionError, check_safetensors_file


def _raw(path, header: dict, data: bytes = b"") -> None:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def test_every_reader_goes_through_the_one_parser(tmp_path):
    p = tmp_path / "ok.safetensors"
    save_safetensors({"params/a": np.zeros((2, 3), np.float32), "b": np.ones(4, np.int32)}, p)
    tensors, meta = read_header(p)
    assert tensors == {"params/a": ("F32", (2, 3)), "b": ("I32", (4,))} and meta == {}
    assert read_safetensors_header(p) == tensors
    assert check_safetensors_file(p) == (tensors, meta)


def test_a_malformed_file_gives_the_same_message_everywhere(tmp_path):
    p = tmp_path / "gap.safetensors"
    _raw(p, {"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8))
    with pytest.raises(SafetensorsError, match="gap of 4 bytes") as base:
        read_header(p)
    with pytest.raises(ValueError) as via_params:
        read_safetensors_header(p)
    with pytest.raises(SubmissionError) as via_harness:
        check_safetensors_file(p)
    assert str(via_params.value) == str(via_harness.value) == str(base.value)


def test_no_other_module_parses_a_safetensors_header():
    """The header length (8 bytes, little-endian u64) is unpacked in one place only."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = [
        p.relative_to(root).as_posix()
        for pkg in ("jax2d", "kinetix", "baselines", "harness")
        for p in sorted((root / pkg).rglob("*.py"))
        if '"<Q"' in p.read_text(encoding="utf-8") or "'<Q'" in p.read_text(encoding="utf-8")
    ]
    assert found == ["baselines/networks/safetensors_header.py"]
