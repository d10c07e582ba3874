"""Home: what artcnn does, the workspace at a glance, and a one-click start on the synthetic demo."""

import pandas as pd
import streamlit as st

import app_state
import app_team
from app_widgets import progress_callback

app_state.follow_router()
workspace = app_state.workspace()
catalogue = workspace.catalogue

st.title("artcnn")
st.markdown(
    "artcnn sorts artworks into **han** (made by hand) and **kom** (made by code) with a small "
    "convolutional network that judges tiles cut from each artwork and averages them into one verdict. "
    "You build datasets from your own collection, train and compare models, and classify whole "
    "collections here; everything is kept in the workspace folder and found again after a restart."
)
app_team.unprotected_notice()

classifications = catalogue.classifications()
counts = st.columns(4)
counts[0].metric("Datasets", len(workspace.dataset_names()))
counts[1].metric("Training runs", len(workspace.run_names()))
counts[2].metric("Models", len(workspace.model_files()))
counts[3].metric("Classifications", len(classifications))

st.subheader("Start with the synthetic demo")
st.markdown(
    "One click writes a small **synthetic** collection (generated pictures, not real art: simulated hand "
    "work for `han`, generative techniques for `kom`) into `uploads/demo` and tiles it into the dataset "
    "`demo` (128-px tiles, a few per artwork), small enough to train on in a minute or two."
)
demo_ready = "demo" in workspace.dataset_names()
if st.button("Rebuild the synthetic demo dataset" if demo_ready else "Start with the synthetic demo",
             type="primary" if not demo_ready else "secondary"):
    from artcnn.demo import build_demo_dataset

    try:
        built = build_demo_dataset(workspace.upload_dir("demo"), workspace.dataset_dir("demo"),
                                   progress=progress_callback("The synthetic demo"), overwrite=True)
    except (ValueError, OSError) as error:
        st.error(f"The demo dataset could not be built: {error}")
    else:
        st.session_state["home_built"] = (f"Dataset `demo` is ready: {built.tiles} tiles of synthetic artworks "
                                          f"({', '.join(built.classes)}).")
        st.rerun()  # the counters and the list above were drawn before the dataset existed
if "home_built" in st.session_state:
    st.success(st.session_state.pop("home_built"))
if demo_ready:
    st.page_link("pages/train.py", label="Next: train a model on the dataset demo", icon=":material/model_training:")
st.page_link("pages/classify.py", label="Or classify right away with the shipped demo model", icon=":material/search:")

st.subheader("Your workspace")
st.caption(f"Folder: `{workspace.root}` (set ARTCNN_WORKSPACE to use another).")
datasets, runs = catalogue.datasets(), catalogue.runs()
if datasets:
    st.markdown("**Datasets**")
    st.dataframe(pd.DataFrame([{
        "name": d["name"], "classes": ", ".join(d["classes"]), "created": d["created"], "skipped files": d["skipped"],
        "tiles": sum(n for per_class in d["counts"].values() for n in per_class.values()),
    } for d in datasets]).assign(**app_team.users(datasets)), hide_index=True)
if runs:
    st.markdown("**Training runs**")
    st.dataframe(pd.DataFrame([{"name": r["name"], "dataset": r["dataset"], "recipe": r["recipe"],
                                "created": r["created"]} for r in runs]).assign(**app_team.users(runs)),
                 hide_index=True)
if classifications:
    st.markdown("**Last classifications** (reopen them on the Classify page)")
    st.dataframe(pd.DataFrame([{
        "when": c["created"], "model": c["model"], "source": c["source"], "artworks": c["artworks"],
        "unreadable": c["errors"] or 0, "finished": "yes" if c["finished"] else "interrupted",
    } for c in classifications[:5]]).assign(**app_team.users(classifications[:5])), hide_index=True)
app_team.show_deletions(catalogue)
if not (datasets or runs or classifications):
    st.info("The workspace is empty: start with the synthetic demo above, or upload your collection "
            "on the Datasets page.")
