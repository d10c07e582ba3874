"""Measuring a dataset's global statistics again, in place, after image_statistics has grown.

A dataset records its artworks' statistics when it is cut (statistics.csv). Once a later artcnn measures more, the
dataset reads as having none (dataset.read_statistics) and a model trained on it judges by its tiles alone. Its
tiles and split are still good, so rather than cutting it again (new tiles, a new split), its artworks are read
again where they were and measured as dataset_build measures them. All or nothing: when an artwork cannot be
measured (moved, changed, damaged), nothing is written and the message names every such artwork.
"""

from __future__ import annotations

import os
from pathlib import Path

from artcnn.dataset import read_description, read_manifest, read_statistics, write_statistics
from artcnn.image_statistics import view_statistics
from artcnn.images import ArtworkError, load_artwork, sha256_file
from artcnn.progress import ProgressCallback, emit

# How many unusable artworks a message names before it counts the rest.
NAMED_PROBLEMS = 5


def statistics_outdated(folder: str | os.PathLike) -> bool:
    """Whether the dataset in `folder` lacks statistics of the current image_statistics.NAMES (built before them)."""
    return read_statistics(read_description(folder)) is None


def update_statistics(folder: str | os.PathLike, progress: ProgressCallback | None = None) -> int:
    """Measure every artwork of the dataset in `folder` again and replace its statistics.csv; returns how many.

    Raises ValueError, writing nothing, when any artwork is no longer where the dataset found it, has changed since
    (its sha256 differs) or cannot be read."""
    dataset = read_description(folder)
    artworks = read_manifest(dataset).drop_duplicates("artwork")
    statistics, problems = {}, []
    for done, (artwork, digest, name) in enumerate(
            zip(artworks["artwork"], artworks["sha256"], artworks["class"]), start=1):
        file = Path(artwork)
        try:
            if not file.is_file() and not file.is_absolute():
                # Datasets cut before dataset_build recorded absolute paths hold the paths as they were given.
                raise ArtworkError(file, f"recorded as {artwork}, relative to the folder the dataset was built "
                                         "from: run this from that folder")
            if not file.is_file():
                raise ArtworkError(file, "no longer where the dataset found it")
            if sha256_file(file) != digest:
                raise ArtworkError(file, "changed since the dataset was built")
            statistics[artwork] = view_statistics(load_artwork(file, dataset.tiling.limits))
        except ArtworkError as error:
            problems.append(f"{name}/{file.name} ({error.reason})")
        except OSError as error:  # unreadable: its strerror says why without the path
            problems.append(f"{name}/{file.name} (cannot be opened: {error.strerror or type(error).__name__})")
        emit(progress, "measuring", done, len(artworks), file.name)
    if problems:
        more = len(problems) - NAMED_PROBLEMS
        raise ValueError(
            f"Cannot measure the statistics of dataset {dataset.path.name} again: {len(problems)} of its "
            f"{len(artworks)} artworks cannot be read as they were when it was built: "
            + "; ".join(problems[:NAMED_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
            + ". Put them back as they were, or build the dataset again. Its statistics are unchanged.")
    write_statistics(dataset.path, statistics)
    return len(statistics)
