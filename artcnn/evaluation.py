"""Metrics at tile and artwork level, with the uncertainty a small test set deserves.

The study scored single tiles; a collection is judged by artworks, so every figure here exists
at both levels. An artwork's probabilities are the mean of its tiles', blended with its global statistics
(artcnn.image_statistics) for a model whose head says so. Everything but
`evaluate_model` is plain numpy/pandas so pages can summarise without importing TensorFlow.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artcnn.config import TilingConfig
from artcnn.dataset import read_statistics
from artcnn.image_statistics import MEASURE_AGAIN, StatisticsHead, statistics_of


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion: sensible even for 10/10 or 0/3, unlike p ± z·se."""
    if total < 0 or not 0 <= successes <= total:
        raise ValueError(f"successes must be in [0, total] and total non-negative. "
                         f"Received: successes={successes}, total={total}")
    if total == 0:
        return 0.0, 1.0
    proportion = successes / total
    denominator = 1 + z * z / total
    centre = (proportion + z * z / (2 * total)) / denominator
    half = z / denominator * math.sqrt(proportion * (1 - proportion) / total + z * z / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


def source_of(path: str | os.PathLike) -> str:
    """Where an artwork comes from, by the naming convention `<source>_<rest>` (e.g. kandinsky_07.jpg)."""
    stem = Path(path).stem
    return stem.split("_", 1)[0] if "_" in stem else stem


def roc_auc(y_true: Any, scores: Any) -> float | None:
    """Area under the ROC curve by the Mann-Whitney rank formula (ties count half); None for one class."""
    positive = np.asarray(y_true).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if positive.shape != scores.shape:
        raise ValueError(f"y_true and scores must have the same length. "
                         f"Received: {positive.size} labels, {scores.size} scores")
    n_positive = int(positive.sum())
    n_negative = positive.size - n_positive
    if n_positive == 0 or n_negative == 0:
        return None
    _, group, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # Tied scores share the mean of the ranks they span (ranks start at 1).
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    rank_sum = mean_rank[group][positive].sum()
    return float((rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def class_probabilities(outputs: Any, n_classes: int) -> np.ndarray:
    """Model outputs as [n, n_classes] probabilities: one sigmoid unit p becomes [1 - p, p]."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    if outputs.ndim != 2 or outputs.shape[1] not in (n_classes, 1) or (outputs.shape[1] == 1 and n_classes != 2):
        raise ValueError(f"model outputs must have shape [n, {n_classes}]"
                         f"{' or [n, 1]' if n_classes == 2 else ''}. Received: shape={outputs.shape}")
    if outputs.shape[1] == 1:
        return np.hstack([1.0 - outputs, outputs])
    return outputs


def _accuracy(correct: int, total: int) -> dict:
    low, high = wilson_interval(correct, total)
    return {"value": correct / total, "low": low, "high": high, "correct": correct, "total": total}


def _confusion(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> list[list[int]]:
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix.tolist()


def _macro_auc(true: np.ndarray, probabilities: np.ndarray) -> float | None:
    n_classes = probabilities.shape[1]
    if n_classes == 2:
        return roc_auc(true == 1, probabilities[:, 1])
    per_class = [roc_auc(true == index, probabilities[:, index]) for index in range(n_classes)]
    defined = [value for value in per_class if value is not None]
    return float(np.mean(defined)) if defined else None


def _named(probabilities: np.ndarray, classes: list[str]) -> dict[str, float]:
    return {name: float(value) for name, value in zip(classes, probabilities)}


def _checked_probabilities(manifest: pd.DataFrame, tile_probs: Any, classes: list[str]) -> np.ndarray:
    """tile_probs as [n_tiles, n_classes] after checking they fit the manifest and its classes."""
    missing = {"tile", "artwork", "class"} - set(manifest.columns)
    if missing:
        raise ValueError(f"manifest needs columns tile, artwork, class. Missing: {', '.join(sorted(missing))}")
    if len(manifest) == 0:
        raise ValueError("there are no tiles to evaluate (the manifest is empty).")
    probabilities = class_probabilities(tile_probs, len(classes))
    if len(probabilities) != len(manifest):
        raise ValueError(f"tile_probs must have one row per manifest row. "
                         f"Received: {len(probabilities)} rows for {len(manifest)} tiles")
    unknown = sorted(set(manifest["class"]) - set(classes))
    if unknown:
        raise ValueError(f"manifest has classes the model does not know: {', '.join(map(str, unknown))}. "
                         f"Model classes: {', '.join(classes)}")
    return probabilities


def whole_view_share(tiling: TilingConfig) -> float | None:
    """The share of an artwork's tile mean its whole view carries for a model cut with `tiling`: what it weighed
    among the tiles the model was trained on, one beside `tiles_per_artwork` random ones, however many grid tiles a
    classification cuts (a 4000×3000 scan's 192 grid tiles would otherwise leave it 1/193). None when the tiles are
    averaged plainly: no whole views, or a model trained on grid tiles, which saw it as one tile among them all."""
    if not tiling.whole_view or tiling.grid:
        return None
    return 1 / (tiling.tiles_per_artwork + 1)


def tile_mean(probabilities: np.ndarray, whole: Any, tiling: TilingConfig) -> np.ndarray:
    """One artwork's tiles' mean probabilities [classes] (`probabilities`: [tiles, classes]; `whole`: which tile is
    its whole view), the whole view weighing whole_view_share(tiling)."""
    probabilities, whole = np.asarray(probabilities, dtype=float), np.asarray(whole, dtype=bool)
    if len(whole) != len(probabilities):
        raise ValueError(f"whole must flag every tile. Received: {len(whole)} flags for {len(probabilities)} tiles")
    share = whole_view_share(tiling)
    if share is None or whole.all() or not whole.any():
        return probabilities.mean(axis=0)
    return (1 - share) * probabilities[~whole].mean(axis=0) + share * probabilities[whole].mean(axis=0)


def _artwork_means(manifest: pd.DataFrame, probabilities: np.ndarray) -> tuple[np.ndarray, ...]:
    """Artwork names (sorted), each one's first tile row, each tile's artwork index, artwork mean probabilities."""
    artworks = manifest["artwork"].to_numpy()
    names, first_row, group = np.unique(artworks, return_index=True, return_inverse=True)
    class_count = pd.Series(manifest["class"].to_numpy()).groupby(group).nunique()
    if (class_count > 1).any():
        mixed = names[class_count.index[class_count > 1][0]]
        raise ValueError(f"artwork {mixed} has tiles in more than one class; the manifest is inconsistent.")
    sums = np.zeros((len(names), probabilities.shape[1]))
    np.add.at(sums, group, probabilities)
    tiles_per_artwork = np.bincount(group, minlength=len(names))
    return names, first_row, group, sums / tiles_per_artwork[:, None]


def verdict_probabilities(names: np.ndarray, tile_means: np.ndarray, head: StatisticsHead | None,
              views: dict[str, pd.DataFrame] | None) -> np.ndarray:
    """Each artwork's verdict probabilities: its tiles' mean, blended by `head` with its file's global statistics
    (the "file" view of dataset.read_statistics)."""
    if head is None:
        return tile_means
    if views is None:
        raise ValueError("this model's verdicts use each artwork's global statistics, which this dataset does not "
                         f"have (it was built before they were recorded). {MEASURE_AGAIN}")
    return head.blend(tile_means, statistics_of(views["file"], names))


def artwork_probabilities(manifest: pd.DataFrame, tile_probs: Any, classes: list[str], *,
                          head: StatisticsHead | None = None,
                          statistics: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per artwork (sorted): artwork, class, source, tiles and p_<class> (the mean of its tiles',
    blended by `head`, when given, with its file's row of the dataset's `statistics`, dataset.read_statistics)."""
    probabilities = _checked_probabilities(manifest, tile_probs, classes)
    names, first_row, group, artwork_probs = _artwork_means(manifest, probabilities)
    artwork_probs = verdict_probabilities(names, artwork_probs, head, statistics)
    table = pd.DataFrame({
        "artwork": names,
        "class": manifest["class"].to_numpy()[first_row],
        "source": [source_of(name) for name in names],
        "tiles": np.bincount(group, minlength=len(names)),
    })
    for index, name in enumerate(classes):
        table[f"p_{name}"] = artwork_probs[:, index]
    return table


def summarise(manifest: pd.DataFrame, tile_probs: Any, classes: list[str], *,
              head: StatisticsHead | None = None, statistics: dict[str, pd.DataFrame] | None = None) -> dict:
    """Tile and artwork accuracy with 95% intervals, confusion matrices, ROC AUC, per-source accuracy
    and the misclassified artworks, as JSON-ready data. An artwork's verdict is as in artwork_probabilities.

    manifest: one row per tile, in the order of `tile_probs`, with columns tile, artwork, class.
    tile_probs: [n_tiles, n_classes] probabilities (a binary model's [n, 1] output is accepted too).
    """
    probabilities = _checked_probabilities(manifest, tile_probs, classes)
    index_of = {name: index for index, name in enumerate(classes)}
    tile_true = manifest["class"].map(index_of).to_numpy()
    tile_predicted = probabilities.argmax(axis=1)

    names, first_row, group, artwork_probs = _artwork_means(manifest, probabilities)
    artwork_probs = verdict_probabilities(names, artwork_probs, head, statistics)
    artwork_true = tile_true[first_row]
    artwork_predicted = artwork_probs.argmax(axis=1)
    artwork_correct = artwork_predicted == artwork_true

    sources = np.array([source_of(name) for name in names])
    per_source = {}
    for source in sorted(set(sources)):
        members = sources == source
        per_source[source] = {
            **_accuracy(int(artwork_correct[members].sum()), int(members.sum())),
            "classes": {classes[i]: int((artwork_true[members] == i).sum()) for i in np.unique(artwork_true[members])},
        }

    misclassified = []
    for index in np.flatnonzero(~artwork_correct):
        rows = np.flatnonzero(group == index)
        misclassified.append({
            "artwork": str(names[index]),
            "true": classes[artwork_true[index]],
            "predicted": classes[artwork_predicted[index]],
            "probabilities": _named(artwork_probs[index], classes),
            "tiles": [{"tile": str(manifest["tile"].iloc[row]), "probabilities": _named(probabilities[row], classes)}
                      for row in rows],
        })

    return {
        "classes": list(classes),
        "n_tiles": int(len(manifest)),
        "n_artworks": int(len(names)),
        "tile_accuracy": _accuracy(int((tile_predicted == tile_true).sum()), len(manifest)),
        "artwork_accuracy": _accuracy(int(artwork_correct.sum()), len(names)),
        "tile_confusion": _confusion(tile_true, tile_predicted, len(classes)),
        "artwork_confusion": _confusion(artwork_true, artwork_predicted, len(classes)),
        "roc_auc": _macro_auc(artwork_true, artwork_probs),
        "per_source": per_source,
        "misclassified": misclassified,
    }


def evaluate_model(model: Any, dataset_dir: str | os.PathLike, split: str = "test", batch_size: int = 32, *,
                   metadata: dict | None = None, name: str = "the model", head: StatisticsHead | None = None) -> dict:
    """`summarise` of `model` on one split ("train", "test" or "all") of a dataset folder.

    Given the model's `metadata` (as storage.load_model returns it), its classes and tile size must
    be the dataset's, and its statistics head (if any) gives the verdicts; `name` (the model file, say) is
    how error messages call the model. `head` is for a model being trained, whose metadata is not written yet.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
    from artcnn import data
    from artcnn.storage import classes_fit

    info = data.read_dataset(dataset_dir)
    files, labels = data.labels_for(info, split)
    if not files:
        raise ValueError(f"dataset {info.path} has no tiles in split {split!r}.")
    units = model.output_shape[-1]
    if not classes_fit(units, len(info.classes)):
        raise ValueError(f"{name} has {units} output unit(s) but dataset {info.path} has "
                         f"{len(info.classes)} classes ({', '.join(info.classes)}).")
    if metadata is not None:
        _check_fits_dataset(metadata, info, name)
    manifest = data.split_rows(info, split)
    # A model that takes any size (input_shape None) gets the tiles as they are, as in prediction.
    input_size = model.input_shape[1] or info.tiling.tile_size
    pipeline = data.make_pipeline(files, labels, len(info.classes), input_size, batch_size,
                                  training=False, cache=False)
    outputs = model.predict(pipeline, verbose=0)
    head = head or (StatisticsHead.from_metadata(metadata) if metadata is not None else None)
    return summarise(manifest.reset_index(drop=True), outputs, info.classes, head=head,
                     statistics=read_statistics(info) if head is not None else None)


def _check_fits_dataset(metadata: dict, info: Any, name: str) -> None:
    """Scores of a model on another task, or on tiles of another scale, would look valid but mean nothing."""
    classes = list(metadata.get("classes") or info.classes)
    if classes != list(info.classes):
        raise ValueError(f"{name} was trained on classes {', '.join(map(str, classes))} but dataset {info.path} "
                         f"has {', '.join(info.classes)}.")
    tile_size = (metadata.get("tiling") or {}).get("tile_size")
    if tile_size is not None and tile_size != info.tiling.tile_size:
        raise ValueError(f"{name} was trained on {tile_size}-px tiles but dataset {info.path} has "
                         f"{info.tiling.tile_size}-px tiles; evaluate it on a dataset tiled with tile size {tile_size}.")
