"""A classification as the Classify page shows it: its table with thumbnails and the CSV, filters by verdict, by
review and on the collection's map, the chosen artwork with its tiles and where the model looks, and the
corrections a curator sends back into a dataset. Rows come from the catalogue, so a past one reopens the same.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import streamlit as st

from app_collection import show_collection_map, show_corrections, show_heat_map
from artcnn.images import ArtworkError
from artcnn.prediction import NEEDS_REVIEW
from artcnn.workspace import Workspace, classification_key, named_synthetic, synthetic_warning

# Rows of a table that get a thumbnail: each is an image read, so a huge collection shows the first ones.
MAX_THUMBNAILS = 300
# The verdict shown for a file that could not be classified (the CSV leaves it empty).
UNREADABLE = "unreadable"


@st.cache_data(max_entries=5000, show_spinner=False)
def thumbnail(path: str, modified: float) -> str | None:
    """A data-URL thumbnail for a table's image column (None if the file cannot be read); `modified` keys the cache."""
    from artcnn.overlay import thumbnail_data_url

    try:
        return thumbnail_data_url(path)
    except (ArtworkError, OSError):
        return None


def file_thumbnail(path: str) -> str | None:
    return thumbnail(path, os.path.getmtime(path)) if os.path.isfile(path) else None


def stored_results(rows: Iterable[dict]) -> list:
    """Catalogue result rows as prediction.ArtworkResult, for the same table and CSV as a live run."""
    from artcnn.prediction import ArtworkResult

    names = {field.name for field in dataclasses.fields(ArtworkResult)}
    return [ArtworkResult(**{key: value for key, value in row.items() if key in names}) for row in rows]


def results_table(results: Sequence, classes: list[str], details: Sequence[str] = ()) -> pd.DataFrame:
    """Results as the Classify page shows them: the CSV's columns after an `artwork` name (a IIIF canvas's
    label, else the file's name); an unreadable file's verdict says so and a readable one's error is empty."""
    from artcnn.results_csv import results_to_frame

    frame = results_to_frame(results, classes, details)
    frame.insert(0, "artwork", [result.details.get("canvas_label") or Path(result.file).name for result in results])
    frame["label"] = frame["label"].fillna(UNREADABLE)
    frame[["error", "note", "duplicate_of"]] = frame[["error", "note", "duplicate_of"]].fillna("")
    return frame


def results_csv(results: Sequence, classes: list[str], model: str, details: Sequence[str] = ()) -> bytes:
    """The results as results_csv.write_results_csv writes them (with the `details` columns), as bytes for
    st.download_button."""
    from artcnn.results_csv import write_results_csv

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.csv"
        write_results_csv(results, path, classes, model, details=details)
        return path.read_bytes()


def show_result_picture(result, classes: list[str]) -> None:
    """One classified artwork under a light overlay of its tiles (adjustable, down to outlines only), and
    every tile's probabilities in a small table numbered as on the picture; or why it cannot be shown."""
    from artcnn.images import load_artwork, read_at_size
    from artcnn.overlay import DEFAULT_OPACITY, draw_tile_probabilities, tile_table

    st.subheader(Path(result.file).name)
    if result.error:
        st.error(f"{Path(result.file).name} could not be classified: {result.error}")
        return
    opacity = st.slider("Overlay strength (0 shows outlines only)", 0.0, 1.0, DEFAULT_OPACITY, 0.05,
                        key="tile-overlay")
    try:
        # Results stored before the used size was recorded drew on the file as it is.
        picture = (read_at_size(result.file, (result.used_width, result.used_height)) if result.used_width
                   else load_artwork(result.file))
        picture = draw_tile_probabilities(picture, result.tile_boxes, classes, opacity=opacity)
    except (ArtworkError, ValueError, OSError) as error:
        st.warning(f"{Path(result.file).name} cannot be shown with its tiles any more: {error}")
        return
    verdict = ", ".join(f"{name} {p:.0%}" for name, p in result.probabilities.items())
    left, right = st.columns([3, 1])
    left.image(picture, caption=f"{result.label} ({verdict}) · {result.tiles} tiles, each outlined in its likelier "
                                "class's colour, tinted more when surer, numbered as in the table")
    right.dataframe(pd.DataFrame(tile_table(result.tile_boxes, classes)), hide_index=True,
                    column_config={f"p({name})": st.column_config.NumberColumn(format="%.2f") for name in classes})


def model_of(workspace: Workspace, name: str) -> Path | None:
    """The model file a classification names (by its name or its label, as the page and the CLI record it)."""
    described = (workspace.describe_model(path) for path in workspace.model_files())
    return next((about.path for about in described if name in (about.name, about.label)), None)


def show_classification(workspace: Workspace, entry: dict) -> None:
    """The classification `entry` (a catalogue.classifications row): filters, map, table, CSV, picture, corrections."""
    chosen, classes, model_name = entry["id"], entry["classes"], entry["model"]
    if named_synthetic(model_name):
        st.warning(synthetic_warning(model_name))
    results = stored_results(workspace.catalogue.results(chosen))
    # A IIIF canvas's or a record's columns, shown and downloaded after the verdicts.
    details = list(dict.fromkeys(key for result in results for key in result.details))
    frame = results_table(results, classes, details)
    verdicts = frame["label"]
    for column, said in (("note", "were classified from a reduced copy"), ("duplicate_of", "repeat an earlier one")):
        if frame[column].ne("").any():
            st.info(f"{frame[column].ne('').sum()} artworks {said}: see the {column} column.")
    left, right = st.columns(2)
    present = [label for label in [*classes, NEEDS_REVIEW, UNREADABLE] if label in set(verdicts)]
    keep = left.multiselect("Show verdicts", present, default=present)
    only_review = right.checkbox("Only those to review (low confidence, or no single class)")
    shown = frame[verdicts.isin(keep) & (frame["review"].eq(True) | (not only_review))].copy()
    # Finding the model reads every model file's metadata: done only when the map or a heat map needs it.
    model_path = functools.cache(lambda: model_of(workspace, model_name))
    if st.toggle("Map of the collection (artworks the model sees alike lie near each other)", key=f"map-on-{chosen}"):
        if model_path() is None:
            st.info(f"The model {model_name} is no longer in this workspace: the map needs it.")
        else:
            readable = frame.loc[verdicts.ne(UNREADABLE), "file"].tolist()
            on_map = show_collection_map(model_path(), readable, key=classification_key(chosen))
            if len(on_map) < len(readable):
                shown = shown[shown["file"].isin(on_map)]
    shown.insert(0, "thumbnail", [file_thumbnail(file) if n < MAX_THUMBNAILS else None
                                  for n, file in enumerate(shown["file"])])
    st.caption(f"{len(shown)} of {len(frame)} artworks · click a column to sort, a row to see its tiles")
    event = st.dataframe(
        shown, hide_index=True, on_select="rerun", selection_mode="single-row", key=f"results-{chosen}",
        placeholder="",  # an unreadable file's missing thumbnail and probabilities are empty cells, not "None"
        column_order=["thumbnail", "artwork", "label", *[f"p_{name}" for name in classes], "confidence", "tiles",
                      "error", "note", "duplicate_of", *details, "file"],
        column_config={
            "thumbnail": st.column_config.ImageColumn("", width="small"),
            "label": st.column_config.TextColumn("verdict"),
            **{f"p_{name}": st.column_config.ProgressColumn(f"p({name})", min_value=0.0, max_value=1.0,
                                                            format="%.2f") for name in classes},
            "confidence": st.column_config.NumberColumn(format="%.2f"),
            "duplicate_of": st.column_config.TextColumn("repeats"),
            "file": st.column_config.TextColumn("path"),
        })
    st.download_button(f"Download these {len(shown)} results as CSV",
                       results_csv([results[i] for i in shown.index], classes, model_name, details),
                       file_name=f"artcnn-classification-{chosen}.csv", mime="text/csv")
    if event.selection.rows:
        result = results[shown.index[event.selection.rows[0]]]
        show_result_picture(result, classes)
        if not result.error and model_path() is not None and st.toggle("Where the model looks (heat map)",
                                                                       key="heat-map-on"):
            show_heat_map(model_path(), result.file)
    with st.expander("Correct verdicts and add the artworks to a dataset"):
        show_corrections(frame[verdicts.ne(UNREADABLE)], classes, chosen)
