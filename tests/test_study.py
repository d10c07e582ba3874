import dataclasses
import threading

import pytest

keras = pytest.importorskip("keras")

from builders import write_dataset  # noqa: E402

from artcnn import run_folder, study  # noqa: E402
from artcnn.config import TrainConfig  # noqa: E402

ONE_EPOCH = TrainConfig(epochs=1, learning_rate=0.01, seed=3, input_size=32)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("dataset"), classes=("han", "kom"), artworks=3, tiles=4)


def test_the_four_configurations_are_the_studys_ladder():
    configs = study.study_configs(ONE_EPOCH)
    assert [(c.recipe, c.dropout, c.augment, c.batch_size, c.test_batch_size) for c in configs] == [
        ("seed", False, False, 32, 32), ("seed", True, False, 32, 32),
        ("seed", True, True, 32, 32), ("seed", True, True, 64, 32)]
    assert all((c.epochs, c.learning_rate, c.seed) == (1, 0.01, 3) for c in configs)
    assert [item.published for item in study.CONFIGURATIONS] == [76.25, 81.67, 82.25, 90.42]
    assert study.run_names("s1") == ["s1 plain", "s1 dropout", "s1 dropout+rotation", "s1 dropout+rotation+batch64"]
    with pytest.raises(ValueError, match="run name must be"):
        study.run_names("../up")


def test_study_prefixes_come_from_run_names():
    names = ["a plain", "a dropout+rotation", "b dropout+rotation+batch64", "plain", "c", "d dropout-free"]
    assert study.study_prefixes(names) == ["a", "b"]


def test_reproduce_trains_all_four_then_keeps_them(dataset, tmp_path):
    events = []
    table = study.reproduce(dataset, tmp_path, "s", ONE_EPOCH, progress=events.append)
    assert list(table["state"]) == ["finished"] * 4 and list(table["epochs"]) == [1] * 4
    assert list(table["study %"]) == [76.25, 81.67, 82.25, 90.42]
    assert table["test tiles"].tolist() == [8] * 4 and table["test artworks"].tolist() == [2] * 4
    assert ((table["tiles 95% low"] <= table["tiles %"]) & (table["tiles %"] <= table["tiles 95% high"])).all()
    starts = [event.message for event in events if event.message.endswith("loading TensorFlow")]
    assert starts == [f"configuration {step}/4 ({name}) · loading TensorFlow"
                      for step, name in enumerate(study.run_names("s"), start=1)]
    assert all(event.message.startswith("configuration ") for event in events)
    assert run_folder.read_run(tmp_path / "s plain")["config"]["train"]["dropout"] is False

    before = (tmp_path / "s plain" / "model.keras").stat().st_mtime_ns
    again = []
    study.reproduce(dataset, tmp_path, "s", ONE_EPOCH, progress=again.append)
    assert again == [] and (tmp_path / "s plain" / "model.keras").stat().st_mtime_ns == before


def test_a_stopped_study_leaves_later_runs_unstarted_and_resumes(dataset, tmp_path):
    stop = threading.Event()
    config = dataclasses.replace(ONE_EPOCH, epochs=2)

    def stop_after_first_epoch(event):
        if event.payload is not None and event.payload.epoch_end:
            stop.set()

    table = study.reproduce(dataset, tmp_path, "s", config, progress=stop_after_first_epoch, stop=stop)
    assert list(table["state"]) == ["stopped", "not started", "not started", "not started"]
    assert table["epochs"].tolist() == [1, 0, 0, 0] and table["tiles %"].isna().all()

    events = []
    table = study.reproduce(dataset, tmp_path, "s", config, progress=events.append)
    assert list(table["state"]) == ["finished"] * 4 and table["epochs"].tolist() == [2] * 4
    resumed = [event.payload for event in events if "(s plain)" in event.message and event.payload is not None]
    assert {event.epoch for event in resumed} == {1}  # only the second epoch was left to train
