"""Train: runs in the background of the server (they outlive reruns, page changes and closed tabs),
watched live, stopped, resumed; then their test results, finalizing, and the study's four configurations."""

from datetime import datetime
from pathlib import Path

import streamlit as st

import app_state
from app_widgets import (report_ended_jobs, run_state, show_curves, show_metrics, show_misclassified,
                         show_running_jobs, show_study_tables)
from artcnn import study, training
from artcnn.config import TrainConfig, from_dict, to_dict
from artcnn.models import recipe_descriptions
from artcnn.dataset import read_description

workspace, jobs, state = app_state.workspace(), app_state.jobs(), st.session_state
# A fresh default run name: the time it was offered.
RUN_NAME = "run {:%Y-%m-%d %H.%M.%S}"
st.title("Train")


def form_config() -> TrainConfig:
    weights = (state.get("train_weights") or "imagenet").strip()
    return TrainConfig(recipe=state.train_recipe, epochs=state.train_epochs, batch_size=state.train_batch,
                       test_batch_size=state.train_test_batch, learning_rate=state.train_lr,
                       dropout=state.train_dropout, augment=state.train_augment, seed=int(state.train_seed),
                       weights=None if weights == "none" else weights)


def launching(start):
    """A button callback that starts the background job `start` describes (name, task, runs it trains), and
    remembers it so that its failure or saved model is reported once; a ValueError is shown on the page."""
    def callback(*args) -> None:
        try:
            job_name, task, runs = start(*args)
            jobs.start(job_name, task, runs)
        except ValueError as error:
            state.train_error = str(error)
            return
        state.setdefault("train_jobs", []).append(job_name)
        state.train_view = runs[0] if runs else state.get("train_view")
        state.train_name = RUN_NAME.format(datetime.now())
    return callback


@launching
def start(reproduce_study: bool):
    """A run of the settings above, or the study's four configurations with them (the run name as prefix)."""
    name, dataset, config = state.train_name.strip(), state.train_dataset, form_config()
    dataset_dir = workspace.dataset_dir(dataset)
    names, configs = (study.run_names(name), study.study_configs(config)) if reproduce_study else ([name], [config])
    if not reproduce_study and (workspace.run_dir(name) / training.CONFIG).exists():
        raise ValueError(f"A run named {name!r} exists already: choose another run name.")
    for run_name, run_config in zip(names, configs):
        workspace.catalogue.record_run(run_name, dataset, run_config.recipe, to_dict(run_config))
    if reproduce_study:
        return f"study {name}", lambda report, stop: study.reproduce(
            dataset_dir, workspace.root / "runs", name, config, progress=report, stop=stop), names
    return name, lambda report, stop: training.train(dataset_dir, workspace.run_dir(name), config,
                                                     progress=report, stop=stop), names


@launching
def resume(name: str):
    return name, lambda report, stop: training.resume_run(workspace.run_dir(name), progress=report, stop=stop), (name,)


@launching
def finalize(saved: dict):
    path = workspace.model_path(state.train_final_name.strip(), state.train_final_format)
    if path.exists():
        raise ValueError(f"A model named {path.name} exists already: choose another name.")
    config = from_dict(TrainConfig, saved["train"])
    return f"finalize {path.name}", lambda report, stop: training.finalize(
        saved["dataset"], path, config, progress=report, stop=stop), ()


datasets = workspace.dataset_names()
if not datasets:
    st.info("There is no dataset to train on yet: build one on the Datasets page, or start the synthetic demo on Home.")
    st.page_link("pages/datasets.py", label="Build a dataset", icon=":material/grid_view:")
else:
    state.setdefault("train_name", RUN_NAME.format(datetime.now()))
    st.selectbox("Dataset", datasets, key="train_dataset", format_func=lambda name: name + (
        " (SYNTHETIC demo data)" if read_description(workspace.dataset_dir(name)).synthetic else ""))
    notes = recipe_descriptions()
    recipe = st.selectbox("Recipe", list(notes), key="train_recipe", format_func=lambda r: f"{r}: {notes[r]}")
    numbers = st.columns(4)
    numbers[0].number_input("Epochs", 1, 500, None, key="train_epochs", placeholder="recipe's")
    numbers[1].number_input("Batch size", 1, 1024, None, key="train_batch", placeholder="recipe's")
    numbers[2].number_input("Test batch size", 1, 1024, None, key="train_test_batch", placeholder="recipe's")
    numbers[3].number_input("Learning rate", 1e-6, 1.0, None, step=1e-4, format="%.5f", key="train_lr",
                            placeholder="recipe's")
    switches = st.columns(3)
    switches[0].checkbox("Dropout", True, key="train_dropout", help="The study's first switch: its dropout layers.")
    switches[1].checkbox("Rotation augmentation", True, key="train_augment",
                         help="The study's second switch: random rotations of the training tiles (25°).")
    switches[2].number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
    if recipe == "vgg16":
        st.text_input("VGG16 weights", "imagenet", key="train_weights", help="A weights file on the server (…"
                      "_notop.h5), imagenet (Keras' cache, or a download) or none (random weights).")
    st.text_input("Run name", key="train_name", help="Also the prefix of the study's four runs.")
    buttons = st.columns([1, 3])
    buttons[0].button("Start training", type="primary", on_click=start, args=(False,))
    buttons[1].button("Reproduce the study's four configurations", on_click=start, args=(True,),
                      help="Four runs of the seed recipe with this dataset, epochs, learning rate and seed: plain, "
                           "+dropout, +dropout+rotation (batch 32), +batch 64/32. Existing ones are kept or resumed.")
if "train_error" in state:
    st.error(state.pop("train_error"))
report_ended_jobs(jobs, state.setdefault("train_jobs", []))

runs, view = workspace.run_names(), state.get("train_view")
if view not in runs and view and jobs.training(view):
    runs.insert(0, view)  # started, but its folder is not written yet
elif view not in runs:
    state.pop("train_view", None)
signature = [job.name for job in jobs.running()], sorted(workspace.run_names())


def live_panel() -> None:
    """Every job of this server with its progress and Stop; the chosen run's state, curves and results."""
    if ([job.name for job in jobs.running()], sorted(workspace.run_names())) != signature:
        st.rerun()  # a job ended or a run folder appeared (a study moved on): redraw the whole page
    show_running_jobs(jobs)
    if not view or not (workspace.run_dir(view) / training.CONFIG).is_file():
        return
    record = training.read_run(workspace.run_dir(view))
    status, config, shown_state = record["status"], record["config"], run_state(jobs, view, record["status"])
    st.markdown(f"**{view}**: {shown_state}, epoch {status.get('epoch')} of {status.get('epochs')} · "
                f"recipe {config['recipe']['name']} · dataset {Path(config['dataset']).name}")
    if status.get("error"):
        st.error(status["error"])
    show_curves(record["history"], key="train_curves")
    if shown_state in ("interrupted", "stopped"):
        st.button("Resume", on_click=resume, args=(view,), help="Continue from the last finished epoch's checkpoint.",
                  disabled=not (workspace.run_dir(view) / training.CHECKPOINT).is_file())
    if shown_state == "finished":
        show_metrics(record["metrics"])
        show_misclassified(record["metrics"], Path(config["dataset"]))
        with st.expander("Finalize: train the same recipe on all tiles (train and test) into models/"):
            st.text_input("Model name", f"{view} final", key="train_final_name")
            st.radio("Format", [".keras", ".h5"], horizontal=True, key="train_final_format")
            st.button("Finalize", on_click=finalize, args=(config,))


view = st.selectbox("Run to show", runs, key="train_view") if runs else None
st.fragment(live_panel, run_every=2 if signature[0] else None)()
show_study_tables(workspace)
