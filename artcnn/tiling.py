"""Artworks → tiles: square tiles cut at seeded random places or on a grid, blank ones left out.

Dataset building, prediction and the prior cut tiles with the same `cut_tiles`, so a model always
sees tiles prepared the way it was trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from artcnn.config import TilingConfig
from artcnn.images import ensure_min_side, fit_long_side

# A random artwork gets this many candidate positions per wanted tile before we accept fewer tiles.
CANDIDATES_PER_TILE = 20
# ITU-R BT.601 luma weights, as Pillow's own "L" conversion uses.
_GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Tile:
    # Position and side in the coordinates of the image passed to cut_tiles.
    x: int
    y: int
    size: int
    # uint8 (tile_size, tile_size, 3), cut from the resized artwork.
    pixels: np.ndarray
    # The whole-view tile (TilingConfig.whole_view): the artwork reduced, not a detail of it.
    whole: bool = False


@dataclass(frozen=True)
class TileCut:
    tiles: list[Tile]
    # Candidate tiles skipped as near-blank.
    blank_skipped: int
    # The artwork was smaller than a tile and was upscaled on its short side.
    upscaled: bool


def tile_file_name(stem: str, tile: Tile) -> str:
    """Where a tile of the artwork named `stem` is written: `<stem>_x<x>_y<y>.png`, or `<stem>_whole.png` for its
    whole view (which may share a detail's place)."""
    return f"{stem}_whole.png" if tile.whole else f"{stem}_x{tile.x}_y{tile.y}.png"


def is_blank(pixels: np.ndarray, threshold: float) -> bool:
    """True when the tile's grey-level standard deviation (0-1 scale) is below `threshold`."""
    grey = pixels.astype(np.float32) @ _GREY_WEIGHTS
    return float(grey.std()) / 255.0 < threshold


def cut_tiles(
    image: Image.Image,
    config: TilingConfig,
    rng: np.random.Generator | None = None,
    *,
    grid: bool | None = None,
    max_tiles: int | None = None,
    keep_blank: bool = False,
) -> TileCut:
    """Square tiles of `config.tile_size` from one RGB artwork, at seeded random places or on a grid.

    Random mode (the study's) needs `rng`; grid mode covers the whole artwork, and `max_tiles`
    keeps an evenly spread subset of the grid. `keep_blank` returns the blank tiles of an
    artwork that has nothing else, so prediction still has something to classify. With
    `config.whole_view` the whole-artwork tile comes last, beyond `tiles_per_artwork` and `max_tiles`.
    """
    use_grid = config.grid if grid is None else grid
    if not use_grid and rng is None:
        raise ValueError("cut_tiles needs rng (a numpy Generator) for random tile positions. Received: rng=None")
    if max_tiles is not None and max_tiles < 1:
        raise ValueError(f"max_tiles must be at least 1. Received: max_tiles={max_tiles}")
    if image.mode != "RGB":
        raise ValueError(f"cut_tiles expects an RGB image (see images.load_artwork). Received: mode={image.mode!r}")
    side = config.tile_size
    work, upscaled = ensure_min_side(fit_long_side(image, config.long_side), side)
    pixels = np.asarray(work)
    scale_x, scale_y = image.width / work.width, image.height / work.height
    shown_size = max(1, min(round(side * min(scale_x, scale_y)), image.width, image.height))

    def to_tile(x: int, y: int) -> Tile:
        return Tile(
            x=min(round(x * scale_x), image.width - shown_size),
            y=min(round(y * scale_y), image.height - shown_size),
            size=shown_size,
            pixels=np.ascontiguousarray(pixels[y : y + side, x : x + side]),
        )

    if use_grid:
        candidates = _grid_positions(work.width, work.height, side, max_tiles)
        wanted = None
    else:
        candidates = _random_positions(rng, work.width, work.height, side, config.tiles_per_artwork)
        wanted = config.tiles_per_artwork

    tiles: list[Tile] = []
    blank: list[Tile] = []
    blank_skipped = 0
    seen: set[tuple[int, int]] = set()
    for x, y in candidates:
        tile = to_tile(x, y)
        # Upscaled artworks can map two nearby positions onto one; a tile is kept once.
        if (tile.x, tile.y) in seen:
            continue
        seen.add((tile.x, tile.y))
        if is_blank(tile.pixels, config.blank_threshold):
            blank_skipped += 1
            if keep_blank and (wanted is None or len(blank) < wanted):
                blank.append(tile)
            continue
        tiles.append(tile)
        if wanted is not None and len(tiles) == wanted:
            break
    if config.whole_view:
        whole = _whole_view(image, work, side)
        # A tile already cut at its place and size shows the same pixels (the artwork is one tile wide).
        if whole.size != shown_size or (whole.x, whole.y) not in seen:
            if not is_blank(whole.pixels, config.blank_threshold):
                tiles.append(whole)
            elif keep_blank:
                blank.append(whole)
    if not tiles and keep_blank:
        return TileCut(tiles=blank, blank_skipped=0, upscaled=upscaled)
    return TileCut(tiles=tiles, blank_skipped=blank_skipped, upscaled=upscaled)


def _whole_view(image: Image.Image, work: Image.Image, side: int) -> Tile:
    """The centre square of `work` reduced until its short side is `side`, placed in `image`'s coordinates."""
    scale = side / min(work.size)
    if scale < 1:
        size = (max(side, round(work.width * scale)), max(side, round(work.height * scale)))
        work = work.resize(size, Image.LANCZOS)
    left, top = (work.width - side) // 2, (work.height - side) // 2
    shown = min(image.width, image.height)
    return Tile(x=(image.width - shown) // 2, y=(image.height - shown) // 2, size=shown,
                pixels=np.ascontiguousarray(np.asarray(work)[top : top + side, left : left + side]), whole=True)


def _random_positions(rng: np.random.Generator, width: int, height: int, side: int, wanted: int):
    for _ in range(wanted * CANDIDATES_PER_TILE):
        yield int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))


def _axis_positions(length: int, side: int) -> list[int]:
    # The last tile is aligned to the far edge, so the grid covers every pixel.
    positions = list(range(0, length - side + 1, side))
    if positions[-1] != length - side:
        positions.append(length - side)
    return positions


def _grid_positions(width: int, height: int, side: int, max_tiles: int | None) -> list[tuple[int, int]]:
    xs, ys = _axis_positions(width, side), _axis_positions(height, side)
    if max_tiles is not None and len(xs) * len(ys) > max_tiles:
        # Thin both axes by the same factor, so the subset keeps the artwork's proportions.
        factor = math.sqrt(len(xs) * len(ys) / max_tiles)
        keep_x = max(1, min(len(xs), int(len(xs) / factor)))
        keep_y = max(1, min(len(ys), max_tiles // keep_x))
        xs, ys = _spread(xs, keep_x), _spread(ys, keep_y)
    return [(x, y) for y in ys for x in xs]


def _spread(values: list[int], count: int) -> list[int]:
    return [values[i] for i in np.linspace(0, len(values) - 1, count).round().astype(int)]

