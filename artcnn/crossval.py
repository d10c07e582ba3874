"""Leave-one-source-out evaluation: how well a recipe does on artists it has never seen.

A random split keeps works of every artist on both sides, so a model can score well by knowing
the artists (or their image sizes) instead of how the works were made. Here every source of a
class that has others is left out in turn: the model trains on the rest and is tested on the
left-out source. A class with a single source (Kandinsky is the only hand-made source of our
real data) cannot be left out without leaving its class empty; its artworks are split into as
many parts as there are folds instead, and each fold tests one part, so each is scored once.
"""

from __future__ import annotations

import csv
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from artcnn.config import TrainConfig, to_dict
from artcnn.evaluation import artwork_probabilities, source_of, summarise, wilson_interval
from artcnn.progress import ProgressCallback, emit, within

LEFT_OUT, HELD_OUT = "left out", "held-out part"


@dataclass(frozen=True)
class Fold:
    # The source left out (the fold's name).
    left_out: str
    # Artworks the fold tests: every artwork of the left-out source and one part of each single-source class.
    test: frozenset[str]


def read_sources_csv(path: str | os.PathLike) -> dict[str, str]:
    """`file` (or `artwork`) → `source` from a user's CSV; files are matched later by path or file name."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"sources CSV not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip().lower() for name in reader.fieldnames or []]
        key = "file" if "file" in columns else "artwork" if "artwork" in columns else None
        if key is None or "source" not in columns:
            raise ValueError(f"{path} needs a column `file` (or `artwork`) and a column `source`. "
                             f"Received columns: {', '.join(reader.fieldnames or []) or 'none'}")
        rows = [{name.strip().lower(): (value or "").strip() for name, value in row.items() if name} for row in reader]
    sources: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        if not row[key] or not row["source"]:
            raise ValueError(f"{path}, line {number}: both {key} and source must be filled in. Received: {row}")
        sources[row[key]] = row["source"]
    return sources


def assign_sources(artworks: list[str], sources: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each artwork's source: from `sources` (keyed by the artwork's path, resolved path or file name),
    else its filename prefix before the first "_" (evaluation.source_of)."""
    if not sources:
        return {artwork: source_of(artwork) for artwork in artworks}
    by_name: dict[str, str | None] = {}
    for key, source in sources.items():
        name = Path(key).name
        # A file name listed twice with different sources cannot decide for an artwork by name alone.
        by_name[name] = source if by_name.get(name, source) == source else None
    resolved = {str(Path(key).resolve()): source for key, source in sources.items()}
    assigned = {}
    for artwork in artworks:
        source = sources.get(artwork) or resolved.get(str(Path(artwork).resolve())) or by_name.get(Path(artwork).name)
        assigned[artwork] = source or source_of(artwork)
    return assigned


def plan_folds(artworks: pd.DataFrame, seed: int = 0) -> list[Fold]:
    """Leave-one-source-out folds for a table with columns artwork, class, source.

    Raises ValueError when no class has two sources (nothing can be left out).
    """
    missing = {"artwork", "class", "source"} - set(artworks.columns)
    if missing:
        raise ValueError(f"plan_folds needs columns artwork, class, source. Missing: {', '.join(sorted(missing))}")
    classes_per_source = artworks.groupby("source")["class"].nunique()
    shared = sorted(classes_per_source.index[classes_per_source > 1])
    if shared:
        raise ValueError(f"source(s) {', '.join(shared)} have artworks in more than one class; a source must "
                         "belong to one class to be left out as a whole.")
    per_class = {name: sorted(group["source"].unique()) for name, group in artworks.groupby("class")}
    left_out = [(name, source) for name, sources in sorted(per_class.items()) if len(sources) > 1 for source in sources]
    if not left_out:
        listing = "; ".join(f"{name}: {', '.join(sources)}" for name, sources in sorted(per_class.items()))
        raise ValueError(
            "leave-one-source-out needs a class with at least two sources, so that one can be left out while "
            f"the class is still learnt from the others. Received sources per class: {listing}. Name sources by "
            "filename prefix (<source>_<name>.jpg) or in a CSV with columns file, source."
        )
    parts: list[set[str]] = [set() for _ in left_out]
    rng = np.random.default_rng(seed)
    for name, sources in sorted(per_class.items()):
        if len(sources) == 1:
            members = sorted(artworks.loc[artworks["class"] == name, "artwork"])
            for index, chunk in enumerate(np.array_split(rng.permutation(members), len(left_out))):
                parts[index].update(chunk.tolist())
    folds = []
    for (name, source), part in zip(left_out, parts):
        members = set(artworks.loc[artworks["source"] == source, "artwork"])
        folds.append(Fold(left_out=source, test=frozenset(members | part)))
    return folds


def _fit_and_predict(train_files: list[str], train_labels: np.ndarray, test_files: list[str], n_classes: int,
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


def cross_validate(
    dataset_dir: str | os.PathLike,
    config: TrainConfig,
    *,
    sources: Mapping[str, str] | None = None,
    extra_train: Mapping[str, list[str]] | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> dict:
    """Leave-one-source-out evaluation of `config`'s recipe on every tile of a dataset folder
    (its own train/test split is ignored), as JSON-ready data.

    sources: artwork → source overrides (see assign_sources). extra_train: class → tile files added
    to the training side of every fold (the algorithmic-art prior); they are never tested.
    Returns per-source artwork accuracy with 95% Wilson intervals ("sources"), each fold's
    evaluation.summarise ("folds") and every artwork's out-of-fold probabilities ("artworks").
    """
    from artcnn import data, models

    emit(progress, "training", 0, None, "loading TensorFlow")
    info = data.read_dataset(dataset_dir)
    manifest = info.manifest.reset_index(drop=True)
    names = sorted(manifest["artwork"].unique())
    source_map = assign_sources(names, sources)
    table = manifest.drop_duplicates("artwork")[["artwork", "class"]].assign(
        source=lambda frame: frame["artwork"].map(source_map))
    folds = plan_folds(table, config.seed)
    index_of = {name: index for index, name in enumerate(info.classes)}
    extra_files, extra_labels = [], []
    for name, files in (extra_train or {}).items():
        if name not in index_of:
            raise ValueError(f"extra training tiles are for class {name!r}, which dataset {info.path} does not have "
                             f"(classes: {', '.join(info.classes)}).")
        extra_files += [str(file) for file in files]
        extra_labels += [index_of[name]] * len(files)
    recipe = models.resolve_recipe(config)

    fold_results, scored = [], []
    for fold_index, fold in enumerate(folds):
        started = time.monotonic()
        tested = manifest["artwork"].isin(fold.test).to_numpy()
        train_rows, test_rows = manifest[~tested], manifest[tested].reset_index(drop=True)
        train_files = [str(info.path / tile) for tile in train_rows["tile"]] + extra_files
        train_labels = np.concatenate([train_rows["class"].map(index_of).to_numpy(dtype=np.int64),
                                       np.asarray(extra_labels, dtype=np.int64)])

        report = within(progress, f"fold {fold_index + 1}/{len(folds)} (left out: {fold.left_out})")
        outputs = _fit_and_predict(train_files, train_labels, [str(info.path / tile) for tile in test_rows["tile"]],
                                   len(info.classes), config, report, stop)
        summary = summarise(test_rows, outputs, info.classes)
        artworks = artwork_probabilities(test_rows, outputs, info.classes).assign(
            source=lambda frame: frame["artwork"].map(source_map), fold=fold.left_out)
        scored.append(artworks)
        fold_results.append({
            "left_out": fold.left_out,
            "train_artworks": int(train_rows["artwork"].nunique()),
            "train_tiles": int(len(train_rows)),
            "extra_train_tiles": len(extra_files),
            "test_artworks": int(test_rows["artwork"].nunique()),
            "seconds": round(time.monotonic() - started, 1),
            "summary": summary,
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


def _per_source(artworks: pd.DataFrame, folds: list[Fold], classes: list[str]) -> dict:
    left_out = {fold.left_out for fold in folds}
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
