"""A collection of artworks → a dataset folder of tiles with a by-artwork train/test split and a manifest.

Files that cannot be used are skipped with a reason; class names and classes without files are
refused before any file is read (`check_classes`, which the Datasets page calls on uploads too).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import os
import re
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image

from artcnn.config import IMAGE_SUFFIXES, TilingConfig, validate_name
from artcnn.dataset import MANIFEST_COLUMNS, MANIFEST_FILE, SPLITS, Dataset, write_description, write_statistics
from artcnn.duplicates import describe_groups, group_duplicates, perceptual_hash
from artcnn.image_statistics import view_statistics
from artcnn.images import ArtworkError, is_hidden, is_image_path, iter_image_files, load_artwork, sha256_file
from artcnn.progress import ProgressCallback, emit
from artcnn.splitting import split_artworks
from artcnn.tiling import Tile, cut_tiles, tile_file_name
from artcnn.workspace import record_dataset

# Written by demo.make_demo_collection beside the class folders; its datasets are marked synthetic.
SYNTHETIC_MARKER = "artcnn-demo.json"
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
    # Absolute, so that the manifest still finds each artwork from another working folder (the app, a later
    # command: measuring statistics again, the shortcut check, the misclassified artworks).
    if isinstance(artworks, (str, os.PathLike)):
        source = str(Path(artworks).absolute())
        skipped = _other_files(Path(source))
        artworks = class_folders(Path(source))
    else:
        artworks = {name: [Path(file).absolute() for file in files] for name, files in artworks.items()}
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
    files = [str(file) for files in artworks.values() for file in files]
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
    statistics: dict[str, dict[str, np.ndarray]] = {}
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
                statistics[str(file)] = view_statistics(image)
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
    write_statistics(building, statistics)
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
        tile_name = tile_file_name(stem, tile)
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
