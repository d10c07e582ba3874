"""The Train page through streamlit's AppTest: training runs in a background job, so tests poll the page."""

import dataclasses
import json
import subprocess
import sys
import time

import pandas as pd
from streamlit.testing.v1 import AppTest

from artcnn import run_folder
from artcnn.catalogue import Catalogue
from artcnn.config import TrainConfig
from artcnn.image_statistics import FIRST_NAMES, NAMES
from app_pages import markdown, open_page
from builders import add_demo_dataset, add_run, write_dataset

# Plenty of time for one tiny epoch on two busy cores, including TensorFlow's first import.
JOB_DEADLINE = 240


def run_until_idle(at: AppTest) -> list[str]:
    """Rerun the page until it shows no running job; returns every progress text seen on the way."""
    seen, deadline = [], time.monotonic() + JOB_DEADLINE
    while True:
        texts = [bar.proto.text for bar in at.get("progress")]
        seen += texts
        if not texts:
            return seen
        assert time.monotonic() < deadline, f"jobs still running after {JOB_DEADLINE} s: {texts}"
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label: str):
    return next(element for element in at.button if element.label == label)


def test_renders_on_an_empty_workspace(workspace):
    at = open_page("pages/train.py")
    assert "no dataset to train on yet" in at.info[0].value
    assert not at.button and not at.get("progress")


def test_trains_one_epoch_with_progress_curves_and_metrics_then_finalizes(workspace):
    add_demo_dataset(workspace)
    at = open_page("pages/train.py")
    assert "(SYNTHETIC demo data)" in at.selectbox(key="train_dataset").format_func("demo")
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_prior_ratio").set_value(0.5)
    at.checkbox(key="train_balance_sources").check()
    at.number_input(key="train_statistics_weight").set_value(0.5)
    at.number_input(key="train_drawn_ratio").set_value(0.5)
    at.text_input(key="train_name").input("first")
    at.button[0].click()
    at.run()
    seen = run_until_idle(at)
    assert seen and all(text.startswith("first · ") for text in seen)
    assert any(" · training: " in text for text in seen)
    assert not at.error, [e.value for e in at.error]

    assert "**first**: finished, epoch 1 of 1" in markdown(at)
    settings = "dataset `demo` (han, kom) · recipe **default** · 1 epoch · "
    assert any(settings in caption.value for caption in at.caption)
    assert any("· prior 0.5 to kom · sources balanced · 0.5 synthetic drawings per han artwork · verdict 50% "
               "global statistics, their head also fitted on 0.25 synthetic ink drawings per han and 0.1 generative "
               "pictures per kom artwork" in caption.value
               for caption in at.caption)
    recorded = run_folder.read_run(workspace / "runs" / "first")["config"]["train"]
    assert (recorded["prior_ratio"], recorded["prior_class"], recorded["balance_sources"]) == (0.5, "kom", True)
    assert recorded["statistics_weight"] == 0.5 and recorded["drawn_ratio"] == 0.5
    assert at.get("plotly_chart")
    assert {metric.label for metric in at.metric} == {"Test accuracy, tiles", "Test accuracy, artworks",
                                                      "ROC AUC, artworks"}
    assert any("95% interval" in caption.value for caption in at.caption)
    confusion = at.dataframe[0].value
    assert list(confusion.columns) == ["predicted han", "predicted kom"] and confusion.to_numpy().sum() > 0
    wrong = run_folder.read_run(workspace / "runs" / "first")["metrics"]["misclassified"]
    assert len(at.expander) == len(wrong) + 2  # the form's unseen-artist options, each misclassified one, Finalize
    if not wrong:
        assert "Every test artwork was classified correctly." in at.success[0].value
    assert [run["name"] for run in Catalogue(workspace / "catalogue.sqlite").runs()] == ["first"]
    assert at.text_input(key="train_name").value != "first"  # a fresh name for the next run

    at.text_input(key="train_final_name").input("first final")
    at.radio(key="train_final_format").set_value(".h5")
    button(at, "Finalize").click()
    at.run()
    run_until_idle(at)
    assert not at.error, [e.value for e in at.error]
    # The run's own "every test artwork right" success may come after it, in the run's panel.
    assert any("Saved first final.h5" in success.value for success in at.success)
    assert (workspace / "models" / "first final.h5").is_file()


def test_stop_then_an_interrupted_run_resumes(workspace):
    add_demo_dataset(workspace)
    at = open_page("pages/train.py")
    at.number_input(key="train_epochs").set_value(200)
    at.text_input(key="train_name").input("long")
    at.button[0].click()
    at.run()
    button(at, "Stop long").click()
    at.run()
    run_until_idle(at)
    status = run_folder.read_run(workspace / "runs" / "long")["status"]
    assert status["state"] == "stopped" and status["epoch"] < 200
    assert "**long**: stopped" in markdown(at)

    # A run a dead server left "running", with one finished epoch of two.
    add_run(workspace, "left", workspace / "datasets" / "demo", TrainConfig(epochs=2), stop_after_epoch=1)
    status_file = workspace / "runs" / "left" / "status.json"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    status_file.write_text(json.dumps({**json.loads(status_file.read_text()), "state": "running", "pid": dead.pid}))
    at.run()
    at.selectbox(key="train_view").set_value("left")
    at.run()
    assert "**left**: interrupted, epoch 1 of 2" in markdown(at)
    resume = button(at, "Resume")
    assert not resume.disabled
    resume.click()
    at.run()
    run_until_idle(at)
    assert "**left**: finished, epoch 2 of 2" in markdown(at)
    assert [row["epoch"] for row in run_folder.read_run(workspace / "runs" / "left")["history"]] == [1, 2]


def test_reproduces_the_study_as_one_table(workspace, monkeypatch):
    from artcnn import models

    # The page offers no input size: the registered seed recipe itself takes 32-px inputs for this test.
    seed = models._REGISTRY["seed"]  # noqa: SLF001
    monkeypatch.setitem(models._REGISTRY, "seed", dataclasses.replace(  # noqa: SLF001
        seed, defaults=dataclasses.replace(seed.defaults, input_size=32)))
    add_demo_dataset(workspace)
    at = open_page("pages/train.py")
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").input("study")
    button(at, "Reproduce the study's four configurations").click()
    at.run()
    seen = run_until_idle(at)
    assert any("configuration 4/4 (study dropout+rotation+batch64)" in text for text in seen)
    table = next(frame.value for frame in at.dataframe if "study %" in frame.value.columns)
    assert table["study %"].tolist() == [76.25, 81.67, 82.25, 90.42]
    assert table["state"].tolist() == ["finished"] * 4 and table["tiles %"].notna().all()


def test_a_finished_three_class_run_shows_its_results_for_every_class(workspace):
    dataset = write_dataset(workspace / "datasets" / "three", classes=("han", "kom", "photo"))
    add_run(workspace, "three", dataset, TrainConfig(epochs=1, input_size=32, batch_size=4, weights=None))
    at = open_page("pages/train.py")
    at.selectbox(key="train_view").set_value("three").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "**three**: finished, epoch 1 of 1" in markdown(at)
    confusion = next(frame.value for frame in at.dataframe if "predicted photo" in frame.value.columns)
    assert list(confusion.columns) == ["predicted han", "predicted kom", "predicted photo"]
    wrong = run_folder.read_run(workspace / "runs" / "three")["metrics"]["misclassified"]
    assert len(at.expander) == len(wrong) + 2  # the form's unseen-artist options, each misclassified one, Finalize


def test_the_form_keeps_its_choices_across_page_changes_and_estimates_the_duration(populated_workspace):
    at = open_page("pages/train.py")
    dataset = at.selectbox(key="train_dataset").value
    assert any(" over " in caption.value and "expected about " in caption.value
               and "earlier runs of recipe default" in caption.value for caption in at.caption)
    at.number_input(key="train_epochs").set_value(3)
    at.number_input(key="train_seed").set_value(7)
    at.checkbox(key="train_dropout").uncheck()
    at.text_input(key="train_name").input("kept").run()
    at.switch_page("pages/home.py").run()
    assert "train_epochs" not in at.session_state  # Streamlit forgot the widget...
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    # ...and the form restored the user's choices.
    assert at.number_input(key="train_epochs").value == 3 and at.number_input(key="train_seed").value == 7
    assert not at.checkbox(key="train_dropout").value and at.text_input(key="train_name").value == "kept"
    assert at.selectbox(key="train_dataset").value == dataset
    assert any(caption.value.startswith("3 epochs over ") for caption in at.caption)


def test_a_dataset_without_global_statistics_is_named_before_training(workspace):
    write_dataset(workspace / "datasets" / "old", classes=("han", "kom"))
    write_dataset(workspace / "datasets" / "new", classes=("han", "kom"), statistics=True)
    # Built when only the first statistics were measured: those are not enough for today's heads either.
    older = write_dataset(workspace / "datasets" / "older", classes=("han", "kom"), statistics=True)
    table = pd.read_csv(older / "statistics.csv")
    table.drop(columns=[name for name in NAMES if name not in FIRST_NAMES]).to_csv(older / "statistics.csv", index=False)
    warning = "built before the artworks' current global statistics were recorded"
    at = open_page("pages/train.py")
    at.selectbox(key="train_dataset").set_value("old").run()
    assert any(warning in caption.value for caption in at.caption)
    at.selectbox(key="train_dataset").set_value("older").run()
    assert any(warning in caption.value for caption in at.caption)
    at.number_input(key="train_statistics_weight").set_value(0.0).run()
    assert not any(warning in caption.value for caption in at.caption)
    at.number_input(key="train_statistics_weight").set_value(None)
    at.selectbox(key="train_dataset").set_value("new").run()
    assert not at.exception and not any(warning in caption.value for caption in at.caption)
