"""Hand-made-looking techniques of the `han` demo class: how a hand draws, wobbly strokes of
varying pressure laid as pigment on grainy paper, with the odd smudge.

Brush strokes, pen hatching, watercolour washes and scribbles, each on a `_Paper` that gives
every mark soft edges and uneven pigment and the whole sheet its grain.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from artcnn.synthetic.canvas import RGB, Technique, oval, palette, pick


def _smooth_noise(rng: np.random.Generator, count: int, scale: float) -> np.ndarray:
    """A slowly varying 1-D signal in about [-1, 1]: random values at every `scale` samples, interpolated."""
    knots = rng.normal(0, 1, count // max(int(scale), 1) + 2)
    return np.interp(np.arange(count) / max(scale, 1), np.arange(len(knots)), knots) / 1.5


def _hand_path(rng: np.random.Generator, start: np.ndarray, length: float, step: float, wander: float) -> np.ndarray:
    """Points of a stroke: heading drifts smoothly (the arm) plus a small tremor (the hand)."""
    count = max(int(length / step), 2)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(_smooth_noise(rng, count, 8) * wander)
    moves = step * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    return start + np.cumsum(moves, axis=0) + rng.normal(0, 0.4, (count, 2))


def _pressure(rng: np.random.Generator, count: int) -> np.ndarray:
    """Pressure along a stroke: a quick landing, an uneven middle, a tapering lift."""
    t = np.linspace(0, 1, count)
    taper = np.clip(np.minimum(t / rng.uniform(0.05, 0.2), (1 - t) / rng.uniform(0.1, 0.4)), 0, 1) ** 0.7
    return np.clip(taper * (1 + 0.3 * _smooth_noise(rng, count, 6)), 0.05, 1.3)


def _dab(draw: ImageDraw.ImageDraw, path: np.ndarray, radii: np.ndarray, level: np.ndarray | int = 255) -> None:
    levels = np.broadcast_to(level, radii.shape)
    for (x, y), radius, value in zip(path, radii, levels):
        draw.ellipse(oval(x, y, radius), fill=int(value))


class _Paper:
    """A sheet of grainy paper in a new palette's background, with the palette's `inks`; ink layers
    are masks composed over it, as pigment lies on paper."""

    def __init__(self, rng: np.random.Generator, width: int, height: int):
        self.rng, self.width, self.height = rng, width, height
        tone, self.inks = palette(rng)
        self.pixels = np.empty((height, width, 3), np.float32)
        self.pixels[:] = np.asarray(tone, np.float32) / 255.0
        # Marks per artwork grow with its area, so small and large artworks are equally busy.
        self.area = width * height / 512**2

    def count(self, low: int, high: int) -> int:
        return max(1, round(self.area * int(self.rng.integers(low, high))))

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        layer = Image.new("L", (self.width, self.height), 0)
        return layer, ImageDraw.Draw(layer)

    def lay(self, layer: Image.Image, colour: RGB, opacity: float, softness: float = 0.8,
            origin: tuple[int, int] = (0, 0)) -> None:
        """Compose a mask of one ink (placed at `origin`): soft edges, uneven pigment like a real medium."""
        alpha = np.asarray(layer.filter(ImageFilter.GaussianBlur(softness)), np.float32) / 255.0
        alpha *= opacity * np.clip(1 + self.rng.normal(0, 0.12, alpha.shape).astype(np.float32), 0, 1.3)
        left, top = origin
        region = self.pixels[top : top + layer.height, left : left + layer.width]
        ink = np.asarray(colour, np.float32) / 255.0
        region += (ink - region) * np.clip(alpha, 0, 1)[: region.shape[0], : region.shape[1], None]

    def finish(self) -> Image.Image:
        """Paper texture over everything (pigment takes the paper's tooth), then a few smudges."""
        texture = sum(
            self._noise(cell, strength)
            for cell, strength in ((1, self.rng.uniform(0.02, 0.04)), (2, self.rng.uniform(0.04, 0.08)), (6, 0.03))
        )
        self.pixels += texture[..., None]
        image = Image.fromarray((np.clip(self.pixels, 0, 1) * 255 + 0.5).astype(np.uint8))
        for _ in range(int(self.rng.integers(0, 4))):
            image = _smudge(self.rng, image)
        return image

    def _noise(self, cell: int, strength: float) -> np.ndarray:
        """Gaussian noise with features about `cell` pixels wide: grain (1), tooth (2), fibres (6)."""
        small = self.rng.normal(0, strength, (self.height // cell + 1, self.width // cell + 1)).astype(np.float32)
        if cell == 1:
            return small[: self.height, : self.width]
        return np.asarray(Image.fromarray(small, "F").resize((self.width, self.height), Image.BILINEAR))


def _smudge(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """A finger smear: a blurred, slightly shifted patch blended in through a soft oval."""
    w, h = int(rng.integers(30, 120)), int(rng.integers(30, 120))
    left, top = int(rng.integers(0, max(image.width - w, 1))), int(rng.integers(0, max(image.height - h, 1)))
    box = (left, top, min(left + w, image.width), min(top + h, image.height))
    patch = image.crop(box).filter(ImageFilter.GaussianBlur(rng.uniform(2, 6)))
    blend = Image.new("L", patch.size, 0)
    ImageDraw.Draw(blend).ellipse([0, 0, patch.width - 1, patch.height - 1], fill=int(rng.integers(120, 230)))
    shift = (int(rng.integers(-6, 7)), int(rng.integers(-6, 7)))
    image.paste(patch, (box[0] + shift[0], box[1] + shift[1]), blend.filter(ImageFilter.GaussianBlur(8)))
    return image


def brush_strokes(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Loaded brushes: each stroke is a few bristle tracks with pressure-varying width and uneven paint."""
    paper = _Paper(rng, width, height)
    inks = paper.inks
    for _ in range(int(rng.integers(3, 6))):
        layer, draw = paper.mask()
        for _ in range(paper.count(5, 12)):
            start = rng.random(2) * (width, height)
            path = _hand_path(rng, start, rng.uniform(80, 400), 2.0, rng.uniform(0.05, 0.3))
            size = rng.uniform(4, 18) * _pressure(rng, len(path))
            normal = np.stack([-np.gradient(path[:, 1]), np.gradient(path[:, 0])], axis=1)
            normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-6
            for offset in rng.uniform(-0.8, 0.8, int(rng.integers(3, 7))):
                _dab(draw, path + normal * (size * offset)[:, None], size * rng.uniform(0.25, 0.5),
                     rng.integers(140, 256, len(path)))
        paper.lay(layer, pick(rng, inks), rng.uniform(0.6, 0.95), softness=rng.uniform(0.6, 1.5))
    return paper.finish()


def pen_hatching(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Patches of hand hatching (near-parallel lines, each a little off) and a few wobbly contours."""
    paper = _Paper(rng, width, height)
    inks = paper.inks
    for colour in inks[: int(rng.integers(1, 3))]:
        layer, draw = paper.mask()
        for _ in range(paper.count(12, 25)):
            centre = rng.random(2) * (width, height)
            direction, spacing = rng.uniform(0, np.pi), rng.uniform(2.5, 7)
            across = np.array([-np.sin(direction), np.cos(direction)])
            for k in range(int(rng.integers(6, 25))):
                angle = direction + rng.normal(0, 0.06)
                half = rng.uniform(10, 45)
                middle = centre + across * k * spacing + rng.normal(0, 1.2, 2)
                ends = middle + np.outer([-half, half], [np.cos(angle), np.sin(angle)])
                path = ends[0] + np.linspace(0, 1, int(half / 3) + 2)[:, None] * (ends[1] - ends[0])
                path += np.cumsum(rng.normal(0, 0.4, path.shape), axis=0)
                # Pressure shows in a pen line as how dark and how wide it is.
                draw.line([tuple(point) for point in path], fill=int(rng.integers(150, 256)), width=int(rng.integers(1, 3)))
        for _ in range(paper.count(2, 6)):
            path = _hand_path(rng, rng.random(2) * (width, height), rng.uniform(150, 600), 1.5, rng.uniform(0.1, 0.4))
            _dab(draw, path, 0.7 + 0.9 * _pressure(rng, len(path)))
        paper.lay(layer, colour, rng.uniform(0.8, 1.0), softness=0.6)
    return paper.finish()


def watercolour(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Glazed washes: irregular blobs with pooled, darker edges and granulating pigment."""
    paper = _Paper(rng, width, height)
    inks = paper.inks
    for _ in range(paper.count(10, 22)):
        radius = rng.uniform(30, 150)
        corners = int(rng.integers(20, 40))
        angles = np.linspace(0, 2 * np.pi, corners, endpoint=False)
        reach = radius * (1 + 0.35 * _smooth_noise(rng, corners, 4))
        # Each wash is painted on its own patch of paper; margin leaves room for the soft edge.
        margin = int(reach.max()) + 12
        centre = rng.random(2) * (width, height)
        left, top = (int(max(c - margin, 0)) for c in centre)
        patch = Image.new("L", (min(int(centre[0]) + margin, width) - left, min(int(centre[1]) + margin, height) - top), 0)
        outline = centre - (left, top) + np.stack([np.cos(angles), np.sin(angles)], axis=1) * reach[:, None]
        ImageDraw.Draw(patch).polygon([tuple(point) for point in outline], fill=255)
        soft = patch.filter(ImageFilter.GaussianBlur(rng.uniform(2, 6)))
        # Pigment pools at a drying wash's edge: add back the rim between the sharp and the blurred mask.
        rim = np.clip(np.asarray(patch, np.float32) - np.asarray(soft.filter(ImageFilter.GaussianBlur(4)), np.float32), 0, 255)
        pooled = np.clip(np.asarray(soft, np.float32) * 0.6 + rim * 0.8, 0, 255).astype(np.uint8)
        paper.lay(Image.fromarray(pooled), pick(rng, inks), rng.uniform(0.3, 0.6), softness=1.0, origin=(left, top))
    return paper.finish()


def scribbles(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Fast looping pen scribbles, their darkness following the pressure of the hand."""
    paper = _Paper(rng, width, height)
    inks = paper.inks
    for _ in range(int(rng.integers(1, 4))):
        layer, draw = paper.mask()
        for _ in range(paper.count(3, 7)):
            path = _hand_path(rng, rng.random(2) * (width, height), rng.uniform(400, 1500), 2.0, rng.uniform(0.2, 0.7))
            # A hand bounces off the paper's edge instead of leaving it.
            path = np.abs(path)
            path = np.minimum(path, 2 * np.array([width, height]) - path)
            pressure = _pressure(rng, len(path))
            _dab(draw, path, 0.5 + rng.uniform(0.5, 1.5) * pressure, (110 + 140 * np.clip(pressure, 0, 1)).astype(int))
        paper.lay(layer, pick(rng, inks), rng.uniform(0.8, 1.0), softness=0.5)
    return paper.finish()


HAN_TECHNIQUES: dict[str, Technique] = {
    "strokes": brush_strokes,
    "hatching": pen_hatching,
    "watercolour": watercolour,
    "scribble": scribbles,
}
