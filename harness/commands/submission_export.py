"""``kinetix-bench submission export-policy SOURCE --out DIR``: write an exported-policy folder.

SOURCE is either

* a submission of a registered architecture (a folder, ``noop`` / ``random``, or a Hub
  reference): its network's forward pass and sampling are exported with its weights as the
  program's parameters (:func:`harness.submissions.export_registered`), so the folder scores as
  the submission does; ``--size`` picks the env size of a size-agnostic one (default: the first
  size it was trained on), ``--obs-type`` / ``--action-type`` those of a parameter-free one; or
* ``MODULE:FUNCTION``, a policy function ``policy_fn(params, obs, key) -> action`` in a module
  importable from the current folder (your own code, imported in this process at export time;
  the harness never imports it when scoring), with ``--params FILE.safetensors`` (``"/"``-joined
  keys; omitted: no parameters), ``--size``, ``--obs-type``, ``--action-type``, ``--output
  action|logits`` and ``--batched`` (it takes a batch axis itself). Recurrent functions (with a
  carry) are exported from Python: :func:`harness.submissions.export_policy`.

``--batch-size N`` fixes the batch axis (default: symbolic), ``--platforms`` lists the platforms
to lower for (default ``cpu,cuda``). The folder is read back with every loader check before it
is put in place. JSON: ``{"what": "export-policy", "out", "files", "sha256", "program": {...},
"from"}``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from harness.commands import CommandError, add_json_flag, comma_list, positive_int

__all__ = ["add_export_policy", "run_export_policy"]


def add_export_policy(sub) -> None:
    p = sub.add_parser(
        "export-policy",
        help="write a policy function or a registered submission as a jax.export program folder",
        description="Writes an exported-policy submission (policy.jax_exported + config.json + "
        "params.safetensors + README.md) from a registered submission or from MODULE:FUNCTION, "
        "a policy_fn(params, obs, key) -> action of your own. The folder is read back with "
        "every loader check before it is put in place.",
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="a registered submission (folder, noop / random, hf://...) or MODULE:FUNCTION",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    p.add_argument("--params", metavar="FILE", help="MODULE:FUNCTION: its parameters")
    p.add_argument("--size", choices=("s", "m", "l"), help="env size (default: see above)")
    p.add_argument(
        "--obs-type", choices=("entity", "flat", "pixels"), help="observations (default entity)"
    )
    p.add_argument(
        "--action-type",
        choices=("multi_discrete", "discrete", "continuous"),
        help="actions (default multi_discrete)",
    )
    p.add_argument(
        "--output",
        choices=("action", "logits"),
        default="action",
        help="MODULE:FUNCTION: it returns the action (default) or per-head logits",
    )
    p.add_argument(
        "--batched", action="store_true", help="MODULE:FUNCTION: it takes a batch axis itself"
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=None, help="fix the batch axis (default: any)"
    )
    p.add_argument(
        "--platforms",
        type=comma_list(str, "platform"),
        action="extend",
        help="platforms to lower for (default cpu,cuda)",
    )
    p.add_argument("--name", help="config.json name (default: the folder name)")
    p.add_argument("--description", help="config.json description")
    p.add_argument("--architecture", help="a free label for config.json, e.g. custom:my-mlp")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help="Hub cache folder")
    p.add_argument("--offline", action="store_true", help="read only the Hub cache")
    add_json_flag(p)
    p.set_defaults(func=run_export_policy)


def _function(spec: str):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CommandError(f"{spec}: expected MODULE:FUNCTION")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise CommandError(f"{spec}: cannot import {module_name} ({e})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise CommandError(f"{spec}: {module_name} has no function {attr!r}")
    return fn


def _read_params(path: str | None):
    if path is None:
        return {}
    from baselines.networks import unflatten_params
    from harness.submissions.safetensors_check import check_safetensors_file

    check_safetensors_file(path)
    from safetensors.numpy import load_file

    return unflatten_params(load_file(path))


def run_export_policy(args) -> int:
    from harness.scoring.pipeline import resolve_submission
    from harness.submissions.export import DEFAULT_PLATFORMS, export_policy, export_registered
    from harness.submissions.loading import load_submission

    platforms = tuple(args.platforms or DEFAULT_PLATFORMS)
    out = Path(args.out)
    is_function = ":" in args.source and not Path(args.source).exists()
    if is_function and not args.source.startswith("hf://"):
        from kinetix.env import EnvConfig

        fn = _function(args.source)
        env = EnvConfig(
            size=args.size or "s",
            obs_type=args.obs_type or "entity",
            action_type=args.action_type or "multi_discrete",
        )
        export_policy(
            fn,
            _read_params(args.params),
            env,
            out,
            output=args.output,
            batched=args.batched,
            batch_size=args.batch_size,
            platforms=platforms,
            name=args.name,
            description=args.description,
            architecture=args.architecture,
            exported_from={"function": args.source, "params": args.params},
            force=args.force,
        )
        origin = {"function": args.source}
    else:
        for flag in ("params", "batched"):
            if getattr(args, flag):
                raise CommandError(f"--{flag} is for MODULE:FUNCTION sources, not submissions")
        sub = load_submission(
            resolve_submission(args.source), cache_dir=args.cache_dir, offline=args.offline or None
        )
        export_registered(
            sub,
            out,
            env_size=args.size,
            obs_type=args.obs_type or "entity",
            action_type=args.action_type or "multi_discrete",
            batch_size=args.batch_size,
            platforms=platforms,
            force=args.force,
        )
        origin = {"submission": sub.id, "sha256": sub.sha256}
    back = load_submission(out)
    report = {
        "what": "export-policy",
        "out": str(out),
        "files": dict(back.files),
        "sha256": back.sha256,
        "program": back.program.summary(),
        "from": origin,
    }
    if args.json:
        print(json.dumps(report), flush=True)
        return 0
    prog = report["program"]
    print(f"wrote an exported policy to {out} (from {args.source}):")
    for name, n in back.files.items():
        print(f"  {name:20s} {n:,} bytes")
    print(
        f"  {prog['obs_type']} -> {prog['action_type']} ({prog['output']}), env size "
        f"{prog['env_size']}, batch {prog['batch']}, platforms {', '.join(prog['platforms'])}"
    )
    print(f"  check it: kinetix-bench submit --dry-run {out} --benchmark <id>")
    return 0
