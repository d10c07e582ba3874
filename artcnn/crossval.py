"""Leave-sources-out evaluation: how well a recipe does on artists it has never seen.

The folds (which sources each leaves out) are artcnn.folds'; this module trains each fold with
artcnn.fitting, scores the left-out artworks and tables the accuracy per source. `run_crossval`
is the whole stage from a folder of artworks (or a dataset folder) to the result.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from artcnn.config import CrossvalConfig, TrainConfig, to_dict
from artcnn.dataset import read_statistics
from artcnn.evaluation import artwork_probabilities, summarise, wilson_interval
from artcnn.folds import Fold, assign_sources, plan_folds, read_sources_csv
from artcnn.progress import ProgressCallback, emit, within

LEFT_OUT, HELD_OUT = "left out", "held-out part"


def fit_and_predict(train_files: list[str], train_labels: np.ndarray, test_files: list[str], n_classes: int,
                     config: TrainConfig, progress: ProgressCallback | None,
                     stop: threading.Event | None) -> np.ndarray:
    """Train `config`'s recipe on the given tiles and return its outputs for the test tiles."""
    from artcnn import fitting, models

    recipe = models.resolve_recipe(config)
    model = fitting.fresh_model(recipe, n_classes, config)
    pipeline, batches = fitting.tile_pipeline(train_files, train_labels, n_classes, recipe, training=True,
                                              seed=config.seed)
    fitting.fit(model, pipeline, batches=batches, epochs=recipe.epochs, progress=progress, stop=stop,
                early_stopping=config.early_stopping)
    test, _ = fitting.tile_pipeline(test_files, np.zeros(len(test_files), dtype=np.int64), n_classes, recipe,
                                    training=False, cache=False)
    return model.predict(test, verbose=0)


def cross_validate(dataset_dir: str | os.PathLike, config: TrainConfig, *, sources: Mapping[str, str] | None = None,
                   max_folds: int | None = None, progress: ProgressCallback | None = None,
                   stop: threading.Event | None = None) -> dict:
    """Leave-sources-out evaluation of `config`'s recipe on every tile of a dataset folder (its own
    train/test split is ignored), as JSON-ready data.

    sources: artwork → source overrides (see folds.assign_sources). max_folds: see folds.plan_folds.
    The synthetic additions (the algorithmic-art prior's tiles, the recipe's hand drawings, as many per
    artwork of the fold's training side as a final model gets) join the training side of every fold (never
    tested). Returns per-source artwork accuracy with 95% Wilson intervals ("sources"), each fold's
    evaluation.summarise ("folds") and every artwork's out-of-fold probabilities ("artworks").
    Each fold's Progress comes with "fold 2/5 (left out: <sources>)" before its message; a set `stop`
    raises fitting.TrainingStopped.
    """
    from artcnn import data, fitting, models

    info = data.read_dataset(dataset_dir)
    fitting.check_synthetic(info.classes, config, info.path)
    emit(progress, "training", 0, None, "loading TensorFlow")
    manifest = info.manifest.reset_index(drop=True)
    source_map = assign_sources(sorted(manifest["artwork"].unique()), sources)
    table = manifest.drop_duplicates("artwork")[["artwork", "class"]].assign(
        source=lambda frame: frame["artwork"].map(source_map))
    folds = plan_folds(table, config.seed, max_folds)
    index_of = {name: index for index, name in enumerate(info.classes)}
    recipe = models.resolve_recipe(config)
    statistics = read_statistics(info) if recipe.statistics_weight else None

    with tempfile.TemporaryDirectory(prefix="artcnn-synthetic-") as scratch:
        # Made once for the whole dataset; each fold takes as many drawings as its training side asks for.
        whole = fitting.synthetic_additions(info, manifest, config, scratch, progress)
        fold_results, scored = [], []
        for fold_index, fold in enumerate(folds):
            started = time.monotonic()
            tested = manifest["artwork"].isin(fold.test).to_numpy()
            train_rows, test_rows = manifest[~tested], manifest[tested].reset_index(drop=True)
            additions = whole.for_rows(train_rows)
            train_files, train_labels = fitting.training_tiles(
                [str(info.path / tile) for tile in train_rows["tile"]],
                train_rows["class"].map(index_of).to_numpy(dtype=np.int64), list(train_rows["artwork"]),
                additions, config, sources)
            report = within(progress, f"fold {fold_index + 1}/{len(folds)} (left out: {fold.name})")
            outputs = fit_and_predict(train_files, train_labels, [str(info.path / tile) for tile in test_rows["tile"]],
                                       len(info.classes), config, report, stop)
            # Fitted on the fold's training artworks only, like its CNN.
            verdict = dict(head=fitting.statistics_head(info, train_rows, recipe, additions)[0], statistics=statistics)
            scored.append(artwork_probabilities(test_rows, outputs, info.classes, **verdict).assign(
                source=lambda frame: frame["artwork"].map(source_map), fold=fold.name))
            fold_results.append({
                "left_out": fold.name,
                "left_out_sources": list(fold.left_out),
                "train_artworks": int(train_rows["artwork"].nunique()),
                "train_tiles": int(len(train_rows)),
                "extra_train_tiles": len(additions.files),
                "synthetic_drawings": additions.counterpart.drawings if additions.counterpart is not None else 0,
                "test_artworks": int(test_rows["artwork"].nunique()),
                # Whether the fold's verdicts blended in global statistics (not for a dataset built without them).
                "statistics_head": verdict["head"] is not None,
                "seconds": round(time.monotonic() - started, 1),
                "summary": summarise(test_rows, outputs, info.classes, **verdict),
            })
    artworks = pd.concat(scored, ignore_index=True)
    return {
        "dataset": str(info.path),
        "classes": list(info.classes),
        "recipe": to_dict(recipe),
        "train": to_dict(config),
        "tiling": to_dict(info.tiling),
        "sources": _per_source(artworks, folds, info.classes),
        "folds": fold_results,
        "artworks": artworks.to_dict(orient="records"),
    }


def run_crossval(data: str | os.PathLike, config: CrossvalConfig, *, work: str | os.PathLike | None = None,
                 out: str | os.PathLike | None = None, progress: ProgressCallback | None = None,
                 stop: threading.Event | None = None) -> dict:
    """The whole stage: `data` is a dataset folder, or a folder of class sub-folders of artworks, tiled
    first with config.tiling into `work` (kept, to pass as `data` next time) or a temporary folder;
    then `cross_validate`, its result also written as JSON to `out` when given."""
    from artcnn.storage import atomic_write_json

    data = Path(data)
    sources = read_sources_csv(config.sources_csv) if config.sources_csv else None
    with tempfile.TemporaryDirectory(prefix="artcnn-crossval-") as scratch:
        dataset = data
        if not (data / "dataset.json").is_file():
            from artcnn.dataset_build import build_dataset

            dataset = Path(work) if work else Path(scratch) / "tiles"
            # Every tile is used by some fold: no test split to set aside.
            build_dataset(data, dataset, dataclasses.replace(config.tiling, test_fraction=0.0), progress)
        result = cross_validate(dataset, config.train, sources=sources, max_folds=config.max_folds,
                                progress=progress, stop=stop)
    if out:
        atomic_write_json(Path(out), result)
    return result


def _per_source(artworks: pd.DataFrame, folds: list[Fold], classes: list[str]) -> dict:
    left_out = {source for fold in folds for source in fold.left_out}
    predicted = np.asarray(classes)[artworks[[f"p_{name}" for name in classes]].to_numpy().argmax(axis=1)]
    correct = predicted == artworks["class"].to_numpy()
    result = {}
    for source, rows in artworks.groupby("source", sort=True):
        hits, total = int(correct[rows.index].sum()), len(rows)
        low, high = wilson_interval(hits, total)
        result[source] = {
            "class": str(rows["class"].iloc[0]),
            "role": LEFT_OUT if source in left_out else HELD_OUT,
            "value": hits / total, "low": low, "high": high, "correct": hits, "total": total,
        }
    return result


def format_table(result: dict) -> str:
    """The per-source table as plain text, one line per source."""
    lines = [f"{'source':<16} {'class':<8} {'role':<14} {'artworks':>8} {'accuracy':>9}  95% interval"]
    for source, row in result["sources"].items():
        lines.append(f"{source:<16} {row['class']:<8} {row['role']:<14} {row['total']:>8} {row['value']:>9.1%}  "
                     f"{row['low']:.1%}-{row['high']:.1%}")
    return "\n".join(lines)
