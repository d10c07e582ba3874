"""The one way a model is fitted: tile pipelines, a fresh seeded model, and `fit` with its progress,
stop and early-stopping callbacks. Training a run, finalizing and every cross-validation fold use it.

Keras is imported inside the functions, so `TrainingStep` and `TrainingStopped` are cheap to import.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from artcnn.progress import ProgressCallback, emit

if TYPE_CHECKING:
    import keras
    import numpy as np

    from artcnn.config import TrainConfig
    from artcnn.counterpart import Counterpart
    from artcnn.head_examples import HeadExamples
    from artcnn.image_statistics import StatisticsHead
    from artcnn.models import Recipe


@dataclass(frozen=True)
class TrainingStep:
    """Where a fit stands, the `payload` of its Progress events: sent after every batch and again when an
    epoch ends."""

    # Epoch index, from 0.
    epoch: int
    # Epochs the fit trains in all.
    epochs: int
    # Batches finished in this epoch, from 1 (equal to `batches` when epoch_end is True).
    batch: int
    # Batches per epoch.
    batches: int
    # Keras's running logs: loss and accuracy, plus val_loss and val_accuracy when the epoch ends.
    logs: dict[str, float]
    # True for the report sent once the epoch (and its validation) is complete.
    epoch_end: bool

    def message(self) -> str:
        """`epoch 3/30 · batch 12/40 · loss 0.412 · accuracy 0.750`, epochs counted from 1; the training
        logs before the validation ones, each loss before its metrics."""
        order = sorted(self.logs, key=lambda name: (name.startswith("val_"), name.removeprefix("val_") != "loss", name))
        logs = "".join(f" · {name} {self.logs[name]:.3f}" for name in order)
        return f"epoch {self.epoch + 1}/{self.epochs} · batch {self.batch}/{self.batches}{logs}"


class TrainingStopped(Exception):
    """The stop event was set. A run records it as stopped; finalize and cross-validation raise it."""


# epoch_done(epoch counted from 1, the epoch's logs, its seconds) after each complete epoch.
EpochDone = Callable[[int, dict[str, float], float], None]


class _Monitor:
    """Progress events and stop checks during fit, and a hook for each completed epoch."""

    def __init__(self, what: str, epochs: int, batches: int, progress: ProgressCallback | None,
                 stop: threading.Event | None, epoch_done: EpochDone | None) -> None:
        self.what, self.epochs, self.batches = what, epochs, batches
        self.progress, self.stop, self.epoch_done = progress, stop, epoch_done
        self.epoch, self.started = 0, time.monotonic()

    def _check_stop(self) -> None:
        # Keras 3's model.stop_training would still validate the half-done epoch and report it as
        # complete, so stopping raises instead; the last complete checkpoint is what remains.
        if self.stop is not None and self.stop.is_set():
            raise TrainingStopped("training was stopped")

    def _report(self, batch: int, logs: dict[str, float], epoch_end: bool) -> None:
        step = TrainingStep(self.epoch, self.epochs, batch, self.batches, logs, epoch_end)
        emit(self.progress, self.what, self.epoch * self.batches + batch, self.epochs * self.batches,
             step.message(), step)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._check_stop()
        self.epoch, self.started = epoch, time.monotonic()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._report(batch + 1, _floats(logs), epoch_end=False)
        self._check_stop()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = _floats(logs)
        if self.epoch_done is not None:
            self.epoch_done(epoch + 1, values, time.monotonic() - self.started)
        self._report(self.batches, values, epoch_end=True)


def _floats(logs: dict | None) -> dict[str, float]:
    return {name: float(value) for name, value in (logs or {}).items()}


def tile_pipeline(files: Sequence[str], labels: Sequence[int], num_classes: int, recipe: "Recipe", *,
                  training: bool, seed: int = 0, cache: bool = True) -> tuple[Any, int]:
    """The recipe's pipeline over tiles and its batches per pass: shuffled and augmented as the recipe
    says in batches of batch_size when `training`, else in order in batches of test_batch_size."""
    from artcnn import data

    batch_size = recipe.batch_size if training else recipe.test_batch_size
    pipeline = data.make_pipeline(files, labels, num_classes, recipe.input_size, batch_size, training=training,
                                  rotation_deg=recipe.rotation_deg, seed=seed, cache=cache,
                                  extra_augment=recipe.extra_augment, degrade=recipe.degrade)
    return pipeline, math.ceil(len(files) / batch_size)


def check_synthetic(classes: Sequence[str], config: "TrainConfig", dataset: Any) -> None:
    """Refuse a prior, or a drawn_ratio set in the config, for a class the dataset does not have, before any work
    is done (a recipe's own drawn_ratio simply adds no drawings then)."""
    for what, ratio, name, field in (("the algorithmic-art prior adds tiles", config.prior_ratio, config.prior_class,
                                      "prior_class"),
                                     ("the hand-drawn counterpart adds drawings", config.drawn_ratio,
                                      config.drawn_class, "drawn_class")):
        if ratio and name not in classes:
            raise ValueError(f"{what} to class {name}, but dataset {dataset} has no such class (classes: "
                             f"{', '.join(classes)}). Received: {field}={name!r}")


def check_enough(made: int, wanted: int, what: str) -> None:
    """Refuse to give a fit's rows `wanted` of the `made` synthetic `what` that were made for a whole dataset."""
    if wanted > made:
        raise ValueError(f"these are {made} {what}, fewer than a fit on the rows given gets. Received: rows asking "
                         f"for {wanted}")


@dataclass(frozen=True)
class SyntheticAdditions:
    """What a fit adds to a dataset's training: the algorithmic-art prior's tiles and the hand-drawn
    counterpart's drawings, which also join the statistics head."""

    # The dataset's classes, in the model's order.
    classes: tuple[str, ...]
    # The prior's tiles (PNG files), all of class prior_class, prior_ratio per tile of that class the fit trains
    # on; none without a prior.
    prior_files: tuple[str, ...]
    prior_class: str
    prior_ratio: float
    # The drawings (artcnn.counterpart), or None when the fit adds none.
    counterpart: "Counterpart | None"
    # The synthetic pictures only the statistics head learns from, or None.
    head_examples: "HeadExamples | None" = None

    @property
    def files(self) -> list[str]:
        """Every added tile: the prior's, then the drawings'."""
        return [*self.prior_files, *(self.counterpart.files if self.counterpart is not None else ())]

    @property
    def labels(self) -> "np.ndarray":
        """The class index of each of `files`."""
        import numpy as np

        labels = [self.classes.index(self.prior_class)] * len(self.prior_files) if self.prior_files else []
        if self.counterpart is not None:
            labels += [self.classes.index(self.counterpart.class_name)] * len(self.counterpart.files)
        return np.asarray(labels, dtype=np.int64)

    @property
    def description(self) -> str:
        """The additions in words, for a model's description: "" for none, else " with ..."."""
        parts = ([f"the algorithmic-art prior ({len(self.prior_files)} synthetic {self.prior_class} tiles)"]
                 if self.prior_files else [])
        if self.counterpart is not None:
            drawings = self.counterpart.drawings
            parts.append(f"{drawings} synthetic hand drawing{'s' if drawings != 1 else ''} in class "
                         f"{self.counterpart.class_name}")
        if self.head_examples is not None and self.head_examples.description:
            parts.append(self.head_examples.description)
        return f" with {' and '.join(parts)}" if parts else ""

    def for_rows(self, rows: Any) -> "SyntheticAdditions":
        """These additions, made for a whole dataset, as a fit on its manifest `rows` gets them: the first of the
        prior's tiles and of the drawings (tile or drawing i depends on the seed and i only)."""
        from artcnn.prior import prior_count

        wanted = prior_count(rows, self.prior_ratio, self.prior_class)
        check_enough(len(self.prior_files), wanted, "prior tiles")
        return dataclasses.replace(self, prior_files=self.prior_files[:wanted], counterpart=(
            None if self.counterpart is None else self.counterpart.for_rows(rows)), head_examples=(
            None if self.head_examples is None else self.head_examples.for_rows(rows)))


def synthetic_additions(info: Any, rows: Any, config: "TrainConfig", folder: Any,
                        progress: ProgressCallback | None) -> SyntheticAdditions:
    """The prior's tiles (config.prior_ratio per tile) and the counterpart's drawings (the recipe's drawn_ratio
    per artwork), counted on manifest `rows`, the ones the fit trains on, for `config` on dataset `info`, written
    into `folder`."""
    from artcnn.models import resolve_recipe

    check_synthetic(info.classes, config, info.path)
    prior_files: list[str] = []
    if config.prior_ratio:
        from artcnn.prior import prior_tiles

        prior_files = prior_tiles(info.path, folder, config.prior_ratio, rows=rows, target_class=config.prior_class,
                                  seed=config.seed, progress=progress)[config.prior_class]
    counterpart = None
    recipe = resolve_recipe(config)
    ratio = recipe.drawn_ratio
    if ratio and config.drawn_class in info.classes:
        from pathlib import Path

        from artcnn.counterpart import drawn_counterpart

        counterpart = drawn_counterpart(info, rows, Path(folder) / "drawn", ratio, class_name=config.drawn_class,
                                        seed=config.seed, progress=progress)
    return SyntheticAdditions(tuple(info.classes), tuple(prior_files), config.prior_class, config.prior_ratio,
                              counterpart, _head_examples(info, rows, config, recipe, progress))


def _head_examples(info: Any, rows: Any, config: "TrainConfig", recipe: "Recipe",
                   progress: ProgressCallback | None) -> "HeadExamples | None":
    """The recipe's synthetic pictures for its statistics head, for the classes the dataset has; None for a recipe
    without a head or without such pictures."""
    from artcnn.head_examples import GENERATIVE, INK_DRAWING, head_examples

    kinds = {name: (ratio, kind) for name, ratio, kind in ((config.drawn_class, recipe.head_drawn_ratio, INK_DRAWING),
                                                           (config.prior_class, recipe.head_prior_ratio, GENERATIVE))
             if ratio and name in info.classes}
    if not recipe.statistics_weight or not kinds:
        return None
    return head_examples(rows, info.tiling.tile_size, kinds, seed=config.seed, progress=progress)


def training_tiles(files: Sequence[str], labels: "np.ndarray", artworks: Sequence[str],
                   additions: SyntheticAdditions, config: "TrainConfig",
                   sources: dict[str, str] | None = None) -> tuple[list[str], "np.ndarray"]:
    """A fit's training tiles: the dataset's `files` (`artworks`: each tile's artwork), resampled so every
    source of a class contributes equally when config.balance_sources (artcnn.balance; `sources`: artwork →
    source overrides, see folds.assign_sources), then the synthetic additions as they are."""
    import numpy as np

    files, labels = list(files), np.asarray(labels, dtype=np.int64)
    if config.balance_sources:
        from artcnn.balance import balanced_by_source
        from artcnn.folds import assign_sources

        source_of = assign_sources(sorted(set(artworks)), sources)
        files, labels = balanced_by_source(files, labels, [source_of[artwork] for artwork in artworks], config.seed)
    return files + list(additions.files), np.concatenate([labels, additions.labels])


def fresh_model(recipe: "Recipe", num_classes: int, config: "TrainConfig") -> "keras.Model":
    """A new model of `recipe` with the config's weights, seed and precision, Keras's global seed set first
    (it drives vgg16's base, dropout and the pipeline's shuffles)."""
    import keras

    from artcnn import models

    keras.utils.set_random_seed(config.seed)
    return models.create_model(recipe, num_classes, weights=config.weights, seed=config.seed,
                               mixed_precision=config.mixed_precision)


def fit(model: "keras.Model", train: Any, *, batches: int, epochs: int, initial_epoch: int = 0,
        validation: Any = None, what: str = "training", progress: ProgressCallback | None = None,
        stop: threading.Event | None = None, epoch_done: EpochDone | None = None,
        early_stopping: int | None = None) -> "keras.Model":
    """Fit `model` on the `train` pipeline (`batches` a pass) from `initial_epoch` to `epochs`, emitting
    Progress(what, batches done in the whole fit, epochs × batches, message, TrainingStep) after every
    batch. Raises TrainingStopped at the next batch once `stop` is set. `early_stopping`: patience in
    epochs on val_loss (loss without validation), restoring the best weights.
    """
    import keras

    monitor = _Monitor(what, epochs, batches, progress, stop, epoch_done)
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_begin=monitor.on_epoch_begin,
                                                on_train_batch_end=monitor.on_train_batch_end,
                                                on_epoch_end=monitor.on_epoch_end)]
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss" if validation is not None else "loss",
                                                       patience=early_stopping, restore_best_weights=True))
    # The pipeline shuffles, seeded, so Keras must not.
    model.fit(train, validation_data=validation, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks,
              shuffle=False, verbose=0)
    return model


def statistics_head(info: Any, rows: Any, recipe: "Recipe",
                    additions: SyntheticAdditions) -> tuple["StatisticsHead | None", str]:
    """The recipe's statistics head fitted on the artworks of manifest `rows` of dataset `info` and on the
    additions' drawings, or None, and how the model's verdict is made, in words for its description."""
    from artcnn.counterpart import with_drawings
    from artcnn.dataset import read_statistics
    from artcnn.image_statistics import head_for_artworks

    statistics = read_statistics(info) if recipe.statistics_weight else None
    views, rows = with_drawings(statistics, rows, additions.counterpart)
    if additions.head_examples is not None:
        views, rows = additions.head_examples.added_to(views, rows)
    head = head_for_artworks(views, rows, info.classes, recipe.statistics_weight)
    if head is not None:
        return head, (f"; verdict: {recipe.statistics_weight:.0%} the artwork's global statistics, "
                      f"{1 - recipe.statistics_weight:.0%} the mean of its tiles")
    if recipe.statistics_weight:
        return None, ("; verdict: the mean of its tiles alone (the dataset was built before the artworks' "
                      "current global statistics were recorded: rebuild it to use them)")
    return None, ""
