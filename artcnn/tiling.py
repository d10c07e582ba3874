"""Artworks → tiles, and a dataset folder of tiles with a by-artwork train/test split.

Training and prediction cut tiles with the same `cut_tiles`, so a model always sees tiles
prepared the way it was trained on. The split is by artwork, never by tile: tiles of one
artwork on both sides would let a model score well by recognising artworks instead of classes.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import math
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image

from artcnn.config import IMAGE_SUFFIXES, TilingConfig, validate_name
from artcnn.dataset import MANIFEST_COLUMNS, MANIFEST_FILE, SPLITS, Dataset, write_description
from artcnn.duplicates import describe_groups, group_duplicates, perceptual_hash
from artcnn.images import (
    ArtworkError,
    ensure_min_side,
    fit_long_side,
    is_hidden,
    is_image_path,
    iter_image_files,
    load_artwork,
    sha256_file,
)
from artcnn.progress import ProgressCallback, emit
from artcnn.workspace import record_dataset

# A random artwork gets this many candidate positions per wanted tile before we accept fewer tiles.
CANDIDATES_PER_TILE = 20
# Written by demo.make_demo_collection beside the class folders; its datasets are marked synthetic.
SYNTHETIC_MARKER = "artcnn-demo.json"
# ITU-R BT.601 luma weights, as Pillow's own "L" conversion uses.
_GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


# How a skipped file that repeats an earlier one starts its reason.
SAME_FILE = "same file as"


class UnusableClassError(ValueError):
    """Classes none of whose files gave a tile; `skipped` lists those files ({"file", "reason"})."""

    def __init__(self, classes: Sequence[str], skipped: list[dict]):
        self.classes, self.skipped = list(classes), skipped
        first = skipped[0]
        fix = ("The same files were given under another class: give each class its own artworks."
               if all(entry["reason"].startswith(SAME_FILE) for entry in skipped)
               else "Replace or remove the files the list of skipped files names.")
        super().__init__(f"Class {', '.join(repr(name) for name in classes)} has no usable artwork: all "
                         f"{len(skipped)} of its files were skipped (first: {Path(first['file']).name}: "
                         f"{first['reason']}). {fix}")


@dataclass(frozen=True)
class Tile:
    # Position and side in the coordinates of the image passed to cut_tiles.
    x: int
    y: int
    size: int
    # uint8 (tile_size, tile_size, 3), cut from the resized artwork.
    pixels: np.ndarray


@dataclass(frozen=True)
class TileCut:
    tiles: list[Tile]
    # Candidate tiles skipped as near-blank.
    blank_skipped: int
    # The artwork was smaller than a tile and was upscaled on its short side.
    upscaled: bool


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
    artwork that has nothing else, so prediction still has something to classify.
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
    if not tiles and keep_blank:
        return TileCut(tiles=blank, blank_skipped=0, upscaled=upscaled)
    return TileCut(tiles=tiles, blank_skipped=blank_skipped, upscaled=upscaled)


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


def split_artworks(artworks: Mapping[str, Sequence[Path]], test_fraction: float, seed: int,
                   groups: Sequence[Sequence[Path]] = ()) -> dict[Path, str]:
    """Each artwork → "train" or "test", stratified per class, seeded, independent of input order.

    A class with at least two artworks (or `groups`) gets at least one on each side when test_fraction > 0.
    Each of `groups` (near-duplicates, duplicates.group_duplicates) goes to one side whole: within a class it
    is drawn as one unit, and a group spanning classes follows its first file's side.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1). Received: test_fraction={test_fraction}")
    split: dict[Path, str] = {}
    group_of = {Path(file): index for index, group in enumerate(groups) for file in group}
    for name in sorted(artworks):
        files = sorted({Path(file) for file in artworks[name]}, key=str)
        for file in files:
            if file in split:
                raise ValueError(f"{file} is listed under more than one class; an artwork needs one class.")
        units = _units(files, group_of)
        n_test = round(len(units) * test_fraction)
        if len(units) >= 2 and test_fraction > 0:
            n_test = min(max(n_test, 1), len(units) - 1)
        # Seeding per class by name keeps a class's split unchanged when other classes change.
        class_seed = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], 16)
        test = set(np.random.default_rng([seed, class_seed]).permutation(len(units))[:n_test].tolist())
        for index, unit in enumerate(units):
            for file in unit:
                split[file] = "test" if index in test else "train"
    for group in groups:
        members = sorted((Path(file) for file in group if Path(file) in split), key=str)
        for file in members[1:]:
            split[file] = split[members[0]]
    return split


def _units(files: list[Path], group_of: Mapping[Path, int]) -> list[list[Path]]:
    """A class's files as the units its split draws: a group's files together, in the first one's place."""
    units: list[list[Path]] = []
    unit_of_group: dict[int, list[Path]] = {}
    for file in files:
        if file not in group_of:
            units.append([file])
        elif group_of[file] in unit_of_group:
            unit_of_group[group_of[file]].append(file)
        else:
            unit_of_group[group_of[file]] = [file]
            units.append(unit_of_group[group_of[file]])
    return units


def class_folders(root: Path) -> dict[str, list[Path]]:
    """Sorted class sub-folders of `root` → their image files (recursive, sorted, hidden ones left out)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder of class sub-folders.")
    return {
        folder.name: list(iter_image_files([folder]))
        for folder in sorted(root.iterdir())
        if folder.is_dir() and not is_hidden(Path(folder.name))
    }


def build_dataset(
    artworks: Path | Mapping[str, Sequence[Path]],
    dataset_dir: Path,
    config: TilingConfig,
    progress: ProgressCallback | None = None,
    *,
    overwrite: bool = False,
) -> Dataset:
    """Tile every artwork into a new dataset folder with a by-artwork split and a manifest.

    `artworks` is a folder with one sub-folder per class, or a mapping class → files. A file that
    cannot be read is skipped and reported; the rest are tiled. The folder appears under its
    final name only when complete, and is then recorded in the catalogue of the workspace holding it.
    """
    dataset_dir = Path(dataset_dir)
    if isinstance(artworks, (str, os.PathLike)):
        source = str(Path(artworks))
        skipped = _other_files(Path(artworks))
        artworks = class_folders(Path(artworks))
    else:
        source = _common_folder(artworks)
        skipped = []
    check_classes(artworks, source)
    if dataset_dir.exists() and not overwrite:
        raise FileExistsError(f"{dataset_dir} already exists. Choose another name or pass overwrite=True.")
    dataset_dir.parent.mkdir(parents=True, exist_ok=True)
    building = dataset_dir.parent / f".{dataset_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    building.mkdir()
    try:
        built = _build(artworks, building, config, progress, skipped, source)
        _move_into_place(building, dataset_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    built = dataclasses.replace(built, path=dataset_dir)
    record_dataset(built)
    return built


def check_class_names(names: Sequence[str], source: str = "") -> None:
    """Refuse class names that are not safe folder names, or fewer than two different ones. `source` names
    where the classes come from in the message."""
    for name in names:
        validate_name(name, "class name")
    if len(set(names)) < 2:
        raise ValueError(
            f"A dataset needs at least two classes (one sub-folder per class in {source or 'the files given'}), "
            f"named differently. Received: classes={sorted(names)}"
        )


def check_classes(artworks: Mapping[str, Sequence[Path]], source: str = "") -> None:
    """Refuse, before any file is read, class names that are not safe folder names, fewer than two
    classes, or a class without image files. `source` names where the classes come from in the message."""
    check_class_names(list(artworks), source)
    empty = [name for name in sorted(artworks) if not artworks[name]]
    if empty:
        raise ValueError(
            f"Class {', '.join(repr(name) for name in empty)} has no image files "
            f"(accepted: {', '.join(IMAGE_SUFFIXES)}) in {source or 'the files given'}."
        )


def _other_files(root: Path) -> list[dict]:
    """Files in class folders that are not images, reported so that nothing is left out silently."""
    if not root.is_dir():
        return []
    others = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not is_hidden(file.relative_to(root)) and not is_image_path(file):
                others.append({"file": str(file), "reason": f"not an image file (suffix {file.suffix or 'none'!r})"})
    return others


def _common_folder(artworks: Mapping[str, Sequence[Path]]) -> str:
    files = [str(Path(file).absolute()) for files in artworks.values() for file in files]
    try:
        return os.path.commonpath(files) if files else ""
    except ValueError:  # files on different drives
        return ""


def _build(artworks, building: Path, config: TilingConfig, progress, skipped: list[dict], source: str) -> Dataset:
    classes = sorted(artworks)
    jobs = [(name, Path(file)) for name in classes for file in sorted({Path(f) for f in artworks[name]}, key=str)]
    pending = building / "pending"
    usable: dict[str, list[Path]] = {name: [] for name in classes}
    tiles_of: dict[Path, list[tuple[str, int, int]]] = {}
    digests: dict[Path, str] = {}
    image_hashes: dict[Path, int | None] = {}
    first_seen: dict[str, tuple[str, Path]] = {}
    upscaled: list[str] = []
    blank_skipped = 0
    for done, (name, file) in enumerate(jobs, start=1):
        try:
            image = load_artwork(file, config.limits)
            digest = sha256_file(file)
            if digest in first_seen:
                # Identical copies would land on both sides of the split or teach two labels.
                other_class, other = first_seen[digest]
                raise ArtworkError(file, f"{SAME_FILE} {other.name} in class {other_class}; used once")
        except (ArtworkError, OSError) as error:
            skipped.append({"file": str(file), "reason": getattr(error, "reason", None) or str(error)})
        else:
            first_seen[digest] = (name, file)
            rng = np.random.default_rng([config.seed, int(digest[:16], 16)])
            cut = cut_tiles(image, config, rng)
            blank_skipped += cut.blank_skipped
            if cut.tiles:
                if cut.upscaled:
                    upscaled.append(str(file))
                digests[file] = digest
                image_hashes[file] = perceptual_hash(image)
                usable[name].append(file)
                tiles_of[file] = _write_tiles(cut.tiles, pending / name, _tile_stem(file, digest))
            else:
                skipped.append({
                    "file": str(file),
                    "reason": f"no tile left: every candidate tile was blank (grey-level std below "
                              f"blank_threshold={config.blank_threshold})",
                })
        emit(progress, "tiling", done, len(jobs), Path(file).name)
    unusable = [name for name in classes if not usable[name]]
    if unusable:
        their_files = {str(file) for name, file in jobs if name in unusable}
        raise UnusableClassError(unusable, [entry for entry in skipped if entry["file"] in their_files])

    groups = group_duplicates({file: value for file, value in image_hashes.items() if value is not None})
    split = split_artworks(usable, config.test_fraction, config.seed, groups)
    counts = {part: {name: 0 for name in classes} for part in SPLITS}
    artwork_counts = {part: {name: 0 for name in classes} for part in SPLITS}
    rows = []
    for name, file in jobs:
        if file not in tiles_of:
            continue
        part = split[file]
        (building / part / name).mkdir(parents=True, exist_ok=True)
        artwork_counts[part][name] += 1
        for tile_name, x, y in tiles_of[file]:
            os.replace(pending / name / tile_name, building / part / name / tile_name)
            rows.append((f"{part}/{name}/{tile_name}", str(file), digests[file], name, part, x, y))
            counts[part][name] += 1
    shutil.rmtree(pending)

    manifest = _manifest_text(rows)
    (building / MANIFEST_FILE).write_text(manifest, encoding="utf-8", newline="")
    built = Dataset(
        path=building,
        classes=classes,
        tiling=config,
        hash=hashlib.sha256(manifest.encode("utf-8")).hexdigest(),
        synthetic=bool(source) and (Path(source) / SYNTHETIC_MARKER).is_file(),
        counts=counts,
        artworks=artwork_counts,
        skipped=skipped,
        blank_tiles_skipped=blank_skipped,
        upscaled=upscaled,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        source=source,
        duplicates=describe_groups(groups, {str(file): name for name, file in jobs}),
    )
    write_description(built)
    return built


def _tile_stem(file: Path, digest: str) -> str:
    # The digest keeps two artworks with the same name (in different folders) apart.
    stem = re.sub(r"[^\w-]+", "_", file.stem).strip("_")[:48] or "artwork"
    return f"{stem}_{digest[:8]}"


def _write_tiles(tiles: list[Tile], folder: Path, stem: str) -> list[tuple[str, int, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for tile in tiles:
        tile_name = f"{stem}_x{tile.x}_y{tile.y}.png"
        # Fast compression: tiles are many and temporary-looking; size matters less than time.
        Image.fromarray(tile.pixels).save(folder / tile_name, format="PNG", compress_level=1)
        written.append((tile_name, tile.x, tile.y))
    return written


def _manifest_text(rows: list[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def _move_into_place(building: Path, dataset_dir: Path) -> None:
    if not dataset_dir.exists():
        os.replace(building, dataset_dir)
        return
    # os.replace cannot replace a non-empty folder: the old one steps aside first, then goes.
    retired = dataset_dir.parent / f".{dataset_dir.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(dataset_dir, retired)
    os.replace(building, dataset_dir)
    shutil.rmtree(retired, ignore_errors=True)
