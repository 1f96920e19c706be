"""Malformed and hostile weight files: a submission's ``model.safetensors`` or a Kinetix
checkpoint's ``params.safetensors`` that is a pickle, has a lying header, the wrong tensors or
non-finite values is refused by harness.submissions with an error naming the file/key, and is
never unpickled or executed. Shared helpers: submission_helpers.py."""

from __future__ import annotations

import builtins
import json
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from submission_helpers import (
    KEY,
    edit_tensors,
    export_tiny,
    make_tiny_params,
    model_path,
    write_tiny_kinetix,
)

from harness.submissions import SubmissionError, load_submission

BIAS = "params/GeneralActorCriticRNN_0/Dense_1/bias"


@pytest.fixture(scope="module")
def tiny_params():
    return make_tiny_params()


@pytest.fixture(scope="module")
def valid_dir(tmp_path_factory, tiny_params):
    return export_tiny(tmp_path_factory.mktemp("subs") / "tiny-flat", tiny_params)


@pytest.fixture(scope="module")
def kinetix_dir(tmp_path_factory, tiny_params):
    return write_tiny_kinetix(tmp_path_factory.mktemp("kx") / "kinetix-flat", tiny_params)


@pytest.fixture
def sub(tmp_path, valid_dir):
    """A fresh writable copy of the valid submission."""
    return Path(shutil.copytree(valid_dir, tmp_path / "sub"))


@pytest.fixture
def kx(tmp_path, kinetix_dir):
    """A fresh writable copy of the Kinetix-format checkpoint."""
    return Path(shutil.copytree(kinetix_dir, tmp_path / "kx"))


def _write_raw(path: Path, header: dict, data: bytes) -> None:
    hb = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(hb)) + hb + data)


# ------------------------------------------------------------------------ hostile weights
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_renamed_to_safetensors_is_never_executed(sub, tmp_path, protocol):
    marker = tmp_path / "EXECUTED"

    class Boom:
        def __reduce__(self):
            return (builtins.open, (str(marker), "w"))

    model_path(sub).write_bytes(pickle.dumps(Boom(), protocol=protocol))
    with pytest.raises(SubmissionError, match=r"model\.safetensors: not a safetensors file"):
        load_submission(sub)
    assert not marker.exists()


def test_pickle_message_says_pickle(sub):
    model_path(sub).write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(SubmissionError, match="pickle"):
        load_submission(sub)


def test_oversized_header_length(sub):
    model_path(sub).write_bytes(struct.pack("<Q", 17 * 1024 * 1024) + b"{}" + b"\0" * 64)
    with pytest.raises(SubmissionError, match=r"model\.safetensors.*header length .* cap"):
        load_submission(sub)


def test_header_length_beyond_file(sub):
    model_path(sub).write_bytes(struct.pack("<Q", 1000) + b"{}" + b"\0" * 64)
    with pytest.raises(SubmissionError, match=r"model\.safetensors.*exceeds the file size"):
        load_submission(sub)


def test_too_short_and_non_json_header(sub):
    model_path(sub).write_bytes(b"\x01\x02")
    with pytest.raises(SubmissionError, match="too short"):
        load_submission(sub)
    model_path(sub).write_bytes(struct.pack("<Q", 4) + b"\xff\xfe{[")
    with pytest.raises(SubmissionError, match="header is not JSON"):
        load_submission(sub)


def test_truncated_data(sub):
    data = model_path(sub).read_bytes()
    model_path(sub).write_bytes(data[:-10])
    with pytest.raises(SubmissionError, match=r"tensor 'params/.*beyond the data.*truncated"):
        load_submission(sub)


def test_overlapping_offsets(sub):
    header = {
        "params/a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "params/b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
    }
    _write_raw(model_path(sub), header, b"\0" * 24)
    with pytest.raises(SubmissionError, match="tensor 'params/b'.*overlap tensor 'params/a'"):
        load_submission(sub)


def test_offsets_disagree_with_shape_and_unknown_dtype(sub):
    header = {"params/a": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}}
    _write_raw(model_path(sub), header, b"\0" * 16)
    with pytest.raises(SubmissionError, match="tensor 'params/a'.*needs 20"):
        load_submission(sub)
    header = {"params/a": {"dtype": "O", "shape": [4], "data_offsets": [0, 16]}}
    _write_raw(model_path(sub), header, b"\0" * 16)
    with pytest.raises(SubmissionError, match="tensor 'params/a': unknown dtype 'O'"):
        load_submission(sub)


def test_metadata_surprises(sub):
    flat = dict(load_file(str(model_path(sub))))
    save_file(flat, str(model_path(sub)), metadata={"architecture": "pixels-cnn@v1"})
    with pytest.raises(SubmissionError, match="__metadata__ architecture 'pixels-cnn@v1'"):
        load_submission(sub)
    data = model_path(sub).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"] = {"format": 1}
    _write_raw(model_path(sub), header, data[8 + n :])
    with pytest.raises(SubmissionError, match="__metadata__ must map strings to strings"):
        load_submission(sub)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_wrong_dtype(sub, dtype):
    name = {np.float16: "F16", np.float64: "F64"}[dtype]

    def cast(flat):
        flat[KEY] = flat[KEY].astype(dtype)

    edit_tensors(sub, cast)
    with pytest.raises(SubmissionError, match=f"key '{KEY}': dtype {name}, expected F32"):
        load_submission(sub)


def test_missing_key(sub):
    edit_tensors(sub, lambda flat: flat.pop(BIAS))
    with pytest.raises(SubmissionError, match=f"missing key {BIAS!r}"):
        load_submission(sub)


def test_extra_key(sub):
    edit_tensors(sub, lambda flat: flat.update({"params/Extra/kernel": np.zeros(3, np.float32)}))
    with pytest.raises(SubmissionError, match="unexpected key 'params/Extra/kernel'"):
        load_submission(sub)


def test_misshaped_key_and_all_mismatches_listed(sub):
    def damage(flat):
        flat[KEY] = flat[KEY][:, :4].copy()
        del flat[BIAS]

    edit_tensors(sub, damage)
    with pytest.raises(SubmissionError, match=rf"key '{KEY}': shape \[\d+, 4\], expected") as e:
        load_submission(sub)
    assert f"missing key {BIAS!r}" in str(e.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights(sub, bad):
    def poison(flat):
        flat[KEY] = flat[KEY].copy()
        flat[KEY][0, 0] = bad

    edit_tensors(sub, poison)
    with pytest.raises(SubmissionError, match=f"non-finite.*'{KEY}'"):
        load_submission(sub)


def test_model_too_big(sub):
    with pytest.raises(
        SubmissionError, match=r"model\.safetensors: \d+ bytes exceeds .*cap of 100"
    ):
        load_submission(sub, max_bytes=100)


# ------------------------------------------------------------------------- Kinetix format
def test_kinetix_checkpoint_bad_weights(tmp_path, kinetix_dir):
    d = Path(shutil.copytree(kinetix_dir, tmp_path / "kx"))
    p = d / "params.safetensors"
    flat = dict(load_file(str(p)))
    flat[KEY] = flat[KEY].copy()
    flat[KEY][1, 1] = np.nan
    save_file(flat, str(p))
    with pytest.raises(SubmissionError, match=f"params.safetensors: non-finite.*'{KEY}'"):
        load_submission(d)
    del flat[BIAS]
    save_file(flat, str(p))
    with pytest.raises(SubmissionError, match=f"missing key {BIAS!r}"):
        load_submission(d)
    p.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(SubmissionError, match="params.safetensors: not a safetensors file"):
        load_submission(d)


def _kx_edit(d: Path, fn) -> None:
    p = d / "params.safetensors"
    flat = dict(load_file(str(p)))
    fn(flat)
    save_file(flat, str(p))


def _set(key, value):
    return lambda flat: flat.update({key: value})


def _poison(value):
    def poison(flat):
        flat[KEY] = flat[KEY].copy()
        flat[KEY][0, 1] = value

    return poison


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda f: f.update({KEY: f[KEY].astype(np.float16)}), f"'{KEY}': dtype F16, expected F32"),
        (lambda f: f.update({KEY: f[KEY].astype(np.float64)}), f"'{KEY}': dtype F64, expected F32"),
        (lambda f: f.pop(BIAS), f"missing key {BIAS!r}"),
        (_set("params/Extra_0/kernel", np.zeros((2, 2), np.float32)),
         "unexpected key 'params/Extra_0/kernel'"),
        (lambda f: f.update({KEY: f[KEY][:, :3].copy()}), rf"'{KEY}': shape \[140, 3\]"),
        (_poison(np.nan), f"params.safetensors: non-finite.*'{KEY}'"),
        (_poison(-np.inf), f"params.safetensors: non-finite.*'{KEY}'"),
    ],
)  # fmt: skip
def test_kinetix_checkpoint_hostile_tensors(kx, damage, match):
    _kx_edit(kx, damage)
    with pytest.raises(SubmissionError, match=match) as e:
        load_submission(kx)
    assert "(Kinetix checkpoint)" in str(e.value)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_kinetix_pickle_renamed_is_never_executed(kx, tmp_path, protocol):
    marker = tmp_path / "EXECUTED"

    class Boom:
        def __reduce__(self):
            return (builtins.open, (str(marker), "w"))

    (kx / "params.safetensors").write_bytes(pickle.dumps(Boom(), protocol=protocol))
    with pytest.raises(SubmissionError, match=r"params\.safetensors: not a safetensors file"):
        load_submission(kx)
    assert not marker.exists()


def test_kinetix_oversized_header_and_size_cap(kx):
    p = kx / "params.safetensors"
    with pytest.raises(SubmissionError, match=r"params\.safetensors: \d+ bytes exceeds .*cap"):
        load_submission(kx, max_bytes=100)
    p.write_bytes(struct.pack("<Q", 17 * 1024 * 1024) + b"{}" + b"\0" * 64)
    with pytest.raises(SubmissionError, match=r"params\.safetensors.*header length .* cap"):
        load_submission(kx)


def test_kinetix_keys_outside_params_are_ignored_but_checked(kx, kinetix_dir):
    """Another collection (``custom_intermediates/...``) is ignored: not in the parameters, its
    data never read; its header entry is still checked like every other."""
    _kx_edit(kx, _set("custom_intermediates/dormancy", np.full(3, np.nan, np.float32)))
    s = load_submission(kx)  # NaN outside params/ does not matter: never read
    assert list(s.params) == ["params"]
    ref = load_submission(kinetix_dir)
    assert (s.architecture, s.param_count) == (ref.architecture, ref.param_count)
    p = kx / "params.safetensors"
    data = p.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    header["custom_intermediates/dormancy"]["dtype"] = "O"
    _write_raw(p, header, data[8 + n :])
    with pytest.raises(SubmissionError, match="'custom_intermediates/dormancy': unknown dtype"):
        load_submission(kx)
