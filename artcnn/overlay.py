"""Pictures of classification results: an artwork with its tiles' probabilities drawn over it, and
small thumbnails for result tables. Pillow only, so a page draws them without TensorFlow.
"""

from __future__ import annotations

import base64
import colorsys
import io
import os
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from artcnn.config import ImageLimits
from artcnn.images import load_artwork

# The first classes' colours (Streamlit's blue, orange, green, red, violet, brown); later classes get
# hues spread by the golden angle, so any number of classes have distinct colours.
CLASS_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))
_GOLDEN_TURN = 0.6180339887498949
# Thumbnails only need a small decode: JPEG draft mode then reads a 50-Mpixel scan in a fraction of the time.
THUMBNAIL_LIMITS = ImageLimits(decode_pixels=2_000_000)
# A tile drawn smaller than this (in screen pixels) gets its outline but no number.
_MIN_LABELLED_SIDE = 24
# The tint of the surest tiles: light, so the artwork shows through (a page lets the user change it).
DEFAULT_OPACITY = 0.35

TileBox = tuple[int, int, int, Sequence[float]]


def class_colour(index: int) -> tuple[int, int, int]:
    """The colour of the class at `index` (its position in the model's classes)."""
    if index < 0:
        raise ValueError(f"index must be a class position, 0 or more. Received: index={index}")
    if index < len(CLASS_COLOURS):
        return CLASS_COLOURS[index]
    red, green, blue = colorsys.hsv_to_rgb((index * _GOLDEN_TURN) % 1.0, 0.8, 0.85)
    return round(red * 255), round(green * 255), round(blue * 255)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(size, 8))


def _check_boxes(image: Image.Image, tile_boxes: Sequence[TileBox], classes: Sequence[str]) -> None:
    if len(classes) < 2:
        raise ValueError(f"classes must name at least two classes. Received: classes={list(classes)}")
    for x, y, size, probabilities in tile_boxes:
        if len(probabilities) != len(classes):
            raise ValueError(f"each tile needs one probability per class ({len(classes)}). "
                             f"Received: {list(probabilities)} for the tile at x={x}, y={y}")
        if x < 0 or y < 0 or size < 1 or x + size > image.width or y + size > image.height:
            raise ValueError(
                f"the tile at x={x}, y={y}, size={size} lies outside the {image.width}×{image.height} image; "
                "draw over the picture the tiles were cut from (images.read_at_size, at the size classified)."
            )


def draw_tile_probabilities(image: Image.Image, tile_boxes: Sequence[TileBox], classes: Sequence[str], *,
                            max_side: int = 1200, opacity: float = DEFAULT_OPACITY) -> Image.Image:
    """The artwork scaled to fit `max_side`, each tile outlined in its likelier class's colour under a light
    tint of it (`opacity` at the surest, less when unsure; 0 draws outlines only) and numbered in a corner as
    in `tile_table`, and a legend of the classes below. The artwork stays visible: no text over it but the
    small numbers, each left out where it would cover another.

    tile_boxes: (x, y, size, per-class probabilities), as in prediction.ArtworkResult.tile_boxes, in the
    coordinates of `image`.
    """
    if max_side < 64:
        raise ValueError(f"max_side must be at least 64. Received: max_side={max_side}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1]. Received: opacity={opacity}")
    _check_boxes(image, tile_boxes, classes)
    scale = min(1.0, max_side / max(image.size))
    shown = image.convert("RGB").resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    tint = Image.new("RGBA", shown.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(tint)
    boxes = []
    chance = 1.0 / len(classes)
    for x, y, size, probabilities in tile_boxes:
        winner = max(range(len(classes)), key=lambda index: probabilities[index])
        sureness = (probabilities[winner] - chance) / (1.0 - chance)
        box = [round(x * scale), round(y * scale), round((x + size) * scale) - 1, round((y + size) * scale) - 1]
        boxes.append((box, class_colour(winner), round(255 * opacity * (0.25 + 0.75 * sureness))))
    # Drawn on one layer, overlapping tiles (the grid's last row and column) replace rather than stack; larger
    # first (a stable sort keeps the grid's order), so a whole-view tile lies under the details it holds.
    layered = [boxes[index] for index in sorted(range(len(boxes)), key=lambda index: -tile_boxes[index][2])]
    for box, colour, alpha in layered:
        draw.rectangle(box, fill=(*colour, alpha))
    for box, colour, _ in layered:  # outlines last, so a neighbour's tint never hides one
        draw.rectangle(box, outline=(*colour, 255), width=2)
    result = Image.alpha_composite(shown.convert("RGBA"), tint)
    draw = ImageDraw.Draw(result)
    font, written = _font(11), []
    for number, (box, colour, _) in enumerate(boxes, start=1):
        place = draw.textbbox((box[0] + 4, box[1] + 3), str(number), font=font)
        place = (place[0] - 2, place[1] - 1, place[2] + 2, place[3] + 1)
        if box[2] - box[0] < _MIN_LABELLED_SIDE or any(
                place[0] < other[2] and other[0] < place[2] and place[1] < other[3] and other[1] < place[3]
                for other in written):
            continue
        written.append(place)
        draw.rectangle(place, fill=(255, 255, 255, 255), outline=(*colour, 255))
        draw.text((box[0] + 4, box[1] + 3), str(number), fill="black", font=font)
    return _with_legend(result.convert("RGB"), classes)


def tile_table(tile_boxes: Sequence[TileBox], classes: Sequence[str]) -> list[dict]:
    """One row per tile, numbered as draw_tile_probabilities numbers them: its place, side and the
    probability of each class."""
    return [{"tile": number, "x": x, "y": y, "side": size,
             **{f"p({name})": round(float(p), 4) for name, p in zip(classes, probabilities)}}
            for number, (x, y, size, probabilities) in enumerate(tile_boxes, start=1)]


def _with_legend(image: Image.Image, classes: Sequence[str]) -> Image.Image:
    """The image above a legend of class colours, wrapped onto as many rows as the classes need."""
    font = _font(14)
    measure = ImageDraw.Draw(image)
    places, left, row = [], 6, 0
    for name in classes:
        width = 30 + round(measure.textlength(name, font=font))
        if left > 6 and left + width > image.width:
            left, row = 6, row + 1
        places.append((left, image.height + 5 + 22 * row))
        left += width
    framed = Image.new("RGB", (image.width, image.height + 24 + 22 * row), "white")
    framed.paste(image, (0, 0))
    draw = ImageDraw.Draw(framed)
    for index, (name, (left, top)) in enumerate(zip(classes, places)):
        draw.rectangle([left, top, left + 13, top + 13], fill=class_colour(index))
        draw.text((left + 18, top - 1), name, fill="black", font=font)
    return framed


def thumbnail_data_url(path: str | os.PathLike, side: int = 96, limits: ImageLimits = THUMBNAIL_LIMITS) -> str:
    """A JPEG thumbnail of an artwork (longest side `side`) as a data: URL for a table's image column.

    Raises images.ArtworkError for a file that cannot be read.
    """
    if side < 8:
        raise ValueError(f"side must be at least 8. Received: side={side}")
    image = load_artwork(path, limits)
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
