"""Classify: sort a whole collection with a model; a sortable, filterable table with thumbnails, a CSV,
and any artwork with its tiles' probabilities drawn over it. Past classifications reopen from the catalogue."""

from pathlib import Path

import streamlit as st

import app_state
from app_widgets import (ACCEPTED_UPLOADS, UNREADABLE, file_thumbnail, model_picker, progress_callback, results_csv,
                         results_table, show_result_picture, show_skipped, store_uploads, stored_results)
from artcnn.config import PredictConfig
from artcnn.images import iter_image_files
from artcnn.prediction import NEEDS_REVIEW
from artcnn.workspace import named_synthetic, synthetic_warning

# Rows of a table that get a thumbnail: each is an image read, so a huge collection shows the first ones.
MAX_THUMBNAILS = 300

app_state.follow_router()
workspace = app_state.workspace()
catalogue = workspace.catalogue
st.title("Classify")

model_path = model_picker(workspace)
SOURCES = ("Upload files or zips", "A folder on the server", "IIIF manifests")
source_kind = st.radio("Artworks", SOURCES, horizontal=True)
if source_kind == SOURCES[1]:
    folder = st.text_input("Folder on the server (searched recursively)", placeholder="/data/collection")
elif source_kind == SOURCES[2]:
    manifest_text = st.text_area("IIIF manifest URLs (v2.1 or v3), one a line: every canvas is classified",
                                 placeholder="https://iiif.harvardartmuseums.org/manifests/object/299843")
else:
    files = st.file_uploader("Artwork files or zips", accept_multiple_files=True, key="classify-upload",
                             help=f"Many image files or zip archives of them ({ACCEPTED_UPLOADS}).")
low_confidence = st.slider("Low confidence: a verdict whose probability is below", 0.0, 1.0,
                           PredictConfig().low_confidence, 0.05)


def classify_collection(inputs: list[Path], source: str, manifests: list[str]) -> int | None:
    """Classify with a progress bar; every result is recorded in the catalogue the moment it exists."""
    from artcnn.sources import classify_sources

    if not manifests and not any(True for _ in iter_image_files(inputs)):
        st.error(f"No image files ({ACCEPTED_UPLOADS}) in {source}.")
        return None
    with st.spinner("Loading the model…"):
        model, metadata = app_state.model_and_metadata(model_path)
    stream = classify_sources((model, metadata), inputs, manifests, PredictConfig(low_confidence=low_confidence),
                              progress=progress_callback("Classifying"), catalogue=catalogue,
                              model_name=workspace.describe_model(model_path).name, source=source)
    for _ in stream:  # the results are read back from the catalogue below
        pass
    return stream.record


if st.button("Classify", type="primary", disabled=model_path is None):
    try:
        manifests = []
        if source_kind == SOURCES[2]:
            manifests = [line.strip() for line in manifest_text.splitlines() if line.strip()]
            if not manifests:
                raise ValueError(f"Give one or more IIIF manifest URLs. Received: {manifest_text!r}")
            inputs, source = [], f"IIIF ({', '.join(manifests)})"
        elif source_kind == SOURCES[1]:
            if not folder.strip() or not Path(folder).is_dir():
                raise ValueError(f"Name a folder on the server. Received: {folder!r}")
            inputs, source = [Path(folder)], folder
        else:
            inputs, skipped = store_uploads(files or [], workspace.upload_dir("classify"))
            show_skipped(skipped, "uploaded files or zip members")
            source = f"upload ({len(files or [])} files)"
        st.session_state["classification"] = classify_collection(inputs, source, manifests)
    except (ValueError, OSError) as error:
        st.error(str(error))

past = catalogue.classifications()
if not past:
    st.info("No classification yet: choose a model and some artworks above.")
    st.stop()
ids = [entry["id"] for entry in past]
about = {entry["id"]: entry for entry in past}
wanted = st.session_state.get("classification")
chosen = st.selectbox(
    "Classification (past ones stay here after a restart)", ids, index=ids.index(wanted) if wanted in ids else 0,
    format_func=lambda i: f"#{i} · {about[i]['created']} · {about[i]['model']} · {about[i]['source']} · "
                          f"{about[i]['artworks']} artworks" + ("" if about[i]["finished"] else " · interrupted"))
classes, model_name = about[chosen]["classes"], about[chosen]["model"]
if named_synthetic(model_name):
    st.warning(synthetic_warning(model_name))
results = stored_results(catalogue.results(chosen))
# A IIIF canvas's or a record's columns, shown and downloaded after the verdicts.
details = list(dict.fromkeys(key for result in results for key in result.details))
frame = results_table(results, classes, details)
verdicts = frame["label"]
if frame["note"].ne("").any():
    st.info(f"{frame['note'].ne('').sum()} pictures were classified from a reduced copy: see the note column.")
left, right = st.columns(2)
present = [label for label in [*classes, NEEDS_REVIEW, UNREADABLE] if label in set(verdicts)]
keep = left.multiselect("Show verdicts", present, default=present)
only_review = right.checkbox("Only those to review (low confidence, or no single class)")
shown = frame[verdicts.isin(keep) & (frame["review"].eq(True) | (not only_review))].copy()
shown.insert(0, "thumbnail", [file_thumbnail(file) if n < MAX_THUMBNAILS else None
                              for n, file in enumerate(shown["file"])])
st.caption(f"{len(shown)} of {len(frame)} artworks · click a column to sort, a row to see its tiles")
event = st.dataframe(
    shown, hide_index=True, on_select="rerun", selection_mode="single-row",
    key=f"results-{chosen}",
    column_order=["thumbnail", "artwork", "label", *[f"p_{name}" for name in classes], "confidence", "tiles", "error",
                  "note", *details, "file"],
    column_config={
        "thumbnail": st.column_config.ImageColumn("", width="small"),
        "label": st.column_config.TextColumn("verdict"),
        **{f"p_{name}": st.column_config.ProgressColumn(f"p({name})", min_value=0.0, max_value=1.0, format="%.2f")
           for name in classes},
        "confidence": st.column_config.NumberColumn(format="%.2f"),
        "file": st.column_config.TextColumn("path"),
    })
st.download_button(f"Download these {len(shown)} results as CSV",
                   results_csv([results[i] for i in shown.index], classes, model_name, details),
                   file_name=f"artcnn-classification-{chosen}.csv", mime="text/csv")

if event.selection.rows:
    show_result_picture(results[shown.index[event.selection.rows[0]]], classes)
