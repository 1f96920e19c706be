"""Settings shared by the harness tests.

* The local import registry (:mod:`harness.levels.imports`) of every test session lives in a
  temporary folder: ``levels import-kinetix`` in a test never writes to the user's ``~/.cache``.
"""

from __future__ import annotations

import os

import pytest

from harness.levels.imports import IMPORTS_ENV


@pytest.fixture(scope="session", autouse=True)
def _private_import_registry(tmp_path_factory):
    old = os.environ.get(IMPORTS_ENV)
    os.environ[IMPORTS_ENV] = str(tmp_path_factory.mktemp("imports") / "imports.json")
    yield
    if old is None:
        os.environ.pop(IMPORTS_ENV, None)
    else:
        os.environ[IMPORTS_ENV] = old
