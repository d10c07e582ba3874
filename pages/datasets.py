"""Datasets: upload each class's artworks, cut them into a train/test dataset of tiles, inspect, delete."""

import shutil

import streamlit as st

import app_state
import app_team
from app_widgets import (ACCEPTED_UPLOADS, offer_statistics_update, progress_callback, save_uploads, show_dataset,
                         show_shortcut_report, show_skipped)
from artcnn.config import TilingConfig, validate_name
from artcnn.dataset import read_description
from artcnn.dataset_build import UnusableClassError, build_dataset, check_class_names, check_classes
from artcnn.shortcuts import check_shortcuts

app_state.follow_router()
workspace = app_state.workspace()
st.title("Datasets")

st.subheader("Build a dataset")
name = st.text_input("Dataset name", value="my-dataset")
class_names = list(dict.fromkeys(part.strip() for part in st.text_input(
    "Classes (two or more, comma-separated)", value="han, kom",
    help="Each class becomes a label the model learns; han = made by hand, kom = made by code.").split(",")
    if part.strip()))
problem = None
try:  # before any upload is written under these names
    validate_name(name, "dataset name")
    check_class_names(class_names, "the Classes field")
except ValueError as error:
    problem = str(error)
    st.error(problem)

uploads = {} if problem else {
    cls: st.file_uploader(f"Artworks of class `{cls}`", accept_multiple_files=True, key=f"upload-{cls}",
                          help=f"Many image files or zip archives of them ({ACCEPTED_UPLOADS}).")
    for cls in class_names}

defaults = TilingConfig()
with st.expander("Tiling settings", expanded=True):
    left, middle, right = st.columns(3)
    tile_size = left.number_input("Tile size (px)", min_value=8, max_value=4096, value=defaults.tile_size,
                                  help="The study cut 256×256 tiles.")
    placement = middle.radio("Tile placement", ["random", "grid"], horizontal=True, index=int(defaults.grid),
                             help="random: the study's random positions; grid: a regular grid covering the artwork.")
    tiles_per_artwork = right.number_input("Tiles per artwork (random placement)", min_value=1, max_value=1000,
                                           value=defaults.tiles_per_artwork, disabled=placement == "grid")
    blank_threshold = left.slider("Blank-tile threshold", 0.0, 0.2, defaults.blank_threshold, 0.005,
                                  help="Tiles whose grey-level spread is below this are skipped as blank; 0 keeps all.")
    test_fraction = middle.slider("Test fraction (share of artworks)", 0.0, 0.9, defaults.test_fraction, 0.05,
                                  help="Whole artworks are held out, so no artwork is on both sides.")
    seed = right.number_input("Seed", min_value=0, value=defaults.seed, help="Fixes tile positions and the split.")
    long_side = left.number_input("Resize longest side to (px, 0 keeps native size)", min_value=0,
                                  value=defaults.long_side or 0)
    whole_view = middle.checkbox("Also a tile of the whole artwork", value=defaults.whole_view,
                                 help="One more tile per artwork: the whole picture reduced to the tile size, so the "
                                      "model also learns how works look as thumbnails.")
overwrite = st.checkbox("Replace the dataset if the name is taken")

if st.button("Build dataset", type="primary", disabled=bool(problem)):
    target = workspace.dataset_dir(name)
    try:
        config = TilingConfig(tile_size=int(tile_size), tiles_per_artwork=int(tiles_per_artwork),
                              grid=placement == "grid", blank_threshold=blank_threshold,
                              test_fraction=test_fraction, seed=int(seed), long_side=int(long_side) or None,
                              whole_view=whole_view)
        if target.exists() and not overwrite:
            raise FileExistsError(f"A dataset named {name!r} exists. Choose another name or tick 'Replace'.")
        check_classes({cls: files or [] for cls, files in uploads.items()}, "the uploads")
        source = workspace.upload_dir(name)
        # A fresh copy of this build's uploads only: files left from an earlier build would join silently.
        shutil.rmtree(source, ignore_errors=True)
        upload_skipped = [entry for cls, files in uploads.items()
                          for entry in save_uploads(files or [], source / cls)]
        build_dataset(source, target, config, progress_callback("Tiling"), overwrite=overwrite)
    except UnusableClassError as error:
        st.error(str(error))
        show_skipped(error.skipped, "files", source, built=False)
    except (ValueError, OSError) as error:
        st.error(str(error))
    else:
        st.session_state["dataset_shown"] = name
        st.success(f"Dataset `{name}` built.")
        show_skipped(upload_skipped, "uploaded files or zip members")

st.subheader("Your datasets")
app_team.show_done()
names = workspace.dataset_names()
if not names:
    st.info("No dataset yet. Build one above, or start with the synthetic demo on the Home page.")
    st.stop()
shown = st.session_state.get("dataset_shown")
chosen = st.selectbox("Dataset", names, index=names.index(shown) if shown in names else 0)
folder = workspace.dataset_dir(chosen)
try:
    show_dataset(read_description(folder))
except ValueError as error:
    st.error(str(error))
    st.stop()
offer_statistics_update(folder)
if st.button("Check for shortcuts", help="Do file properties alone (size, format, colour, blank share) separate "
             "the classes? A model would learn those instead of how the art was made."):
    try:
        st.session_state[f"shortcuts-{chosen}"] = check_shortcuts(folder, progress=progress_callback("Reading"))
    except ValueError as error:
        st.error(str(error))
if f"shortcuts-{chosen}" in st.session_state:
    show_shortcut_report(st.session_state[f"shortcuts-{chosen}"])
app_team.delete_control(workspace, "dataset", chosen)  # runs trained on it keep their models
