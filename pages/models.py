"""Models: every run and saved model with its recipe, data, curves and metrics; two runs side by side;
downloads as .keras or .h5; deleting. Listing reads files only (no TensorFlow)."""

from pathlib import Path

import pandas as pd
import streamlit as st

import app_state
from app_widgets import model_label, run_state, show_curves, show_metrics, show_study_tables
from artcnn import training
from artcnn.storage import MODEL_SUFFIXES, model_file_bytes, read_metadata
from artcnn.dataset import read_description

workspace, jobs = app_state.workspace(), app_state.jobs()
st.title("Models")


def dataset_is_synthetic(dataset_dir: str) -> bool:
    try:
        return read_description(dataset_dir).synthetic
    except ValueError:  # the dataset was deleted since; the run's model still says
        return False


entries: dict[str, dict] = {}  # label → what the table and the details show
for name in workspace.run_names():
    record = training.read_run(workspace.run_dir(name))
    entries[f"run · {name}"] = {
        "name": name, "kind": "run", "path": record["model_path"], "record": record,
        "running": jobs.training(name) is not None, "state": run_state(jobs, name, record["status"]),
        "recipe": record["config"]["recipe"]["name"], "dataset": Path(record["config"]["dataset"]).name,
        "epochs": len(record["history"]), "metrics": record["metrics"] or {},
        "synthetic": dataset_is_synthetic(record["config"]["dataset"]),
    }
for path in workspace.model_files():
    if path.parent.parent == workspace.root / "runs":
        continue  # listed with its run
    try:
        metadata = read_metadata(path)
    except (ValueError, OSError) as error:
        st.warning(f"Model {model_label(workspace, path)} cannot be read and is not listed: {error}")
        continue
    builtin = path.parent != workspace.root / "models"
    entries[f"{'built-in' if builtin else 'model'} · {path.name}"] = {
        "name": path.name, "kind": "built-in model" if builtin else "saved model", "path": path, "record": None,
        "recipe": metadata.get("recipe"), "dataset": metadata.get("description", ""), "state": "saved",
        "epochs": None, "metrics": metadata.get("metrics") or {}, "synthetic": bool(metadata.get("synthetic")),
        "running": False,
    }
if not entries:
    st.info("No runs or models yet: train one on the Train page.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()


def accuracy(entry: dict, level: str) -> str:
    value = entry["metrics"].get(f"{level}_accuracy")
    return f"{value['value']:.1%} ({value['low']:.0%}–{value['high']:.0%})" if value else ""


st.dataframe(pd.DataFrame([{
    "name": entry["name"], "kind": entry["kind"], "state": entry["state"], "recipe": entry["recipe"],
    "test artworks (95%)": accuracy(entry, "artwork"), "test tiles (95%)": accuracy(entry, "tile"),
    "epochs": entry["epochs"], "synthetic data": "SYNTHETIC" if entry["synthetic"] else "", "data": entry["dataset"],
} for entry in entries.values()]), hide_index=True)

st.subheader("Details")
label = st.selectbox("Run or model", list(entries), key="models_pick")
entry = entries[label]
if entry["synthetic"]:
    st.caption("Trained on SYNTHETIC demo data (generated pictures, not real art).")
if entry["record"]:
    config = entry["record"]["config"]
    recipe = config["recipe"]
    st.markdown(f"Recipe **{recipe['name']}**: {recipe['input_size']}-px inputs, {recipe['optimizer']} "
                f"lr {recipe['learning_rate']:g}, batch {recipe['batch_size']}/{recipe['test_batch_size']}, "
                f"dropout {'on' if recipe['dropout'] else 'off'}, rotation {recipe['rotation_deg']:g}° · "
                f"data `{config['dataset']}` ({', '.join(config['classes'])})")
    show_curves(entry["record"]["history"], key="models_curves")
elif entry["dataset"]:
    st.markdown(entry["dataset"])
show_metrics(entry["metrics"])

if entry["path"] is not None:
    downloads = st.columns(len(MODEL_SUFFIXES) + 2)
    for column, suffix in zip(downloads, MODEL_SUFFIXES):
        file_name = f"{entry['name'] if entry['kind'] == 'run' else Path(entry['name']).stem}{suffix}"
        column.download_button(f"Download {suffix}", lambda path=entry["path"], suffix=suffix: model_file_bytes(
            path, suffix), file_name=file_name, mime="application/octet-stream", key=f"models_download{suffix}",
            on_click="ignore", help="Converted from the stored format when it differs (takes a few seconds).")
if entry["kind"] != "built-in model":
    confirm = st.checkbox(f"Delete {entry['name']} for good", key="models_confirm_delete",
                          disabled=entry["running"], help="A run still training cannot be deleted; stop it first.")
    if st.button("Delete", disabled=not confirm or entry["running"]):
        if entry["kind"] == "run":
            workspace.delete_run(entry["name"])
        else:
            workspace.delete_model(entry["name"])
        st.session_state.pop("models_confirm_delete", None)
        st.rerun()

runs = [label for label, entry in entries.items() if entry["kind"] == "run"]
if len(runs) >= 2:
    st.subheader("Compare two runs")
    sides = st.columns(2)
    for side, default in zip(sides, (0, 1)):
        chosen = entries[side.selectbox("Run", runs, index=default, key=f"models_compare{default}")]
        record = chosen["record"]
        recipe, train = record["config"]["recipe"], record["config"]["train"]
        side.dataframe(pd.DataFrame({"": [
            recipe["name"], chosen["dataset"], chosen["state"], chosen["epochs"], recipe["learning_rate"],
            f"{recipe['batch_size']}/{recipe['test_batch_size']}", train["dropout"], train["augment"],
            accuracy(chosen, "tile"), accuracy(chosen, "artwork"), chosen["metrics"].get("roc_auc"),
            sum(row["seconds"] or 0 for row in record["history"]),
        ]}, index=["recipe", "data", "state", "epochs", "learning rate", "batch", "dropout", "rotation",
                   "test tiles (95%)", "test artworks (95%)", "ROC AUC", "training seconds"]).astype(str))
        with side:
            show_curves(record["history"], key=f"models_compare_curves{default}")
show_study_tables(workspace)
