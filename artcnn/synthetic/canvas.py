"""What every family of synthetic pictures shares: palettes, blank canvases and smooth noise.

All families draw their palettes, backgrounds and sizes from the same distributions, so that only
how the marks are made tells the classes apart, never their colours.
"""

from __future__ import annotations

import colorsys
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
# A technique draws one picture of the given width and height from the random generator.
Technique = Callable[[np.random.Generator, int, int], Image.Image]


def _hsv(hue: float, saturation: float, value: float) -> RGB:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, min(max(saturation, 0.0), 1.0), min(max(value, 0.0), 1.0))
    return round(red * 255), round(green * 255), round(blue * 255)


def palette(rng: np.random.Generator) -> tuple[RGB, list[RGB]]:
    """A background and 3-6 ink colours; one distribution for every class, so colour tells nothing."""
    hue = rng.random()
    scheme = rng.choice(["analogous", "complementary", "triad", "free"])
    offsets = {
        "analogous": lambda n: rng.normal(0, 0.06, n),
        "complementary": lambda n: rng.choice([0.0, 0.5], n) + rng.normal(0, 0.03, n),
        "triad": lambda n: rng.choice([0.0, 1 / 3, 2 / 3], n) + rng.normal(0, 0.03, n),
        "free": lambda n: rng.random(n),
    }[scheme]
    count = int(rng.integers(3, 7))
    inks = [
        _hsv(hue + offset, rng.uniform(0.25, 0.95), rng.uniform(0.15, 0.95))
        for offset in offsets(count)
    ]
    kind = rng.choice(["light", "light", "dark", "tinted"])
    if kind == "light":
        background = _hsv(rng.uniform(0.05, 0.15), rng.uniform(0.0, 0.12), rng.uniform(0.88, 0.99))
    elif kind == "dark":
        background = _hsv(rng.random(), rng.uniform(0.0, 0.4), rng.uniform(0.05, 0.2))
    else:
        background = _hsv(hue + 0.5, rng.uniform(0.15, 0.5), rng.uniform(0.5, 0.9))
    return background, [_away_from(ink, background) for ink in inks]


def _luma(rgb: RGB) -> float:
    return (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255.0


def _away_from(ink: RGB, background: RGB) -> RGB:
    """The ink, lightened or darkened until it stands out from the background (artists choose so too)."""
    gap = _luma(ink) - _luma(background)
    if abs(gap) >= 0.25:
        return ink
    target = -0.3 if _luma(background) > 0.5 else 0.3
    shift = (target - gap) * 255.0
    return tuple(int(np.clip(channel + shift, 0, 255)) for channel in ink)


def pick(rng: np.random.Generator, colours: list[RGB]) -> RGB:
    return colours[int(rng.integers(len(colours)))]


def canvas(rng: np.random.Generator, width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw, RGB, list[RGB]]:
    """A new palette and an image filled with its background, ready to draw on: (image, draw, background, inks)."""
    background, inks = palette(rng)
    image = Image.new("RGB", (width, height), background)
    return image, ImageDraw.Draw(image), background, inks


def filled(width: int, height: int, rgb: RGB) -> np.ndarray:
    """A [height, width, 3] uint8 pixel array of one colour, for techniques that paint by array masks."""
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:] = rgb
    return pixels


def oval(x: float, y: float, radius: float, squash: float = 1.0) -> list[float]:
    """Pillow's bounding box of a circle (or an ellipse `squash` times as tall) centred on (x, y)."""
    return [x - radius, y - radius * squash, x + radius, y + radius * squash]


def fractal_noise(rng: np.random.Generator, width: int, height: int, octaves: int = 5) -> np.ndarray:
    """Value noise summed over octaves (each a random grid upsampled smoothly), scaled to [0, 1]."""
    total = np.zeros((height, width), np.float32)
    cells = rng.uniform(2, 6)
    for octave in range(octaves):
        grid = rng.random((int(cells * 2**octave) + 2, int(cells * 2**octave * width / height) + 2))
        layer = Image.fromarray((grid * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)
        total += np.asarray(layer, np.float32) / 2**octave
    total -= total.min()
    return total / max(float(total.max()), 1e-6)
