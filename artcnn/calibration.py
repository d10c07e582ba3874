"""Calibrated verdicts: a decision threshold and a "needs review" band from held-out artworks.

Split conformal prediction, one class at a time (Mondrian): on calibration artworks the model
has not trained on, find the p(kom) below which a han artwork falls with probability 1 - error
rate, and the p(kom) above which a kom artwork does. An artwork whose p(kom) is in both ranges
(ambiguous) or in neither (unlike anything seen) gets "needs review"; every other artwork gets
the one class whose range holds it. For new artworks like the calibration ones, each class is
then labelled wrong at most `error_rate` of the time. Artists unlike the calibration ones are
not covered by that guarantee; leave-one-source-out (crossval) measures how they fare.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

DEFAULT_ERROR_RATE = 0.05


@dataclass(frozen=True)
class Calibration:
    # p(second class) at or above which the label is the second class (outside the band).
    threshold: float
    # Artworks with low < p(second class) < high get "needs review" (prediction.decide).
    review_band: tuple[float, float]
    error_rate: float
    # Calibration artworks per class.
    counts: dict[str, int]
    # On the calibration artworks themselves: share sent to review, and share wrongly labelled, per class.
    review_share: dict[str, float]
    error_share: dict[str, float]

    def metadata(self) -> dict:
        """The keys prediction.decide reads, and what they came from."""
        return {
            "threshold": self.threshold,
            "review_band": list(self.review_band),
            "calibration": {"error_rate": self.error_rate, "counts": self.counts,
                            "review_share": self.review_share, "error_share": self.error_share},
        }


def conformal_quantile(scores: Any, error_rate: float) -> float:
    """The ⌈(n + 1)(1 - error_rate)⌉-th smallest of n calibration scores: a new exchangeable score
    exceeds it with probability at most error_rate."""
    scores = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if not 0.0 < error_rate < 1.0:
        raise ValueError(f"error_rate must be in (0, 1). Received: error_rate={error_rate}")
    rank = math.ceil((len(scores) + 1) * (1.0 - error_rate))
    if rank > len(scores):
        needed = math.ceil((1.0 - error_rate) / error_rate)
        raise ValueError(f"an error rate of {error_rate:g} needs at least {needed} calibration artworks per class. "
                         f"Received: {len(scores)}. Calibrate on more artworks or allow a higher error rate.")
    return float(scores[rank - 1])


def review_band(p_positive: Any, positive: Any, error_rate: float = DEFAULT_ERROR_RATE,
                classes: tuple[str, str] = ("han", "kom")) -> Calibration:
    """Threshold and review band from calibration artworks' p(second class) and whether each is of it."""
    p_positive = np.asarray(p_positive, dtype=np.float64).ravel()
    positive = np.asarray(positive).astype(bool).ravel()
    if p_positive.shape != positive.shape:
        raise ValueError(f"p_positive and positive must have the same length. "
                         f"Received: {p_positive.size} scores, {positive.size} labels")
    if p_positive.size and (p_positive.min() < 0 or p_positive.max() > 1):
        raise ValueError(f"p_positive must be probabilities in [0, 1]. "
                         f"Received: values from {p_positive.min()} to {p_positive.max()}")
    for name, members in zip(classes, (~positive, positive)):
        if not members.any():
            raise ValueError(f"calibration needs artworks of both classes. Received: none of class {name!r}")
    # The first class is in a verdict's set while p <= first_upper; the second while p >= second_lower.
    first_upper = conformal_quantile(p_positive[~positive], error_rate)
    second_lower = 1.0 - conformal_quantile(1.0 - p_positive[positive], error_rate)
    if second_lower <= first_upper:
        # Both classes are possible on [second_lower, first_upper]; the band is open, so it widens by one ulp.
        low, high = float(np.nextafter(second_lower, -np.inf)), float(np.nextafter(first_upper, np.inf))
    else:
        # Neither class is likely strictly between the two: an artwork unlike the calibration ones.
        low, high = first_upper, second_lower
    threshold = (low + high) / 2.0
    review = (p_positive > low) & (p_positive < high)
    wrong = ~review & ((p_positive >= threshold) != positive)
    counts, review_share, error_share = {}, {}, {}
    for name, members in zip(classes, (~positive, positive)):
        counts[name] = int(members.sum())
        review_share[name] = float(review[members].mean())
        error_share[name] = float(wrong[members].mean())
    return Calibration(threshold, (low, high), error_rate, counts, review_share, error_share)


def labelled_scores(model: Any, metadata: dict, data: str | os.PathLike, *, split: str = "test",
                    batch_size: int = 64, progress: Callable[[int, int | None, Any], None] | None = None
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Artworks, their class indices and their probabilities [n, n_classes] under `model`.

    `data` is a dataset folder (the tiles of `split`, averaged per artwork as evaluation does) or a
    folder of class sub-folders of whole artworks (classified exactly as `classify` does; unreadable
    files are left out).
    """
    classes = list(metadata["classes"])
    folder = Path(data)
    if (folder / "dataset.json").is_file():
        return _dataset_scores(model, classes, folder, split, batch_size)
    from artcnn.config import PredictConfig
    from artcnn.prediction import classify
    from artcnn.tiling import class_folders

    collection = class_folders(folder)
    unknown = sorted(set(collection) - set(classes))
    if unknown:
        raise ValueError(f"{folder} has class folder(s) {', '.join(unknown)} that the model does not know "
                         f"(model classes: {', '.join(classes)}).")
    files = [(classes.index(name), file) for name in sorted(collection) for file in collection[name]]
    results = classify((model, metadata), [file for _, file in files], PredictConfig(batch_size=batch_size),
                       progress=progress)
    names, true, probabilities = [], [], []
    for (label, _), result in zip(files, results):
        if result.error is None:
            names.append(result.file)
            true.append(label)
            probabilities.append([result.probabilities[name] for name in classes])
    if not names:
        raise ValueError(f"no artwork in {folder} could be classified.")
    return names, np.asarray(true), np.asarray(probabilities)


def _dataset_scores(model: Any, classes: list[str], folder: Path, split: str,
                    batch_size: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    from artcnn import data
    from artcnn.evaluation import artwork_probabilities

    info = data.read_dataset(folder)
    if info.classes != classes:
        raise ValueError(f"dataset {folder} has classes {', '.join(info.classes)} but the model has "
                         f"{', '.join(classes)}.")
    files, labels = data.labels_for(info, split)
    if not files:
        raise ValueError(f"dataset {folder} has no tiles in split {split!r} to calibrate on.")
    rows = info.manifest if split == "all" else info.manifest[info.manifest["split"] == split]
    pipeline = data.make_pipeline(files, labels, len(classes), model.input_shape[1], batch_size, training=False,
                                  cache=False)
    table = artwork_probabilities(rows.reset_index(drop=True), model.predict(pipeline, verbose=0), classes)
    return (table["artwork"].tolist(), table["class"].map(classes.index).to_numpy(),
            table[[f"p_{name}" for name in classes]].to_numpy())


def calibrate_model(model_path: str | os.PathLike, data: str | os.PathLike, *,
                    error_rate: float = DEFAULT_ERROR_RATE, split: str = "test", batch_size: int = 64,
                    progress: Callable[[int, int | None, Any], None] | None = None) -> Calibration:
    """Calibrate a two-class model on held-out artworks (see labelled_scores) and rewrite its file,
    atomically, with threshold, review_band and calibration in its metadata."""
    from artcnn.storage import load_model, save_model

    model, metadata = load_model(model_path)
    classes = list(metadata["classes"])
    if len(classes) != 2:
        raise ValueError(f"calibration supports models of two classes. Received: {len(classes)} classes "
                         f"({', '.join(classes)}) in {model_path}")
    _, true, probabilities = labelled_scores(model, metadata, data, split=split, batch_size=batch_size,
                                             progress=progress)
    calibration = review_band(probabilities[:, 1], true == 1, error_rate, (classes[0], classes[1]))
    scored = split if (Path(data) / "dataset.json").is_file() else "whole artworks"
    details = {**calibration.metadata()["calibration"], "data": str(data), "split": scored}
    save_model(model, model_path, {**metadata, **calibration.metadata(), "calibration": details})
    return calibration
