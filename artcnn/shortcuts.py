"""The shortcut check: can the classes be told apart without looking at the art?

If a trivial classifier that sees only per-artwork file properties (size, aspect, format,
compression, mean colour, white background, EXIF: artcnn/file_properties.py) separates the classes, a CNN can learn the
same property instead of how the works were made, and fail on the next artist. We fit a
logistic regression (numpy only) on those properties with the grouped evaluation crossval uses
and, when it scores far above chance, say in plain words which property separates the classes
(`findings`) and what to do about it (`advice`), as items each front end renders in its own terms.
Plain numpy/Pillow: the Datasets page calls it without TensorFlow.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from artcnn.config import ImageLimits
from artcnn.evaluation import wilson_interval
from artcnn.file_properties import feature_table
from artcnn.folds import assign_sources, plan_folds
from artcnn.progress import ProgressCallback

# "Far above chance": the lower end of the 95% interval beats guessing the largest class by this much.
MARGIN = 0.10
# Folds of the by-artwork fallback when no class has two sources.
FALLBACK_FOLDS = 5
# What a user can do when a property separates the classes, in words free of any command or page
# field (the front ends add their own); {long_side} and {what} are filled in per report.
RESIZE = ("Resize every artwork to one size before tiling: scale each to a {long_side}-pixel long side, "
          "or crop them all to one size.")
REENCODE = ("Re-encode every artwork the same way before tiling (one file format, one JPEG quality), so "
            "compression artefacts in the pixels do not differ by class.")
STRIP_EXIF = REENCODE + " Strip EXIF fields while doing so."
BROADEN = ("Add artworks to each class whose {what} resembles the other classes', so that the model has to "
           "look at how the works were made.")
# Each property the check reports, its feature columns, and the advice when it separates the classes.
PROPERTIES: dict[str, tuple[tuple[str, ...], str]] = {
    "image size": (("width", "height", "log_pixels", "size_frequency"), RESIZE),
    "aspect ratio": (("aspect", "square"), RESIZE),
    "file format": (("format_jpeg", "format_png", "format_other"), REENCODE),
    "bytes per pixel": (("bytes_per_pixel",), REENCODE),
    "mean colour": (("mean_red", "mean_green", "mean_blue"), BROADEN),
    "near-white share": (("white_share",), BROADEN),
    "EXIF fields": (("exif", "exif_fields"), STRIP_EXIF),
}


@dataclass(frozen=True)
class PropertyScore:
    name: str
    # Grouped accuracy of the classifier that sees only this property: value, low, high, correct, total.
    accuracy: dict
    # Whether this property alone separates the classes far above chance.
    separates: bool
    # How the classes differ in this property, in words.
    description: str


@dataclass(frozen=True)
class Advice:
    # One thing to do about a shortcut, and why, in plain words for a terminal and a page alike.
    text: str
    # For advice to resize: the long side in pixels to scale every artwork to before tiling, which is
    # TilingConfig.long_side (the CLI's --long-side, the Datasets page's "Resize longest side"); else None.
    long_side: int | None = None


@dataclass(frozen=True)
class ShortcutReport:
    # Grouped accuracy of the classifier on all properties together.
    accuracy: dict
    # Accuracy of always answering the largest class.
    chance: float
    # How the classifier was evaluated, in words.
    evaluation: str
    # One score per property, the best separating first.
    properties: list[PropertyScore]
    # What was found, one plain sentence or two per item: first the overall result, then each property
    # that separates the classes alone. Empty when file properties do not separate the classes.
    findings: list[str]
    # What to do about it, one item each; empty when there is nothing to do.
    advice: list[Advice]
    # A long side to resize every artwork to (the collection's median, in multiples of 64).
    suggested_long_side: int
    # One row per artwork: artwork, class, source and every feature.
    features: pd.DataFrame
    # Files that could not be read: [{"file", "reason"}].
    skipped: list[dict] = field(default_factory=list)

    @property
    def warns(self) -> bool:
        """Whether file properties alone separate the classes far above chance."""
        return bool(self.findings)

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy, "chance": self.chance, "evaluation": self.evaluation,
            "properties": [vars(score) for score in self.properties], "findings": self.findings,
            "advice": [vars(item) for item in self.advice], "suggested_long_side": self.suggested_long_side,
            "skipped": self.skipped,
        }


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, spread = train.mean(axis=0), train.std(axis=0)
    spread[spread < 1e-12] = 1.0
    return (train - mean) / spread, (test - mean) / spread


def fit_logistic(x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = 0.01, steps: int = 500,
                 learning_rate: float = 0.5) -> np.ndarray:
    """Weights [features + 1, n_classes] of an L2-regularised softmax regression on standardised x,
    by full-batch gradient descent; classes weigh equally whatever their size."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must have the same, non-zero length. Received: {len(x)} rows, {len(y)} labels")
    inputs = np.hstack([x, np.ones((len(x), 1))])
    targets = np.eye(n_classes)[y]
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sample_weight = (len(y) / (n_classes * np.maximum(counts, 1)))[y][:, None]
    weights = np.zeros((inputs.shape[1], n_classes))
    penalty = np.ones_like(weights)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        probabilities = _softmax(inputs @ weights)
        gradient = inputs.T @ ((probabilities - targets) * sample_weight) / len(y) + l2 * penalty * weights
        weights -= learning_rate * gradient
    return weights


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _folds(table: pd.DataFrame, seed: int) -> tuple[list[np.ndarray], str]:
    """Boolean test masks: leave-one-source-out when a class has two sources, else k folds by artwork."""
    try:
        folds = plan_folds(table[["artwork", "class", "source"]], seed)
        return ([table["artwork"].isin(fold.test).to_numpy() for fold in folds],
                f"each source left out in turn: {', '.join(fold.name for fold in folds)}")
    except ValueError:
        order = np.random.default_rng(seed).permutation(len(table))
        count = min(FALLBACK_FOLDS, len(table))
        assignment = np.empty(len(table), dtype=int)
        assignment[order] = np.arange(len(table)) % count
        return [assignment == index for index in range(count)], f"{count} folds by artwork, as no class has two sources"


def _expected_correct(logits: np.ndarray, true: np.ndarray) -> float:
    """Rows argmax gets right, a tie among k classes that holds the true one counting 1/k.

    A property shared by several classes leaves their class-balanced logits equal up to float noise.
    Broken by that noise, ties once made a constant property "separate" the classes; given to the
    training set's largest class, they went against the left-out source every time. Rounded ties carry
    no information, so they count as a fair guess among the tied classes.
    """
    scores = np.round(logits, 6)
    tied = scores == scores.max(axis=1, keepdims=True)
    return float((tied[np.arange(len(true)), true] / tied.sum(axis=1)).sum())


def grouped_accuracy(table: pd.DataFrame, columns: Sequence[str], folds: list[np.ndarray],
                     classes: list[str]) -> dict:
    """Accuracy (value, low, high, correct, total) of the logistic regression on `columns`, each artwork
    predicted by the fold that tests it; `correct` counts a tie among k classes as 1/k."""
    x = table[list(columns)].to_numpy(dtype=np.float64)
    y = table["class"].map({name: index for index, name in enumerate(classes)}).to_numpy()
    correct, total = 0.0, 0
    for test in folds:
        train = ~test
        if not test.any() or len(np.unique(y[train])) < 2:
            continue
        train_x, test_x = _standardise(x[train], x[test])
        weights = fit_logistic(train_x, y[train], len(classes))
        correct += _expected_correct(np.hstack([test_x, np.ones((len(test_x), 1))]) @ weights, y[test])
        total += int(test.sum())
    low, high = wilson_interval(correct, total)
    return {"value": correct / total if total else 0.0, "low": low, "high": high, "correct": correct, "total": total}


def _describe(name: str, table: pd.DataFrame, classes: list[str]) -> str:
    parts = []
    for class_name in classes:
        rows = table[table["class"] == class_name]
        if name == "image size":
            (width, height), count = Counter(zip(rows["width"], rows["height"])).most_common(1)[0]
            long_sides = np.maximum(rows["width"], rows["height"])
            parts.append(f"{class_name}: {count} of {len(rows)} are {width}×{height} px, long side "
                         f"{long_sides.min()}-{long_sides.max()} px (median {long_sides.median():.0f})")
        elif name == "aspect ratio":
            parts.append(f"{class_name}: {int(rows['square'].sum())} of {len(rows)} are square, "
                         f"median width/height {rows['aspect'].median():.2f}")
        elif name == "file format":
            shares = rows["format"].value_counts()
            parts.append(f"{class_name}: " + ", ".join(f"{count} {fmt.upper() or 'unknown'}" for fmt, count in shares.items()))
        elif name == "bytes per pixel":
            parts.append(f"{class_name}: median {rows['bytes_per_pixel'].median():.2f} bytes per pixel")
        elif name == "mean colour":
            red, green, blue = (rows[f"mean_{c}"].median() * 255 for c in ("red", "green", "blue"))
            parts.append(f"{class_name}: median colour RGB({red:.0f}, {green:.0f}, {blue:.0f})")
        elif name == "near-white share":
            parts.append(f"{class_name}: median {rows['white_share'].median():.0%} near-white pixels")
        else:
            parts.append(f"{class_name}: {int(rows['exif'].sum())} of {len(rows)} carry EXIF fields")
    return "; ".join(parts)


def _suggested_long_side(table: pd.DataFrame) -> int:
    median = float(np.maximum(table["width"], table["height"]).median()) if len(table) else 1024.0
    return int(max(256, round(median / 64) * 64))


def _percent(accuracy: dict) -> str:
    return f"{accuracy['value']:.0%} (95% interval {accuracy['low']:.0%}-{accuracy['high']:.0%})"


def _advice(template: str, long_side: int, what: str) -> Advice:
    return Advice(template.format(long_side=long_side, what=what), long_side if template == RESIZE else None)


def _findings_and_advice(accuracy: dict, chance: float, evaluation: str, separating: list[PropertyScore],
                         long_side: int) -> tuple[list[str], list[Advice]]:
    findings = [
        "Your classes can be told apart without looking at the art. A simple classifier that sees only file "
        f"properties, never the pictures, gets {_percent(accuracy)} of artworks right ({evaluation}); always "
        f"answering the largest class gets {chance:.0%}. A CNN trained on these artworks may learn these "
        "properties instead of how the works were made, and fail on artists whose files differ.",
    ]
    advice: list[Advice] = []
    for score in separating:
        findings.append(f"{score.name} alone gets {_percent(score.accuracy)} right. {score.description}.")
        item = _advice(PROPERTIES[score.name][1], long_side, score.name)
        if item not in advice:
            advice.append(item)
    if not separating:
        findings.append("No single property does it alone; together they do.")
        advice += [_advice(RESIZE, long_side, ""), _advice(REENCODE, long_side, "")]
    return findings, advice


def check_shortcuts(
    artworks: str | os.PathLike | Mapping[str, Sequence[str | os.PathLike]],
    *,
    sources: Mapping[str, str] | None = None,
    limits: ImageLimits = ImageLimits(),
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> ShortcutReport:
    """Run the shortcut check on a class-folder collection, a dataset folder or a mapping class → files.

    sources: artwork → source overrides, as for crossval (default: the filename prefix).
    """
    table, skipped = feature_table(artworks, limits=limits, progress=progress)
    classes = sorted(table["class"].unique()) if len(table) else []
    if len(classes) < 2:
        raise ValueError(f"the shortcut check needs readable artworks in at least two classes. "
                         f"Received: classes={classes}, {len(skipped)} file(s) skipped")
    table["source"] = table["artwork"].map(assign_sources(list(table["artwork"]), sources))
    folds, evaluation = _folds(table, seed)
    chance = float(table["class"].value_counts().max() / len(table))
    everything = [column for columns, _ in PROPERTIES.values() for column in columns]
    accuracy = grouped_accuracy(table, everything, folds, classes)
    scores = []
    for name, (columns, _) in PROPERTIES.items():
        alone = grouped_accuracy(table, columns, folds, classes)
        scores.append(PropertyScore(name, alone, alone["low"] >= chance + MARGIN, _describe(name, table, classes)))
    scores.sort(key=lambda score: -score.accuracy["value"])
    long_side = _suggested_long_side(table)
    findings, advice = [], []
    if accuracy["low"] >= chance + MARGIN:
        findings, advice = _findings_and_advice(accuracy, chance, evaluation,
                                                [score for score in scores if score.separates], long_side)
    return ShortcutReport(accuracy, chance, evaluation, scores, findings, advice, long_side, table, skipped)

