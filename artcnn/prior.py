"""The algorithmic-art prior: synthetic tiles from the generative techniques, added to a training set
so that a model meets more ways of making art by code than the few artists of a real collection.

The tiles are cut the way the dataset's own tiles were (size, blank threshold, random placement),
so they differ from real tiles only in what is drawn on them.
"""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from artcnn.progress import ProgressCallback, emit

if TYPE_CHECKING:
    import pandas as pd
    from PIL import Image

    from artcnn.config import TilingConfig

# prior_tiles gives up after this many synthetic artworks per wanted tile without enough non-blank tiles.
MAX_PRIOR_ARTWORKS_PER_TILE = 5
# Sides of a synthetic artwork, in tiles: 256-px tiles come from 640-1024 px artworks, as in real collections.
PRIOR_SIDES = (2.5, 4.0)


def prior_count(rows: "pd.DataFrame", ratio: float, target_class: str) -> int:
    """How many tiles `ratio` asks for: that many per tile of `target_class` among manifest `rows` (one row a
    tile, with its class), the tiles a fit trains on."""
    if ratio < 0:
        raise ValueError(f"ratio must be at least 0. Received: ratio={ratio}")
    return round(ratio * int((rows["class"] == target_class).sum()))


def prior_tiles(dataset_dir: str | os.PathLike, folder: str | os.PathLike, ratio: float, *,
                rows: "pd.DataFrame | None" = None, target_class: str = "kom", seed: int = 0,
                progress: ProgressCallback | None = None) -> dict[str, list[str]]:
    """Synthetic tiles from every generative technique (PRIOR_TECHNIQUES), `ratio` of them per real
    tile of `target_class` among manifest `rows` (default: the whole dataset), cut the way the dataset's
    tiles were, written as PNGs into `folder`. Tile i depends on `seed` and i only: fewer rows get the first
    of another fit's tiles.

    Each synthetic artwork is drawn at twice its size and reduced (the anti-aliasing of Processing
    and p5 sketches) and passes through JPEG once, as exported works do, so that neither jagged
    edges nor missing compression marks them as synthetic. Returns {target_class: [tile files]}.
    """
    from artcnn import data
    from artcnn.synthetic import PRIOR_TECHNIQUES

    info = data.read_dataset(dataset_dir)
    if target_class not in info.classes:
        raise ValueError(f"the algorithmic-art prior adds tiles to class {target_class}, but dataset {info.path} "
                         f"has no such class (classes: {', '.join(info.classes)}). Received: target_class={target_class!r}")
    wanted = prior_count(info.manifest if rows is None else rows, ratio, target_class)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    techniques = sorted(PRIOR_TECHNIQUES)
    files: list[str] = []
    emit(progress, "prior", 0, wanted, f"synthetic {target_class} tiles")
    for artwork in itertools.count():
        if len(files) >= wanted:
            break
        if artwork > MAX_PRIOR_ARTWORKS_PER_TILE * max(wanted, 1):
            raise ValueError(f"the generators gave only {len(files)} of {wanted} non-blank tiles; "
                             f"lower blank_threshold (dataset: {info.tiling.blank_threshold}).")
        rng = np.random.default_rng([seed, artwork])
        technique = techniques[artwork % len(techniques)]
        width, height = (int(side * info.tiling.tile_size) for side in rng.uniform(*PRIOR_SIDES, 2))
        drawn = prior_picture(technique, rng, width, height)
        files += exported_tiles(drawn, info.tiling, rng, folder / f"prior_{technique}_{artwork:05d}",
                                wanted - len(files))[1]
        emit(progress, "prior", len(files), wanted, f"{technique} artwork {artwork + 1}")
    return {target_class: files}


def prior_picture(technique: str, rng: np.random.Generator, width: int, height: int) -> "Image.Image":
    """A width × height picture of generative `technique` (PRIOR_TECHNIQUES), drawn at twice its size and reduced:
    the anti-aliasing of Processing and p5 sketches."""
    from PIL import Image

    from artcnn.synthetic import PRIOR_TECHNIQUES

    return PRIOR_TECHNIQUES[technique](rng, 2 * width, 2 * height).resize((width, height), Image.LANCZOS)


def exported(picture: "Image.Image", rng: np.random.Generator, *, lossless: bool = False) -> "Image.Image":
    """`picture` as works are exported: passed through JPEG once at a random quality, or, when `lossless` (a PNG
    from a paint program), kept exactly as drawn; RGB."""
    from PIL import Image

    if lossless:
        return picture.convert("RGB")
    encoded = io.BytesIO()
    picture.convert("RGB").save(encoded, format="JPEG", quality=int(rng.integers(80, 96)))
    return Image.open(encoded).convert("RGB")


def exported_tiles(picture: "Image.Image", tiling: "TilingConfig", rng: np.random.Generator, stem: Path,
                   limit: int | None = None, *, lossless: bool = False) -> "tuple[Image.Image, list[str]]":
    """A synthetic picture `exported` as works are, and at most `limit` of its tiles cut with `tiling` written as
    tiling.tile_file_name names them: (the exported picture, the files). The prior and the hand-drawn counterpart
    both cut their pictures so."""
    from PIL import Image

    from artcnn.tiling import cut_tiles, tile_file_name

    picture = exported(picture, rng, lossless=lossless)
    files = []
    for tile in cut_tiles(picture, tiling, rng).tiles[:limit]:
        path = stem.parent / tile_file_name(stem.name, tile)
        Image.fromarray(tile.pixels).save(path, compress_level=1)
        files.append(str(path))
    return picture, files
