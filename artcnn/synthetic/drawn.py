"""Hand-drawn line art on white: mouse or pen-tablet doodles and pencil sketches.

The hand-made sources every other lever misses are clean lines on a white sheet, which global
statistics and tiles alike read as code output. These techniques give the `han` side of training
such pictures: outlines a hand drew with a mouse (straight-ish segments, jittered corners, one
ink of one width, overshooting closures) and graphite sketches (repeated searching contours,
hatched shading, grain breaking up the tone) on plain or off-white paper. Pen-and-ink drawings (hatching
whose density follows the shade, swelling contours, solid masses of black, scanned) are made for the
statistics head alone (artcnn.head_examples).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from artcnn.synthetic.canvas import Technique, oval
from artcnn.synthetic.handmade import _dab, _hand_path, _pressure, _smooth_noise


def _outline(rng: np.random.Generator, centre: np.ndarray, radii: np.ndarray, corners: int, bumps: int) -> np.ndarray:
    """A closed shape as a hand goes round it: an ellipse with random bulges and, for `bumps` > 0, scallops;
    the end overshoots or falls short of the start."""
    turn = rng.uniform(0.9, 1.12) * 2 * np.pi
    angles = rng.uniform(0, 2 * np.pi) + np.linspace(0, turn, corners)
    reach = 1 + 0.25 * _smooth_noise(rng, corners, max(corners / 5, 1))
    if bumps:
        reach += rng.uniform(0.08, 0.2) * np.abs(np.sin(angles * bumps / 2))
    return centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii * reach[:, None]


def _continuous(corners: np.ndarray) -> np.ndarray:
    """Points one pixel apart along the straight runs between `corners`: one dab each draws an unbroken line."""
    steps = np.linalg.norm(np.diff(corners, axis=0), axis=1)
    along = np.concatenate([[0], np.cumsum(steps)])
    at = np.arange(0, along[-1], 1.0)
    return np.stack([np.interp(at, along, corners[:, 0]), np.interp(at, along, corners[:, 1])], axis=1)


def _mouse_line(rng: np.random.Generator, corners: np.ndarray, jitter: float) -> list[tuple[float, float]]:
    """Straight runs between the corners a mouse hand aims at, each corner missed by a little."""
    points = corners + rng.normal(0, jitter, corners.shape)
    return [tuple(point) for point in points]


def mouse_doodle(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A figure drawn with a mouse in a paint program: a few closed outlines, open strokes for limbs and
    details, the odd scribbled fill, all in one ink of one width on a white canvas."""
    scale = min(width, height)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    ink = (0, 0, 0) if rng.random() < 0.8 else tuple(int(v) for v in rng.integers(0, 120, 3))
    line = max(1, round(scale / 768 * rng.uniform(1.5, 4)))
    jitter = scale * rng.uniform(0.002, 0.008)
    centre = np.array([width, height]) * rng.uniform(0.35, 0.65, 2)
    body = np.array([width, height]) * rng.uniform(0.15, 0.32, 2)
    shapes = [_outline(rng, centre, body, int(rng.integers(12, 40)), int(rng.integers(0, 14)))]
    for _ in range(int(rng.integers(0, 3))):
        side = centre + body * rng.uniform(-1.1, 1.1, 2)
        shapes.append(_outline(rng, side, body * rng.uniform(0.2, 0.45), int(rng.integers(6, 18)), 0))
    for _ in range(int(rng.integers(1, 7))):
        start = centre + body * rng.uniform(-1, 1, 2)
        steps = int(rng.integers(2, 5))
        heading = rng.uniform(0, 2 * np.pi)
        moves = np.cumsum(rng.uniform(0.1, 0.5) * scale / steps * np.stack(
            [np.cos(heading + rng.normal(0, 0.4, steps)), np.sin(heading + rng.normal(0, 0.4, steps))], axis=1), axis=0)
        shapes.append(np.vstack([start, start + moves]))
    for _ in range(int(rng.integers(0, 3))):
        # A scribbled fill: fast zigzags inside a small patch.
        patch = centre + body * rng.uniform(-0.8, 0.8, 2)
        shapes.append(patch + rng.uniform(-1, 1, (int(rng.integers(8, 30)), 2)) * scale * rng.uniform(0.03, 0.1))
    for shape in shapes:
        draw.line(_mouse_line(rng, shape, jitter), fill=ink, width=line, joint="curve" if rng.random() < 0.5 else None)
    for _ in range(int(rng.integers(0, 4))):
        dot = centre + body * rng.uniform(-1, 1, 2)
        draw.ellipse(oval(dot[0], dot[1], line * rng.uniform(0.8, 2.5)), fill=ink)
    return image


def pencil_sketch(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A graphite (now and then ballpoint) study on white or cream paper: a subject searched for with
    several light contour passes, hatched shading on one side, a few dark accents, grain breaking up the tone."""
    scale = min(width, height)
    paper = np.array([255, 255, 255], np.float32) - rng.uniform(0, 18) * np.array([0.6, 0.8, 1.2])
    ink = np.array([40, 45, 110], np.float32) if rng.random() < 0.2 else np.full(3, rng.uniform(20, 70), np.float32)
    tone = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(tone)
    for _ in range(int(rng.integers(1, 4))):
        centre = np.array([width, height]) * rng.uniform(0.3, 0.7, 2)
        radii = np.array([width, height]) * rng.uniform(0.08, 0.3, 2)
        for _ in range(int(rng.integers(2, 6))):
            corners = _outline(rng, centre + rng.normal(0, scale * 0.01, 2), radii * rng.uniform(0.95, 1.05),
                               int(rng.integers(20, 60)), 0)
            # A pencil line is continuous, pressure varying along it.
            contour = _continuous(corners)
            pressure = _pressure(rng, len(contour))
            _dab(draw, contour, np.maximum(0.5, scale / 700 * (0.5 + pressure)),
                 (80 + 175 * np.minimum(pressure, 1)).astype(int))
        # Shading: near-parallel strokes over the subject's shadow side.
        light = rng.uniform(0, 2 * np.pi)
        direction = rng.uniform(0, np.pi)
        along = np.array([np.cos(direction), np.sin(direction)])
        for _ in range(int(rng.integers(40, 400))):
            offset = rng.normal(0, 0.5, 2) * radii + np.array([np.cos(light), np.sin(light)]) * radii * 0.4
            half = scale * rng.uniform(0.01, 0.05)
            middle = centre + offset
            path = middle + np.linspace(-half, half, max(int(half), 2))[:, None] * (along + rng.normal(0, 0.05, 2))
            draw.line([tuple(point) for point in path], fill=int(rng.integers(60, 200)), width=max(1, round(scale / 600)))
    for _ in range(int(rng.integers(0, 6))):
        path = _hand_path(rng, np.array([width, height]) * rng.uniform(0.2, 0.8, 2), scale * rng.uniform(0.05, 0.2),
                          1.5, rng.uniform(0.1, 0.4))
        draw.line([tuple(point) for point in path], fill=int(rng.integers(180, 256)), width=max(1, round(scale / 400)))
    # Graphite catches only the paper's raised grain, so the tone breaks up into specks.
    grain = np.clip(rng.normal(0.75, 0.3, (height, width)), 0, 1).astype(np.float32)
    alpha = np.asarray(tone.filter(ImageFilter.GaussianBlur(0.6)), np.float32) / 255.0 * grain
    pixels = paper + (ink - paper) * alpha[..., None]
    pixels += rng.normal(0, 1.5, (height, width, 1))
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


def ink_drawing(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A pen-and-ink drawing, scanned: subjects outlined in one to three passes of a pen whose line swells and
    thins, shaded by short slightly bent hatching strokes, as dense as the shade is dark and crossed by a second
    direction in the darkest parts, a few masses filled solid black; uneven ink, the scanner's noise, and now and
    then the paper levelled to white as a cleaned scan has it."""
    scale = min(width, height)
    ink_mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(ink_mask)
    subjects_mask = Image.new("L", (width, height), 0)
    pen = scale / 768 * rng.uniform(1.0, 3.0)
    subjects = []
    for _ in range(int(rng.integers(1, 4))):
        centre = np.array([width, height]) * rng.uniform(0.3, 0.7, 2)
        radii = np.array([width, height]) * rng.uniform(0.1, 0.35, 2)
        corners = _outline(rng, centre, radii, int(rng.integers(20, 70)), int(rng.integers(0, 10)))
        ImageDraw.Draw(subjects_mask).polygon([tuple(point) for point in corners], fill=255)
        subjects.append((centre, radii, corners))
    # The shade: dark inside the subjects, softening towards their edges.
    shade = np.asarray(subjects_mask.filter(ImageFilter.GaussianBlur(scale * 0.03)), np.float32) / 255
    shade *= 0.4 + 0.6 * rng.random()
    first = rng.uniform(0, np.pi)
    for layer, direction in enumerate((first, first + rng.uniform(0.6, 1.2))):
        along = np.array([np.cos(direction), np.sin(direction)])
        across = np.array([along[1], -along[0]])
        for _ in range(int(rng.integers(200, 1500))):
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            # The crossing direction only where the shade is darkest.
            if rng.random() > (1.6 * shade[int(y), int(x)] if layer == 0 else 0.8 * shade[int(y), int(x)] - 0.35):
                continue
            half = scale * rng.uniform(0.01, 0.04)
            count = max(int(half), 3)
            offsets = np.linspace(-half, half, count)
            path = (np.array([x, y]) + offsets[:, None] * along
                    + (rng.normal(0, 0.15) * offsets ** 2 / max(half, 1))[:, None] * across)
            _dab(draw, path, np.maximum(0.5, pen * 0.5 * _pressure(rng, count)))
    for centre, radii, corners in subjects:
        for _ in range(int(rng.integers(1, 3))):
            contour = _continuous(corners + rng.normal(0, scale * 0.003, corners.shape))
            _dab(draw, contour, np.maximum(0.6, pen * (0.4 + _pressure(rng, len(contour)))))
        for _ in range(int(rng.integers(3, 25))):
            path = _hand_path(rng, centre + radii * rng.uniform(-0.8, 0.8, 2), scale * rng.uniform(0.02, 0.12), 1.0,
                              rng.uniform(0.2, 0.6))
            _dab(draw, path, np.maximum(0.5, pen * 0.6 * _pressure(rng, len(path))))
    for _ in range(int(rng.integers(0, 4))):
        mass = _outline(rng, np.array([width, height]) * rng.uniform(0.1, 0.9, 2),
                        np.array([width, height]) * rng.uniform(0.03, 0.2, 2), int(rng.integers(10, 40)), 0)
        draw.polygon([tuple(point) for point in mass], fill=255)
    alpha = np.asarray(ink_mask.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2))), np.float32) / 255
    paper = np.array([255, 255, 255], np.float32) - rng.uniform(0, 25) * np.array([0.6, 0.8, 1.2])
    ink = np.full(3, rng.uniform(0, 60), np.float32) + rng.normal(0, 8, 3)
    coverage = alpha * np.clip(rng.normal(0.9, 0.1, (height, width)), 0, 1)
    pixels = paper + (ink - paper) * coverage[..., None] + rng.normal(0, rng.uniform(1, 4), (height, width, 3))
    if rng.random() < 0.5:
        pixels[(pixels > 225).all(axis=2)] = 255
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


DRAWN_TECHNIQUES: dict[str, Technique] = {
    "mouse doodle": mouse_doodle,
    "pencil sketch": pencil_sketch,
}
# Techniques whose drawings reach a collection as lossless files: a paint program saves a mouse doodle as PNG,
# exactly flat ink on white, while a pencil sketch arrives as a (JPEG) scan.
SAVED_LOSSLESS = frozenset({"mouse doodle"})
