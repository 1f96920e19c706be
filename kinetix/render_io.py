"""Pictures for people: frames, thumbnails, episode GIFs and contact sheets.

Frames here are numpy ``uint8 (H, W, 3)`` in display orientation (row 0 is the top of the
world, y up on screen), unlike the observation of :func:`kinetix.render.render_pixels`. Files are
written atomically (:func:`kinetix.atomic_io.atomic_write`), so a reader never sees half a file
and an interrupted write leaves the old file (if any) in place.

Anything with ``scene``, ``polygon_roles``, ``circle_roles``, ``motor_bindings`` and
``thruster_bindings`` attributes (a :class:`kinetix.level.Level`) can be drawn with
:func:`level_frame`; a bare scene with explicit roles with :func:`render_frame`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence

import jax
import numpy as np

from kinetix.atomic_io import atomic_write
from kinetix.render import SCREEN_SIZE, render_image, to_display

__all__ = [
    "render_frame",
    "level_frame",
    "render_frames",
    "thumbnail",
    "episode_scenes",
    "episode_frames",
    "contact_sheet",
    "save_png",
    "save_gif",
]


def render_frame(
    scene,
    polygon_roles,
    circle_roles,
    motor_bindings,
    thruster_bindings,
    *,
    downscale: int = 1,
    supersample: int = 2,
    outline_px: float = 1.5,
) -> np.ndarray:
    """A picture of one scene: uint8 ``(500 // downscale, 500 // downscale, 3)``, y up."""
    img = render_image(
        scene,
        polygon_roles,
        circle_roles,
        motor_bindings,
        thruster_bindings,
        downscale=downscale,
        supersample=supersample,
        outline_px=outline_px,
    )
    return to_display(img)


def _level_args(level, scene=None):
    return (
        level.scene if scene is None else scene,
        level.polygon_roles,
        level.circle_roles,
        level.motor_bindings,
        level.thruster_bindings,
    )


def level_frame(level, scene=None, **kwargs) -> np.ndarray:
    """:func:`render_frame` of ``scene`` (default: the level's own start scene) with the
    level's roles and bindings."""
    return render_frame(*_level_args(level, scene), **kwargs)


@functools.cache
def _batched_renderer(downscale: int, supersample: int, outline_px: float):
    def one(scene, pr, cr, mb, tb):
        return render_image(
            scene,
            pr,
            cr,
            mb,
            tb,
            downscale=downscale,
            supersample=supersample,
            outline_px=outline_px,
        )

    return jax.jit(jax.vmap(one, in_axes=(0, None, None, None, None)))


def render_frames(
    scenes,
    polygon_roles,
    circle_roles,
    motor_bindings,
    thruster_bindings,
    *,
    downscale: int = 2,
    supersample: int = 2,
    outline_px: float = 1.5,
    chunk: int = 16,
) -> np.ndarray:
    """Pictures of a stack of scenes (leading axis T, shared roles): uint8 ``(T, H, W, 3)``.

    Renders ``chunk`` scenes per call (the last chunk is padded, so one program serves all).
    """
    leaves = jax.tree_util.tree_leaves(scenes)
    if not leaves:
        raise ValueError("render_frames: empty scene pytree")
    count = int(leaves[0].shape[0])
    fn = _batched_renderer(int(downscale), int(supersample), float(outline_px))
    roles = (polygon_roles, circle_roles, motor_bindings, thruster_bindings)
    out = []
    for start in range(0, count, chunk):
        idx = np.minimum(np.arange(start, start + chunk), count - 1)
        part = jax.tree_util.tree_map(lambda x, idx=idx: x[idx], scenes)
        imgs = to_display(fn(part, *roles))
        out.append(imgs[: min(chunk, count - start)])
    return np.concatenate(out, axis=0)


def thumbnail(level, size: int = 128, scene=None) -> np.ndarray:
    """A small anti-aliased picture of a level: uint8 ``(size, size, 3)``."""
    from PIL import Image

    if not (isinstance(size, int) and 8 <= size <= 4 * SCREEN_SIZE):
        raise ValueError(f"thumbnail size must be an int in 8..{4 * SCREEN_SIZE}, got {size!r}")
    downscale = max(1, SCREEN_SIZE // size)
    frame = level_frame(level, scene, downscale=downscale, supersample=2, outline_px=1.0)
    if frame.shape[0] != size:
        frame = np.asarray(Image.fromarray(frame).resize((size, size), Image.Resampling.LANCZOS))
    return frame


def episode_scenes(
    level, policy: str = "noop", *, seed: int = 0, max_steps: int = 256, config=None
):
    """Rolls out ``policy`` (``"noop"``, ``"random"``) from ``level`` until its first episode
    ends or ``max_steps`` agent steps pass.

    Returns ``(scenes, summary)``: the scenes (a stacked pytree, leading axis T + 1: the start
    and the scene after each step, the terminal one included) and a dict with ``steps``,
    ``solved``, ``died``, ``done`` and ``return``.
    """
    import jax.numpy as jnp

    from kinetix.env import EnvConfig, KinetixEnv
    from kinetix.policies import make_policy

    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    config = config or EnvConfig(size=level.size)
    config = dataclasses.replace(config, auto_reset=False)
    env = KinetixEnv(config)
    pol = make_policy(policy, config.action_type)

    @jax.jit
    def rollout(level, key):
        key, k0 = jax.random.split(key)
        obs, state = env.reset(k0, level)

        def body(carry, k):
            obs, state, alive = carry
            ka, ks = jax.random.split(k)
            obs2, state2, reward, done, info = env.step(ks, state, pol(ka, obs))
            # once the episode is over, keep showing its last scene
            state2 = jax.tree_util.tree_map(lambda a, b: jnp.where(alive, a, b), state2, state)
            out = (state2.scene, alive & done, jnp.where(alive, reward, 0.0), info)
            return (obs2, state2, alive & ~done), out

        keys = jax.random.split(key, max_steps)
        _, (scenes, ended, rewards, infos) = jax.lax.scan(body, (obs, state, jnp.bool_(True)), keys)
        first = jax.tree_util.tree_map(lambda x: x[None], state.scene)
        scenes = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), first, scenes)
        return scenes, ended, rewards, infos

    scenes, ended, rewards, infos = jax.device_get(rollout(level, jax.random.PRNGKey(seed)))
    ended = np.asarray(ended)
    done = bool(ended.any())
    steps = int(np.argmax(ended)) + 1 if done else max_steps
    scenes = jax.tree_util.tree_map(lambda x: x[: steps + 1], scenes)
    last = steps - 1
    summary = {
        "steps": steps,
        "done": done,
        "solved": bool(done and infos["solved"][last]),
        "died": bool(done and infos["died"][last]),
        "return": float(np.sum(rewards[:steps])),
    }
    return scenes, summary


def episode_frames(
    level,
    policy: str = "noop",
    *,
    seed: int = 0,
    max_steps: int = 256,
    config=None,
    downscale: int = 2,
    supersample: int = 2,
):
    """:func:`episode_scenes` rendered: ``(frames uint8 (T + 1, H, W, 3), summary)``."""
    scenes, summary = episode_scenes(level, policy, seed=seed, max_steps=max_steps, config=config)
    frames = render_frames(
        scenes,
        level.polygon_roles,
        level.circle_roles,
        level.motor_bindings,
        level.thruster_bindings,
        downscale=downscale,
        supersample=supersample,
    )
    return frames, summary


def contact_sheet(
    images: Sequence[np.ndarray],
    captions: Sequence[str] | None = None,
    *,
    columns: int | None = None,
    pad: int = 6,
    caption_height: int | None = None,
    background: int = 255,
) -> np.ndarray:
    """A grid of equally sized uint8 images ``(h, w, 3)`` with optional captions under each.

    ``columns`` defaults to ceil(sqrt(n)). Captions are drawn with Pillow's default font and cut
    to fit the cell width. Returns uint8 ``(H, W, 3)``.
    """
    from PIL import Image, ImageDraw, ImageFont

    images = [np.asarray(im) for im in images]
    if not images:
        raise ValueError("contact_sheet: no images")
    h, w = images[0].shape[:2]
    for im in images:
        if im.shape != (h, w, 3) or im.dtype != np.uint8:
            raise ValueError(
                f"contact_sheet: every image must be uint8 ({h}, {w}, 3), got {im.dtype} {im.shape}"
            )
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"contact_sheet: {len(images)} images but {len(captions)} captions")
    n = len(images)
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = -(-n // columns)
    font = ImageFont.load_default()
    if caption_height is None:
        caption_height = 14 if captions else 0
    cell_h = h + caption_height
    sheet = Image.new(
        "RGB",
        (columns * w + (columns + 1) * pad, rows * cell_h + (rows + 1) * pad),
        (background,) * 3,
    )
    draw = ImageDraw.Draw(sheet)
    for k, im in enumerate(images):
        r, c = divmod(k, columns)
        x = pad + c * (w + pad)
        y = pad + r * (cell_h + pad)
        sheet.paste(Image.fromarray(im), (x, y))
        if captions:
            text = str(captions[k])
            while text and draw.textlength(text, font=font) > w:
                text = text[:-1]
            draw.text((x, y + h + 1), text, fill=(0, 0, 0), font=font)
    return np.asarray(sheet)


def _check_frame(frame) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"a frame must be uint8 (H, W, 3), got {a.dtype} {a.shape}")
    return a


def save_png(path: str | os.PathLike, frame) -> None:
    """Writes one uint8 ``(H, W, 3)`` frame as PNG (atomically)."""
    from PIL import Image

    im = Image.fromarray(_check_frame(frame))
    atomic_write(path, lambda f: im.save(f, format="PNG", optimize=True))


def save_gif(path: str | os.PathLike, frames, fps: float = 30, loop: int = 0) -> None:
    """Writes uint8 frames ``(T, H, W, 3)`` as an animated GIF (atomically).

    One palette (median cut over a sample of frames) serves every frame, without dithering, so
    flat colours stay flat. GIF stores delays in 1/100 s: 30 fps becomes 3/100 s per frame.
    """
    from PIL import Image

    frames = [_check_frame(f) for f in frames]
    if not frames:
        raise ValueError("save_gif: no frames")
    if not fps > 0:
        raise ValueError(f"save_gif: fps must be > 0, got {fps}")
    sample = frames[:: max(1, len(frames) // 8)][:8]
    palette = Image.fromarray(np.concatenate(sample, axis=0)).quantize(
        colors=256, method=Image.Quantize.MEDIANCUT
    )
    images = [
        Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames
    ]
    duration = max(10, int(round(1000.0 / fps / 10.0)) * 10)

    def write(f):
        images[0].save(
            f,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=duration,
            loop=loop,
            optimize=False,
            disposal=1,
        )

    atomic_write(path, write)
