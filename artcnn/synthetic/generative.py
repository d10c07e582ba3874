"""Generative techniques of the `kom` demo class: how code draws, crisp, exact and regular.

Flow fields, Truchet tiles, circle packing and recursive subdivision: the techniques the demo
collection and the shipped demo model know. More of them, for the algorithmic-art prior, are in
artcnn.synthetic.algorithmic.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from artcnn.synthetic.canvas import Technique, canvas, oval, pick


def flow_field(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Particles following an angle field made of a few sine waves, traced as exact polylines."""
    image, draw, _, inks = canvas(rng, width, height)
    waves = [(rng.normal(0, 0.012, 2), rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.5)) for _ in range(3)]

    def angle(points: np.ndarray) -> np.ndarray:
        return sum(amp * np.pi * np.sin(points @ freq + phase) for freq, phase, amp in waves)

    count = int(width * height / rng.uniform(400, 1200))
    points = rng.random((count, 2)) * (width, height)
    step, line_width = rng.uniform(1.5, 4.0), int(rng.integers(1, 4))
    path = [points]
    for _ in range(int(rng.integers(40, 120))):
        theta = angle(path[-1])
        path.append(path[-1] + step * np.stack([np.cos(theta), np.sin(theta)], axis=1))
    trails = np.stack(path, axis=1)
    colours = [pick(rng, inks) for _ in range(count)]
    for trail, colour in zip(trails, colours):
        draw.line([tuple(point) for point in trail], fill=colour, width=line_width)
    return image


def truchet(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Truchet tiles: each square cell holds two quarter arcs (or a diagonal) in one of two orientations."""
    image, draw, _, inks = canvas(rng, width, height)
    cell = int(rng.integers(20, 64))
    line_width = max(1, int(cell * rng.uniform(0.08, 0.3)))
    colour, fill = inks[0], inks[1 % len(inks)]
    diagonal = rng.random() < 0.3
    for top in range(0, height, cell):
        for left in range(0, width, cell):
            flip = rng.random() < 0.5
            if rng.random() < 0.25:
                draw.rectangle([left, top, left + cell - 1, top + cell - 1], fill=fill)
            if diagonal:
                start, end = ((left, top), (left + cell, top + cell)) if flip else ((left + cell, top), (left, top + cell))
                draw.line([start, end], fill=colour, width=line_width)
                continue
            # Angles are Pillow's: degrees clockwise from 3 o'clock; each quarter stays inside its cell.
            arcs = [(left, top, 0), (left + cell, top + cell, 180)] if flip else [(left + cell, top, 90), (left, top + cell, 270)]
            half = cell // 2
            for cx, cy, start in arcs:
                draw.arc([cx - half, cy - half, cx + half, cy + half], start, start + 90, fill=colour, width=line_width)
    return image


def circle_packing(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Circles placed at random where they fit, each as large as its free space allows."""
    image, draw, _, inks = canvas(rng, width, height)
    smallest, largest = rng.uniform(2, 6), rng.uniform(30, 120)
    gap = rng.uniform(1, 4)
    centres = np.empty((0, 2))
    radii = np.empty(0)
    rings = rng.random() < 0.5
    for candidate in rng.random((3000, 2)) * (width, height):
        room = min(candidate[0], candidate[1], width - candidate[0], height - candidate[1])
        if len(radii):
            room = min(room, float((np.hypot(*(centres - candidate).T) - radii).min()) - gap)
        if room < smallest:
            continue
        radius = min(room, largest)
        centres, radii = np.vstack([centres, candidate]), np.append(radii, radius)
        x, y = candidate
        draw.ellipse(oval(x, y, radius), fill=pick(rng, inks))
        if rings:
            for inner in np.arange(radius * 0.7, 1, -max(3.0, radius * 0.2)):
                draw.ellipse(oval(x, y, inner), outline=pick(rng, inks), width=1)
    return image


def subdivision(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Recursive subdivision: rectangles split at random ratios, filled flat, striped or dotted."""
    image, draw, _, inks = canvas(rng, width, height)
    gap = int(rng.integers(2, 7))
    smallest = rng.uniform(30, 90)

    def fill(left: float, top: float, right: float, bottom: float) -> None:
        colour, other = pick(rng, inks), pick(rng, inks)
        box = [left + gap, top + gap, right - gap, bottom - gap]
        if box[2] <= box[0] or box[3] <= box[1]:
            return
        draw.rectangle(box, fill=colour)
        pattern, spacing = rng.integers(3), int(rng.integers(4, 12))
        if pattern == 1:
            for x in range(int(box[0]), int(box[2]), spacing):
                draw.line([(x, box[1]), (x, box[3])], fill=other, width=max(1, spacing // 3))
        elif pattern == 2:
            for y in range(int(box[1]) + spacing // 2, int(box[3]), spacing):
                for x in range(int(box[0]) + spacing // 2, int(box[2]), spacing):
                    draw.ellipse(oval(x, y, spacing / 4), fill=other)

    def split(left: float, top: float, right: float, bottom: float, depth: int) -> None:
        w, h = right - left, bottom - top
        if depth > 7 or max(w, h) < 2 * smallest or (depth > 1 and rng.random() < 0.15):
            fill(left, top, right, bottom)
            return
        ratio = rng.uniform(0.3, 0.7)
        if w >= h:
            middle = left + w * ratio
            split(left, top, middle, bottom, depth + 1)
            split(middle, top, right, bottom, depth + 1)
        else:
            middle = top + h * ratio
            split(left, top, right, middle, depth + 1)
            split(left, middle, right, bottom, depth + 1)

    split(0, 0, width, height, 0)
    return image


KOM_TECHNIQUES: dict[str, Technique] = {
    "flowfield": flow_field,
    "truchet": truchet,
    "circlepacking": circle_packing,
    "subdivision": subdivision,
}
