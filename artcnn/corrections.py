"""Correct and retrain: artworks a person has given their right class are added to a dataset's
artworks, and the dataset is built again as a new version (same tiling, split by artwork as always),
so the next run learns from the model's mistakes. The corrections are kept in the catalogue.

The new version is built from the artworks the dataset was built from (its manifest names them), so
those files must still be there; a corrected artwork already in the dataset moves to its new class.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from artcnn.progress import ProgressCallback

if TYPE_CHECKING:
    from artcnn.catalogue import Catalogue
    from artcnn.dataset import Dataset


@dataclass(frozen=True)
class Correction:
    """One artwork's right class, as a person said."""

    # The artwork file.
    file: str
    # Its class, one of the dataset's.
    label: str
    # What the model said, when the correction comes from a classification ("needs review" included).
    predicted: str | None = None
    # The catalogue id of that classification.
    classification: int | None = None


def next_version(dataset_dir: str | os.PathLike) -> Path:
    """The first free sibling `<name>_v2`, `<name>_v3`... of a dataset folder (a `_vN` it has is counted on)."""
    dataset_dir = Path(dataset_dir)
    match = re.fullmatch(r"(.+)_v(\d+)", dataset_dir.name)
    base, number = (match.group(1), int(match.group(2)) + 1) if match else (dataset_dir.name, 2)
    while (dataset_dir.parent / f"{base}_v{number}").exists():
        number += 1
    return dataset_dir.parent / f"{base}_v{number}"


def add_corrections(dataset_dir: str | os.PathLike, corrections: Iterable[Correction | tuple[str, str]],
                    new_dataset_dir: str | os.PathLike | None = None, *, catalogue: "Catalogue | None" = None,
                    progress: ProgressCallback | None = None) -> "Dataset":
    """A new version of the dataset in `dataset_dir` (default folder: next_version) with the corrected
    artworks under their classes, tiled like it; the corrections recorded in `catalogue` (default: the
    catalogue of the workspace holding the new version, if any). Corrections are Correction or
    (file, class) pairs; the last one given for a file counts."""
    from artcnn.dataset import read_description, read_manifest
    from artcnn.dataset_build import build_dataset
    from artcnn.workspace import Workspace

    dataset = read_description(dataset_dir)
    corrections = [item if isinstance(item, Correction) else Correction(str(item[0]), str(item[1]))
                   for item in corrections]
    _check(corrections, dataset.classes)
    manifest = read_manifest(dataset)
    # Resolved, so that a correction naming a dataset artwork by another path moves it rather than adds a copy.
    class_of = {Path(file).resolve(): name for file, name in zip(manifest["artwork"], manifest["class"])}
    missing = sorted(str(file) for file in class_of if not file.is_file())
    if missing:
        raise ValueError(f"dataset {dataset.path.name} cannot be rebuilt with corrections: {len(missing)} of the "
                         f"artworks it was built from are no longer there, e.g. {', '.join(missing[:3])}.")
    class_of.update({Path(item.file).resolve(): item.label for item in corrections})
    artworks: dict[str, list[Path]] = {name: [] for name in dataset.classes}
    for file, name in class_of.items():
        artworks[name].append(file)
    target = Path(new_dataset_dir) if new_dataset_dir is not None else next_version(dataset.path)
    built = build_dataset(artworks, target, dataset.tiling, progress)
    if catalogue is None:
        workspace = Workspace.containing(built.path)
        catalogue = workspace.catalogue if workspace is not None else None
    if catalogue is not None:
        catalogue.record_corrections([{"file": item.file, "label": item.label, "predicted": item.predicted,
                                       "classification": item.classification} for item in corrections],
                                     built.path.name)
    return built


def _check(corrections: Sequence[Correction], classes: list[str]) -> None:
    if not corrections:
        raise ValueError("there are no corrected artworks to add. Received: corrections=[]")
    for item in corrections:
        if item.label not in classes:
            raise ValueError(f"{item.file} is corrected to class {item.label!r}, which the dataset does not have "
                             f"(its classes: {', '.join(classes)}). Received: label={item.label!r}")
        if not Path(item.file).is_file():
            raise ValueError(f"{item.file} does not exist, so it cannot be added. Received: file={item.file!r}")
