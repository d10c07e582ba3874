"""The dataset folder's format, read and written here only: dataset.json as a typed `Dataset`, manifest.csv
with its columns, and the splits.

`dataset_build.build_dataset` writes a dataset, `data.read_dataset` adds the checked manifest for training, and
pages read the description alone (cheap: no TensorFlow, no tile listing).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artcnn.config import TilingConfig, tiling_from_dict, to_dict
from artcnn.image_statistics import FIRST_NAMES, MEASURE_AGAIN, NAMES, VIEWS
from artcnn.images import sha256_file

if TYPE_CHECKING:
    import pandas as pd

DESCRIPTION_FILE = "dataset.json"
MANIFEST_FILE = "manifest.csv"
# The parts of the by-artwork split, and the sub-folders that hold their tiles.
SPLITS = ("train", "test")
# manifest.csv: tile path relative to the dataset folder, source artwork, its sha256, class, split, tile position.
MANIFEST_COLUMNS = ("tile", "artwork", "sha256", "class", "split", "x", "y")
# statistics.csv: per artwork of manifest.csv and view, its image_statistics.NAMES; datasets built before
# statistics existed have none, those built before thumbnails were measured have the "file" view only, and those
# built before the symmetry statistics have only image_statistics.FIRST_NAMES, those built before the coarse copy
# only its MEASURES (both read as none: a model trained on them blends no statistics until the dataset is rebuilt
# or its statistics are measured again, statistics_update).
STATISTICS_FILE = "statistics.csv"


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A dataset folder as its dataset.json describes it."""

    # The dataset folder (not stored in dataset.json: a dataset can be moved).
    path: Path
    # Class names, sorted: a class's index is its position here (han=0, kom=1).
    classes: list[str]
    # How the tiles were cut; prediction must cut the same way.
    tiling: TilingConfig
    # sha256 of manifest.csv, to tell which data a model was trained on.
    hash: str
    # True for demo datasets made of synthetic artworks.
    synthetic: bool = False
    # Tiles per split and class: {split: {class: tiles}}.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Artworks that gave tiles, per split and class: {split: {class: artworks}}.
    artworks: dict[str, dict[str, int]] = field(default_factory=dict)
    # Files not used: [{"file": str, "reason": str}].
    skipped: list[dict] = field(default_factory=list)
    # Candidate tiles left out as near-blank.
    blank_tiles_skipped: int = 0
    # Artworks smaller than a tile, upscaled before cutting.
    upscaled: list[str] = field(default_factory=list)
    # When it was built (ISO 8601, UTC); "" when unknown.
    created: str = ""
    # The folder of artworks it was built from; "" when unknown.
    source: str = ""
    # Groups of near-duplicate artworks (duplicates.group_duplicates), each kept on one side of the split:
    # [{"files": [...], "classes": [class of each file]}]; more than one class is a labelling conflict.
    duplicates: list[dict] = field(default_factory=list)

    @property
    def tiles(self) -> int:
        return sum(n for per_class in self.counts.values() for n in per_class.values())

    def to_json(self) -> dict[str, Any]:
        """The dataset.json object."""
        description = {item.name: getattr(self, item.name) for item in dataclasses.fields(Dataset) if item.name != "path"}
        return {**description, "tiling": to_dict(self.tiling)}


def is_dataset(folder: str | os.PathLike) -> bool:
    """Whether `folder` looks like a dataset folder (has a description and a manifest); nothing is read."""
    return (Path(folder) / DESCRIPTION_FILE).is_file() and (Path(folder) / MANIFEST_FILE).is_file()


def read_description(folder: str | os.PathLike) -> Dataset:
    """A dataset folder's dataset.json, checked: it exists, is JSON and lists at least two classes."""
    path = Path(folder)
    description_file = path / DESCRIPTION_FILE
    if not description_file.is_file():
        raise ValueError(f"{path} is not a dataset folder: {DESCRIPTION_FILE} is missing.")
    try:
        description = json.loads(description_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{description_file} is not valid JSON ({error}).") from None
    if not isinstance(description, dict):
        raise ValueError(f"{description_file} must hold a JSON object. Received: {type(description).__name__}")
    classes = sorted(description.get("classes") or [])
    if len(classes) < 2:
        raise ValueError(f"{description_file} must list at least two classes. Received: classes={classes}")
    known = {item.name for item in dataclasses.fields(Dataset)} - {"path", "classes", "tiling", "hash"}
    manifest_file = path / MANIFEST_FILE
    return Dataset(
        path=path,
        classes=classes,
        tiling=tiling_from_dict(description.get("tiling") or {}),
        hash=description.get("hash") or (sha256_file(manifest_file) if manifest_file.is_file() else ""),
        **{key: value for key, value in description.items() if key in known and value is not None},
    )


def write_description(dataset: Dataset, folder: str | os.PathLike | None = None) -> None:
    """dataset.json into `folder` (default: dataset.path)."""
    target = Path(folder if folder is not None else dataset.path) / DESCRIPTION_FILE
    target.write_text(json.dumps(dataset.to_json(), indent=2), encoding="utf-8")


def read_manifest(dataset: Dataset) -> "pd.DataFrame":
    """A dataset's manifest.csv, checked: every column is there, every class is the description's and
    every listed tile file exists."""
    import pandas as pd

    path, manifest_file = dataset.path, dataset.path / MANIFEST_FILE
    if not manifest_file.is_file():
        raise ValueError(f"{path} is not a dataset folder: {MANIFEST_FILE} is missing.")
    manifest = pd.read_csv(manifest_file, dtype={"tile": str, "artwork": str, "sha256": str, "class": str,
                                                 "split": str})
    missing_columns = [name for name in MANIFEST_COLUMNS if name not in manifest.columns]
    if missing_columns:
        raise ValueError(f"{manifest_file} lacks the column(s) {', '.join(missing_columns)}.")
    unknown = sorted(set(manifest["class"]) - set(dataset.classes))
    if unknown:
        raise ValueError(f"{manifest_file} has tiles of classes not in {DESCRIPTION_FILE}: {', '.join(unknown)}.")
    absent = [tile for tile in manifest["tile"] if not (path / tile).is_file()]
    if absent:
        raise ValueError(
            f"{path}: {len(absent)} tile file(s) listed in {MANIFEST_FILE} are missing, e.g. {', '.join(absent[:3])}. "
            "Rebuild the dataset."
        )
    return manifest


def write_statistics(folder: str | os.PathLike, statistics: dict[str, dict[str, Any]]) -> None:
    """statistics.csv into `folder`: {artwork (as in manifest.csv): {view: its statistics vector}}."""
    import pandas as pd

    rows = [{"artwork": artwork, "view": view, **dict(zip(NAMES, values))}
            for artwork, views in statistics.items() for view, values in views.items()]
    # Written whole or not at all: measuring a dataset's statistics again replaces the file of a dataset in use.
    partial = Path(folder) / f"{STATISTICS_FILE}.partial"
    pd.DataFrame(rows, columns=["artwork", "view", *NAMES]).to_csv(partial, index=False)
    os.replace(partial, Path(folder) / STATISTICS_FILE)


def read_statistics(dataset: Dataset) -> "dict[str, pd.DataFrame] | None":
    """The dataset's statistics.csv as {view: its rows indexed by artwork}, the "file" view first; None for a
    dataset built before statistics existed, or before all of the current image_statistics.NAMES did."""
    import pandas as pd

    statistics_file = dataset.path / STATISTICS_FILE
    if not statistics_file.is_file():
        return None
    table = pd.read_csv(statistics_file, dtype={"artwork": str, "view": str})
    missing = [name for name in ("artwork", "view", *FIRST_NAMES) if name not in table.columns]
    if missing:
        raise ValueError(f"{statistics_file} lacks the column(s) {', '.join(missing)}. {MEASURE_AGAIN}")
    if not set(NAMES) <= set(table.columns):
        # Recorded before the later statistics existed: like a dataset without statistics, until measured again.
        return None
    views = {view: table[table["view"] == view].set_index("artwork")[list(NAMES)] for view in VIEWS}
    if views["file"].empty:
        raise ValueError(f"{statistics_file} has no statistics of the files themselves. {MEASURE_AGAIN}")
    return {view: rows for view, rows in views.items() if not rows.empty}
