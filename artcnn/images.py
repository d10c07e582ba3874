"""Reading artworks: every file becomes an upright RGB image or a clear `ArtworkError`.

Museum collections hold CMYK scans, 16-bit greyscale, palettes with transparency, rotated
phone photos, truncated downloads and files that are not images at all. Everything that
reads an artwork goes through `load_artwork` so they are all handled the same way.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from artcnn.config import IMAGE_SUFFIXES, ImageLimits

# Pillow's own bomb guard uses a global; we check the header ourselves against ImageLimits, so
# the global is lifted to let the configured limit (not Pillow's default) decide.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ArtworkError(ValueError):
    """An artwork file that cannot be used, with the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def is_image_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def iter_image_files(inputs: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files given directly, and image files found (recursively, sorted) in folders given."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            yield from (found for found in sorted(path.rglob("*")) if _is_artwork_in(found, path))
        else:
            yield path


def check_inputs(inputs: Sequence[str | os.PathLike]) -> None:
    """Refuse, before any work starts, an input that does not exist and a folder holding no image files,
    with a ValueError naming it as it was given."""
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise ValueError(f"{os.fspath(item)} does not exist. Received: input={os.fspath(item)!r}")
        # Unsorted and stopping at the first image: a huge folder is not listed twice.
        if path.is_dir() and not any(_is_artwork_in(found, path) for found in path.rglob("*")):
            raise ValueError(f"{os.fspath(item)} holds no images (looked for {', '.join(IMAGE_SUFFIXES)} in it and "
                             f"its sub-folders). Received: input={os.fspath(item)!r}")


def _is_artwork_in(found: Path, folder: Path) -> bool:
    return found.is_file() and is_image_path(found) and not is_hidden(found.relative_to(folder))


def is_hidden(relative: Path) -> bool:
    # macOS leaves __MACOSX/ and ._name resource forks in zips and folders; they are not artworks.
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is composed over white, as on paper."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        # "I" (32-bit) carries no bit depth; values above 255 mean a 16-bit source.
        top = 65535.0 if image.mode != "I" or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        span = max(float(array.max() - array.min()), 1e-12)
        image = Image.fromarray(((array - array.min()) / span * 255.0).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "L" and "transparency" in image.info:
        return to_rgb(image.convert("LA"))
    if image.mode == "CMYK":
        # Adobe CMYK JPEGs are stored inverted; Pillow reads them as such, convert handles both.
        return image.convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image


@dataclass(frozen=True)
class LoadedArtwork:
    """An artwork as read, and what reading it changed."""

    image: Image.Image
    # Width × height of the file's own picture (upright, as its EXIF orientation says), before any reduction.
    original_size: tuple[int, int]
    # Plain words when the picture was reduced to stay within ImageLimits.decode_pixels, else "".
    note: str = ""


def load_artwork(path: str | os.PathLike, limits: ImageLimits = ImageLimits()) -> Image.Image:
    """Open, check, orient and convert one artwork to RGB; raise ArtworkError on any problem."""
    return read_artwork(path, limits).image


def read_at_size(path: str | os.PathLike, size: tuple[int, int], limits: ImageLimits = ImageLimits()) -> Image.Image:
    """The artwork as a picture of `size`: the picture a classification used (its used width × height), in whose
    coordinates its tiles lie. A model that reads artworks reduced sees a big JPEG decoded at a draft scale, so
    the file's own size would put the tiles in the wrong place."""
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive. Received: size={tuple(size)}")
    image = read_artwork(path, limits, long_side=max(width, height), min_side=min(width, height)).image
    return image if image.size == (width, height) else image.resize((width, height), Image.LANCZOS)


def read_artwork(path: str | os.PathLike, limits: ImageLimits = ImageLimits(), *, long_side: int | None = None,
                 min_side: int = 1) -> LoadedArtwork:
    """load_artwork's image with the file's own size, and a note when it was reduced to fit the decode limit.

    `long_side` (TilingConfig.long_side) says the picture is only needed that long, with its short side at least
    `min_side` (the tile size): a JPEG is then decoded at the smallest of Pillow's draft scales (1/2, 1/4, 1/8)
    that is still at least that large, which is several times faster on big scans; other formats decode in full.
    """
    if long_side is not None and (long_side < 1 or min_side < 1):
        raise ValueError(f"long_side and min_side must be at least 1. Received: long_side={long_side}, "
                         f"min_side={min_side}")
    path = Path(path)
    if not path.is_file():
        raise ArtworkError(path, "file not found")
    if path.stat().st_size == 0:
        raise ArtworkError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as opened:
                image, original = _decode(path, opened, limits, _needed_scale(opened.size, long_side, min_side))
    except ArtworkError:
        raise
    except UnidentifiedImageError:
        raise ArtworkError(path, "not an image file that can be read: damaged, or in another format (export it "
                                 "again as JPEG, PNG or TIFF)") from None
    except Exception as error:  # noqa: BLE001 - Pillow's decoders raise many types on broken files
        raise ArtworkError(path, f"cannot decode the picture in full: the file is damaged (export it again; "
                                 f"{type(error).__name__}: {error})") from None
    if image.width * image.height > limits.decode_pixels:
        scale = (limits.decode_pixels / (image.width * image.height)) ** 0.5
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.LANCZOS)
    if original[0] * original[1] <= limits.decode_pixels:
        return LoadedArtwork(image, original)
    return LoadedArtwork(image, original, f"reduced from {original[0]}×{original[1]} to {image.width}×{image.height} "
                                          f"pixels to stay within the decode limit of {limits.decode_pixels:,} pixels")


def _needed_scale(size: tuple[int, int], long_side: int | None, min_side: int) -> float:
    """The smallest scale of a picture of `size` that tiling at `long_side` (and `min_side`) uses in full: 1 when
    the picture is needed whole."""
    if long_side is None:
        return 1.0
    return min(1.0, max(long_side / max(1, *size), min_side / max(1, min(size))))


def _decode(path: Path, image: Image.Image, limits: ImageLimits,
            needed: float = 1.0) -> tuple[Image.Image, tuple[int, int]]:
    """The picture, decoded (reduced while decoding when the format allows it), and its own upright size."""
    # The header is checked before any pixel is decoded, so a bomb never gets its memory.
    width, height = image.size
    if width < 1 or height < 1:
        raise ArtworkError(path, f"image has no pixels ({width}×{height})")
    if width * height > limits.max_pixels:
        raise ArtworkError(
            path,
            f"image is {width}×{height} = {width * height:,} pixels, over the limit of "
            f"{limits.max_pixels:,} (possible decompression bomb; raise ImageLimits.max_pixels "
            "to accept it)",
        )
    # Orientations 5 to 8 turn the picture by a quarter: its upright width is the stored height.
    upright = (height, width) if image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8) else (width, height)
    scale = min(needed, (limits.decode_pixels / (width * height)) ** 0.5)
    if scale < 1 and image.format == "JPEG":
        # Draft decodes at the smallest DCT scale whose picture is still at least this large.
        image.draft("RGB", (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
    image.load()
    # exif_transpose returns a new image, so nothing refers to the file once it is closed.
    return to_rgb(ImageOps.exif_transpose(image)), upright


def fit_long_side(image: Image.Image, long_side: int | None) -> Image.Image:
    """Resize so the longest side is `long_side` (None: unchanged)."""
    if long_side is None or max(image.size) == long_side:
        return image
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.LANCZOS if scale < 1 else Image.BICUBIC)


def ensure_min_side(image: Image.Image, side: int) -> tuple[Image.Image, bool]:
    """Upscale (keeping aspect) so the short side is at least `side`; says whether it did."""
    if min(image.size) >= side:
        return image, False
    scale = side / min(image.size)
    size = (max(side, round(image.width * scale)), max(side, round(image.height * scale)))
    return image.resize(size, Image.BICUBIC), True
