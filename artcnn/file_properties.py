"""The file properties of an artwork that say nothing about how it was made: size, aspect, format,
compression, mean colour, white background and EXIF, one row per artwork of a collection.

The shortcut check (artcnn/shortcuts.py) asks whether these alone separate the classes.
Plain numpy/Pillow/pandas: no TensorFlow.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from artcnn.config import ImageLimits
from artcnn.dataset import is_dataset, read_description, read_manifest
from artcnn.images import ArtworkError, load_artwork
from artcnn.progress import ProgressCallback, emit

# Colours are measured on a copy reduced to about this many pixels: plenty for a mean, and fast.
COLOUR_PIXELS = 256 * 256
# A pixel whose every channel is at least this is near-white (paper, an empty background).
NEAR_WHITE = 240
EXIF_ORIENTATION, ROTATED = 274, (5, 6, 7, 8)


def artwork_features(path: str | os.PathLike, limits: ImageLimits = ImageLimits()) -> dict:
    """The file properties of one artwork, or ArtworkError. Width and height are as displayed (EXIF-upright)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            image_format = (image.format or "").lower()
            exif = image.getexif()
    except (OSError, SyntaxError, ValueError) as error:
        raise ArtworkError(path, f"cannot read the image header ({type(error).__name__}: {error})") from None
    if exif.get(EXIF_ORIENTATION) in ROTATED:
        width, height = height, width
    small = np.asarray(load_artwork(path, ImageLimits(limits.max_pixels, min(COLOUR_PIXELS, limits.max_pixels))),
                       dtype=np.float32)
    mean = small.reshape(-1, 3).mean(axis=0) / 255.0
    return {
        "width": width,
        "height": height,
        "log_pixels": float(np.log(width * height)),
        "aspect": width / height,
        "square": float(width == height),
        "format": image_format,
        "format_jpeg": float(image_format == "jpeg"),
        "format_png": float(image_format == "png"),
        "format_other": float(image_format not in ("jpeg", "png")),
        "bytes_per_pixel": path.stat().st_size / (width * height),
        "mean_red": float(mean[0]),
        "mean_green": float(mean[1]),
        "mean_blue": float(mean[2]),
        "white_share": float((small.min(axis=2) >= NEAR_WHITE).mean()),
        "exif": float(len(exif) > 0),
        "exif_fields": float(len(exif)),
    }


def _collection(artworks: str | os.PathLike | Mapping[str, Sequence[str | os.PathLike]]) -> dict[str, list[Path]]:
    """class → artwork files, from a class-folder collection, a dataset folder (its manifest) or a mapping."""
    if isinstance(artworks, Mapping):
        return {str(name): [Path(file) for file in files] for name, files in artworks.items()}
    root = Path(artworks)
    if is_dataset(root):
        manifest = read_manifest(read_description(root)).drop_duplicates("artwork")
        return {name: [Path(file) for file in group["artwork"]] for name, group in manifest.groupby("class")}
    from artcnn.dataset_build import class_folders

    return {name: list(files) for name, files in class_folders(root).items()}


def feature_table(
    artworks: str | os.PathLike | Mapping[str, Sequence[str | os.PathLike]],
    *,
    limits: ImageLimits = ImageLimits(),
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, list[dict]]:
    """One row of file properties per readable artwork (with artwork, class), and the skipped files."""
    collection = _collection(artworks)
    jobs = [(name, file) for name in sorted(collection) for file in collection[name]]
    rows, skipped = [], []
    for done, (name, file) in enumerate(jobs, start=1):
        try:
            rows.append({"artwork": str(file), "class": name, **artwork_features(file, limits)})
        except ArtworkError as error:
            skipped.append({"file": str(file), "reason": error.reason})
        emit(progress, "checking shortcuts", done, len(jobs), Path(file).name)
    table = pd.DataFrame(rows)
    if len(table):
        # How many artworks share this exact size: a series exported at one size shows up here.
        sizes = list(zip(table["width"], table["height"]))
        counts = Counter(sizes)
        table["size_frequency"] = [counts[size] / len(sizes) for size in sizes]
    return table, skipped
