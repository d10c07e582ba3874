"""Train: runs in the background of the server (they outlive reruns, page changes and closed tabs; beyond the
server's limit they queue), watched live, stopped, resumed; test results, finalizing, the study's four runs."""

from datetime import datetime
from pathlib import Path

import streamlit as st

import app_state
import app_team
from app_runs import (report_ended_jobs, run_progress_text, run_state, settings_text, show_curves, show_metrics,
                      show_misclassified, show_study_tables, training_form, training_form_config)
from artcnn import run_folder, study, training
from artcnn.config import TrainConfig, from_dict
from artcnn.storage import MODEL_SUFFIXES

app_state.follow_router()
workspace, jobs, state = app_state.workspace(), app_state.jobs(), st.session_state
RUN_NAME = "run {:%Y-%m-%d %H.%M.%S}"  # a fresh default run name: the time it was offered
st.title("Train")


def launching(start):
    """A button callback starting, as its user, the job `start` gives (name, task, runs); its end reported once."""
    def callback(*args) -> None:
        try:
            job_name, task, runs = start(*args)
            jobs.start(job_name, task, runs, user=app_team.user())
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
    name, config = state.train_name.strip(), training_form_config()
    dataset_dir = workspace.dataset_dir(state.train_dataset)
    names = tuple(study.run_names(name)) if reproduce_study else (name,)
    if not reproduce_study and (workspace.run_dir(name) / run_folder.CONFIG).exists():
        raise ValueError(f"A run named {name!r} exists already: choose another run name.")
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
    training_form(workspace, datasets, RUN_NAME.format(datetime.now()))
    buttons = st.columns([1, 3])
    buttons[0].button("Start training", type="primary", on_click=start, args=(False,))
    buttons[1].button("Reproduce the study's four configurations", on_click=start, args=(True,),
                      help="Four runs of the seed recipe with this dataset, epochs, learning rate and seed: plain, "
                           "+dropout, +dropout+rotation (batch 32), +batch 64/32. Existing ones are kept or resumed.")
if "train_error" in state:
    st.error(state.pop("train_error"))
report_ended_jobs(jobs, state.setdefault("train_jobs", []))

view_widget = app_state.kept("train_view", None)
runs, view = workspace.run_names(), state["train_view"]
if view not in runs and view and jobs.training(view):
    runs.insert(0, view)  # started, but its folder is not written yet
elif view not in runs:
    state.pop("train_view", None)
signature = [job.name for job in jobs.running()], sorted(workspace.run_names())


def live_panel() -> None:
    """Every job of this server with its progress and Stop, the queue; the chosen run's state, curves, results."""
    if ([job.name for job in jobs.running()], sorted(workspace.run_names())) != signature:
        st.rerun()  # a job ended or a run folder appeared (a study moved on): redraw the whole page
    app_team.show_jobs(jobs)
    if not view or not (workspace.run_dir(view) / run_folder.CONFIG).is_file():
        return
    record = run_folder.read_run(workspace.run_dir(view))
    status, config, shown_state = record["status"], record["config"], run_state(jobs, view, record["status"])
    st.markdown(f"**{view}**: {run_progress_text(jobs, view, record, workspace.root / 'runs')}")
    st.caption(settings_text(config))
    if status.get("error"):
        st.error(status["error"])
    show_curves(record["history"], key="train_curves")
    if shown_state in ("interrupted", "stopped"):
        st.button("Resume", on_click=resume, args=(view,), help="Continue from the last finished epoch's checkpoint.",
                  disabled=not (workspace.run_dir(view) / run_folder.CHECKPOINT).is_file())
    if shown_state == "finished":
        show_metrics(record["metrics"])
        show_misclassified(record["metrics"], Path(config["dataset"]))
        with st.expander("Finalize: train the same recipe on all tiles (train and test) into models/"):
            st.text_input("Model name", f"{view} final", key="train_final_name")
            st.radio("Format", MODEL_SUFFIXES, horizontal=True, key="train_final_format")
            st.button("Finalize", on_click=finalize, args=(config,))


view = st.selectbox("Run to show", runs, **view_widget) if runs else None
st.fragment(live_panel, run_every=2 if signature[0] else None)()
show_study_tables(workspace)
