"""A training run in its own folder: fit with history, per-epoch checkpoint, resume, stop, finalize.

Everything a page needs to show a run outlives the process that trains it: the run folder's files
(artcnn/run_folder.py, read without TensorFlow). Keras is imported inside the functions that train.
Fitting itself is artcnn.fitting's, shared with finalize and cross-validation.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from artcnn import data, fitting
from artcnn.config import TrainConfig, from_dict, to_dict
from artcnn.fitting import TrainingStopped
from artcnn.progress import ProgressCallback, emit
from artcnn.run_folder import (CHECKPOINT, CONFIG, METRICS, MODEL, claim_run, read_history, read_json,
                               read_run, timestamp, write_history, write_status)
from artcnn.storage import MODEL_SUFFIXES, atomic_write_json, read_metadata, save_model
from artcnn.workspace import record_run

if TYPE_CHECKING:
    import keras

    from artcnn.image_statistics import StatisticsHead
    from artcnn.models import Recipe


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    # history.csv rows, one dict per finished epoch.
    history: list[dict]
    # evaluation.evaluate_model on the test split ({} if the run was stopped or has no test split).
    metrics: dict
    # model.keras, or None if the run was stopped before it finished.
    model_path: Path | None
    # "finished" or "stopped".
    state: str


def _metadata(info: data.DatasetInfo, recipe: "Recipe", metrics: dict, description: str,
              head: "StatisticsHead | None" = None) -> dict:
    return {
        "classes": list(info.classes),
        "input_size": recipe.input_size,
        "tiling": to_dict(info.tiling),
        "recipe": recipe.name,
        "dataset_hash": info.hash,
        "created": timestamp(),
        "metrics": metrics,
        "synthetic": info.synthetic,
        "description": description,
        **({"statistics": head.to_dict()} if head is not None else {}),
    }


def _resume_point(run_dir: Path, config: TrainConfig, info: data.DatasetInfo, epochs: int) -> tuple[int, list[dict]]:
    """The epoch to continue from and the history so far, after checking the run can go on as asked."""
    checkpoint = run_dir / CHECKPOINT
    if not checkpoint.is_file():
        raise ValueError(f"run {run_dir} has nothing to resume: it has no {CHECKPOINT} (no epoch finished yet).")
    saved = read_json(run_dir / CONFIG) or {}
    received = to_dict(config)
    differences = [f"{name}: run has {value!r}, received {received.get(name)!r}"
                   for name, value in (saved.get("train") or {}).items()
                   if name != "epochs" and received.get(name) != value]
    if differences:
        raise ValueError(f"run {run_dir} was started with other settings; resume it with the same ones "
                         f"(only epochs may change). Differences: {'; '.join(differences)}")
    if saved.get("dataset_hash") != info.hash:
        raise ValueError(f"run {run_dir} was trained on another version of dataset {info.path} "
                         "(its manifest changed); start a new run instead.")
    done = int(read_metadata(checkpoint)["epoch"])
    if epochs < done:
        raise ValueError(f"run {run_dir} has already trained {done} epochs. Received: epochs={epochs}")
    # Rows after the checkpoint's epoch belong to an epoch whose checkpoint was never written.
    return done, [row for row in read_history(run_dir) if row["epoch"] <= done]


def train(dataset_dir: str | os.PathLike, run_dir: str | os.PathLike, config: TrainConfig, *,
          progress: ProgressCallback | None = None, stop: threading.Event | None = None,
          resume: bool = False) -> RunResult:
    """Train `config`'s recipe on the dataset's train split, validating on its test split (as the study did),
    writing every run file as it goes. With resume=True, continue the run in `run_dir` from its checkpoint.
    Emits Progress("training", batches done, epochs × batches, message, fitting.TrainingStep).
    """
    from artcnn import models

    run_dir = Path(run_dir)
    info = data.read_dataset(dataset_dir)
    fitting.check_synthetic(info.classes, config, info.path)
    recipe = models.resolve_recipe(config)
    # The first event, once the arguments are checked, comes before TensorFlow's import, which takes
    # seconds: a page shows it at once.
    emit(progress, "training", 0, None, "loading TensorFlow")
    record = {
        "train": to_dict(config), "recipe": to_dict(recipe), "dataset": str(Path(dataset_dir).resolve()),
        "classes": list(info.classes), "tiling": to_dict(info.tiling), "dataset_hash": info.hash,
    }
    if resume:
        initial_epoch, history = _resume_point(run_dir, config, info, recipe.epochs)
        atomic_write_json(run_dir / CONFIG, record)
    else:
        claim_run(run_dir, record)
        record_run(run_dir, dataset_dir, config)
        initial_epoch, history = 0, []
    write_status(run_dir, "running", initial_epoch, recipe.epochs)
    try:
        # The synthetic additions are seeded, so a resumed run draws the same again: none is kept in the run.
        with tempfile.TemporaryDirectory(prefix="artcnn-synthetic-") as scratch:
            additions = fitting.synthetic_additions(info, data.split_rows(info, "train"), config, scratch, progress)
            model = _fit_run(info, recipe, config, run_dir, initial_epoch, history, additions, progress, stop)
            metrics, model_path = _finish_run(model, info, recipe, config, run_dir, additions, progress)
    except TrainingStopped:
        write_status(run_dir, "stopped", _epochs_done(history), recipe.epochs)
        return RunResult(run_dir, history, {}, None, "stopped")
    except KeyboardInterrupt:
        write_status(run_dir, "stopped", _epochs_done(history), recipe.epochs)
        raise
    except BaseException as error:
        write_status(run_dir, "failed", _epochs_done(history), recipe.epochs, f"{type(error).__name__}: {error}")
        raise
    write_status(run_dir, "finished", _epochs_done(history), recipe.epochs)
    return RunResult(run_dir, history, metrics, model_path, "finished")


def resume_config(run_dir: str | os.PathLike, given: Mapping[str, Any] | None = None) -> TrainConfig:
    """The settings a resumed run trains on: every TrainConfig field as the run's config.json recorded it,
    whatever today's defaults are. `given` holds the fields a person set explicitly (a CLI flag, say):
    each must equal the recorded value, except epochs, which may be raised to extend the run.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(to_dict(TrainConfig())))
    if unknown:
        raise ValueError(f"not training settings: {', '.join(unknown)}. Received: given={given}")
    saved = to_dict(from_dict(TrainConfig, read_run(run_dir)["config"].get("train") or {}))
    differences = [f"{name}: run has {saved[name]!r}, received {value!r}" for name, value in given.items()
                   if name != "epochs" and value != saved[name]]
    if differences:
        raise ValueError(f"run {run_dir} was started with other settings, and a resumed run keeps its own (only "
                         f"epochs may change, to extend it). Differences: {'; '.join(differences)}")
    return from_dict(TrainConfig, {**saved, **given})


def resume_run(run_dir: str | os.PathLike, *, epochs: int | None = None, progress: ProgressCallback | None = None,
               stop: threading.Event | None = None) -> RunResult:
    """`train` with resume=True on the dataset and with every setting recorded in the run's config.json;
    `epochs` extends the run."""
    config = resume_config(run_dir, {} if epochs is None else {"epochs": epochs})
    return train(read_run(run_dir)["config"]["dataset"], run_dir, config, progress=progress, stop=stop, resume=True)


def _epochs_done(history: list[dict]) -> int:
    return history[-1]["epoch"] if history else 0


def _run_description(info: data.DatasetInfo, config: TrainConfig, run_dir: Path,
                     additions: fitting.SyntheticAdditions) -> str:
    return (f"{config.recipe} trained on the train split of dataset {info.path.name}{additions.description} "
            f"(run {run_dir.name})")


def _fit_run(info: data.DatasetInfo, recipe: "Recipe", config: TrainConfig, run_dir: Path, initial_epoch: int,
             history: list[dict], additions: fitting.SyntheticAdditions, progress: ProgressCallback | None,
             stop: threading.Event | None) -> "keras.Model":
    """Fit from `initial_epoch`, recording each finished epoch; `history` grows in place as epochs finish."""
    import keras

    files, labels = data.labels_for(info, "train")
    if not files:
        raise ValueError(f"dataset {info.path} has no tiles in its train split.")
    files, labels = fitting.training_tiles(files, labels, list(data.split_rows(info, "train")["artwork"]),
                                           additions, config)
    if initial_epoch:
        # Offsetting by the epoch gives a resumed run fresh shuffles and augmentations instead of epoch 1's again.
        keras.utils.set_random_seed(config.seed + initial_epoch)
        model = keras.saving.load_model(run_dir / CHECKPOINT, safe_mode=True)
    else:
        model = fitting.fresh_model(recipe, len(info.classes), config)
    train_data, batches = fitting.tile_pipeline(files, labels, len(info.classes), recipe, training=True,
                                                seed=config.seed + initial_epoch)
    test_files, test_labels = data.labels_for(info, "test")
    validation = fitting.tile_pipeline(test_files, test_labels, len(info.classes), recipe,
                                       training=False)[0] if test_files else None
    description = _run_description(info, config, run_dir, additions)

    def record(epoch: int, logs: dict[str, float], seconds: float) -> None:
        history.append({"epoch": epoch, **logs, "seconds": round(seconds, 3)})
        write_history(run_dir, history)
        save_model(model, run_dir / CHECKPOINT, {**_metadata(info, recipe, {}, description), "epoch": epoch})
        write_status(run_dir, "running", epoch, recipe.epochs)

    return fitting.fit(model, train_data, batches=batches, epochs=recipe.epochs, initial_epoch=initial_epoch,
                       validation=validation, progress=progress, stop=stop, epoch_done=record,
                       early_stopping=config.early_stopping)


def _finish_run(model: "keras.Model", info: data.DatasetInfo, recipe: "Recipe", config: TrainConfig, run_dir: Path,
                additions: fitting.SyntheticAdditions, progress: ProgressCallback | None) -> tuple[dict, Path]:
    """Evaluate on the test split, then save model.keras (metrics in its metadata) and metrics.json."""
    head, verdict = fitting.statistics_head(info, data.split_rows(info, "train"), recipe, additions)
    metrics = {}
    if (info.manifest["split"] == "test").any():
        from artcnn.evaluation import evaluate_model

        # Evaluating a big test split takes a while after the last batch: say so.
        emit(progress, "evaluating", 0, None, "evaluating on the test split")
        metrics = evaluate_model(model, info.path, "test", recipe.test_batch_size, head=head)
    metadata = _metadata(info, recipe, metrics, _run_description(info, config, run_dir, additions) + verdict, head)
    model_path = save_model(model, run_dir / MODEL, metadata)
    atomic_write_json(run_dir / METRICS, metrics)
    return metrics, model_path


def finalize(dataset_dir: str | os.PathLike, model_path: str | os.PathLike, config: TrainConfig, *,
             progress: ProgressCallback | None = None, stop: threading.Event | None = None) -> Path:
    """Train a fresh model on train and test together (no held-out data, so no early stopping) for the
    recipe's epochs and save it with its metadata. Raises TrainingStopped, writing nothing, if stopped.
    Emits Progress("finalizing", ...) as `train` emits "training".
    """
    from artcnn import models

    model_path = Path(model_path)
    if model_path.suffix.lower() not in MODEL_SUFFIXES:
        raise ValueError(f"A model file must end in .keras or .h5. Received: model_path={model_path}")
    if not model_path.parent.is_dir():
        raise ValueError(f"the folder for {model_path.name} does not exist: {model_path.parent}")
    info = data.read_dataset(dataset_dir)
    fitting.check_synthetic(info.classes, config, info.path)
    recipe = models.resolve_recipe(config)
    files, labels = data.labels_for(info, "all")
    if not files:
        raise ValueError(f"dataset {info.path} has no tiles.")
    emit(progress, "finalizing", 0, None, "loading TensorFlow")
    with tempfile.TemporaryDirectory(prefix="artcnn-synthetic-") as scratch:
        additions = fitting.synthetic_additions(info, info.manifest, config, scratch, progress)
        model = fitting.fresh_model(recipe, len(info.classes), config)
        files, labels = fitting.training_tiles(files, labels, list(data.split_rows(info, "all")["artwork"]),
                                               additions, config)
        pipeline, batches = fitting.tile_pipeline(files, labels, len(info.classes), recipe, training=True,
                                                  seed=config.seed)
        try:
            fitting.fit(model, pipeline, batches=batches, epochs=recipe.epochs, what="finalizing",
                        progress=progress, stop=stop)
        except TrainingStopped:
            raise TrainingStopped(f"finalizing {model_path} was stopped; no model was written.") from None
    head, verdict = fitting.statistics_head(info, info.manifest, recipe, additions)
    description = (f"{recipe.name} finalized on all {len(info.manifest)} tiles (train and test) of dataset "
                   f"{info.path.name}{additions.description}; no tiles were held out, so it has no test metrics "
                   f"of its own{verdict}")
    return save_model(model, model_path, _metadata(info, recipe, {}, description, head))

