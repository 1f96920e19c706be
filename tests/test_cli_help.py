"""Every ``kinetix-bench ... --help``: no default stated twice ("(default: 512 MiB) (default:
None)"), and every argument has a help text (``finetune``'s all of them)."""

from __future__ import annotations

import argparse
import re

import pytest

from harness.cli import build_parser

# Arguments still without help, in harness/commands/levels*.py (another change in flight owns
# those files): the test fails on any other, and once these are fixed they must stay fixed.
KNOWN_WITHOUT_HELP: set[str] = set()
_SKIP = (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction)


def _walk(parser, path):
    yield " ".join(path), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, [*path, name])


PARSERS = dict(_walk(build_parser(), ["kinetix-bench"]))


def _arguments(parser):
    for a in parser._actions:
        if not isinstance(a, _SKIP):
            yield (a.option_strings[0] if a.option_strings else a.dest), a


def test_the_walk_sees_every_command():
    names = ("eval", "finetune", "render", "env rollout", "leaderboard build")
    assert {f"kinetix-bench {n}" for n in names} <= set(PARSERS)
    assert len(PARSERS) > 30


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_no_default_is_stated_twice(name):
    text = " ".join(PARSERS[name].format_help().split())
    doubles = re.findall(r"\(default[^()]*\)[^()]{0,3}\(default[^()]*\)", text)
    assert not doubles, f"{name} --help: {doubles}"


def test_every_argument_has_help():
    missing = {
        f"{name} {arg}"
        for name, parser in PARSERS.items()
        for arg, action in _arguments(parser)
        if not action.help or action.help == argparse.SUPPRESS
    }
    assert missing <= KNOWN_WITHOUT_HELP, sorted(missing - KNOWN_WITHOUT_HELP)
    assert not {m for m in missing if m.startswith("kinetix-bench finetune ")}
