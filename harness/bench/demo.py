"""The physics demo's simulation (``kinetix-bench demo``): one compiled rollout and a summary.

:func:`simulate` compiles and runs ``lax.scan`` over ``steps`` of ``vmap(jax2d.step)`` for a batch
of scenes (:mod:`harness.bench.scenes`) with fixed actions, and times compile and run;
:func:`scene_summaries` says per scene how far the shapes fell, their kinetic energy, top speed
and touching pairs, and where each body started and ended.
"""

from __future__ import annotations

__all__ = ["scene_summaries", "simulate"]


def simulate(scenes, actions, steps, config):
    """Compiles and runs the rollout; returns (final scenes, touching (B, K), timings)."""
    import time

    import jax

    import jax2d

    vstep = jax.vmap(lambda s, a, p: jax2d.step(s, a, p, config), in_axes=(0, 0, None))

    def rollout(scenes, actions, params):
        def body(carry, _):
            s, _touching = carry
            s, info = vstep(s, actions, params)
            return (s, info.touching), None

        touching = jax.numpy.zeros(scenes.contacts.touching.shape, bool)
        (final, touching), _ = jax.lax.scan(body, (scenes, touching), None, length=steps)
        return final, touching

    params = jax2d.SimParams()
    t0 = time.perf_counter()
    compiled = jax.jit(rollout).lower(scenes, actions, params).compile()
    t1 = time.perf_counter()
    final, touching = jax.block_until_ready(compiled(scenes, actions, params))
    t2 = time.perf_counter()
    return final, touching, t1 - t0, t2 - t1


def _bodies(scene):
    """Numpy view of all shapes, polygons first: dict of (B, N, ...) arrays plus kinds."""
    import numpy as np

    def cat(field):
        return np.concatenate(
            [np.asarray(getattr(scene.polygon, field)), np.asarray(getattr(scene.circle, field))],
            axis=1,
        )

    P = scene.polygon.active.shape[-1]
    C = scene.circle.active.shape[-1]
    names = {3: "triangle", 4: "quad"}
    nv = np.asarray(scene.polygon.n_vertices).reshape(-1, P)[0]
    kinds = [names.get(int(n), "polygon") for n in nv] + ["circle"] * C
    fields = (
        "position",
        "velocity",
        "angular_velocity",
        "inverse_mass",
        "inverse_inertia",
        "active",
    )
    return {f: cat(f) for f in fields}, kinds


def scene_summaries(start, final, touching):
    import numpy as np

    b0, kinds = _bodies(start)
    b1, _ = _bodies(final)
    dynamic = b0["active"] & (b0["inverse_mass"] > 0)  # (B, N)
    inv_m = np.where(dynamic, b1["inverse_mass"], 1.0)
    inv_i = np.where(dynamic & (b1["inverse_inertia"] > 0), b1["inverse_inertia"], np.inf)
    speed = np.linalg.norm(b1["velocity"], axis=-1)
    ke = 0.5 * speed**2 / inv_m + 0.5 * b1["angular_velocity"] ** 2 / inv_i
    ke = np.where(dynamic, ke, 0.0)
    fell = b0["position"][..., 1] - b1["position"][..., 1]
    out = []
    for i in range(dynamic.shape[0]):
        idx = np.flatnonzero(dynamic[i])
        out.append(
            {
                "scene": i,
                "fell_m": round(float(fell[i, idx].mean()), 4),
                "kinetic_energy_j": round(float(ke[i].sum()), 5),
                "max_speed_m_s": round(float(speed[i, idx].max()), 4),
                "touching_pairs": int(np.asarray(touching[i]).sum()),
                "bodies": [
                    {
                        "shape": int(k),
                        "kind": kinds[k],
                        "start": [round(float(v), 4) for v in b0["position"][i, k]],
                        "end": [round(float(v), 4) for v in b1["position"][i, k]],
                        "speed_m_s": round(float(speed[i, k]), 4),
                    }
                    for k in idx
                ],
            }
        )
    return out
