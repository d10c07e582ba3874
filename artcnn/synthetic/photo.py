"""Photograph-like pictures, a third synthetic class (`photo`) for tests with more than two classes.

A camera records continuous tone: smooth gradients and out-of-focus light, darkened towards the
corners by the lens and covered in fine sensor noise. Neither the crisp flat marks of code nor
the strokes on grainy paper of a hand, so a model can tell it from both.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from artcnn.synthetic.canvas import RGB, Technique, fractal_noise, oval, palette, pick


def _gradient(rng: np.random.Generator, width: int, height: int, top: RGB, bottom: RGB) -> np.ndarray:
    """[height, width, 3] floats in [0, 1] going from `top` to `bottom`, faster or slower towards the horizon."""
    share = np.linspace(0, 1, height, dtype=np.float32)[:, None, None] ** rng.uniform(0.5, 2.0)
    start, end = (np.asarray(rgb, np.float32) / 255.0 for rgb in (top, bottom))
    return np.broadcast_to(start + (end - start) * share, (height, width, 3)).copy()


def _exposed(rng: np.random.Generator, pixels: np.ndarray) -> Image.Image:
    """What the camera adds to the scene: the lens's vignette, then per-channel sensor noise."""
    height, width = pixels.shape[:2]
    y, x = np.ogrid[-1 : 1 : height * 1j, -1 : 1 : width * 1j]
    vignette = 1 - rng.uniform(0.1, 0.4) * (x**2 + y**2) / 2
    noise = rng.normal(0, rng.uniform(0.01, 0.03), pixels.shape)
    return Image.fromarray((np.clip(pixels * vignette[..., None] + noise, 0, 1) * 255 + 0.5).astype(np.uint8))


def sky(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A sky from one palette colour down to the background, with soft clouds of smooth noise."""
    background, inks = palette(rng)
    pixels = _gradient(rng, width, height, pick(rng, inks), background)
    clouds = fractal_noise(rng, width, height, octaves=4)
    cover = np.clip((clouds - rng.uniform(0.3, 0.7)) * 3, 0, 1)[..., None] * rng.uniform(0.3, 0.8)
    pixels += (1.0 - pixels) * cover
    return _exposed(rng, pixels)


def bokeh(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Out-of-focus lights: discs of palette colours blurred into soft glows over a dim gradient."""
    background, inks = palette(rng)
    pixels = _gradient(rng, width, height, background, pick(rng, inks)) * rng.uniform(0.3, 0.7)
    lights = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(lights)
    for _ in range(int(rng.integers(5, 30))):
        x, y = rng.random(2) * (width, height)
        draw.ellipse(oval(x, y, rng.uniform(0.03, 0.15) * min(width, height)), fill=pick(rng, inks))
    glow = lights.filter(ImageFilter.GaussianBlur(rng.uniform(0.01, 0.03) * min(width, height)))
    pixels += np.asarray(glow, np.float32) / 255.0 * rng.uniform(0.4, 0.9)
    return _exposed(rng, pixels)


PHOTO_TECHNIQUES: dict[str, Technique] = {
    "sky": sky,
    "bokeh": bokeh,
}
