"""Classify: sort a whole collection with a model; a sortable, filterable table with thumbnails, a CSV,
and any artwork with its tiles' probabilities drawn over it. Past classifications reopen from the catalogue."""

from pathlib import Path

import streamlit as st

import app_state
import app_team
from app_results import show_classification
from app_widgets import ACCEPTED_UPLOADS, model_picker, progress_callback, show_skipped, store_uploads
from artcnn.access import allowed_roots, check_server_folder, files_inside
from artcnn.config import PredictConfig
from artcnn.images import iter_image_files

app_state.follow_router()
workspace = app_state.workspace()
catalogue = workspace.catalogue
st.title("Classify")
app_team.show_done()

model_path = model_picker(workspace)
# The server's own folders are offered only below the collections an administrator named (ARTCNN_COLLECTIONS).
roots = allowed_roots()
SOURCES = ("Upload files or zips", "A folder on the server", "IIIF manifests")
source_kind = st.radio("Artworks", [kind for kind in SOURCES if roots or kind != SOURCES[1]], horizontal=True)
if source_kind == SOURCES[1]:
    folder = st.text_input(f"Folder on the server, inside {' or '.join(map(str, roots))} (searched recursively)",
                           placeholder=str(roots[0]))
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
            chosen = check_server_folder(folder, roots)
            inputs, outside = files_inside(iter_image_files([chosen]), roots)
            if outside:
                st.warning(f"{len(outside)} files in {folder.strip()} link to places outside the collections this "
                           f"server may read and were left out, e.g. {outside[0].relative_to(chosen)}.")
            source = str(chosen)
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
show_classification(workspace, about[chosen])
app_team.delete_classification_control(workspace, about[chosen])
