"""``kinetix-bench levels push`` and ``levels download``: level datasets on the Hub.

* ``levels push DIR --repo ID --tag vX.Y.Z [--message M] [--dry-run] [--local-hub HUB] [--json]``:
  verifies DIR against its ``benchmark.json``, then publishes it as ONE commit tagged ``vX.Y.Z``
  (refused if the tag exists: release tags never move). ``--dry-run`` prints the operations
  and touches no hub. JSON: ``{"what": "levels-push", "dry_run", "repo", "tag", "files", ...,
  "commit_sha"}`` (``operations`` instead of ``commit_sha`` for a dry run).
* ``levels download [ID] --revision REV [--config C ...] [--cache-dir DIR] [--offline]
  [--allow-unpinned] [--local-hub HUB] [--json]``: fetches (or finds in the Hub cache) the
  dataset at a pinned revision (tag or 40-hex commit sha), verifies it and prints its local path
  and commit sha. ID defaults to ``$KINETIX_BENCH_LEVELS_REPO`` or ``kinetix-bench/levels``.
  JSON: ``{"what": "levels-download", "path", "repo", "revision", "commit_sha", "configs"}``.

``--local-hub HUB`` uses a :class:`harness.levels.hub.LocalFolderHub` folder instead of the Hugging
Face Hub (mirrors, tests). huggingface_hub is imported only when a command runs.
"""

from __future__ import annotations

import json
import sys

from harness.commands import add_json_flag


def add_subcommands(sub) -> None:
    """Adds ``push`` and ``download`` to the ``levels`` sub-parsers."""
    _add_push(sub)
    _add_download(sub)


def _backend(args):
    from harness.levels.hub_backends import HfHubBackend, LocalFolderHub

    if getattr(args, "local_hub", None):
        return LocalFolderHub(args.local_hub)
    return HfHubBackend(cache_dir=getattr(args, "cache_dir", None))


# ------------------------------------------------------------------------------------- push
def _add_push(sub) -> None:
    p = sub.add_parser(
        "push",
        help="publish a level dataset folder as a tagged release on the Hub",
        description="Verifies DIR against its benchmark.json (sha256 of every file, level-set "
        "hashes), then creates the dataset repo if needed, uploads every file of DIR in ONE "
        "commit and tags that commit. An existing tag is refused (tags never move).",
    )
    p.add_argument("dir", metavar="DIR", help="dataset folder in Hub layout")
    p.add_argument("--repo", required=True, metavar="ID", help="dataset repo id (owner/name)")
    p.add_argument("--tag", required=True, metavar="vX.Y.Z", help="release tag (semver)")
    p.add_argument("--message", default=None, help="commit message (default: the tag)")
    p.add_argument("--dry-run", action="store_true", help="print the operations, touch no hub")
    p.add_argument("--local-hub", default=None, metavar="HUB", help="push to a local hub folder")
    add_json_flag(p)
    p.set_defaults(func=run_push)


def run_push(args) -> int:
    from harness.levels.hub import push_levels

    backend = None if args.dry_run else _backend(args)
    res = push_levels(
        args.dir, args.repo, args.tag, args.message, backend=backend, dry_run=args.dry_run
    )
    record = {"what": "levels-push", **res}
    if args.json:
        print(json.dumps(record), flush=True)
        return 0
    if args.dry_run:
        print(f"dry run: would publish {args.dir} as {res['repo']}@{res['tag']}")
        for op in res["operations"]:
            if op["op"] == "create_commit":
                print(f"  create_commit on main ({len(op['add'])} files, {res['bytes']} bytes):")
                for f in op["add"]:
                    print(f"    add {f}")
            else:
                extra = ", ".join(f"{k}={v}" for k, v in op.items() if k != "op")
                print(f"  {op['op']}({extra})")
    else:
        print(
            f"published {res['repo']}@{res['tag']}: commit {res['commit_sha']} "
            f"({len(res['files'])} files)"
        )
    return 0


# ---------------------------------------------------------------------------------- download
def _add_download(sub) -> None:
    p = sub.add_parser(
        "download",
        help="fetch a pinned release of a level dataset and verify it",
        description="Fetches the level dataset at REV (a release tag vX.Y.Z or a 40-hex commit "
        "sha) into the Hub cache, or finds it there, verifies it against benchmark.json and "
        "prints its local path and commit sha. ID defaults to $KINETIX_BENCH_LEVELS_REPO, "
        "else kinetix-bench/levels.",
    )
    p.add_argument("repo", nargs="?", default=None, metavar="ID", help="dataset repo id")
    p.add_argument("--revision", required=True, metavar="REV", help="tag vX.Y.Z or commit sha")
    p.add_argument(
        "--config",
        action="append",
        default=None,
        metavar="C",
        help="only this config, e.g. random-s (repeat; default: all)",
    )
    p.add_argument("--cache-dir", default=None, metavar="DIR", help="Hub cache folder")
    p.add_argument(
        "--offline", action="store_true", help="use the local Hub cache only (no network)"
    )
    p.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="accept a branch such as 'main' as REV (not for benchmark results)",
    )
    p.add_argument(
        "--local-hub", default=None, metavar="HUB", help="download from a local hub folder"
    )
    add_json_flag(p)
    p.set_defaults(func=run_download)


def run_download(args) -> int:
    from harness.levels.hub import download_levels

    ds = download_levels(
        args.repo,
        args.revision,
        args.config,
        backend=_backend(args),
        offline=args.offline,
        allow_unpinned=args.allow_unpinned,
    )
    if args.json:
        record = {"what": "levels-download", **ds.to_dict(), "configs": args.config}
        print(json.dumps(record), flush=True)
    else:
        print(ds.path)
        print(f"commit_sha {ds.commit_sha}")
        print(f"verified {ds.repo}@{ds.revision}", file=sys.stderr)
    return 0
