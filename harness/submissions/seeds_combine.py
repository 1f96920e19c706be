"""Writing a multi-seed submission (:mod:`harness.submissions.seeds`) from single-seed ones.

:func:`combine_seeds` (``kinetix-bench submission combine-seeds``) takes one kinetix-bench
submission folder per training seed of one method (as ``kinetix-bench train`` exports them, one
run per ``--seed``), checks each with every check of :func:`harness.submissions.load_submission`
and that all of them are one method (same architecture, options, observation / action types and
env size), and writes one folder: ``config.json`` (the first member's, ``name`` set),
``seeds.json``, ``seeds/<seed>/model.safetensors`` (byte copies) and a model card with every
member's card, one section per seed. The folder is written beside ``out`` and renamed into place
after it loaded as a multi-seed submission.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness.submissions.errors import SubmissionError
from harness.submissions.files import CARD_FILE, CONFIG_FILE, MODEL_FILE
from harness.submissions.loading import load_submission
from harness.submissions.seeds import (
    MAX_SEEDS,
    MIN_SEEDS,
    SEEDS_DIR,
    SEEDS_FILE,
    seed_file,
    seeds_manifest,
)

__all__ = ["combine_seeds"]

_SHARED_KEYS = ("architecture", "architecture_version", "arch_kwargs", "obs_type", "action_type",
                "env_size")  # fmt: skip


def _front_matter(card: str) -> tuple[str, str]:
    """``(YAML front matter without the fences, body)`` of a model card."""
    if card.startswith("---\n"):
        end = card.find("\n---", 4)
        if end != -1:
            return card[4:end].strip("\n"), card[end + 4 :].lstrip("\n")
    return "", card


def _card(name: str, members: list, seeds: Sequence[int]) -> str:
    """A model card: the first seed's front matter, then every seed's card under its heading."""
    front, _ = _front_matter(members[0].model_card)
    lines = (["---", front, "---", ""] if front else []) + [
        f"# {name}",
        "",
        f"{len(seeds)} training seeds of one method, one checkpoint per seed "
        f"(`{SEEDS_FILE}`, `{SEEDS_DIR}/<seed>/{MODEL_FILE}`); scored on every seed with "
        "confidence intervals over seeds and levels.",
        "",
        "| seed | weights | sha256 | from |",
        "| ---: | --- | --- | --- |",
    ]
    for seed, m in zip(seeds, members, strict=True):
        lines.append(f"| {seed} | `{seed_file(seed)}` | `{m.sha256[:16]}…` | `{m.path.name}` |")
    for seed, m in zip(seeds, members, strict=True):
        _, body = _front_matter(m.model_card)
        body = "\n".join(("#" + ln if ln.startswith("#") else ln) for ln in body.splitlines())
        lines += ["", f"## Seed {seed}", "", body.strip() or "(no model card)"]
    return "\n".join(lines).rstrip() + "\n"


def combine_seeds(
    members: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    seeds: Sequence[int] | None = None,
    name: str | None = None,
    card: str | None = None,
    force: bool = False,
) -> Path:
    """Writes the multi-seed submission ``out`` from single-seed submission folders.

    Args:
        members: one kinetix-bench submission folder per training seed (each loaded with every
            check of :func:`harness.submissions.load_submission`); all of one method: the same
            architecture, options, observation and action types and env size.
        out: the folder to write (replaced atomically; an existing non-empty folder only with
            ``force``).
        seeds: the seed labels, one per member (default ``0, 1, ...``).
        name: ``config.json``'s ``name`` (default: the first member's, else ``out``'s name).
        card: the model card text (default: the first member's front matter and every member's
            card, one section per seed).

    Returns:
        ``out``, which then loads as a multi-seed submission (checked before it is returned).
    """
    from kinetix.atomic_io import replace_dir

    if len(members) < MIN_SEEDS or len(members) > MAX_SEEDS:
        raise SubmissionError(
            f"combine-seeds: give {MIN_SEEDS} to {MAX_SEEDS} submission folders, got {len(members)}"
        )
    labels = list(range(len(members))) if seeds is None else [int(s) for s in seeds]
    if len(labels) != len(members):
        raise SubmissionError(f"--seeds: {len(labels)} seeds for {len(members)} folders")
    if len(set(labels)) != len(labels) or min(labels) < 0:
        raise SubmissionError(f"--seeds: seeds must be distinct integers >= 0, got {labels}")
    subs = [load_submission(m) for m in members]
    first = subs[0]
    for m, s in zip(members, subs, strict=True):
        if s.kind != "kinetix-bench" or s.seeds is not None or s.params is None:
            raise SubmissionError(
                f"{m}: a member must be a single-seed kinetix-bench submission with parameters "
                f"(model.safetensors), got kind {s.kind!r}"
                + (" with seeds.json" if s.seeds is not None else "")
                + (" without parameters" if s.params is None else "")
            )
        for key in _SHARED_KEYS:
            if s.raw_config.get(key) != first.raw_config.get(key):
                raise SubmissionError(
                    f"{m}/{CONFIG_FILE}: {key!r} is {s.raw_config.get(key)!r} but "
                    f"{members[0]} says {first.raw_config.get(key)!r}: seeds of one submission "
                    "are one method"
                )
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise SubmissionError(f"{out}: exists and is not empty (pass force / --force)")
    config = dict(first.raw_config)
    config["name"] = name or config.get("name") or out.name
    manifest = seeds_manifest(
        [(seed, s.sha256, Path(m).name) for seed, s, m in zip(labels, subs, members, strict=True)]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        for seed, s in zip(labels, subs, strict=True):
            dst = tmp / seed_file(seed)
            dst.parent.mkdir(parents=True)
            shutil.copyfile(s.path / MODEL_FILE, dst)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        (tmp / SEEDS_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        text = card if card is not None else _card(config["name"], subs, labels)
        (tmp / CARD_FILE).write_text(text, encoding="utf-8")
        load_submission(tmp)  # the folder written is one the loader accepts
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
