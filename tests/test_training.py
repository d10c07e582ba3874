import dataclasses
import json
import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from builders import write_dataset  # noqa: E402

from artcnn import models, run_folder, storage, training  # noqa: E402
from artcnn.config import TrainConfig  # noqa: E402
from artcnn.fitting import TrainingStep  # noqa: E402

SMALL = 32


def steps(events) -> list[TrainingStep]:
    """The TrainingStep payloads of a fit's Progress events."""
    return [event.payload for event in events if isinstance(event.payload, TrainingStep)]
# Without the recipe's synthetic drawings, whose tiles would change the batch counts these tests check; the
# last prior test and tests/test_counterpart.py cover them.
TWO_EPOCHS = TrainConfig(epochs=2, batch_size=8, test_batch_size=8, weights=None, input_size=SMALL, drawn_ratio=0.0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("dataset"), classes=("han", "kom"), artworks=3, tiles=4)


def test_one_epoch_writes_every_run_file(dataset, tmp_path):
    events = []
    run = tmp_path / "run"
    result = training.train(dataset, run, dataclasses.replace(TWO_EPOCHS, epochs=1), progress=events.append)
    assert {p.name for p in run.iterdir()} == {"config.json", "status.json", "history.csv", "checkpoint.keras",
                                                "model.keras", "metrics.json"}
    assert result.state == "finished" and result.model_path == run / "model.keras"
    assert [row["epoch"] for row in result.history] == [1]
    assert set(result.history[0]) == set(run_folder.HISTORY_COLUMNS)
    assert result.metrics["n_tiles"] == 8 and result.metrics["classes"] == ["han", "kom"]

    record = run_folder.read_run(run)
    assert record["status"]["state"] == "finished" and record["status"]["error"] is None
    assert record["history"] == result.history
    assert record["metrics"] == json.loads(json.dumps(result.metrics))
    assert record["config"]["recipe"]["name"] == "default" and record["config"]["classes"] == ["han", "kom"]
    assert record["config"]["dataset_hash"] == "f" * 64

    model, metadata = storage.load_model(run / "model.keras")
    assert model.input_shape == (None, SMALL, SMALL, 3)
    assert metadata["classes"] == ["han", "kom"] and metadata["recipe"] == "default"
    assert metadata["tiling"]["tile_size"] == 32 and metadata["synthetic"] is True
    assert metadata["metrics"]["n_tiles"] == 8 and metadata["dataset_hash"] == "f" * 64 and metadata["created"]

    assert (events[0].what, events[0].message) == ("training", "loading TensorFlow")
    assert (events[-1].what, events[-1].message) == ("evaluating", "evaluating on the test split")
    fitted = [event for event in events if isinstance(event.payload, TrainingStep)]
    assert all(event.what == "training" and event.total == 2 for event in fitted)
    assert [event.done for event in fitted] == [1, 2, 2]
    assert fitted[0].message.startswith("epoch 1/1 · batch 1/2 · loss ")
    batch_events = [e for e in steps(events) if not e.epoch_end]
    assert [e.batch for e in batch_events] == [1, 2] and all(e.batches == 2 and e.epochs == 1 for e in steps(events))
    assert "loss" in batch_events[0].logs
    (end,) = [e for e in steps(events) if e.epoch_end]
    assert end.epoch == 0 and end.batch == 2 and {"val_loss", "val_accuracy"} <= set(end.logs)

    with pytest.raises(ValueError, match="already holds a run \\(state: finished\\)"):
        training.train(dataset, run, TWO_EPOCHS)


def test_stop_after_first_epoch_then_resume(dataset, tmp_path):
    run, stop = tmp_path / "run", threading.Event()

    def stop_after_first_epoch(event):
        if isinstance(event.payload, TrainingStep) and event.payload.epoch_end:
            stop.set()

    stopped = training.train(dataset, run, TWO_EPOCHS, progress=stop_after_first_epoch, stop=stop)
    assert stopped.state == "stopped" and stopped.model_path is None
    record = run_folder.read_run(run)
    assert record["status"]["state"] == "stopped" and record["status"]["epoch"] == 1
    assert [row["epoch"] for row in record["history"]] == [1]
    assert not (run / "model.keras").exists()
    checkpoint = keras.saving.load_model(run / "checkpoint.keras")
    assert int(checkpoint.optimizer.iterations) == 2  # optimizer state saved after epoch 1's two batches

    events = []
    resumed = training.train(dataset, run, TWO_EPOCHS, progress=events.append, resume=True)
    assert resumed.state == "finished"
    assert [row["epoch"] for row in resumed.history] == [1, 2]
    assert resumed.history[0] == record["history"][0]
    assert {event.epoch for event in steps(events)} == {1}
    assert {event.done for event in events if event.payload} == {3, 4}  # batches of the whole run, 2 a epoch
    assert storage.read_metadata(run / "checkpoint.keras")["epoch"] == 2
    assert int(keras.saving.load_model(run / "checkpoint.keras").optimizer.iterations) == 4
    assert run_folder.read_run(run)["status"]["state"] == "finished"


def test_stop_mid_epoch_keeps_no_partial_epoch(dataset, tmp_path):
    run, stop = tmp_path / "run", threading.Event()
    result = training.train(dataset, run, TWO_EPOCHS, progress=lambda event: stop.set(), stop=stop)
    assert result.state == "stopped" and result.history == []
    assert not (run / "checkpoint.keras").exists()
    assert run_folder.read_run(run)["history"] == []
    with pytest.raises(ValueError, match=f"run {run} has nothing to resume"):
        training.train(dataset, run, TWO_EPOCHS, resume=True)


def test_resume_refuses_other_settings(dataset, tmp_path):
    run, stop = tmp_path / "run", threading.Event()
    started = dataclasses.replace(TWO_EPOCHS, learning_rate=0.01, dropout=False, prior_ratio=0.5)
    training.train(dataset, run, started, progress=lambda event: event.payload and event.payload.epoch_end and stop.set(),
                   stop=stop)
    with pytest.raises(ValueError, match="batch_size: run has 8, received 4"):
        training.train(dataset, run, dataclasses.replace(started, batch_size=4), resume=True)

    # Issue 16: resuming takes every setting from the run, whatever TrainConfig's defaults are.
    assert training.resume_config(run) == started
    assert training.resume_config(run, {"epochs": 3, "dropout": False}) == dataclasses.replace(started, epochs=3)
    with pytest.raises(ValueError, match="keeps its own.*learning_rate: run has 0.01, received 0.5; "
                                         "prior_ratio: run has 0.5, received 0.0"):
        training.resume_config(run, {"learning_rate": 0.5, "prior_ratio": 0.0})
    with pytest.raises(ValueError, match="not training settings: colour"):
        training.resume_config(run, {"colour": "red"})
    result = training.resume_run(run)
    assert result.state == "finished" and [row["epoch"] for row in result.history] == [1, 2]
    assert run_folder.read_run(run)["config"]["train"] == dataclasses.asdict(started)


def test_three_classes_train(tmp_path):
    dataset = write_dataset(tmp_path / "dataset", classes=("c", "a", "b"), artworks=2, tiles=2)
    config = TrainConfig(recipe="seed", epochs=1, batch_size=4, weights=None, input_size=SMALL)
    result = training.train(dataset, tmp_path / "run", config)
    assert result.metrics["classes"] == ["a", "b", "c"] and len(result.metrics["tile_confusion"]) == 3
    model, metadata = storage.load_model(result.model_path)
    assert model.output_shape == (None, 3) and metadata["classes"] == ["a", "b", "c"]


def test_mixed_precision_computes_in_bfloat16_and_reloads_so(dataset, tmp_path):
    config = TrainConfig(recipe="seed", epochs=1, batch_size=8, weights=None, mixed_precision=True,
                         input_size=SMALL)
    result = training.train(dataset, tmp_path / "run", config)
    assert result.state == "finished" and run_folder.read_run(tmp_path / "run")["config"]["train"]["mixed_precision"]
    model, _ = storage.load_model(result.model_path)
    policies = {layer.name: layer.dtype_policy.name for layer in model.layers[1:]}
    assert policies.pop("output") == "float32" and set(policies.values()) == {"mixed_bfloat16"}
    assert all(weight.dtype == "float32" for weight in model.weights)
    tiles = np.random.default_rng(0).random((4, SMALL, SMALL, 3), dtype=np.float32)
    probabilities = model.predict(tiles, verbose=0)
    assert probabilities.dtype == np.float32 and np.isfinite(probabilities).all()


def test_in_bfloat16_keeps_weights_and_compile_settings():
    model = models.create_model(dataclasses.replace(models.get_recipe("default"), input_size=SMALL), 2, seed=1)
    copy = models.in_bfloat16(model)
    for original, copied in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(original, copied)
    assert copy.get_compile_config() == model.get_compile_config()
    tiles = np.random.default_rng(0).random((4, SMALL, SMALL, 3), dtype=np.float32)
    # bfloat16 keeps about 3 significant digits: the same model, slightly different numbers.
    np.testing.assert_allclose(copy.predict(tiles, verbose=0), model.predict(tiles, verbose=0), atol=0.02)


def test_failure_is_recorded(dataset, tmp_path):
    run = tmp_path / "run"
    missing = tmp_path / "missing.h5"
    with pytest.raises(ValueError, match="weights file not found"):
        training.train(dataset, run, TrainConfig(recipe="vgg16", epochs=1, weights=str(missing), input_size=SMALL))
    status = run_folder.read_run(run)["status"]
    assert status["state"] == "failed" and str(missing) in status["error"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_finalize_writes_loadable_model_with_metadata(dataset, tmp_path, suffix):
    events = []
    path = training.finalize(dataset, tmp_path / f"final{suffix}", TWO_EPOCHS, progress=events.append)
    model, metadata = storage.load_model(path)
    assert model.input_shape == (None, SMALL, SMALL, 3)
    assert metadata["classes"] == ["han", "kom"] and metadata["recipe"] == "default"
    assert metadata["metrics"] == {} and "train and test" in metadata["description"]
    # train + test: 24 tiles in batches of 8, for 2 epochs
    assert [e.epoch for e in steps(events) if e.epoch_end] == [0, 1] and steps(events)[0].batches == 3
    # Besides finalizing, only the statistics head's synthetic pictures are reported (this config adds no drawings).
    assert {event.what for event in events} == {"finalizing", "synthetic pictures"}
    assert events[-1].what == "finalizing" and events[-1].done == events[-1].total == 6


def test_finalize_stopped_writes_nothing(dataset, tmp_path):
    stop = threading.Event()
    stop.set()
    with pytest.raises(training.TrainingStopped, match="no model was written"):
        training.finalize(dataset, tmp_path / "final.keras", TWO_EPOCHS, stop=stop)
    assert not (tmp_path / "final.keras").exists()
    with pytest.raises(ValueError, match="must end in .keras or .h5"):
        training.finalize(dataset, tmp_path / "final.pt", TWO_EPOCHS)


def test_trains_on_a_dataset_built_from_the_demo_collection(tmp_path):
    from artcnn import dataset_build, demo
    from artcnn.config import TilingConfig

    demo.make_demo_collection(tmp_path / "art", per_class=4, seed=0, size=(64, 96))
    dataset_build.build_dataset(tmp_path / "art", tmp_path / "dataset",
                                TilingConfig(tile_size=32, tiles_per_artwork=3, test_fraction=0.5))
    result = training.train(tmp_path / "dataset", tmp_path / "run", dataclasses.replace(TWO_EPOCHS, epochs=1))
    assert result.state == "finished" and result.metrics["n_artworks"] == 4
    assert storage.read_metadata(result.model_path)["synthetic"] is True


def test_the_prior_and_the_drawings_join_the_training_tiles_of_train_and_finalize(dataset, tmp_path):
    config = dataclasses.replace(TWO_EPOCHS, epochs=1, prior_ratio=0.5)
    events = []
    result = training.train(dataset, tmp_path / "run", config, progress=events.append)
    # Half a synthetic tile per kom tile of the train split (8 of the dataset's 12): 16 real + 4 synthetic training
    # tiles, batches of 8.
    assert {step.batches for step in steps(events)} == {3}
    assert "prior" not in {path.name for path in (tmp_path / "run").iterdir()}  # drawn again on resume, not kept
    assert any(event.what == "prior" for event in events)
    assert "with the algorithmic-art prior (4 synthetic kom tiles) (run run)" in \
        storage.read_metadata(result.model_path)["description"]

    events = []
    path = training.finalize(dataset, tmp_path / "final.keras", dataclasses.replace(config, prior_class="han",
                                                                                  drawn_ratio=0.5), progress=events.append)
    # 24 real + 6 synthetic han tiles + 2 drawings (half one per han artwork: 3) of the tiling's 4 random tiles and
    # a whole view each.
    assert {step.batches for step in steps(events)} == {5}
    assert any(event.what == "counterpart" for event in events)
    assert ("with the algorithmic-art prior (6 synthetic han tiles) and 2 synthetic hand drawings in class han; "
            in storage.read_metadata(path)["description"])

    with pytest.raises(ValueError, match="prior adds tiles to class oil, but dataset .* has no such class "
                                         r"\(classes: han, kom\)"):
        training.train(dataset, tmp_path / "other", dataclasses.replace(config, prior_class="oil"))
    assert not (tmp_path / "other").exists()


def test_the_verdict_blends_the_artworks_global_statistics(tmp_path):
    from artcnn.evaluation import evaluate_model
    from artcnn.image_statistics import StatisticsHead

    with_statistics = write_dataset(tmp_path / "dataset", classes=("han", "kom"), artworks=3, tiles=2, statistics=True)
    one_epoch = dataclasses.replace(TWO_EPOCHS, epochs=1)
    result = training.train(with_statistics, tmp_path / "run", one_epoch)
    _, metadata = storage.load_model(result.model_path)
    head = StatisticsHead.from_metadata(metadata)
    assert head.weight == models.get_recipe("default").statistics_weight == 0.9 and head.classes == ("han", "kom")
    assert "verdict: 90% the artwork's global statistics, 10% the mean of its tiles" in metadata["description"]
    # The test split's verdicts are the blend (evaluation's own tests check the blend itself).
    model, _ = storage.load_model(result.model_path)
    assert result.metrics == evaluate_model(model, with_statistics, "test", 8, metadata=metadata)

    path = training.finalize(with_statistics, tmp_path / "tiles_only.keras",
                             dataclasses.replace(one_epoch, statistics_weight=0.0))
    assert "statistics" not in storage.load_model(path)[1]
    # A dataset built before statistics were recorded trains on, its verdict from the tiles alone, and says so.
    path = training.finalize(write_dataset(tmp_path / "old", classes=("han", "kom"), artworks=3, tiles=2),
                             tmp_path / "old.keras", one_epoch)
    _, metadata = storage.load_model(path)
    assert "statistics" not in metadata and "rebuild it to use them" in metadata["description"]
