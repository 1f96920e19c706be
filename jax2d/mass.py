"""Mass properties of circles and convex polygons from density (traceable).

Closed forms used:

* disc of radius r: area ``pi r^2``, inertia ``factor * m * r^2`` about its centre
  (``factor`` 0.5 for a solid disc; Jax2D used 0.25);
* convex polygon: fan triangulation from vertex 0 gives the area and the area centroid; the
  inertia about the centroid sums
  ``|e_i x e_{i+1}| / 12 * (e_i.e_i + e_i.e_{i+1} + e_{i+1}.e_{i+1})``
  over the triangles (centroid, v_i, v_{i+1}) (Box2D's formula).
"""

from __future__ import annotations

import jax.numpy as jnp

from jax2d.math2d import cross

__all__ = [
    "circle_mass",
    "polygon_mass",
    "polygon_centroid",
    "invert_mass",
    "MAX_INVERSE_MASS",
    "MAX_INVERSE_INERTIA",
]

# The lightest dynamic body the float32 solver resolves: mass >= 1e-6 kg and moment of inertia
# >= 1e-10 kg m^2 (a 1 mg body; a disc of radius 3.4 mm or a square of side 5 mm at density 1).
# Lighter bodies take velocity changes of 1e7 to 1e15 from ordinary impulses, the iterations stop
# converging and the scene overflows to NaN (benchmarks/fuzz_physics.py found such levels); every
# bundled level is more than three orders of magnitude inside these bounds (a test checks it).
MAX_INVERSE_MASS = 1e6  # 1/kg
MAX_INVERSE_INERTIA = 1e10  # 1/(kg m^2)


def circle_mass(radius, density, inertia_factor=0.5):
    """Mass (kg) and inertia (kg m^2) of a disc; broadcasts over leading axes."""
    m = density * jnp.pi * radius * radius
    return m, inertia_factor * m * radius * radius


def _vertex_mask(n_vertices, v):
    return jnp.arange(v.shape[-2]) < jnp.asarray(n_vertices)[..., None]


def _next_vertex(vertices, n_vertices):
    """Vertex i+1 of each vertex i, wrapping at n_vertices; (..., V, 2)."""
    V = vertices.shape[-2]
    idx = jnp.arange(V)
    nxt = jnp.where(idx + 1 < jnp.asarray(n_vertices)[..., None], idx + 1, 0)
    return jnp.take_along_axis(vertices, nxt[..., None], axis=-2)


def polygon_centroid(vertices, n_vertices, area_centroid=True):
    """Centroid of a convex polygon; vertices (..., V, 2) with n_vertices used -> (..., 2).

    ``area_centroid=False`` gives the plain vertex average (Jax2D's choice).
    """
    mask = _vertex_mask(n_vertices, vertices)
    n = jnp.asarray(n_vertices)[..., None].astype(vertices.dtype)
    avg = jnp.sum(jnp.where(mask[..., None], vertices, 0.0), axis=-2) / jnp.maximum(n, 1.0)
    if not area_centroid:
        return avg
    # Fan triangles (v0, v_i, v_{i+1}) for i = 1 .. n-2, taken relative to the vertex average
    # for numerical accuracy.
    rel = vertices - avg[..., None, :]
    nxt = _next_vertex(rel, n_vertices)
    tri = cross(rel, nxt) * 0.5  # signed area of (avg, v_i, v_{i+1})
    tri = jnp.where(mask, tri, 0.0)
    area = jnp.sum(tri, axis=-1)
    c = jnp.sum(tri[..., None] * (rel + nxt) / 3.0, axis=-2)
    safe = jnp.where(jnp.abs(area) > 1e-12, area, 1.0)
    return avg + jnp.where(jnp.abs(area)[..., None] > 1e-12, c / safe[..., None], 0.0)


def polygon_mass(vertices, n_vertices, density):
    """Mass (kg) and inertia about the origin (kg m^2) of a convex polygon.

    ``vertices`` (..., V, 2) should already be relative to the centroid (then the inertia is
    the central inertia). Winding may be either way.
    """
    mask = _vertex_mask(n_vertices, vertices)
    nxt = _next_vertex(vertices, n_vertices)
    c = jnp.abs(cross(vertices, nxt))
    dots = jnp.sum(vertices * vertices, -1) + jnp.sum(vertices * nxt, -1) + jnp.sum(nxt * nxt, -1)
    area = jnp.sum(jnp.where(mask, 0.5 * c, 0.0), axis=-1)
    inertia = jnp.sum(jnp.where(mask, c * dots / 12.0, 0.0), axis=-1)
    return density * area, density * inertia


def invert_mass(mass, inertia, static):
    """Inverse mass and inertia; 0 for static bodies and for zero (padding) values."""
    static = jnp.asarray(static) | (mass <= 0)
    inv_m = jnp.where(static, 0.0, 1.0 / jnp.where(mass > 0, mass, 1.0))
    inv_i = jnp.where(static | (inertia <= 0), 0.0, 1.0 / jnp.where(inertia > 0, inertia, 1.0))
    return inv_m.astype(jnp.float32), inv_i.astype(jnp.float32)
