"""Builders for the bad inputs of issue 5, shared by test_bad_inputs, test_faults and test_cli.

Every file is made here, small, by the test that needs it: no collection on disk is read.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# The brightness model's metadata: 32-px tiles kept even when blank, so solid colours get scored.
TILE = 32
METADATA = {"classes": ["han", "kom"], "input_size": TILE, "tiling": {"tile_size": TILE, "blank_threshold": 0.0}}


def p_kom(rgb: tuple[float, float, float]) -> float:
    """What the brightness model says for a tile of mean colour `rgb` (0-255): sigmoid(4·(r+g+b)/255 − 6)."""
    return 1 / (1 + math.exp(-(4 * sum(rgb) / 255 - 6)))


def brightness_model(keras):
    """A model with a known answer: p(kom) grows with a tile's mean brightness."""
    inputs = keras.Input((TILE, TILE, 3))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.full((3, 1), 4.0, dtype=np.float32), np.array([-6.0], dtype=np.float32)])
    return model


def noise(path: Path, size: tuple[int, int], seed: int = 0, **save) -> Path:
    """An ordinary artwork: random colours, never blank."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **save)
    return path


def solid(path: Path, size: tuple[int, int], colour, mode: str = "RGB", **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, **save)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A PNG whose header claims width×height RGB pixels, in a few hundred bytes (one real row)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b"\x00" + bytes(3 * width), 9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", row)
                     + _png_chunk(b"IEND", b""))
    return path


def truncated_jpeg(path: Path) -> Path:
    whole = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(whole, "JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    return path


def not_images(folder: Path) -> dict[str, Path]:
    """Files with an image extension that are not images: text, a PDF, an empty file."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"text": folder / "letter.png", "pdf": folder / "catalogue.jpg", "empty": folder / "nothing.tif"}
    files["text"].write_text("Dear curator, this is a letter, not a painting.", encoding="utf-8")
    files["pdf"].write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    files["empty"].write_bytes(b"")
    return files


# Odd colour modes with the mean RGB each must become (transparency composed over white paper).
ODD_MODES = {
    "cmyk.jpg": (255, 0, 0),
    "grey16.png": (156, 156, 156),
    "palette_alpha.png": (127.5, 127.5, 255),
    "rgba.png": (255, 127, 127),
    "la.png": (127, 127, 127),
    "bilevel.tif": (127.5, 127.5, 127.5),
}


def odd_modes(folder: Path) -> dict[str, Path]:
    """CMYK JPEG, 16-bit grey PNG, palette PNG with a transparent colour, RGBA, LA and a 1-bit TIFF,
    each 32×32 (one tile) with the mean colour listed in ODD_MODES."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / name for name in ODD_MODES}
    solid(files["cmyk.jpg"], (TILE, TILE), (0, 255, 255, 0), "CMYK", quality=100)
    # 40000 of 65535 is 155.6 of 255.
    Image.fromarray(np.full((TILE, TILE), 40000, np.uint16)).save(files["grey16.png"])
    palette = Image.new("P", (TILE, TILE), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (0, 0, TILE // 2, TILE))
    # Index 0 (red) is transparent, so the right half shows white paper, the left half blue.
    palette.save(files["palette_alpha.png"], transparency=0)
    solid(files["rgba.png"], (TILE, TILE), (255, 0, 0, 128), "RGBA")
    solid(files["la.png"], (TILE, TILE), (0, 128), "LA")
    bilevel = Image.new("1", (TILE, TILE), 0)
    bilevel.paste(1, (0, 0, TILE, TILE // 2))
    bilevel.save(files["bilevel.tif"])
    return files


def exif_rotated_jpeg(path: Path) -> Path:
    """A phone photo stored 64×32 (left half black, right half white) with EXIF orientation 6:
    upright it is 32×64, black on top, white below."""
    stored = Image.new("RGB", (2 * TILE, TILE), (0, 0, 0))
    stored.paste((255, 255, 255), (TILE, 0, 2 * TILE, TILE))
    exif = Image.Exif()
    exif[0x0112] = 6
    path.parent.mkdir(parents=True, exist_ok=True)
    stored.save(path, exif=exif, quality=100)
    return path


def odd_sizes(folder: Path) -> dict[str, Path]:
    """A 1×1 dot, a 10×300 strip and a 20000×200 panorama (all noise)."""
    return {name: noise(folder / f"{name}.png", size, seed=index)
            for index, (name, size) in enumerate({"dot": (1, 1), "strip": (10, 300),
                                                  "panorama": (20_000, 200)}.items())}


def make_zip(path: Path, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None,
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip with the given members (names used as they are, even unsafe ones) and symlink members."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=compression)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)  # S_IFLNK: a symbolic link, as `zip --symlinks` stores it
            archive.writestr(info, target)
    return path


def png_bytes(size: tuple[int, int] = (TILE, TILE), seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
        buffer, "PNG")
    return buffer.getvalue()
