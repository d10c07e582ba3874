"""The pages' look at a collection through a model: its map, where it looks in one artwork, a run's
mistakes, and corrections sent back into a dataset. Each part is one call a page makes; the work is
artcnn's (collection_map, gradcam, mistakes, corrections), and a bad input is shown as its sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd
import streamlit as st

from app_state import loaded_model, workspace
from app_widgets import progress_callback
from artcnn.image_statistics import StatisticsHead
from artcnn.workspace import MAPS_FOLDER


def _model(model_path: Path):
    return loaded_model(str(model_path), Path(model_path).stat().st_mtime)


def show_collection_map(model_path: Path, files: Sequence[str], key: str) -> list[str]:
    """The map of `files` (cached as `key`, e.g. "classification-12"); returns the files chosen on it with the
    box or lasso, or every file on it when none is chosen."""
    from artcnn.collection_map import collection_map, map_figure

    placing = st.empty()  # the progress bar, gone once the map is drawn
    try:
        with placing.container():
            made = collection_map(_model(model_path), list(files), cache_dir=workspace().root / MAPS_FOLDER, key=key,
                                  progress=progress_callback("Placing the artworks", len(files)))
    except ValueError as error:
        st.info(str(error))
        return list(files)
    finally:
        placing.empty()
    figure = map_figure(made)
    st.caption(f"{len(made.table)} artworks placed by {made.method.upper()}: near each other when the model sees "
               "them alike. Hover for the file, draw a box or lasso to filter the table.")
    event = st.plotly_chart(figure, key=f"map-{key}", on_select="rerun", selection_mode=("box", "lasso"))
    points = event.selection.points if event else []
    rows = [int(figure.data[point["curve_number"]].customdata[point["point_index"]][0]) for point in points]
    return made.table["file"].iloc[rows].tolist() if rows else made.table["file"].tolist()


def show_heat_map(model_path: Path, file: str) -> None:
    """Where the model looks in one artwork, beside its tiles' probabilities."""
    from artcnn.gradcam import heat_map

    model = _model(model_path)
    try:
        made = heat_map(model, file)
    except ValueError as error:
        st.info(str(error))
        return
    picture, tiles = st.columns(2)
    picture.image(made.overlay, caption=f"Where the model looks for {made.target} (red, yellow: most)")
    if head := StatisticsHead.from_metadata(model[1]):
        picture.caption(f"The tiles make {1 - head.weight:.0%} of this model's verdict; the other "
                        f"{head.weight:.0%} comes from the whole picture's statistics (colours, flat fills, "
                        "edges, grain), which have no place on a heat map.")
    tiles.dataframe(pd.DataFrame([{"x": x, "y": y, **{f"p_{name}": p for name, p in zip(made.probabilities, ps)}}
                                  for x, y, _, ps in made.tile_boxes]), hide_index=True)


def show_mistakes(run_dir: Path, limit: int = 10) -> None:
    """A finished run's confusion matrix with each cell's test artworks, and its most confident mistakes."""
    from artcnn.mistakes import cell_counts, read_mistakes

    try:
        found = read_mistakes(run_dir)
    except ValueError as error:
        st.info(str(error))
        return
    st.dataframe(pd.DataFrame(cell_counts(found), index=[f"true {name}" for name in found.classes],
                              columns=[f"predicted {name}" for name in found.classes]))
    cells = {f"true {true}, predicted {predicted} ({len(files)})": files
             for (true, predicted), files in found.cells.items()}
    chosen = st.selectbox("Test artworks in the cell", list(cells), key=f"cell-{run_dir.name}")
    st.dataframe(pd.DataFrame({"artwork": cells[chosen]}), hide_index=True)
    st.markdown(f"**Most confidently wrong** ({len(found.top_losses)} mistakes)")
    for mistake in found.top_losses[:limit]:
        st.markdown(f"`{Path(mistake.artwork).name}`: {mistake.true} taken for {mistake.predicted} "
                    f"(p {mistake.true} {mistake.probabilities[mistake.true]:.2f}, loss {mistake.loss:.2f})")
        st.image([tile["file"] for tile in mistake.tiles], width=96)


def show_corrections(results: pd.DataFrame, classes: list[str], classification: int | None) -> None:
    """Mark verdicts wrong (the most uncertain listed first), give their right class, and add them to a
    dataset as its next version. `results` is the results table (file, label, confidence)."""
    from artcnn.corrections import Correction, add_corrections

    readable = results.dropna(subset=["label"]).sort_values("confidence", kind="stable")
    wrong = st.multiselect("Verdicts that are wrong (most uncertain first)", readable["file"].tolist(),
                           format_func=lambda file: Path(file).name, key=f"wrong-{classification}")
    said = dict(zip(readable["file"], readable["label"]))
    right = {file: st.selectbox(f"Right class of {Path(file).name}", [c for c in classes if c != said[file]],
                                key=f"right-{classification}-{file}") for file in wrong}
    datasets = workspace().dataset_names()
    if not wrong or not datasets:
        st.caption("Mark wrong verdicts, then add them to a dataset." if datasets else "No dataset to add them to.")
        return
    dataset = st.selectbox("Dataset", datasets, key=f"dataset-{classification}")
    if st.button(f"Add the corrected artworks to {dataset}", key=f"add-{classification}"):
        corrections = [Correction(file, right[file], said[file], classification) for file in wrong]
        try:
            built = add_corrections(workspace().dataset_dir(dataset), corrections,
                                    progress=progress_callback("Building the new version"))
        except ValueError as error:
            st.error(str(error))
        else:
            st.success(f"Dataset {built.path.name} holds the {len(wrong)} corrected artworks: train on it from the "
                       "Train page.")
