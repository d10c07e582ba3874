"""Models: every run and saved model with its recipe, data, curves and metrics; two runs side by side;
downloads as .keras or .h5; deleting into the trash and restoring from it. Listing reads files only (no TensorFlow)."""

from pathlib import Path

import pandas as pd
import streamlit as st

import app_state
import app_team
from app_collection import show_mistakes
from app_runs import (accuracy_text, model_entries, run_comparison, settings_text, show_curves, show_metrics,
                      show_study_tables)
from artcnn.storage import MODEL_SUFFIXES, model_file_bytes

app_state.follow_router()
workspace, jobs = app_state.workspace(), app_state.jobs()
st.title("Models")

app_team.show_done()
entries = model_entries(workspace, jobs)
if not entries:
    st.info("No runs or models yet: train one on the Train page.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    app_team.show_trash(workspace)
    st.stop()
started_by = {run["name"]: run for run in workspace.catalogue.runs()}

st.dataframe(pd.DataFrame([{
    "name": entry["name"], "kind": entry["kind"], "state": entry["state"], "recipe": entry["recipe"],
    "test artworks (95%)": accuracy_text(entry["metrics"], "artwork"),
    "test tiles (95%)": accuracy_text(entry["metrics"], "tile"),
    "epochs": entry["epochs"], "synthetic data": "SYNTHETIC" if entry["synthetic"] else "", "data": entry["dataset"],
} for entry in entries.values()]).assign(**app_team.users(
    [started_by.get(entry["name"], {}) if entry["kind"] == "run" else {} for entry in entries.values()])),
    hide_index=True)

st.subheader("Details")
label = st.selectbox("Run or model", list(entries), key="models_pick")
entry = entries[label]
if entry["synthetic"]:
    st.caption("Trained on SYNTHETIC demo data (generated pictures, not real art).")
if entry["record"]:
    config = entry["record"]["config"]
    st.markdown(settings_text(config))
    show_curves(entry["record"]["history"], key="models_curves")
elif entry["dataset"]:
    st.markdown(entry["dataset"])
if entry["card"]:
    with st.expander(f"Model card ({entry['card'].name})"):
        st.markdown(entry["card"].read_text(encoding="utf-8"))
show_metrics(entry["metrics"])
if entry["kind"] == "run" and entry["metrics"]:
    with st.expander("Its mistakes: the confusion matrix with each cell's test artworks, the most confident errors"):
        show_mistakes(workspace.run_dir(entry["name"]))

if entry["path"] is not None:
    downloads = st.columns(len(MODEL_SUFFIXES) + 2)
    for column, suffix in zip(downloads, MODEL_SUFFIXES):
        file_name = f"{entry['name'] if entry['kind'] == 'run' else Path(entry['name']).stem}{suffix}"
        column.download_button(f"Download {suffix}", lambda path=entry["path"], suffix=suffix: model_file_bytes(
            path, suffix), file_name=file_name, mime="application/octet-stream", key=f"models_download{suffix}",
            on_click="ignore", help="Converted from the stored format when it differs (takes a few seconds).")
if entry["kind"] != "built-in model":
    app_team.delete_control(workspace, "run" if entry["kind"] == "run" else "model", entry["name"], entry["running"])

runs = [label for label, entry in entries.items() if entry["kind"] == "run"]
if len(runs) >= 2:
    st.subheader("Compare two runs")
    sides = st.columns(2)
    for side, default in zip(sides, (0, 1)):
        chosen = entries[side.selectbox("Run", runs, index=default, key=f"models_compare{default}")]
        side.dataframe(run_comparison(chosen))
        with side:
            show_curves(chosen["record"]["history"], key=f"models_compare_curves{default}")
show_study_tables(workspace)
app_team.show_trash(workspace)
