"""``kinetix-bench submission info | export-kinetix | export-policy``: inspect, hand over, export.

* ``submission info SUBMISSION [--json]``: loads SUBMISSION (a folder, ``noop`` / ``random``, or
  a Hub reference ``hf://OWNER/REPO[/SUBFOLDER][@REVISION]``) with every safety check of
  :func:`harness.submissions.load_submission` and prints what it sees: kind, architecture and
  options, observation / action types, env size, parameter count, sha256 of the weights file,
  the options assumed for a Kinetix checkpoint, the key naming it used, and for a Hub reference
  the repo, revision and resolved commit. JSON: ``{"what": "submission-info", ...}`` (the fields
  of :meth:`Submission.summary`).
* ``submission export-kinetix SUBMISSION --out DIR [--force] [--name N] [--description D]
  [--json]``: writes the submission in Kinetix's checkpoint format (``params.safetensors`` with
  Kinetix 3.x key names, JSON-native ``config.json`` with every model option stated;
  ``kinetix_checkpoints.md`` §1, §5), so that Kinetix's ``load_pretrained_checkpoint(DIR)``
  reads it; then reads DIR back and checks that the parameters are bitwise the same. A paper-era
  Kinetix checkpoint comes out with 3.x names. Refused: parameter-free submissions, architectures
  with no Kinetix network, and a DIR that already holds a checkpoint (unless ``--force``).
  JSON: ``{"what": "export-kinetix", "out", "files", "architecture", "observation_type",
  "action_type", "param_count", "params_sha256", "from"}``.
* ``submission export-policy SOURCE --out DIR ...``: writes an exported-policy folder
  (``policy.jax_exported``; :mod:`harness.commands.submission_export`).
* ``submission combine-seeds DIR DIR ... --out DIR``: one multi-seed submission from single-seed
  folders of one method (:mod:`harness.commands.submission_seeds`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.commands import CommandError, add_json_flag


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "submission",
        help="inspect a submission; export one as a Kinetix checkpoint or a jax.export program",
        description="Submission tools: `info` shows what the loader sees in a submission folder "
        "or Hub reference; `export-kinetix` writes one of ours as a Kinetix checkpoint "
        "(params.safetensors + config.json); `export-policy` writes a policy function or a "
        "registered submission as an exported program (policy.jax_exported); `combine-seeds` "
        "writes several training seeds of one method as one submission (seeds.json).",
    )
    sub = p.add_subparsers(dest="submission_command", metavar="SUBCOMMAND", title="subcommands")
    _add_info(sub)
    _add_export(sub)
    from harness.commands.submission_export import add_export_policy
    from harness.commands.submission_seeds import add_combine_seeds

    add_export_policy(sub)
    add_combine_seeds(sub)
    p.set_defaults(func=lambda args: _missing_subcommand(p))


def _missing_subcommand(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _add_source_args(p) -> None:
    p.add_argument(
        "submission",
        metavar="SUBMISSION",
        help="submission folder, noop / random, or hf://OWNER/REPO[/SUBFOLDER][@REVISION]",
    )
    p.add_argument("--cache-dir", default=None, metavar="DIR", help="Hub cache folder")
    p.add_argument("--offline", action="store_true", help="read only the Hub cache")


def _load(args):
    from harness.levels.home import shipped_path
    from harness.submissions.loading import load_submission

    spec = args.submission
    if spec in ("noop", "random") and not Path(spec).exists():  # the committed ones
        spec = str(shipped_path(Path("submissions") / spec))
    return load_submission(
        spec,
        cache_dir=args.cache_dir,
        offline=args.offline or None,
    )


# ------------------------------------------------------------------------------------ info
def _add_info(sub) -> None:
    p = sub.add_parser(
        "info",
        help="what the loader sees in a submission (architecture, types, size, sha256, ...)",
        description="Loads SUBMISSION with every safety check (nothing from it is executed) and "
        "prints its kind, architecture and options, observation and action types, env size, "
        "parameter count, sha256, the options assumed for a Kinetix checkpoint and, for a Hub "
        "reference, the resolved commit.",
    )
    _add_source_args(p)
    add_json_flag(p)
    p.set_defaults(func=run_info)


def run_info(args) -> int:
    s = _load(args).summary()
    if args.json:
        print(json.dumps({"what": "submission-info", **s}), flush=True)
        return 0
    print(f"{s['id']} ({s['kind']})")
    rows = [
        ("path", s["path"]),
        ("architecture", s["architecture"]),
        ("obs / action", f"{s['obs_type']} / {s['action_type']}"),
        ("env size", s["env_size"]),
        ("parameters", f"{s['param_count']:,}"),
        ("sha256", s["sha256"]),
    ]
    if "key_names" in s:
        rows.append(("key names", f"Kinetix {s['key_names']}"))
    if "source" in s:
        src = s["source"]
        where = src["repo"] + (f"/{src['subfolder']}" if src["subfolder"] else "")
        rows.append(("source", f"{where} @ {src['revision']} = commit {src['commit']}"))
    for seed in s.get("seeds", []):
        rows.append((f"seed {seed['seed']}", f"{seed['file']}  sha256 {seed['sha256']}"))
    for name, value in rows:
        print(f"  {name:13s} {value}")
    opts = ", ".join(f"{k}={v}" for k, v in s["arch_config"].items())
    print(f"  {'options':13s} {opts or '(none)'}")
    if "program" in s:
        prog = s["program"]
        carry = "none" if prog["carry"] is None else f"init {prog['carry']['init']}"
        print(f"  {'program':13s} output {prog['output']}, batch {prog['batch']}, carry {carry}")
        print(f"  {'platforms':13s} {', '.join(prog['platforms'])}")
        print(f"  {'custom calls':13s} {', '.join(prog['custom_calls']) or 'none'}")
    if "assumed_options" in s:
        assumed = s["assumed_options"]
        text = ", ".join(f"{k}={v}" for k, v in assumed.items()) or "none (all stated)"
        print(f"  {'assumed':13s} {text}")
    for name, n in s["files"].items():
        print(f"  {name:13s} {n:,} bytes")
    return 0


# --------------------------------------------------------------------------- export-kinetix
def _add_export(sub) -> None:
    p = sub.add_parser(
        "export-kinetix",
        help="write a submission as a Kinetix checkpoint (params.safetensors + config.json)",
        description="Writes SUBMISSION in Kinetix's pretrained-checkpoint format: "
        "params.safetensors (Kinetix 3.x key names) and a JSON-native config.json whose "
        "'model' block states every option, so that Kinetix's load_pretrained_checkpoint reads "
        "it. The folder is read back and compared bitwise before the command succeeds.",
    )
    _add_source_args(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--force", action="store_true", help="replace a checkpoint already in DIR")
    p.add_argument("--name", default=None, help="config.json name (default: the submission's)")
    p.add_argument("--description", default=None, help="config.json description")
    add_json_flag(p)
    p.set_defaults(func=run_export)


def _check_out(out: Path, force: bool) -> None:
    from baselines.networks.kinetix_checkpoint import CONFIG_FILE, PARAMS_FILE

    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out}: exists and is not a folder")
    if (out / "model.safetensors").exists():
        raise CommandError(
            f"--out {out}: holds model.safetensors (a kinetix-bench submission); write the "
            "Kinetix checkpoint to another folder"
        )
    taken = [n for n in (PARAMS_FILE, CONFIG_FILE) if (out / n).exists()]
    if taken and not force:
        raise CommandError(
            f"--out {out}: already holds {', '.join(taken)}; pass --force to replace them"
        )


def run_export(args) -> int:
    import hashlib

    import numpy as np

    from baselines.networks import flatten_params, get_architecture
    from baselines.networks.kinetix_checkpoint import (
        CONFIG_FILE,
        PARAMS_FILE,
        kinetix_model_options,
        read_kinetix_checkpoint,
        write_kinetix_checkpoint,
    )

    sub = _load(args)
    if getattr(sub, "program", None) is not None:
        raise CommandError(f"{sub.id}: an exported program has no Kinetix parameter tree to export")
    if sub.parameter_free:
        raise CommandError(
            f"{sub.id}: {sub.architecture} is parameter-free; a Kinetix checkpoint holds a "
            "network's parameters, so there is nothing to export"
        )
    kinetix_model_options(sub.architecture, sub.arch_config)  # refuses non-Kinetix networks
    out = Path(args.out)
    _check_out(out, args.force)
    size = None if sub.env_size == "any" else sub.env_size
    raw = sub.raw_config
    name = args.name or (raw.get("name") if isinstance(raw.get("name"), str) else None) or sub.id
    description = args.description or (
        raw.get("description")
        if isinstance(raw.get("description"), str) and raw.get("description")
        else f"{get_architecture(sub.architecture).description}; exported by kinetix-bench "
        f"from {sub.id}"
    )
    origin = {
        "submission": sub.id,
        "kind": sub.kind,
        "architecture": sub.architecture,
        "sha256": sub.sha256,
        **({"source": sub.source} if sub.source else {}),
    }
    write_kinetix_checkpoint(
        out,
        sub.architecture,
        sub.arch_config,
        sub.params,
        obs_type=sub.obs_type,
        action_type=sub.action_type,
        size=size,
        name=name,
        description=description,
        extra={"exported_from": origin},
    )
    back = read_kinetix_checkpoint(out, size=size)
    a, b = flatten_params(sub.params), flatten_params(back.params)
    same = (
        back.arch_id == sub.architecture
        and back.config == sub.arch_config
        and (back.obs_type, back.action_type) == (sub.obs_type, sub.action_type)
        and a.keys() == b.keys()
        and all(np.asarray(a[k]).tobytes() == np.asarray(b[k]).tobytes() for k in a)
    )
    if not same:  # a bug, not a user error: keep the traceback
        raise RuntimeError(f"{out}: the written checkpoint does not read back as {sub.id}")
    params_path = out / PARAMS_FILE
    files = {n: (out / n).stat().st_size for n in (PARAMS_FILE, CONFIG_FILE)}
    report = {
        "what": "export-kinetix",
        "out": str(out),
        "files": files,
        "architecture": sub.architecture,
        "observation_type": json.loads((out / CONFIG_FILE).read_text())["observation_type"],
        "action_type": sub.action_type,
        "param_count": sub.param_count,
        "params_sha256": hashlib.sha256(params_path.read_bytes()).hexdigest(),
        "from": origin,
    }
    if args.json:
        print(json.dumps(report), flush=True)
        return 0
    print(f"wrote a Kinetix checkpoint of {sub.id} to {out}:")
    for n, size_b in files.items():
        print(f"  {n:19s} {size_b:,} bytes")
    print(
        f"  {sub.architecture} ({report['observation_type']}, {sub.action_type}), "
        f"{sub.param_count:,} parameters; read back bitwise identical"
    )
    return 0
