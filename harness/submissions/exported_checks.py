"""The checks an exported policy program passes before anything of it runs.

Each function takes what was read from the submission and raises
:class:`~harness.submissions.errors.SubmissionError` naming the file, the field and the problem;
none of them executes the program (``jax.export.deserialize`` only parses it, and
:func:`check_traceable` only evaluates shapes, ``jax.eval_shape``):

* :func:`check_program_bytes`: the file's length and sha256 equal what ``config.json`` states (a
  truncated or swapped file fails here), and it is not a Python pickle (refused by name, never
  unpickled);
* :func:`deserialize_program`: ``jax.export.deserialize``, any failure a clear error;
* :func:`check_platforms`: the program was lowered for CPU, and for the platform it will run on
  (``jax.export.default_export_platform()``: ``cuda`` when scoring on an NVIDIA GPU);
* :func:`check_isolation`: one device, no effects (ordered or unordered), no disabled safety
  checks, every ``custom_call`` target of the module text on :data:`STABLE_CUSTOM_CALLS`
  (host callbacks, foreign kernels and anything unknown are refused naming the target), no
  host-transfer op (``infeed``, ``outfeed``, ``send``, ``recv``);
* :func:`split_signature`: the arguments are ``(params, obs, keys[, carry])`` with no keyword
  arguments, the results ``action`` or ``(action, carry)``; :func:`check_signature` compares
  them, names and tree structure, shapes and dtypes, with :mod:`harness.submissions.interface`;
* :func:`check_traceable`: the program's shape constraints accept the batch sizes it will get.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import jax
import numpy as np

from harness.submissions.errors import SubmissionError

__all__ = [
    "STABLE_CUSTOM_CALLS",
    "HOST_CALLBACK_TARGETS",
    "custom_call_targets",
    "check_program_bytes",
    "deserialize_program",
    "check_platforms",
    "check_isolation",
    "split_signature",
    "check_signature",
    "check_traceable",
    "describe_avals",
]

#: ``custom_call`` targets an exported policy may contain: the targets jaxlib lowers its own
#: operations to and guarantees stable across versions (jax's list of targets with
#: compatibility guarantees: the linear-algebra kernels on CPU, GPU and TPU, the GPU PRNG
#: kernel, sharding annotations, the shape assertions of symbolic shapes). Foreign kernels on
#: that list (``tpu_custom_call`` and ``mosaic_gpu_v2`` for Pallas, ``tf.call_tf_function``)
#: are left out on purpose: they run code that is not jaxlib's. A test checks that this set
#: stays inside jax's.
STABLE_CUSTOM_CALLS = frozenset(
    {
        # CPU: LAPACK through XLA FFI (s, d, c, z precisions)
        *(
            f"lapack_{p}{op}_ffi"
            for p in "sdcz"
            for op in ("gees", "geev", "gehrd", "geqrf", "gesdd", "getrf", "gtsv", "potrf", "trsm")
        ),
        *(f"lapack_{p}{op}_ffi" for p in "sd" for op in ("orgqr", "syevd", "sytrd")),
        *(f"lapack_{p}{op}_ffi" for p in "cz" for op in ("ungqr", "heevd", "hetrd")),
        # GPU: cuSOLVER / cuSPARSE and their ROCm equivalents through XLA FFI
        "cusolver_geqrf_ffi", "cusolver_gesvd_ffi", "cusolver_gesvdj_ffi", "cusolver_getrf_ffi",
        "cusolver_orgqr_ffi", "cusolver_potrf_ffi", "cusolver_syevd_ffi", "cusolver_sytrd_ffi",
        "cusparse_gtsv2_ffi", "cu_lu_pivots_to_permutation",
        "hipsolver_geqrf_ffi", "hipsolver_gesdd_ffi", "hipsolver_gesvd_ffi",
        "hipsolver_gesvdj_ffi", "hipsolver_getrf_ffi", "hipsolver_orgqr_ffi",
        "hipsolver_potrf_ffi", "hipsolver_syevd_ffi", "hipsolver_sytrd_ffi",
        "hip_lu_pivots_to_permutation",
        # TPU linear algebra and top-k
        "Eigh", "Qr", "ProductOfElementaryHouseholderReflectors", "LuDecomposition",
        "ApproxTopK",
        # PRNG kernels, sharding annotations, shape assertions, lax.empty, dynamic-shape ops
        "cu_threefry2x32_ffi", "hip_threefry2x32_ffi",
        "Sharding", "SPMDFullToShardShape", "SPMDShardToFullShape",
        "annotate_device_placement", "shape_assertion", "AllocateBuffer",
        "stablehlo.dynamic_approx_top_k", "stablehlo.dynamic_reduce_window",
        "stablehlo.dynamic_rng_bit_generator", "stablehlo.dynamic_top_k",
    }
)  # fmt: skip

#: Targets that call back into the Python process (``jax.pure_callback``, ``io_callback``,
#: ``jax.debug.print`` / ``callback``): named as such in the error.
HOST_CALLBACK_TARGETS = frozenset(
    {
        "xla_python_cpu_callback",
        "xla_python_gpu_callback",
        "xla_ffi_python_cpu_callback",
        "xla_ffi_python_gpu_callback",
        "xla_ffi_partitioned_python_cpu_callback",
        "xla_ffi_partitioned_python_gpu_callback",
        "xla_python_tpu_callback",
    }
)

_CUSTOM_CALL_MENTION = re.compile(r"\bcustom_call\b")
_PRETTY_TARGET = re.compile(r"\bcustom_call\s*@([A-Za-z0-9_.$\-]+)")
_GENERIC_TARGET = re.compile(r'"stablehlo\.custom_call"[^\n]*?call_target_name\s*=\s*"([^"]*)"')
_HOST_TRANSFER_OPS = re.compile(r"\b(?:stablehlo|mhlo)\.(infeed|outfeed|send|recv)\b")
_PICKLE_PROTOCOLS = range(2, 6)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_program_bytes(path: Path, data: bytes, declared: dict) -> str:
    """Checks the program file's bytes against ``config.json``'s ``program`` entry
    (``{"file", "bytes", "sha256"}``); returns the sha256."""
    if len(data) >= 2 and data[0] == 0x80 and data[1] in _PICKLE_PROTOCOLS:
        raise SubmissionError(
            f"{path}: is a Python pickle (protocol {data[1]}), not a jax.export program; "
            "pickles are never loaded (they run code)"
        )
    if len(data) != declared["bytes"]:
        raise SubmissionError(
            f"{path}: {len(data)} bytes but config.json program.bytes says {declared['bytes']} "
            "(truncated or replaced?)"
        )
    digest = _digest(data)
    if digest != declared["sha256"]:
        raise SubmissionError(
            f"{path}: sha256 {digest} differs from config.json program.sha256 "
            f"{declared['sha256']} (corrupt or replaced)"
        )
    return digest


def deserialize_program(path: Path, data: bytes):
    """``jax.export.deserialize`` of the file; any failure is a :class:`SubmissionError`."""
    from jax import export

    try:
        exported = export.deserialize(bytearray(data))
        text = exported.mlir_module()
    except ImportError as e:  # flatbuffers missing: an install problem, not a bad file
        raise SubmissionError(f"{path}: cannot read jax.export programs here ({e})") from None
    except Exception as e:  # a malformed flatbuffer or module raises many kinds
        raise SubmissionError(
            f"{path}: not a jax.export serialized program ({type(e).__name__}: {str(e)[:200]})"
        ) from None
    return exported, text


def check_platforms(path: Path, exported, platform: str | None = None) -> tuple[str, ...]:
    """The program's platforms include ``cpu`` and ``platform`` (default: the platform scoring
    runs on here, ``jax.export.default_export_platform()``)."""
    from jax import export

    have = tuple(exported.platforms)
    need = ["cpu", platform or export.default_export_platform()]
    missing = [p for p in dict.fromkeys(need) if p not in have]
    if missing:
        raise SubmissionError(
            f"{path}: lowered for {', '.join(have) or 'no platform'}; scoring needs "
            f"{', '.join(missing)} too (export with platforms=('cpu', 'cuda'))"
        )
    return have


def custom_call_targets(module_text: str) -> list[str]:
    """Every ``custom_call`` target named in a StableHLO module's text, in order of appearance
    (pretty ``custom_call @name`` and generic ``call_target_name = "name"`` forms). A mention
    of ``custom_call`` that neither form explains is a :class:`SubmissionError`: an op we cannot
    read is never allowed through."""
    pretty = _PRETTY_TARGET.findall(module_text)
    generic = _GENERIC_TARGET.findall(module_text)
    mentions = len(_CUSTOM_CALL_MENTION.findall(module_text))
    if mentions != len(pretty) + len(generic):
        raise SubmissionError(
            f"the program mentions custom_call {mentions} times but names "
            f"{len(pretty) + len(generic)} targets; refusing what cannot be read"
        )
    return pretty + generic


def check_isolation(path: Path, exported, module_text: str) -> tuple[str, ...]:
    """No effects, one device, no disabled safety checks, no host transfers, and only
    :data:`STABLE_CUSTOM_CALLS` targets; returns the targets found (sorted, unique)."""
    if exported.nr_devices != 1:
        raise SubmissionError(
            f"{path}: exported for {exported.nr_devices} devices; a policy runs on one"
        )
    for what in ("ordered_effects", "unordered_effects"):
        effects = tuple(getattr(exported, what))
        if effects:
            raise SubmissionError(
                f"{path}: the program has {what.replace('_', ' ')} "
                f"({', '.join(map(str, effects))}); a policy must be a pure function"
            )
    try:
        targets = custom_call_targets(module_text)
    except SubmissionError as e:
        raise SubmissionError(f"{path}: {e}") from None
    for target in targets:
        if target in HOST_CALLBACK_TARGETS:
            raise SubmissionError(
                f"{path}: custom_call target {target!r} is a host callback (jax.pure_callback, "
                "io_callback or jax.debug.print run Python in the scoring process); refused"
            )
        if target not in STABLE_CUSTOM_CALLS:
            raise SubmissionError(
                f"{path}: custom_call target {target!r} is not one of jaxlib's stable targets; "
                "refused (only jaxlib's own kernels may run)"
            )
    transfer = _HOST_TRANSFER_OPS.search(module_text)
    if transfer:
        raise SubmissionError(
            f"{path}: the program uses {transfer.group(0)} (a host transfer); refused"
        )
    checks = tuple(exported.disabled_safety_checks)
    if checks:
        raise SubmissionError(
            f"{path}: exported with disabled safety checks ({', '.join(map(str, checks))}); "
            "export without disabled_checks"
        )
    return tuple(sorted(set(targets)))


# ------------------------------------------------------------------------------- signature
def describe_avals(tree) -> str:
    """``{'a': float32[b,4]}``-style text of a pytree of avals (for messages)."""

    def one(x):
        dims = ",".join(str(d) for d in x.shape)
        return f"{np.dtype(x.dtype).name}[{dims}]"

    return str(jax.tree.map(one, tree))


def split_signature(path: Path, exported, carried: bool):
    """``(params, obs, keys, carry, out_action, out_carry)`` as pytrees of avals (carry entries
    None without a carry), from the program's calling convention."""
    args_kwargs = jax.tree_util.tree_unflatten(exported.in_tree, list(exported.in_avals))
    outs = jax.tree_util.tree_unflatten(exported.out_tree, list(exported.out_avals))
    if not (isinstance(args_kwargs, tuple) and len(args_kwargs) == 2):
        raise SubmissionError(f"{path}: unexpected calling convention {exported.in_tree}")
    args, kwargs = args_kwargs
    if kwargs:
        raise SubmissionError(
            f"{path}: the program takes keyword arguments {sorted(kwargs)}; expected "
            "positional (params, obs, keys[, carry]) only"
        )
    n = 4 if carried else 3
    if not isinstance(args, tuple) or len(args) != n:
        got = len(args) if isinstance(args, tuple) else "?"
        raise SubmissionError(
            f"{path}: the program takes {got} arguments; config.json carry "
            f"{'set' if carried else 'null'} means {n}: (params, obs, keys"
            f"{', carry' if carried else ''})"
        )
    if carried:
        if not (isinstance(outs, tuple) and len(outs) == 2):
            raise SubmissionError(
                f"{path}: a program with a carry must return (action, carry); it returns "
                f"{exported.out_tree}"
            )
        return (*args, *outs)
    return (*args, None, outs, None)


def _same(path: Path, what: str, got, expected) -> None:
    """Tree structure (names), shapes and dtypes of ``got`` equal ``expected``."""
    g_leaves, g_tree = jax.tree_util.tree_flatten(got)
    e_leaves, e_tree = jax.tree_util.tree_flatten(expected)
    if g_tree != e_tree:
        raise SubmissionError(
            f"{path}: {what} has structure {g_tree}, expected {e_tree} (got {describe_avals(got)})"
        )
    names = [jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_flatten_with_path(got)[0]]
    for name, g, e in zip(names, g_leaves, e_leaves, strict=True):
        if np.dtype(g.dtype) != np.dtype(e.dtype) or tuple(map(str, g.shape)) != tuple(
            map(str, e.shape)
        ):
            raise SubmissionError(
                f"{path}: {what}{name} is {describe_avals(g)}, expected {describe_avals(e)}"
            )


def _batch_dim(path: Path, leaves, batch_size: int | None):
    """The common leading dim of ``leaves``: one symbolic dim (``batch_size`` None) or the int."""
    from jax import export

    dims = []
    for x in leaves:
        if len(x.shape) == 0:
            raise SubmissionError(f"{path}: an argument has no batch axis ({describe_avals(x)})")
        dims.append(x.shape[0])
    first = dims[0]
    if any(str(d) != str(first) for d in dims):
        raise SubmissionError(
            f"{path}: the leading (batch) axes differ: {sorted({str(d) for d in dims})}"
        )
    if batch_size is None:
        if not export.is_symbolic_dim(first) or not str(first).isidentifier():
            raise SubmissionError(
                f"{path}: config.json batch 'symbolic' but the batch axis is {first} "
                "(expected one symbolic dimension, e.g. symbolic_shape('b'))"
            )
    elif str(first) != str(batch_size):
        raise SubmissionError(
            f"{path}: config.json batch {batch_size} but the batch axis is {first}"
        )
    return first


def check_signature(path: Path, exported, spec, param_avals_expected=None) -> dict[str, Any]:
    """Checks the program against the benchmark's spaces (see
    :mod:`harness.submissions.interface`): ``spec`` has ``env_size``, ``obs_type``,
    ``action_type``, ``output``, ``batch_size`` (None: symbolic) and ``carried``. Returns
    ``{"params": avals, "carry": avals or None}`` (carry avals without the batch axis)."""
    from harness.submissions.interface import action_avals, key_avals, observation_avals

    params, obs, keys, carry, out, out_carry = split_signature(path, exported, spec.carried)
    batched = [obs, keys, out] + ([carry, out_carry] if spec.carried else [])
    b = _batch_dim(path, jax.tree.leaves(batched), spec.batch_size)
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise SubmissionError(f"{path}: params must be a dict with string keys, got {params}")
    for leaf in jax.tree.leaves(params):
        if not all(isinstance(d, int) for d in leaf.shape):
            raise SubmissionError(
                f"{path}: params must have static shapes, got {describe_avals(params)}"
            )
    size = "s" if spec.env_size == "any" else spec.env_size
    _same(path, "obs", obs, observation_avals(size, spec.obs_type, b))
    _same(path, "keys", keys, key_avals(b))
    try:
        want = action_avals(spec.action_type, spec.output, b)
    except ValueError as e:
        raise SubmissionError(f"{path.parent / 'config.json'}: {e}") from None
    _same(path, "the result" if not spec.carried else "the result[0]", out, want)
    carry_avals = None
    if spec.carried:
        _same(path, "the result[1] (carry)", out_carry, carry)
        if not jax.tree.leaves(carry):
            raise SubmissionError(f"{path}: the carry has no arrays (set config.json carry null)")
        carry_avals = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), carry)
    return {"params": params, "carry": carry_avals}


def check_traceable(path: Path, exported, args_for_batch, batches=(1, 20)) -> None:
    """``jax.eval_shape`` of the program for each batch size in ``batches`` (``args_for_batch(b)``
    gives the abstract arguments): its shape constraints are checked statically, nothing runs."""
    for b in batches:
        try:
            jax.eval_shape(exported.call, *args_for_batch(b))
        except Exception as e:  # jax reports constraint failures as several error types
            raise SubmissionError(
                f"{path}: the program does not accept a batch of {b} envs "
                f"({type(e).__name__}: {str(e)[:200]})"
            ) from None
