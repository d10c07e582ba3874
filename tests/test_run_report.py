import json

import pytest
from builders import write_dataset

from artcnn import run_report
from artcnn.fitting import TrainingStep
from artcnn.progress import Progress
from artcnn.run_folder import CONFIG, HISTORY, HISTORY_COLUMNS


def _step(epoch, batch, epoch_end=False):
    return TrainingStep(epoch=epoch, epochs=3, batch=batch, batches=4, logs={}, epoch_end=epoch_end)


def test_a_training_job_is_in_one_phase_at_a_time():
    assert run_report.phase(None) == "loading TensorFlow"
    assert run_report.phase(Progress("training", 0, None, "loading TensorFlow")) == "loading TensorFlow"
    assert run_report.phase(Progress("training", 6, 12, "…", _step(1, 2))) == "training epoch 2 of 3 · batch 2 of 4"
    assert run_report.phase(Progress("evaluating", 0, None, "evaluating on the test split")) == \
        "evaluating on the test split"
    assert run_report.phase(Progress("tiling", 2, 5, "a.png")) == "tiling: 2/5 · a.png"


def _run(runs, name, dataset, recipe, input_size, seconds):
    folder = runs / name
    folder.mkdir(parents=True)
    (folder / CONFIG).write_text(json.dumps({"recipe": {"name": recipe, "input_size": input_size},
                                             "dataset": str(dataset)}))
    lines = [",".join(HISTORY_COLUMNS)] + [f"{epoch},0.5,0.5,0.5,0.5,{value}"
                                           for epoch, value in enumerate(seconds, start=1)]
    (folder / HISTORY).write_text("\n".join(lines) + "\n")


def test_the_rate_is_measured_on_earlier_runs_of_the_same_recipe_and_size(tmp_path):
    dataset = write_dataset(tmp_path / "ds")
    description = json.loads((dataset / "dataset.json").read_text())
    (dataset / "dataset.json").write_text(json.dumps({**description, "counts": {"train": {"han": 30, "kom": 30},
                                                                              "test": {"han": 20, "kom": 20}}}))
    runs = tmp_path / "runs"
    assert run_report.seconds_per_tile(runs, "default", 128) is None
    _run(runs, "a", dataset, "default", 128, [10.0, 20.0, 30.0])
    _run(runs, "b", dataset, "seed", 200, [500.0])
    _run(runs, "c", tmp_path / "deleted", "default", 128, [900.0])
    (runs / "half").mkdir()
    (runs / "half" / CONFIG).write_text("{")
    assert run_report.seconds_per_tile(runs, "default", 128) == pytest.approx(20.0 / 100)
    assert run_report.seconds_per_tile(runs, "seed", 200) == pytest.approx(5.0)
    assert run_report.seconds_per_tile(runs, "vgg2", 200) is None


def test_time_left_from_the_epochs_so_far_or_the_estimate():
    assert run_report.time_left([], None, 3) is None
    assert run_report.time_left([], _step(0, 2), 3, estimate_per_epoch=10.0) == pytest.approx(25.0)
    history = [{"epoch": 1, "seconds": 8.0}, {"epoch": 2, "seconds": 12.0}]
    assert run_report.time_left(history, _step(2, 1), 3, estimate_per_epoch=99.0) == pytest.approx(7.5)
    assert run_report.time_left(history, _step(2, 4, epoch_end=True), 3) == 0.0
    assert run_report.time_left(history, None, 3) == pytest.approx(10.0)
    assert [run_report.duration_text(s) for s in (0.2, 40, 400, 9000)] == \
        ["about 1 s", "about 40 s", "about 7 min", "about 2 h 30 min"]


def test_a_result_whose_interval_includes_chance_is_flagged():
    def metrics(value, low, high, classes=("han", "kom")):
        return {"classes": list(classes), "artwork_accuracy": {"value": value, "low": low, "high": high,
                                                               "correct": 6, "total": 10}}

    warning = run_report.near_chance(metrics(0.6, 0.31, 0.83))
    assert "60%" in warning and "31%–83%" in warning and "includes 50%" in warning
    assert run_report.near_chance(metrics(0.9, 0.6, 0.98)) is None
    assert run_report.near_chance(metrics(0.6, 0.4, 0.8, ("a", "b", "c"))) is None  # chance is 33%
    assert run_report.near_chance(None) is None and run_report.near_chance({}) is None
