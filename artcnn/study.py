"""Martin Calvino's four configurations of his one-block VGG, trained as runs and tabled beside his figures.

Each configuration is an ordinary run of the `seed` recipe named `<prefix> <configuration>`, so it can
be watched, stopped, resumed and inspected like any other; reproducing again with the same prefix
keeps the finished runs and resumes the others from their last checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from artcnn.config import TrainConfig, to_dict, validate_name
from artcnn.progress import ProgressCallback, within
from artcnn.run_folder import CHECKPOINT, CONFIG, read_run
from artcnn.training import resume_config, train

# The study evaluated every configuration with batches of 32.
STUDY_TEST_BATCH = 32


@dataclass(frozen=True)
class StudyConfiguration:
    # Short name, also the end of the run's name.
    name: str
    # What it adds to the configuration before, in the study's terms.
    description: str
    # The study's published test accuracy in percent (tiles).
    published: float
    dropout: bool
    # Rotation augmentation (25° in the seed recipe).
    augment: bool
    batch_size: int


CONFIGURATIONS = (
    StudyConfiguration("plain", "no dropout, no rotation, batch 32", 76.25, False, False, 32),
    StudyConfiguration("dropout", "+ dropout", 81.67, True, False, 32),
    StudyConfiguration("dropout+rotation", "+ dropout + rotation 25°, batch 32", 82.25, True, True, 32),
    StudyConfiguration("dropout+rotation+batch64", "+ batch 64 train / 32 test (the study's model)", 90.42,
                       True, True, 64),
)


def study_configs(base: TrainConfig) -> list[TrainConfig]:
    """The four configurations as `seed` recipe runs; `base` gives the rest (epochs, learning rate, seed)."""
    return [dataclasses.replace(base, recipe="seed", dropout=item.dropout, augment=item.augment,
                                batch_size=item.batch_size, test_batch_size=STUDY_TEST_BATCH)
            for item in CONFIGURATIONS]


def run_names(prefix: str) -> list[str]:
    """The run names of the four configurations for a study named `prefix`."""
    return [validate_name(f"{prefix} {item.name}", "run name") for item in CONFIGURATIONS]


def study_prefixes(names: Iterable[str]) -> list[str]:
    """The study prefixes among run names (a prefix counts once any of its four runs exists), sorted."""
    suffixes = [f" {item.name}" for item in CONFIGURATIONS]
    return sorted({name[: -len(suffix)] for name in names for suffix in suffixes if name.endswith(suffix)
                   and len(name) > len(suffix)})


def _finished_as_asked(run_dir: Path, config: TrainConfig) -> bool:
    if not (run_dir / CONFIG).is_file():
        return False
    record = read_run(run_dir)
    return record["status"].get("state") == "finished" and record["config"].get("train") == to_dict(config)


def reproduce(dataset_dir: str | os.PathLike, runs_dir: str | os.PathLike, prefix: str, base: TrainConfig, *,
              progress: ProgressCallback | None = None,
              stop: threading.Event | None = None) -> pd.DataFrame:
    """Train the four configurations one after another in `runs_dir/<prefix> <name>` and return `study_table`.

    A run already finished with the same settings is kept; one with a checkpoint is resumed (more epochs
    are allowed; other changed settings raise ValueError); a run folder without a finished epoch is
    started again. When `stop` is set, the current run stops at its next batch and the later ones
    are not started. Each run's Progress events come with "configuration 2/4 (<run name>)" before
    their message.
    """
    names = run_names(prefix)
    for step, (name, config) in enumerate(zip(names, study_configs(base)), start=1):
        run_dir = Path(runs_dir) / name
        if _finished_as_asked(run_dir, config):
            continue
        if stop is not None and stop.is_set():
            break
        resume = (run_dir / CHECKPOINT).is_file()
        if resume:
            # Every setting of the configuration is given: resume_config refuses any the run was not started with.
            config = resume_config(run_dir, to_dict(config))
        elif run_dir.exists():
            shutil.rmtree(run_dir)  # no epoch finished there, so nothing is lost

        report = within(progress, f"configuration {step}/{len(names)} ({name})")
        if train(dataset_dir, run_dir, config, progress=report, stop=stop, resume=resume).state != "finished":
            break
    return study_table(runs_dir, prefix)


def _percent(accuracy: dict | None, key: str) -> float | None:
    return None if not accuracy else round(100 * accuracy[key], 2)


def study_table(runs_dir: str | os.PathLike, prefix: str) -> pd.DataFrame:
    """One row per configuration: the study's published accuracy beside this reproduction's test accuracy
    (tiles, as the study scored, and whole artworks) with 95% Wilson intervals, in percent.
    """
    rows = []
    for item, name in zip(CONFIGURATIONS, run_names(prefix)):
        run_dir = Path(runs_dir) / name
        record = read_run(run_dir) if (run_dir / CONFIG).is_file() else {"status": {}, "metrics": None, "history": []}
        metrics = record["metrics"] or {}
        tile, artwork = metrics.get("tile_accuracy"), metrics.get("artwork_accuracy")
        rows.append({
            "configuration": item.description,
            "study %": item.published,
            "tiles %": _percent(tile, "value"),
            "tiles 95% low": _percent(tile, "low"),
            "tiles 95% high": _percent(tile, "high"),
            "artworks %": _percent(artwork, "value"),
            "artworks 95% low": _percent(artwork, "low"),
            "artworks 95% high": _percent(artwork, "high"),
            "test tiles": metrics.get("n_tiles"),
            "test artworks": metrics.get("n_artworks"),
            "epochs": len(record["history"]),
            "state": record["status"].get("state", "not started"),
            "run": name,
        })
    return pd.DataFrame(rows)
