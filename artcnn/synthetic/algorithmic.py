"""More generative techniques, for the algorithmic-art prior: L-system plants, noise fields,
plotter hatching, glitches, type grids, moiré rings, ridgelines and rule-driven dot grids.

The demo's `kom` class uses only the four of artcnn.synthetic.generative; the prior draws on all
of them (PRIOR_TECHNIQUES), so that a model meets more ways of making art by code than a real
collection's few artists show.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from artcnn.synthetic.canvas import Technique, canvas, filled, fractal_noise, oval, palette, pick
from artcnn.synthetic.generative import KOM_TECHNIQUES

# Classic bracketed L-systems: (axiom, rules, turning angle in degrees, iterations).
L_SYSTEMS = (
    ("X", {"X": "F+[[X]-X]-F[-FX]+X", "F": "FF"}, 25.0, 4),
    ("F", {"F": "FF-[-F+F+F]+[+F-F-F]"}, 22.5, 3),
    ("X", {"X": "F[+X]F[-X]+X", "F": "FF"}, 20.0, 5),
    ("F", {"F": "F[+F]F[-F]F"}, 25.7, 4),
)


def _turtle(program: str, angle: float, heading: float) -> np.ndarray:
    """Segments [n, 2, 2] a turtle draws for F (forward one unit), +/- (turn), [ and ] (save, restore)."""
    segments, stack = [], []
    x, y = 0.0, 0.0
    for symbol in program:
        if symbol == "F":
            step_x, step_y = np.cos(np.radians(heading)), np.sin(np.radians(heading))
            segments.append(((x, y), (x + step_x, y + step_y)))
            x, y = x + step_x, y + step_y
        elif symbol in "+-":
            heading += angle if symbol == "+" else -angle
        elif symbol == "[":
            stack.append((x, y, heading))
        elif symbol == "]":
            x, y, heading = stack.pop()
    return np.array(segments)


def l_system(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Plants grown by a bracketed L-system and drawn by a turtle: exact, self-similar branching."""
    image, draw, _, inks = canvas(rng, width, height)
    for _ in range(int(rng.integers(1, 4))):
        axiom, rules, angle, depth = L_SYSTEMS[int(rng.integers(len(L_SYSTEMS)))]
        program = axiom
        for _ in range(depth):
            program = "".join(rules.get(symbol, symbol) for symbol in program)
        segments = _turtle(program, angle, -90.0 + rng.normal(0, 5))
        lowest = segments.reshape(-1, 2).min(axis=0)
        span = np.maximum(segments.reshape(-1, 2).max(axis=0) - lowest, 1e-6)
        scale = rng.uniform(0.4, 0.9) * min(width / span[0], height / span[1])
        # Planted along the bottom edge, somewhere across the width.
        offset = np.array([rng.uniform(0, max(width - span[0] * scale, 1)), height * rng.uniform(0.9, 1.0) - span[1] * scale])
        placed = (segments - lowest) * scale + offset
        colour, line_width = pick(rng, inks), int(rng.integers(1, 3))
        for start, end in placed:
            draw.line([tuple(start), tuple(end)], fill=colour, width=line_width)
    return image


def noise_field(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Fractal noise shown as flat colour bands (a posterised map) or as its contour lines."""
    background, inks = palette(rng)
    levels = int(rng.integers(5, 16))
    bands = np.minimum((fractal_noise(rng, width, height) * levels).astype(int), levels - 1)
    colours = np.array([background, *inks], np.uint8)
    if rng.random() < 0.5:
        return Image.fromarray(colours[bands % len(colours)])
    edges = (np.diff(bands, axis=0, prepend=bands[:1]) != 0) | (np.diff(bands, axis=1, prepend=bands[:, :1]) != 0)
    pixels = filled(width, height, background)
    pixels[edges] = pick(rng, inks)
    return Image.fromarray(pixels)


def _hatch_layer(width: int, height: int, angle: float, spacing: float, line_width: int) -> np.ndarray:
    """A boolean mask of parallel straight lines across the whole canvas."""
    layer = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(layer)
    reach = float(np.hypot(width, height))
    direction = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-direction[1], direction[0]])
    centre = np.array([width / 2, height / 2])
    for offset in np.arange(-reach / 2, reach / 2, spacing):
        middle = centre + across * offset
        draw.line([tuple(middle - direction * reach), tuple(middle + direction * reach)], fill=255, width=line_width)
    return np.asarray(layer) > 0


def plotter_hatching(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Pen-plotter work: shapes filled with perfectly straight, evenly spaced hatching at one pen width."""
    background, inks = palette(rng)
    pixels = filled(width, height, background)
    line_width = int(rng.integers(1, 3))
    for _ in range(int(rng.integers(3, 12))):
        shape = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(shape)
        x, y = rng.random(2) * (width, height)
        size = rng.uniform(0.1, 0.45) * min(width, height)
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse(oval(x, y, size), fill=255)
        elif kind == 1:
            draw.rectangle([x - size, y - size * rng.uniform(0.3, 1), x + size, y + size], fill=255)
        else:
            corners = int(rng.integers(3, 7))
            angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
            draw.polygon([(x + size * np.cos(a), y + size * np.sin(a)) for a in angles], fill=255)
        hatch = _hatch_layer(width, height, rng.uniform(0, np.pi), rng.uniform(3, 10), line_width)
        pixels[(np.asarray(shape) > 0) & hatch] = pick(rng, inks)
    return Image.fromarray(pixels)


def glitch(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Glitch art: a generated image with displaced row bands, shifted colour channels and sorted pixels."""
    bases = [technique for name, technique in sorted(KOM_TECHNIQUES.items())]
    pixels = np.asarray(bases[int(rng.integers(len(bases)))](rng, width, height)).copy()
    for _ in range(int(rng.integers(3, 12))):
        top = int(rng.integers(0, height))
        rows = slice(top, min(height, top + int(rng.integers(4, max(5, height // 8)))))
        pixels[rows] = np.roll(pixels[rows], int(rng.integers(-width // 4, width // 4)), axis=1)
    for channel in range(3):
        pixels[..., channel] = np.roll(pixels[..., channel], int(rng.integers(-8, 9)), axis=int(rng.integers(2)))
    luma = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    for _ in range(int(rng.integers(1, 6))):
        top, left = int(rng.integers(0, height)), int(rng.integers(0, width // 2))
        rows = slice(top, min(height, top + int(rng.integers(10, max(11, height // 4)))))
        columns = slice(left, min(width, left + int(rng.integers(width // 8, width // 2 + 1))))
        order = np.argsort(luma[rows, columns], axis=1)
        pixels[rows, columns] = np.take_along_axis(pixels[rows, columns], order[..., None], axis=1)
    return Image.fromarray(pixels)


TYPE_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789#%&*+=/<>?@"


def typography_grid(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Type set by code on a strict grid: one glyph per cell, cells coloured from the palette."""
    image, draw, background, inks = canvas(rng, width, height)
    cell = int(rng.uniform(0.05, 0.2) * min(width, height)) + 8
    font = ImageFont.load_default(size=int(cell * rng.uniform(0.5, 0.9)))
    text = "".join(rng.choice(list(TYPE_CHARACTERS), int(rng.integers(1, 6))))
    fill_share = rng.uniform(0, 0.6)
    margin = int(rng.integers(0, cell // 2 + 1))
    for index, top in enumerate(range(margin, height - cell + 1, cell)):
        for column, left in enumerate(range(margin, width - cell + 1, cell)):
            colour = pick(rng, inks)
            if rng.random() < fill_share:
                draw.rectangle([left, top, left + cell - 1, top + cell - 1], fill=colour)
                colour = background
            glyph = text[(index * 7 + column) % len(text)]
            draw.text((left + cell / 2, top + cell / 2), glyph, fill=colour, font=font, anchor="mm")
    return image


def concentric_rings(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Hundreds of thin concentric outlines around drifting centres: moiré from exact repetition."""
    image, draw, _, inks = canvas(rng, width, height)
    centre = np.array([width, height]) * rng.uniform(0.3, 0.7, 2)
    drift = rng.normal(0, 0.6, 2)
    largest = rng.uniform(0.2, 0.7) * min(width, height)
    squash = rng.uniform(0.6, 1.0)
    colour = pick(rng, inks)
    for radius in np.arange(largest, 2, -rng.uniform(2, 6)):
        x, y = centre + drift * (largest - radius)
        draw.ellipse(oval(x, y, radius, squash), outline=colour, width=1)
    return image


def wave_lines(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Stacked horizontal lines displaced by noise, each hiding the ones behind it (a ridgeline plot)."""
    image, draw, background, inks = canvas(rng, width, height)
    lines = int(rng.integers(20, 80))
    xs = np.linspace(0, width, int(rng.integers(80, 300)))
    colour = pick(rng, inks)
    amplitude = rng.uniform(0.02, 0.15) * height
    for base in np.linspace(height * 0.1, height * 0.95, lines):
        envelope = np.exp(-((xs - width / 2) / (width * rng.uniform(0.1, 0.3))) ** 2)
        bumps = sum(np.sin(xs * rng.uniform(0.005, 0.05) + rng.uniform(0, 2 * np.pi)) for _ in range(3))
        ys = base - amplitude * envelope * np.abs(bumps) - rng.random(len(xs)) * 2
        points = list(zip(xs, ys))
        draw.polygon(points + [(width, height), (0, height)], fill=background)
        draw.line(points, fill=colour, width=int(rng.integers(1, 3)))
    return image


def dot_grid(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A regular grid of discs whose size and colour follow a rule with random exceptions."""
    image, draw, _, inks = canvas(rng, width, height)
    step = rng.uniform(0.03, 0.12) * min(width, height)
    margin = rng.uniform(0.5, 2.0) * step
    rule = rng.integers(3)
    for row, y in enumerate(np.arange(margin, height - margin + 1, step)):
        for column, x in enumerate(np.arange(margin, width - margin + 1, step)):
            if rule == 0:
                radius = step * 0.4
            elif rule == 1:
                radius = step * 0.45 * (0.5 + 0.5 * np.sin(row * 0.5 + column * 0.3))
            else:
                radius = step * 0.45 * float(np.hypot(x - width / 2, y - height / 2) / np.hypot(width, height) * 2)
            if rng.random() < 0.05 or radius < 0.5:
                continue
            draw.ellipse(oval(x, y, radius), fill=pick(rng, inks))
    return image


PRIOR_TECHNIQUES: dict[str, Technique] = {
    **KOM_TECHNIQUES,
    "lsystem": l_system,
    "noisefield": noise_field,
    "plotterhatching": plotter_hatching,
    "glitch": glitch,
    "typographygrid": typography_grid,
    "rings": concentric_rings,
    "wavelines": wave_lines,
    "dotgrid": dot_grid,
}
