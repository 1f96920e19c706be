"""Shared fixtures of the baselines tests: the reference-network fixture and its helpers.

``fixtures/reference_networks.{npz,json}`` come from ``fixtures/make_reference_networks.py`` (run
by hand with the reference Kinetix); parameter values are regenerated bit for bit by
``fixtures/param_noise.py`` (loaded by path: the tests folder is not a package).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

from baselines.networks import unflatten_params
from kinetix.observations import EntityObservation, PixelObservation

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
ENTITY_FIELDS = (
    "circles", "polygons", "joints", "thrusters", "circle_mask", "polygon_mask", "joint_mask",
    "thruster_mask", "attention_mask", "joint_indexes", "thruster_indexes",
)  # fmt: skip
#: Where Kinetix level JSONs may be found (the shared copy, then the reference venv's own).
LEVEL_DIRS = (
    os.environ.get("KINETIX_SHARED_LEVELS", str(pathlib.Path(__file__).parents[3] / "shared" /
                                                "kinetix-levels")),
    "/tmp/kx_ref/venv/lib/python3.11/site-packages/kinetix/levels",
)  # fmt: skip


def _load_noise_module():
    spec = importlib.util.spec_from_file_location("param_noise", FIXTURES / "param_noise.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Reference:
    """The reference fixture: ``meta`` (JSON) and ``arrays`` (npz) with helpers."""

    def __init__(self):
        self.meta = json.loads((FIXTURES / "reference_networks.json").read_text())
        with np.load(FIXTURES / "reference_networks.npz") as z:
            self.arrays = {k: z[k] for k in z.files}
        self.noise = _load_noise_module()

    def case(self, name: str) -> dict:
        return self.meta["cases"][name]

    def flat_noise(self, name: str) -> dict[str, np.ndarray]:
        shapes = {k: tuple(s) for k, s in self.case(name)["shapes"].items()}
        return self.noise.noise_params(shapes)

    def params(self, name: str) -> dict:
        return unflatten_params({k: jnp.asarray(v) for k, v in self.flat_noise(name).items()})

    def obs(self, kx_obs_type: str, size: str):
        """The observation batch (1, B, ...) of a size as OUR observation type."""
        p = f"obs/{kx_obs_type}/{size}/"
        a = self.arrays
        if kx_obs_type == "symbolic_entity":
            return EntityObservation(**{f: a[p + f] for f in ENTITY_FIELDS})
        if kx_obs_type == "symbolic_flat":
            return a[p + "flat"]
        return PixelObservation(image=a[p + "image"], global_info=a[p + "global_info"])

    def out(self, case: str, size: str, key: str):
        return self.arrays.get(f"{case}/{size}/{key}")


@pytest.fixture(scope="session")
def reference() -> Reference:
    return Reference()


def _level_json(name: str) -> str:
    """Path of a Kinetix level (``"s/h4_thrust_aim"``); skips the test when none is available."""
    for d in LEVEL_DIRS:
        path = os.path.join(d, name + ".json")
        if os.path.isfile(path):
            return path
    pytest.skip(f"Kinetix level {name} not available (looked in {', '.join(LEVEL_DIRS)})")


@pytest.fixture(scope="session")
def level_json():
    """``level_json(name) -> path`` of a Kinetix level JSON (skips when unavailable)."""
    return _level_json
