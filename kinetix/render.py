"""Rasterising a scene: the pixel observation and the pictures for people.

Every drawable thing becomes one or more *layers* of two kinds, tested at every pixel at once:

* a convex polygon of up to 4 edges (shapes, a circle's radius line, parts of a thruster
  marker): the signed distance of a sample point is the minimum over the edges of its distance
  to the edge's line (positive inside);
* a disc (circles, joints, the core of a thruster's flame): ``radius - distance`` to the centre.

Both tests are separable (a per-column term plus a per-row term), so a pixel costs about one add
and one compare per edge or disc. A pixel takes the colour of the last layer (painter's order)
that covers its sample point: polygons in slot order, then each circle followed by its radius
line, then joints, then thrusters (each marker's parts in order).

Conventions (Kinetix; ``reference/kinetix_spec.md`` §3.7, and measured against the reference
renderer on the shared levels): 100 px per metre at full resolution, the view is the world square
[0, 5] x [0, 5]; array axis 0 is x (left to right) and axis 1 is y (bottom to top); pixel
``(i, j)`` samples the world point ``(i s, j s)`` with ``s = downscale / 100`` m (its lower-left
corner); white background; the floor (polygon slot 0)
is drawn, walls and ceiling (slots 1-3) are not; role colours grey / green / blue / red; static
shapes (inverse mass 0) at half brightness (grey 80, red (127.5, 51, 51)); circles
with a black line 8 cm wide from the centre to the rim along the body's +y axis (angle
``rotation + pi / 2``); joints as discs of radius ~2.2 cm (one pixel at downscale 4) coloured by
motor binding (yellow, magenta, cyan, orange; white when fixed or without motor); thrusters as a
16 cm marker (4 x 4 px at downscale 4) centred on the thruster: a black plate and a grey nozzle
on the thrust side, and a flame tinted by the thruster binding (yellow, magenta) pointing the
other way, as the reference's texture looks. On the twelve shared levels, ``render_pixels``
differs from the reference in about 0.05 % of pixels (thruster details and ties on edges).

:func:`render_pixels` is the observation (hard edges). :func:`render_image` adds supersampling,
outlines and larger joints for pictures; :mod:`kinetix.render_io` writes PNG and GIF files.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jax2d.scene import Scene

__all__ = [
    "PIXELS_PER_METRE",
    "SCREEN_SIZE",
    "ROLE_COLOURS",
    "STATIC_ROLE_COLOURS",
    "MOTOR_COLOURS",
    "THRUSTER_COLOURS",
    "NO_MOTOR_COLOUR",
    "BACKGROUND_COLOUR",
    "JOINT_RADIUS",
    "NUM_HIDDEN_ARENA_POLYGONS",
    "render_pixels",
    "render_image",
    "to_display",
]

PIXELS_PER_METRE = 100
SCREEN_SIZE = 500  # full-resolution pixels; the view is [0, 5] m on both axes

# RGB, 0-255. Roles: 0 grey, 1 green, 2 blue, 3 red.
ROLE_COLOURS = np.array([(160, 160, 160), (0, 204, 0), (0, 102, 204), (255, 102, 102)], np.uint8)
# static shapes: half brightness (grey 160 -> 80, red 255 -> 127.5)
STATIC_ROLE_COLOURS = ROLE_COLOURS.astype(np.float32) / 2
MOTOR_COLOURS = np.array([(255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 153, 51)], np.uint8)
THRUSTER_COLOURS = MOTOR_COLOURS[:2]  # thruster binding 0 yellow, 1 magenta
NO_MOTOR_COLOUR = np.array((255, 255, 255), np.uint8)
BACKGROUND_COLOUR = np.array((255, 255, 255), np.uint8)
LINE_COLOUR = np.array((0, 0, 0), np.uint8)

JOINT_RADIUS = 0.0224  # m; one pixel at downscale 4 (fitted to the reference)
LINE_HALF_WIDTH = 0.04  # m, half width of a circle's radius line
NUM_HIDDEN_ARENA_POLYGONS = 3  # polygon slots 1..3 (walls, ceiling) are never drawn

# The thruster marker in the thruster's frame (u along the thrust, v to its left), metres, drawn
# in this order: (kind, geometry, colour). "tint" parts scale the binding colour.
THRUSTER_MARKER = (
    ("poly", ((-0.09, -0.02), (0.02, -0.065), (0.02, 0.065), (-0.09, 0.02)), ("tint", 132)),
    ("poly", ((-0.06, -0.015), (0.02, -0.065), (0.02, 0.065), (-0.06, 0.015)), ("tint", 196)),
    ("disc", ((-0.005, 0.0), 0.022), ("tint", 255)),
    ("poly", ((0.02, -0.065), (0.06, -0.065), (0.06, 0.065), (0.02, 0.065)), ("rgb", (93,) * 3)),
    ("poly", ((0.06, -0.065), (0.1, -0.065), (0.1, 0.065), (0.06, 0.065)), ("rgb", (0, 0, 0))),
)

_BIG = 1e6  # signed distance of a disabled edge (always "inside")
_OFF = -1e6  # signed distance of an inactive layer (never inside)


def _rotate(v, angle):
    c, s = jnp.cos(angle), jnp.sin(angle)
    return jnp.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def _unit_rgb(colours) -> jax.Array:
    return jnp.asarray(np.asarray(colours, np.float32) / 255.0)


def _shape_colours(roles, inverse_mass):
    r = jnp.clip(jnp.asarray(roles, jnp.int32), 0, len(ROLE_COLOURS) - 1)
    static = (inverse_mass == 0)[..., None]
    return jnp.where(static, _unit_rgb(STATIC_ROLE_COLOURS)[r], _unit_rgb(ROLE_COLOURS)[r])


def _edge_planes(world_vertices, n_vertices):
    """Edge lines of convex CCW polygons (..., V, 2): (..., V, 3) rows (a, b, c), inside iff
    ``a x + b y + c >= 0``.

    Rows are normalised so ``a x + b y + c`` is the distance to the edge's line; unused vertex
    slots give a disabled row (0, 0, +big).
    """
    V = world_vertices.shape[-2]
    k = jnp.arange(V)
    n = jnp.asarray(n_vertices)[..., None]
    nxt = jnp.where(k + 1 < n, k + 1, 0)
    v0 = world_vertices
    v1 = jnp.take_along_axis(world_vertices, jnp.broadcast_to(nxt, v0.shape[:-1])[..., None], -2)
    e = v1 - v0
    length = jnp.sqrt(jnp.sum(e * e, axis=-1))
    used = (k < n) & (length > 1e-9)
    inv = jnp.where(used, 1.0 / jnp.where(used, length, 1.0), 0.0)
    a = -e[..., 1] * inv
    b = e[..., 0] * inv
    c = (e[..., 1] * v0[..., 0] - e[..., 0] * v0[..., 1]) * inv
    c = jnp.where(used, c, _BIG)
    return jnp.stack([a, b, c], axis=-1)


def _pad_edges(planes, V: int = 4):
    """Pads (..., k, 3) edge rows to V rows with disabled edges."""
    k = planes.shape[-2]
    if k == V:
        return planes
    pad = jnp.broadcast_to(jnp.array([0.0, 0.0, _BIG], jnp.float32), (*planes.shape[:-2], V - k, 3))
    return jnp.concatenate([planes, pad], axis=-2)


def _local_polygon(centre, angle, local):
    """Edge rows (N, 4, 3) of one CCW polygon ``local`` (k, 2) placed at N frames."""
    local = jnp.asarray(np.asarray(local, np.float32))
    world = centre[:, None, :] + _rotate(local[None], angle[:, None])
    return _pad_edges(_edge_planes(world, jnp.full(centre.shape[:1], local.shape[0], jnp.int32)))


class _LayerList:
    """Accumulates layers in painter's order.

    ``add(count, parts)`` appends ``count`` entities, each drawn as ``parts`` in order (entity by
    entity). A part is ``("poly", planes (N, 4, 3), on (N,), colour (N, 3), outlined)`` or
    ``("disc", centre (N, 2), radius (N,), on (N,), colour (N, 3), outlined)``.
    """

    def __init__(self):
        self.polys, self.discs, self.colour_blocks, self.outlined = [], [], [], []
        self.n = 0

    def add(self, count: int, parts) -> None:
        S = len(parts)
        for s, part in enumerate(parts):
            order = self.n + S * np.arange(count) + s
            if part[0] == "poly":
                _, planes, on, _, _ = part
                self.polys.append((planes.reshape(count, 4, 3), on.reshape(count), order))
            else:
                _, centre, radius, on, _, _ = part
                self.discs.append(
                    (centre.reshape(count, 2), radius.reshape(count), on.reshape(count), order)
                )
        cols = jnp.stack([jnp.broadcast_to(p[-2], (count, 3)) for p in parts], axis=1)
        self.colour_blocks.append(cols.reshape(count * S, 3))
        self.outlined.append(np.tile(np.array([p[-1] for p in parts], bool), count))
        self.n += count * S


def _layers(
    scene: Scene,
    polygon_roles,
    circle_roles,
    motor_bindings,
    thruster_bindings,
    joint_radius: float,
) -> _LayerList:
    """The layers of one scene (unbatched), in painter's order."""
    poly, circ, joint, thr = scene.polygon, scene.circle, scene.joint, scene.thruster
    P, C = poly.active.shape[0], circ.active.shape[0]
    J, T = joint.active.shape[0], thr.active.shape[0]
    f32 = jnp.float32
    out = _LayerList()

    # polygons, without the hidden walls and ceiling (a static choice)
    drawn = np.array([i for i in range(P) if not 1 <= i <= NUM_HIDDEN_ARENA_POLYGONS], np.int32)
    Pd = drawn.size
    if Pd:
        world = poly.position[drawn, None, :] + _rotate(
            poly.vertices[drawn], poly.rotation[drawn, None]
        )
        planes = _pad_edges(_edge_planes(world, poly.n_vertices[drawn]))
        on = (poly.active & (poly.n_vertices >= 3))[drawn]
        colour = _shape_colours(jnp.asarray(polygon_roles)[drawn], poly.inverse_mass[drawn])
        out.add(Pd, [("poly", planes, on, colour, True)])

    # circles, each followed by its radius line (a thin rectangle along the body's +y axis)
    if C:
        hw = jnp.full((C,), LINE_HALF_WIDTH, f32)
        zero = jnp.zeros((C,), f32)
        r = circ.radius
        corners = jnp.stack(
            [jnp.stack(p, -1) for p in ((zero, -hw), (r, -hw), (r, hw), (zero, hw))], axis=1
        )
        line_world = circ.position[:, None, :] + _rotate(
            corners, circ.rotation[:, None] + jnp.pi / 2
        )
        line = _edge_planes(line_world, jnp.full((C,), 4, jnp.int32))
        fill = (
            "disc",
            circ.position,
            circ.radius,
            circ.active,
            _shape_colours(circle_roles, circ.inverse_mass),
            True,
        )
        out.add(C, [fill, ("poly", line, circ.active, _unit_rgb(LINE_COLOUR), False)])

    # shapes by global index (for joints and thrusters)
    n_shapes = P + C
    if n_shapes:
        all_pos = jnp.concatenate([poly.position, circ.position]).reshape(n_shapes, 2)
        all_rot = jnp.concatenate([poly.rotation, circ.rotation]).reshape(n_shapes)

    # joints: discs at body a's anchor, coloured by motor binding
    if J:
        if n_shapes:
            ia = jnp.clip(joint.a_index, 0, n_shapes - 1)
            jpos = (all_pos[ia] + _rotate(joint.a_anchor, all_rot[ia])).reshape(J, 2)
        else:
            jpos = joint.position
        motor = joint.motor_on & ~joint.is_fixed
        mb = jnp.clip(jnp.asarray(motor_bindings, jnp.int32), 0, len(MOTOR_COLOURS) - 1)
        colour = jnp.where(motor[:, None], _unit_rgb(MOTOR_COLOURS)[mb], _unit_rgb(NO_MOTOR_COLOUR))
        radius = jnp.full((J,), joint_radius, f32)
        out.add(J, [("disc", jpos, radius, joint.active, colour.reshape(J, 3), True)])

    # thrusters: the marker, u along the thrust direction (parent rotation + thruster rotation)
    if T:
        if n_shapes:
            ip = jnp.clip(thr.shape_index, 0, n_shapes - 1)
            prot = all_rot[ip].reshape(T)
            tpos = (all_pos[ip] + _rotate(thr.relative_position, prot)).reshape(T, 2)
        else:
            prot, tpos = jnp.zeros((T,), f32), thr.position
        angle = prot + thr.rotation
        tb = jnp.clip(jnp.asarray(thruster_bindings, jnp.int32), 0, len(THRUSTER_COLOURS) - 1)
        tint = _unit_rgb(THRUSTER_COLOURS)[tb].reshape(T, 3)
        parts = []
        for kind, geometry, (mode, value) in THRUSTER_MARKER:
            if mode == "tint":
                colour = tint * (value / 255.0)
            else:
                colour = _unit_rgb(value)
            if kind == "poly":
                parts.append(
                    ("poly", _local_polygon(tpos, angle, geometry), thr.active, colour, False)
                )
            else:
                (cu, cv), rad = geometry
                centre = tpos + _rotate(jnp.array([[cu, cv]], f32), angle)
                parts.append(("disc", centre, jnp.full((T,), rad, f32), thr.active, colour, False))
        out.add(T, parts)
    return out


def _pixel_coords(n: int, px: float, offset: float):
    """World coordinates of the sample points of pixel columns (or rows) 0..n-1."""
    return (jnp.arange(n, dtype=jnp.float32) + jnp.float32(offset)) * jnp.float32(px)


_CH_BITS = 9  # a colour channel is packed as round(510 * value): half units of 1/255 stay exact
_CH_MAX = (1 << _CH_BITS) - 1
_OUTLINE_BIT = 1 << (3 * _CH_BITS)


def _pack(colours, outlined):
    """(L, 3) floats in [0, 1] and (L,) static bools -> (L,) int32 keys (colour + outline bit)."""
    c = jnp.clip(jnp.round(colours * 510.0), 0, 510).astype(jnp.int32)
    key = (c[:, 0] << (2 * _CH_BITS)) | (c[:, 1] << _CH_BITS) | c[:, 2]
    return key | jnp.asarray(np.where(outlined, _OUTLINE_BIT, 0).astype(np.int32))


def _unpack(key):
    """(...,) int32 keys -> (..., 3) float32 colours."""
    shifts = jnp.array([2 * _CH_BITS, _CH_BITS, 0], jnp.int32)
    return ((key[..., None] >> shifts) & _CH_MAX).astype(jnp.float32) / 510.0


def _rasterise(layers: _LayerList, n: int, px: float, outline: float, offset: float = 0.0):
    """Float RGB (n, n, 3) of one scene's layers; ``outline`` in metres (0: none); pixel ``i``
    samples ``(i + offset) * px``.

    The painter's loop runs in Python over the *static* layer list (its length depends only on
    the scene's capacities), so XLA sees one elementwise program over the pixels that it
    vectorises well, and each pixel carries one int32 (the packed colour of the topmost layer so
    far) instead of a layer index to look up afterwards. Measured on CPU, a ``max`` over a
    stacked layer axis was about 6x slower and a colour-table gather 7x slower.
    """
    xs = _pixel_coords(n, px, offset)
    ys = xs
    if layers.n == 0:
        return jnp.broadcast_to(_unit_rgb(BACKGROUND_COLOUR), (n, n, 3))
    keys = _pack(jnp.concatenate(layers.colour_blocks), np.concatenate(layers.outlined))
    items = []  # (order, kind, block, row)
    prepared = []
    for b, (planes, on, order) in enumerate(layers.polys):
        ax = planes[..., 0, None] * xs  # (N, 4, W)
        byc = planes[..., 1, None] * ys + planes[..., 2, None]  # (N, 4, H)
        byc = jnp.where(on[:, None, None], byc, _OFF)  # inactive: outside everywhere
        prepared.append((ax, byc))
        items += [(int(o), 0, b, i) for i, o in enumerate(order)]
    discs = []
    for b, (centre, radius, on, order) in enumerate(layers.discs):
        dx = xs[None, :] - centre[:, 0, None]
        dy = ys[None, :] - centre[:, 1, None]
        r2 = jnp.where(on, radius * radius, _OFF)  # |p - c|^2 - r^2 = dx2[w] + dyr[h]
        discs.append((dx * dx, dy * dy - r2[:, None], radius))
        items += [(int(o), 1, b, i) for i, o in enumerate(order)]
    items.sort()

    background = _pack(_unit_rgb(BACKGROUND_COLOUR)[None], np.zeros(1, bool))[0]
    top = jnp.full((n, n), background, jnp.int32)
    sd_top = jnp.full((n, n), _BIG, jnp.float32)
    for order, kind, b, i in items:
        if kind == 0:
            ax, byc = prepared[b]
            sd = ax[i, 0, :, None] + byc[i, 0, None, :]
            for k in range(1, 4):
                sd = jnp.minimum(sd, ax[i, k, :, None] + byc[i, k, None, :])
            inside = sd >= 0
        else:
            dx2, dyr, radius = discs[b]
            d2r = dx2[i, :, None] + dyr[i, None, :]
            inside = d2r <= 0
            if outline > 0:
                r = radius[i]
                sd = r - jnp.sqrt(jnp.maximum(d2r + r * r, 0.0))
        top = jnp.where(inside, keys[order], top)
        if outline > 0:
            sd_top = jnp.where(inside, sd, sd_top)

    rgb = _unpack(top)
    if outline > 0:
        edge = ((top & _OUTLINE_BIT) != 0) & (sd_top < outline)
        rgb = jnp.where(edge[..., None], rgb * 0.5, rgb)
    return rgb


def _check_downscale(downscale) -> int:
    if not (isinstance(downscale, int | np.integer) and 1 <= downscale <= SCREEN_SIZE):
        raise ValueError(f"downscale must be an int in 1..{SCREEN_SIZE}, got {downscale!r}")
    return int(downscale)


@functools.partial(jax.jit, static_argnames=("downscale",))
def render_pixels(
    scene: Scene,
    polygon_roles,
    circle_roles,
    motor_bindings,
    thruster_bindings,
    *,
    downscale: int = 4,
) -> jax.Array:
    """The pixel observation of one scene: float32 ``(500 // downscale, 500 // downscale, 3)``.

    Values are in [0, 1]; array axis 0 is x (left to right), axis 1 is y (bottom to top), as in
    Kinetix (use :func:`to_display` for a picture). Pixel ``(i, j)`` shows the world point
    ``(i * s, j * s)`` with ``s = downscale / 100`` m, as Kinetix samples. Hard edges, no
    outlines. Pure JAX: jit- and vmap-able over all arguments except ``downscale`` (static).

    Args:
        scene: the scene (unbatched; ``vmap`` for batches).
        polygon_roles: (P,) int, 0 grey / 1 green / 2 blue / 3 red.
        circle_roles: (C,) int.
        motor_bindings: (J,) int in 0..3 (used for joints with a motor).
        thruster_bindings: (T,) int in 0..1.
        downscale: full-resolution (500 px) pixels per output pixel.
    """
    ds = _check_downscale(downscale)
    n = SCREEN_SIZE // ds
    px = ds / PIXELS_PER_METRE
    layers = _layers(
        scene, polygon_roles, circle_roles, motor_bindings, thruster_bindings, JOINT_RADIUS
    )
    return _rasterise(layers, n, px, 0.0).astype(jnp.float32)


@functools.partial(
    jax.jit, static_argnames=("downscale", "supersample", "outline_px", "joint_radius")
)
def render_image(
    scene: Scene,
    polygon_roles,
    circle_roles,
    motor_bindings,
    thruster_bindings,
    *,
    downscale: int = 1,
    supersample: int = 2,
    outline_px: float = 1.5,
    joint_radius: float = 0.05,
) -> jax.Array:
    """A picture of one scene for people: float32 ``(n, n, 3)``, ``n = 500 // downscale``.

    Same axes and colours as :func:`render_pixels`, plus anti-aliasing (each pixel averages a
    ``supersample`` x ``supersample`` grid of samples at sub-pixel centres), a darker outline
    ``outline_px`` output pixels wide around shapes and joints (0: none), and joints drawn with
    radius ``joint_radius`` m (the observation's 2.2 cm is a dot). jit- and vmap-able.
    """
    ds = _check_downscale(downscale)
    if not (isinstance(supersample, int) and supersample >= 1):
        raise ValueError(f"supersample must be an int >= 1, got {supersample!r}")
    n = SCREEN_SIZE // ds
    px = ds / PIXELS_PER_METRE
    fine_px = px / supersample
    layers = _layers(
        scene, polygon_roles, circle_roles, motor_bindings, thruster_bindings, float(joint_radius)
    )
    img = _rasterise(layers, n * supersample, fine_px, float(outline_px) * px, offset=0.5)
    if supersample > 1:
        img = img.reshape(n, supersample, n, supersample, 3).mean(axis=(1, 3))
    return img.astype(jnp.float32)


def to_display(image) -> np.ndarray:
    """Kinetix-axis image(s) ``(..., W, H, 3)`` floats in [0, 1] -> uint8 ``(..., H, W, 3)``
    with y up on screen (row 0 is the top of the world)."""
    a = np.asarray(image, np.float32)
    a = np.swapaxes(a, -3, -2)[..., ::-1, :, :]
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
