"""Writes the small Kinetix-format level files used by the tests (original designs).

    /work/venv/bin/python tests/kinetix/data/make_tiny_levels.py

* ``tiny_s.json`` (size S): grey floor, a green disc with a thruster (binding 1) resting on it,
  a dynamic box hinged to the disc by a motor joint (binding 2), a static blue disc up right.
* ``tiny_custom.json`` (custom size 6/1/0/0, written as 6/2/1/1 because Kinetix cannot
  load fewer than 2 circles or zero joints/thrusters): red floor, green box, blue disc.

The files are written by our exporter, so they double as export fixtures; the numbers in the
level state are rounded so that they are exact in float32 and stable across engine versions.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

import jax2d
import kinetix as kx
from kinetix.kinetix_json import level_to_kinetix_dict

HERE = pathlib.Path(__file__).parent


def tiny_s() -> kx.Level:
    lv = kx.empty_level("s")
    sc, disc = jax2d.add_circle(lv.scene, (1.5, 0.75), 0.25)
    sc, box = jax2d.add_rectangle(sc, (2.0, 0.8), 0.5, 0.25)
    sc, blue = jax2d.add_circle(sc, (4.0, 4.0), 0.25, static=True)
    sc, j = jax2d.add_revolute_joint(sc, int(box), int(disc), (1.75, 0.75), motor_on=True)
    sc, t = jax2d.add_thruster(sc, int(disc), (0.0, 0.125), rotation=np.pi / 2, power=0.5)
    lv = lv.replace(scene=sc)
    lv = kx.set_role(kx.set_role(lv, int(disc), 1), int(blue), 2)
    lv = kx.set_motor_binding(lv, int(j), 2)
    return kx.set_thruster_binding(lv, int(t), 1)


def tiny_custom() -> kx.Level:
    lv = kx.empty_level(kx.EnvSize(6, 1, 0, 0))
    sc, box = jax2d.add_rectangle(lv.scene, (1.0, 1.5), 0.5, 0.5)
    sc, blue = jax2d.add_circle(sc, (1.0, 4.0), 0.5, static=True)
    lv = lv.replace(scene=sc)
    lv = kx.set_role(kx.set_role(kx.set_role(lv, 0, 3), int(box), 1), int(blue), 2)
    return lv


def _round(obj):
    """Rounds floats to 6 decimals (the files stay readable and exactly representable)."""
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    if isinstance(obj, float):
        return float(np.float32(round(obj, 6)))
    return obj


def main():
    for name, lv in (("tiny_s", tiny_s()), ("tiny_custom", tiny_custom())):
        kx.validate_level(lv)
        with open(HERE / f"{name}.json", "w") as f:
            data = level_to_kinetix_dict(lv)
            data["env_state"] = _round(data["env_state"])
            json.dump(data, f, indent=1)
        print("wrote", HERE / f"{name}.json")


if __name__ == "__main__":
    main()
