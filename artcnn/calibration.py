"""Calibrated verdicts: per-class conformal prediction sets from held-out artworks.

Split conformal prediction, one class at a time (Mondrian, class-conditional): on calibration
artworks the model has not trained on, find for each class the probability of that class that
all but `error_rate` of its own artworks reach. A new artwork's prediction set holds every class
whose probability reaches that class's threshold. A set of exactly one class is the label; an
empty set (unlike anything seen) or a set of several (ambiguous) gets "needs review". For new
artworks like the calibration ones, each class then misses its own artworks at most `error_rate`
of the time, for any number of classes; with two classes the sets are the old threshold and
review band on p(second class). Artists unlike the calibration ones are not covered by that
guarantee; leave-one-source-out (crossval) measures how they fare.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artcnn.dataset import is_dataset
from artcnn.progress import ProgressCallback, emit

DEFAULT_ERROR_RATE = 0.05


@dataclass(frozen=True)
class Calibration:
    # Per class, the lowest probability of that class at which the class is in an artwork's
    # prediction set (prediction.decide labels an artwork only when its set is one class).
    thresholds: dict[str, float]
    error_rate: float
    # Calibration artworks per class.
    counts: dict[str, int]
    # On the calibration artworks themselves: share sent to review, and share wrongly labelled, per class.
    review_share: dict[str, float]
    error_share: dict[str, float]

    def metadata(self) -> dict:
        """The key prediction.decide reads, and what it came from."""
        return {
            "class_thresholds": self.thresholds,
            "calibration": {"error_rate": self.error_rate, "counts": self.counts,
                            "review_share": self.review_share, "error_share": self.error_share},
        }


def _check_error_rate(error_rate: float) -> None:
    if not 0.0 < error_rate < 1.0:
        raise ValueError(f"error_rate must be in (0, 1). Received: error_rate={error_rate}")


def _rank(count: int, error_rate: float) -> int:
    """The rank of the conformal quantile among `count` scores; above `count` when they are too few."""
    return math.ceil((count + 1) * (1.0 - error_rate))


def _too_few(count: int, error_rate: float, which: str) -> ValueError:
    needed = math.ceil((1.0 - error_rate) / error_rate)
    # The lowest rate, in whole percent, that `count` artworks allow (about 1 / (count + 1)).
    lowest = next((percent / 100 for percent in range(1, 100) if _rank(count, percent / 100) <= count), None)
    allow = f"; {lowest:g} works with {count}" if lowest is not None else ""
    return ValueError(f"an error rate of {error_rate:g} needs at least {needed} calibration artworks per class. "
                      f"Received: {count}{which}. Calibrate on more artworks or allow a higher error rate: "
                      f"--error-rate on the command line, error_rate= in Python{allow}.")


def conformal_quantile(scores: Any, error_rate: float) -> float:
    """The ⌈(n + 1)(1 - error_rate)⌉-th smallest of n calibration scores: a new exchangeable score
    exceeds it with probability at most error_rate."""
    scores = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    _check_error_rate(error_rate)
    rank = _rank(len(scores), error_rate)
    if rank > len(scores):
        raise _too_few(len(scores), error_rate, "")
    return float(scores[rank - 1])


def prediction_sets(probabilities: Any, thresholds: Sequence[float]) -> np.ndarray:
    """[n, classes] booleans: class k is in an artwork's set when its probability reaches thresholds[k]."""
    probabilities = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if probabilities.shape[1] != thresholds.size:
        raise ValueError(f"each artwork needs one probability per threshold ({thresholds.size}). "
                         f"Received: probabilities of shape {probabilities.shape}")
    return probabilities >= thresholds


def class_thresholds(probabilities: Any, true: Any, classes: Sequence[str],
                     error_rate: float = DEFAULT_ERROR_RATE) -> Calibration:
    """Per-class thresholds from calibration artworks' probabilities [n, classes] and true class indices [n]."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    true = np.asarray(true).ravel()
    classes = list(classes)
    _check_error_rate(error_rate)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(classes) or len(classes) < 2:
        raise ValueError(f"probabilities must have one column per class ({len(classes)}, at least two). "
                         f"Received: shape={probabilities.shape}, classes={classes}")
    if len(true) != len(probabilities):
        raise ValueError(f"probabilities and true must have one row per artwork. "
                         f"Received: {len(probabilities)} rows of probabilities, {len(true)} labels")
    if true.size and (not np.issubdtype(true.dtype, np.integer) or true.min() < 0 or true.max() >= len(classes)):
        raise ValueError(f"true must hold class indices 0-{len(classes) - 1}. Received: {np.unique(true)[:10]}")
    if probabilities.size and (probabilities.min() < 0 or probabilities.max() > 1):
        raise ValueError(f"probabilities must be in [0, 1]. "
                         f"Received: values from {probabilities.min()} to {probabilities.max()}")
    thresholds = {}
    for index, name in enumerate(classes):
        own = probabilities[true == index, index]
        if not own.size:
            raise ValueError(f"calibration needs artworks of every class. Received: none of class {name!r}")
        if _rank(own.size, error_rate) > own.size:
            raise _too_few(own.size, error_rate, f" of class {name!r}")
        # The score is 1 - p(true class); its conformal quantile is taken on -p so that the
        # threshold is one of the class's own probabilities, exactly, and ties stay in the set.
        thresholds[name] = -conformal_quantile(-own, error_rate)
    sets = prediction_sets(probabilities, [thresholds[name] for name in classes])
    review = sets.sum(axis=1) != 1
    wrong = ~review & ~sets[np.arange(len(true)), true]
    counts, review_share, error_share = {}, {}, {}
    for index, name in enumerate(classes):
        members = true == index
        counts[name] = int(members.sum())
        review_share[name] = float(review[members].mean())
        error_share[name] = float(wrong[members].mean())
    return Calibration(thresholds, error_rate, counts, review_share, error_share)


def labelled_scores(model: Any, metadata: dict, data: str | os.PathLike, *, split: str = "test",
                    batch_size: int = 64, progress: ProgressCallback | None = None
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Artworks, their class indices and their probabilities [n, n_classes] under `model`.

    `data` is a dataset folder (the tiles of `split`, averaged per artwork as evaluation does) or a
    folder of class sub-folders of whole artworks (classified exactly as `classify` does; unreadable
    files are left out).
    """
    classes = list(metadata["classes"])
    folder = Path(data)
    if is_dataset(folder):
        return _dataset_scores(model, metadata, folder, split, batch_size, progress)
    from artcnn.config import PredictConfig
    from artcnn.prediction import classify
    from artcnn.dataset_build import class_folders

    collection = class_folders(folder)
    unknown = sorted(set(collection) - set(classes))
    if unknown:
        raise ValueError(f"{folder} has class folder(s) {', '.join(unknown)} that the model does not know "
                         f"(model classes: {', '.join(classes)}).")
    files = [(classes.index(name), file) for name in sorted(collection) for file in collection[name]]
    results = classify((model, metadata), [file for _, file in files], PredictConfig(batch_size=batch_size))
    names, true, probabilities = [], [], []
    for done, ((label, _), result) in enumerate(zip(files, results), start=1):
        emit(progress, "calibrating", done, len(files), Path(result.file).name, result)
        if result.error is None:
            names.append(result.file)
            true.append(label)
            probabilities.append([result.probabilities[name] for name in classes])
    if not names:
        raise ValueError(f"no artwork in {folder} could be classified.")
    return names, np.asarray(true), np.asarray(probabilities)


def _dataset_scores(model: Any, metadata: dict, folder: Path, split: str, batch_size: int,
                    progress: ProgressCallback | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    from artcnn import data
    from artcnn.dataset import read_statistics
    from artcnn.evaluation import artwork_probabilities
    from artcnn.image_statistics import StatisticsHead

    classes = list(metadata["classes"])

    info = data.read_dataset(folder)
    if info.classes != classes:
        raise ValueError(f"dataset {folder} has classes {', '.join(info.classes)} but the model has "
                         f"{', '.join(classes)}.")
    files, labels = data.labels_for(info, split)
    if not files:
        raise ValueError(f"dataset {folder} has no tiles in split {split!r} to calibrate on.")
    rows = data.split_rows(info, split)
    pipeline = data.make_pipeline(files, labels, len(classes), model.input_shape[1], batch_size, training=False,
                                  cache=False)
    emit(progress, "calibrating", 0, len(files), f"scoring {len(files)} tiles of split {split}")
    outputs = model.predict(pipeline, verbose=0)
    emit(progress, "calibrating", len(files), len(files), f"scored {len(files)} tiles of split {split}")
    head = StatisticsHead.from_metadata(metadata)
    table = artwork_probabilities(rows.reset_index(drop=True), outputs, classes, head=head,
                                  statistics=read_statistics(info) if head is not None else None)
    return (table["artwork"].tolist(), table["class"].map(classes.index).to_numpy(),
            table[[f"p_{name}" for name in classes]].to_numpy())


def calibrate_model(model_path: str | os.PathLike, data: str | os.PathLike, *,
                    error_rate: float = DEFAULT_ERROR_RATE, split: str = "test", batch_size: int = 64,
                    progress: ProgressCallback | None = None) -> Calibration:
    """Calibrate a model of any number of classes on held-out artworks (see labelled_scores) and
    rewrite its file, atomically, with class_thresholds and calibration in its metadata."""
    from artcnn.storage import load_model, save_model

    _check_error_rate(error_rate)
    model, metadata = load_model(model_path)
    classes = list(metadata["classes"])
    _, true, probabilities = labelled_scores(model, metadata, data, split=split, batch_size=batch_size,
                                             progress=progress)
    calibration = class_thresholds(probabilities, true, classes, error_rate)
    scored = split if is_dataset(data) else "whole artworks"
    details = {**calibration.metadata()["calibration"], "data": str(data), "split": scored}
    # A binary model calibrated before class thresholds existed carries threshold and review_band;
    # its new thresholds replace them.
    kept = {key: value for key, value in metadata.items() if key not in ("threshold", "review_band")}
    save_model(model, model_path, {**kept, **calibration.metadata(), "calibration": details})
    return calibration
