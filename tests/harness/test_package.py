"""The ``harness`` package's public API: lazy re-exports that resolve and do not start JAX."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harness


def test_every_public_name_resolves_to_its_module_object():
    assert sorted(harness.__all__) == sorted(harness._EXPORTS)
    for name in harness.__all__:
        module = __import__(harness._EXPORTS[name], fromlist=[name])
        assert getattr(harness, name) is getattr(module, name)
    assert set(harness.__all__) <= set(dir(harness))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        harness.no_such_name  # noqa: B018


def test_import_is_lazy():
    code = "import sys, harness; print('jax' in sys.modules, 'harness.scoring' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


SUBPACKAGES = (
    "harness.levels",
    "harness.submissions",
    "harness.scoring",
    "harness.leaderboard",
    "harness.leaderboard.queue",
    "harness.bench",
)


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_each_subpackage_re_exports_what_its_modules_define(name):
    import importlib

    pkg = importlib.import_module(name)
    assert pkg.__doc__ and "May import" in pkg.__doc__  # what it owns and what it may import
    assert set(pkg.__all__) == set(pkg._EXPORTS)
    for public, module in pkg._EXPORTS.items():
        assert module.startswith(name + ".")
        assert getattr(pkg, public) is getattr(importlib.import_module(module), public)
    with pytest.raises(AttributeError, match="no_such_name"):
        pkg.no_such_name  # noqa: B018


def test_subpackages_are_lazy_too():
    code = (
        "import sys; import " + ", ".join(SUBPACKAGES) + "; "
        "print(sorted(m for m in ('jax', 'pandas', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
