"""A finished run's mistakes: the test artworks behind each cell of its confusion matrix, and the top
losses (the most confidently wrong artworks first) with their tiles.

Everything is read from the run folder's metrics.json (evaluation.summarise: the misclassified artworks
with their tiles) and its dataset's manifest (the test artworks and their classes), so an old run is
read the same way and nothing is scored again. No TensorFlow.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

# A probability of the true class this small or smaller counts as this, so one certain mistake's loss
# stays a number.
SMALLEST_PROBABILITY = 1e-7


@dataclass(frozen=True)
class Mistake:
    """One misclassified test artwork."""

    artwork: str
    true: str
    predicted: str
    # The artwork's verdict probability of each class (as evaluation.summarise gives it).
    probabilities: dict[str, float]
    # Cross-entropy of its true class: -ln p(true). The larger, the more confidently wrong.
    loss: float
    # Its tiles as [{"tile": path inside the dataset folder, "file": absolute path, "probabilities": {...}}].
    tiles: list[dict]


@dataclass(frozen=True)
class RunMistakes:
    """A finished run's test artworks by confusion-matrix cell, and its mistakes."""

    classes: list[str]
    # {(true class, predicted class): [artwork, ...]}, every cell present (empty ones too).
    cells: dict[tuple[str, str], list[str]]
    # Most confidently wrong first.
    top_losses: list[Mistake]


def read_mistakes(run_dir: str | os.PathLike) -> RunMistakes:
    """The mistakes of the finished run in `run_dir`, or a ValueError saying in words why there are none
    to show (not a run, not finished, no test split)."""
    from artcnn.dataset import read_description, read_manifest
    from artcnn.run_folder import read_run

    run_dir = Path(run_dir)
    run = read_run(run_dir)
    metrics = run["metrics"]
    if metrics is None:
        state = run["status"].get("state", "not started")
        raise ValueError(f"run {run_dir.name} has no results yet (it is {state}): its mistakes are known once it "
                         "has finished.")
    dataset_dir = Path(run["config"].get("dataset", ""))
    if not metrics:
        raise ValueError(f"run {run_dir.name} was not tested: its dataset {dataset_dir.name} has no test split. Build "
                         "the dataset again with a test fraction above 0 to see the model's mistakes.")
    classes = list(metrics["classes"])
    wrong = {entry["artwork"]: entry for entry in metrics["misclassified"]}
    cells: dict[tuple[str, str], list[str]] = {(true, predicted): [] for true in classes for predicted in classes}
    for entry in metrics["misclassified"]:
        cells[(entry["true"], entry["predicted"])].append(entry["artwork"])
    if dataset_dir.is_dir():
        manifest = read_manifest(read_description(dataset_dir))
        tested = manifest[manifest["split"] == "test"].groupby("artwork", sort=True)["class"].first()
        for artwork, name in tested.items():
            if artwork not in wrong and name in classes:
                cells[(name, name)].append(str(artwork))
    mistakes = [_mistake(entry, dataset_dir) for entry in metrics["misclassified"]]
    return RunMistakes(classes=classes, cells=cells,
                       top_losses=sorted(mistakes, key=lambda mistake: (-mistake.loss, mistake.artwork)))


def _mistake(entry: dict, dataset_dir: Path) -> Mistake:
    probability = max(entry["probabilities"][entry["true"]], SMALLEST_PROBABILITY)
    return Mistake(
        artwork=entry["artwork"], true=entry["true"], predicted=entry["predicted"],
        probabilities=dict(entry["probabilities"]), loss=-math.log(probability),
        tiles=[{**tile, "file": str(dataset_dir / tile["tile"])} for tile in entry["tiles"]],
    )


def cell_counts(mistakes: RunMistakes) -> list[list[int]]:
    """The confusion matrix (rows: true class, columns: predicted) of the artworks the cells list."""
    return [[len(mistakes.cells[(true, predicted)]) for predicted in mistakes.classes] for true in mistakes.classes]
