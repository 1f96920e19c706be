"""Hostile and malformed exported-policy folders: each refused with a SubmissionError naming the
file or field, before anything of the program runs.

A valid folder of a tiny linear policy is exported once per module; each test copies it and
breaks one thing (the program bytes and ``config.json``'s sha256 are kept consistent, so the
check under test is the one that fails).
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from exported_helpers import (
    TINY_ENV,
    benign_batched,
    edit_config,
    export_fn,
    flat_args,
    rewrite_program,
    splice_module,
    tiny_params,
    tiny_policy,
)
from safetensors.numpy import save_file

from harness.submissions import SubmissionError, load_submission
from harness.submissions import exported as exported_mod
from harness.submissions.export import export_policy
from harness.submissions.exported_checks import (
    STABLE_CUSTOM_CALLS,
    check_platforms,
    custom_call_targets,
)

CALLED = {"n": 0}


def _host(x):
    CALLED["n"] += 1  # would prove that the program ran
    return np.asarray(x)


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    out = tmp_path_factory.mktemp("valid") / "tiny"
    export_policy(tiny_policy, tiny_params(), TINY_ENV, out, name="tiny")
    return out


@pytest.fixture
def folder(valid, tmp_path):
    dst = tmp_path / "sub"
    shutil.copytree(valid, dst)
    return dst


def _refused(folder, *needles):
    with pytest.raises(SubmissionError) as e:
        load_submission(folder)
    for n in needles:
        assert n in str(e.value), str(e.value)
    return str(e.value)


def test_the_valid_folder_loads(valid):
    sub = load_submission(valid)
    assert sub.kind == "jax-exported" and sub.exported and sub.program.spec.batch_size is None
    assert sub.program.custom_calls == ("shape_assertion",)
    assert set(sub.program.platforms) == {"cpu", "cuda"}


@pytest.mark.parametrize("kind", ["pure_callback", "debug_print", "io_callback"])
def test_host_callbacks_are_refused_and_never_run(folder, kind):
    base = export_fn(benign_batched, flat_args())

    def pure(p, o, k):
        y = jax.pure_callback(_host, jax.ShapeDtypeStruct(o.shape, o.dtype), o)
        return jnp.argmax(y @ p["w"], axis=-1).astype(jnp.int32)

    def printing(p, o, k):
        jax.debug.callback(_host, o)
        return jnp.argmax(o @ p["w"], axis=-1).astype(jnp.int32)

    def io(p, o, k):
        from jax.experimental import io_callback

        y = io_callback(_host, jax.ShapeDtypeStruct(o.shape, o.dtype), o, ordered=True)
        return jnp.argmax(y @ p["w"], axis=-1).astype(jnp.int32)

    fn = {"pure_callback": pure, "debug_print": printing, "io_callback": io}[kind]
    hostile = splice_module(base, fn, flat_args())
    rewrite_program(folder, bytes(hostile.serialize()))
    edit_config(folder, batch=3)
    before = CALLED["n"]
    msg = _refused(folder, "policy.jax_exported", "host callback", "custom_call target")
    assert "python" in msg and "callback" in msg
    assert CALLED["n"] == before


def test_an_unknown_custom_call_is_refused_by_name(folder):
    def evil(p, o, k):
        y = jax.ffi.ffi_call("my_evil_kernel", jax.ShapeDtypeStruct(o.shape, o.dtype))(o)
        return jnp.argmax(y @ p["w"], axis=-1).astype(jnp.int32)

    check = jax.export.DisabledSafetyCheck.custom_call("my_evil_kernel")
    ex = export_fn(evil, flat_args(), disabled_checks=[check])
    rewrite_program(folder, bytes(ex.serialize()))
    edit_config(folder, batch=3)
    _refused(folder, "'my_evil_kernel'", "not one of jaxlib's stable targets")


def test_disabled_safety_checks_are_refused(folder):
    ex = export_fn(
        benign_batched, flat_args(), disabled_checks=[jax.export.DisabledSafetyCheck.platform()]
    )
    rewrite_program(folder, bytes(ex.serialize()))
    edit_config(folder, batch=3)
    _refused(folder, "disabled safety checks")


def test_effects_are_refused(folder):
    from jax._src import effects  # test-only: a serializable effect type

    class _TestEffect(effects.Effect):
        def __eq__(self, other):
            return type(other) is type(self)

        def __hash__(self):
            return 7

    effects.lowerable_effects.add_type(_TestEffect)
    base = export_fn(benign_batched, flat_args())
    ex = dataclasses.replace(base, ordered_effects=(_TestEffect(),))
    rewrite_program(folder, bytes(ex.serialize()))
    edit_config(folder, batch=3)
    _refused(folder, "ordered effects", "pure function")


@pytest.mark.parametrize(
    "case, needles",
    [
        ("size_m_obs", ["obs", "expected"]),
        ("float_action", ["the result", "float32", "int32"]),
        ("dict_obs", ["obs has structure"]),
        ("extra_arg", ["takes 4 arguments"]),
        ("fixed_batch_declared_symbolic", ["batch 'symbolic'"]),
    ],
)
def test_wrong_avals_are_refused(folder, case, needles):
    from harness.submissions.interface import key_avals, observation_avals

    (b,) = jax.export.symbolic_shape("b")
    p = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), tiny_params())
    obs, keys = observation_avals("s", "flat", b), key_avals(b)
    fn, args = benign_batched, (p, obs, keys)
    if case == "size_m_obs":
        big = {"w": jax.ShapeDtypeStruct((247, 11), jnp.float32), "b": p["b"]}
        fn, args = benign_batched, (big, observation_avals("m", "flat", b), keys)
    elif case == "float_action":
        fn = lambda p, o, k: (o @ p["w"])[:, :6]  # noqa: E731
    elif case == "dict_obs":
        fn, args = (lambda p, o, k: benign_batched(p, o["x"], k)), (p, {"x": obs}, keys)
    elif case == "extra_arg":
        fn, args = (lambda p, o, k, c: benign_batched(p, o, k)), (p, obs, keys, obs)
    elif case == "fixed_batch_declared_symbolic":
        args = flat_args(5)
    ex = export_fn(fn, args)
    rewrite_program(folder, bytes(ex.serialize()))
    if case == "size_m_obs":
        save_file({"w": np.zeros((247, 11), np.float32), "b": np.zeros(11, np.float32)},
                  str(folder / "params.safetensors"))  # fmt: skip
        _refused(folder, *needles)  # config.json's params sha256 no longer matters: avals first
    else:
        _refused(folder, *needles)


def test_a_truncated_program_is_refused(folder):
    data = (folder / "policy.jax_exported").read_bytes()
    (folder / "policy.jax_exported").write_bytes(data[:-1])
    _refused(folder, "policy.jax_exported", "truncated")
    rewrite_program(folder, data[: len(data) // 2])  # even with config.json made to agree
    _refused(folder, "policy.jax_exported", "not a jax.export serialized program")


def test_an_oversized_program_is_refused(folder, monkeypatch):
    monkeypatch.setattr(exported_mod, "MAX_PROGRAM_BYTES", 100)
    _refused(folder, "policy.jax_exported", "exceeds the program cap of 100 bytes")


def test_a_pickle_renamed_to_the_program_is_refused_unread(folder):
    class Boom:
        def __reduce__(self):
            return (CALLED.__setitem__, ("n", -999))

    rewrite_program(folder, pickle.dumps(Boom()))
    _refused(folder, "policy.jax_exported", "is a Python pickle")
    assert CALLED["n"] != -999


def test_params_are_checked_against_the_program(folder):
    good = tiny_params()
    save_file({"w": good["w"][:, :10], "b": good["b"]}, str(folder / "params.safetensors"))
    _refused(folder, "params.safetensors", "config.json says")  # replaced: config.json disagrees
    bad = dict(good, w=good["w"].copy())
    bad["w"][0, 0] = np.nan
    save_file(bad, str(folder / "params.safetensors"))
    data = (folder / "params.safetensors").read_bytes()
    import hashlib

    entry = {"file": "params.safetensors", "bytes": len(data),
             "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip
    edit_config(folder, params=entry)
    _refused(folder, "params.safetensors", "non-finite", "'w'")
    save_file({"w": good["w"][:, :10], "b": good["b"]}, str(folder / "params.safetensors"))
    data = (folder / "params.safetensors").read_bytes()
    edit_config(
        folder, params={**entry, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    _refused(folder, "params.safetensors", "key 'w': shape [140, 10], expected [140, 11]")
    (folder / "params.safetensors").unlink()
    _refused(folder, "missing params.safetensors")


def test_config_fields_are_checked(folder):
    edit_config(folder, output="probabilities")
    _refused(folder, "output 'probabilities'")
    edit_config(folder, output="action", env_size="any")
    _refused(folder, "env_size 'any' needs obs_type 'pixels'")
    edit_config(folder, env_size="s", surprise=1)
    _refused(folder, "unknown key(s) 'surprise'")
    cfg = json.loads((folder / "config.json").read_text())
    del cfg["surprise"]
    cfg["kind"] = "kinetix-bench"
    (folder / "config.json").write_text(json.dumps(cfg))
    _refused(folder, "config.json kind")


def test_platform_checks(folder):
    ex = export_fn(benign_batched, flat_args(), platforms=("cuda",))
    rewrite_program(folder, bytes(ex.serialize()))
    edit_config(folder, batch=3, platforms=None)
    _refused(folder, "lowered for cuda", "needs cpu")
    cpu_only = export_fn(benign_batched, flat_args())
    with pytest.raises(SubmissionError, match="needs cuda"):
        check_platforms(folder / "policy.jax_exported", cpu_only, platform="cuda")


def test_the_allowlist_is_a_subset_of_jaxs_stable_targets():
    from jax._src.export import _export

    assert STABLE_CUSTOM_CALLS <= set(_export._CUSTOM_CALL_TARGETS_GUARANTEED_STABLE)
    for foreign in ("tf.call_tf_function", "tpu_custom_call", "mosaic_gpu_v2"):
        assert foreign not in STABLE_CUSTOM_CALLS


def test_custom_call_targets_reads_both_forms_and_refuses_the_unreadable():
    text = (
        "%0 = stablehlo.custom_call @lapack_sgetrf_ffi(%a)\n"
        '%1 = "stablehlo.custom_call"(%b) {call_target_name = "foo"} : ...\n'
    )
    assert custom_call_targets(text) == ["lapack_sgetrf_ffi", "foo"]
    with pytest.raises(SubmissionError, match="cannot be read"):
        custom_call_targets(text + "%2 = stablehlo.custom_call(%c)\n")
