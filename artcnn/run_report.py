"""What a person is told about a training run, on the Train page: the phase it is in, the time it will
take (from this machine's earlier runs, then from its own epochs) and whether its result is near chance.

Reads run folders only (run_folder.read_run), never TensorFlow.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Sequence

from artcnn.fitting import TrainingStep
from artcnn.progress import Progress


def phase(event: Progress | None) -> str:
    """A training job's latest event as one state: "loading TensorFlow", "training epoch 2 of 3 · batch 5
    of 20", "evaluating on the test split", or the event's own text for any other stage."""
    if event is None or (event.payload is None and event.done == 0 and event.what in ("training", "finalizing")):
        return "loading TensorFlow"
    step = event.payload
    if isinstance(step, TrainingStep):
        return f"training epoch {step.epoch + 1} of {step.epochs} · batch {step.batch} of {step.batches}"
    if event.what == "evaluating":
        return "evaluating on the test split"
    return event.text()


def seconds_per_tile(runs_dir: str | os.PathLike, recipe: str, input_size: int) -> float | None:
    """Seconds one epoch took per tile of its dataset (all splits, as an epoch also validates), the median
    over the epochs of every run in `runs_dir` of this recipe and input size whose dataset still exists;
    None when there is none to measure from."""
    from artcnn.dataset import read_description
    from artcnn.run_folder import CONFIG, read_run

    rates = []
    for config_file in sorted(Path(runs_dir).glob(f"*/{CONFIG}")):
        try:
            record = read_run(config_file.parent)
            config = record["config"] or {}
            if (config["recipe"]["name"], config["recipe"]["input_size"]) != (recipe, input_size):
                continue
            tiles = read_description(config["dataset"]).tiles
        except (ValueError, KeyError, TypeError, OSError):
            continue  # a half-written or foreign folder, or a deleted dataset, tells nothing
        rates += [row["seconds"] / tiles for row in record["history"] if row.get("seconds") and tiles]
    return statistics.median(rates) if rates else None


def time_left(history: Sequence[dict], step: TrainingStep | None, epochs: int,
              estimate_per_epoch: float | None = None) -> float | None:
    """Seconds of training left: the epochs still to train (the current one in part, by its batches) times
    the mean epoch of `history`, or `estimate_per_epoch` before the first epoch ends; None without either."""
    timed = [row["seconds"] for row in history if row.get("seconds")]
    per_epoch = statistics.fmean(timed) if timed else estimate_per_epoch
    if per_epoch is None:
        return None
    done = len(history) if step is None else step.epoch + (1 if step.epoch_end else step.batch / step.batches)
    return max(0.0, (epochs - done) * per_epoch)


def duration_text(seconds: float) -> str:
    """A rough duration in words: "about 40 s", "about 7 min", "about 2 h 10 min"."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"about {minutes} min" if minutes < 120 else f"about {minutes // 60} h {minutes % 60} min"


def near_chance(metrics: dict | None) -> str | None:
    """A warning when the test accuracy of whole artworks could be guessing: its 95% interval includes
    1/classes (50% with two); None otherwise, or without metrics."""
    accuracy = (metrics or {}).get("artwork_accuracy")
    if not accuracy or not metrics.get("classes"):
        return None
    chance = 1 / len(metrics["classes"])
    if not accuracy["low"] <= chance <= accuracy["high"]:
        return None
    return (f"Near chance: the test accuracy of artworks, {accuracy['value']:.0%} (95% interval "
            f"{accuracy['low']:.0%}–{accuracy['high']:.0%}, {accuracy['total']} artworks), includes {chance:.0%}, "
            "what guessing gets. This model has not shown that it tells the classes apart: train more epochs, "
            "on more artworks, or check the dataset before trusting it.")
